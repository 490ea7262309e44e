//! The audit of a case's registry lookups, for window staff and administrators.

use actix_web::{get, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::registries::LookupRow;
use crate::web::auth::{Authed, StaffOnly};
use crate::web::error::ApiError;
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(registry_lookups);
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
