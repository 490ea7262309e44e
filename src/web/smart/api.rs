//! The audit of a case's registry lookups, for window staff and administrators; 免申即享
//! runs and an enterprise's grants.

use actix_web::{get, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::benefits::GrantView;
use crate::store::registries::LookupRow;
use crate::web::auth::{AnyUser, Authed, StaffOnly};
use crate::web::error::ApiError;
use crate::web::policies::api::PolicyEditors;
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(registry_lookups)
        .service(run_benefits)
        .service(my_benefits);
}

/// The registry lookups smart approval made for a case: when, which registry, the keyed
/// hash of the key and the digest of the answer (never the key or the answer), the outcome
/// and how long it took. Window staff and administrators.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号")),
    responses(
        (status = 200, body = Vec<LookupRow>),
        (status = 403, body = crate::web::error::ErrorBody),
        (status = 404, body = crate::web::error::ErrorBody)
    )
)]
#[get("/cases/{receipt_no}/registry-lookups")]
async fn registry_lookups(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !user.is_window_clerk() {
        return Err(ApiError::Forbidden(
            "只有综合窗口人员或管理员可以查看数据核验记录".into(),
        ));
    }
    let receipt = receipt.into_inner();
    let lookup = receipt.clone();
    let (exists, rows) = state
        .db
        .run(move |c| {
            let exists = crate::store::cases::load(c, &lookup)?.is_some();
            Ok::<_, crate::db::DbError>((exists, crate::store::registries::lookups_of(c, &lookup)?))
        })
        .await?;
    if !exists {
        return Err(ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件")));
    }
    Ok(HttpResponse::Ok().json(rows))
}

/// How many grants a 免申即享 run made.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Granted {
    granted: usize,
}

/// Runs 免申即享 now (the server also runs it on every sweep): every designated policy in
/// force against every enterprise account's registration record. Policy editors and
/// administrators.
#[utoipa::path(
    tag = "policies",
    security(("bearer" = [])),
    responses((status = 200, body = Granted), (status = 403, body = crate::web::error::ErrorBody))
)]
#[post("/policies/no-application/run")]
async fn run_benefits(
    state: web::Data<AppState>,
    _user: Authed<PolicyEditors>,
) -> Result<HttpResponse, ApiError> {
    let granted = crate::web::smart::benefits::run(&state).await?;
    Ok(HttpResponse::Ok().json(Granted { granted }))
}

/// The benefits the signed-in enterprise was granted without applying (免申即享), with why.
#[utoipa::path(tag = "policies", security(("bearer" = [])), responses((status = 200, body = Vec<GrantView>)))]
#[get("/benefits")]
async fn my_benefits(state: web::Data<AppState>, user: Authed<AnyUser>) -> Result<HttpResponse, ApiError> {
    let id = user.id;
    let grants = state
        .db
        .run(move |c| crate::store::benefits::grants_of(c, id))
        .await?;
    Ok(HttpResponse::Ok().json(grants))
}
