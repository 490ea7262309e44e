//! 好差评 API: the applicant's rating of a finished case, the follow-ups of negative
//! ratings with their visit, outcome and appeal, and monthly figures per department.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

use crate::metrics::ratings::FollowUpAction;
use crate::web::auth::{AnyUser, Applicant, Authed, StaffOnly};
use crate::web::error::ApiError;
use crate::web::extract::JsonBody;
use crate::web::metrics::service::{self as report, MetricsQuery};
use crate::web::ratings::service::{self as logic, FollowUpRequest, RatingRequest};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(rate)
        .service(rating)
        .service(follow_ups)
        .service(follow_up)
        .service(visit)
        .service(resolve)
        .service(appeal)
        .service(review_appeal)
        .service(monthly);
}

#[post("/cases/{receipt_no}/rating")]
async fn rate(
    state: web::Data<AppState>,
    user: Authed<Applicant>,
    receipt: web::Path<String>,
    JsonBody(req): JsonBody<RatingRequest>,
) -> Result<HttpResponse, ApiError> {
    let (saved, opened) = logic::rate(&state, &user, &receipt, req).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "rating": saved,
        "follow_up": opened,
    })))
}

#[get("/cases/{receipt_no}/rating")]
async fn rating(
    state: web::Data<AppState>,
    user: Authed<AnyUser>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let r = logic::rating_of(&state, &user, &receipt)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("办件 {receipt} 尚未评价")))?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

#[get("/ratings/follow-ups")]
async fn follow_ups(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let items = logic::list(&state, &user, q.status.as_deref()).await?;
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["overdue"] = serde_json::Value::Bool(logic::is_overdue(f, state.today()));
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

#[get("/ratings/follow-ups/{id}")]
async fn follow_up(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    logic::require_case_staff(&user)?;
    let id = id.into_inner();
    let f = state
        .db
        .run(move |c| crate::store::ratings::follow_up(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {id} 的整改工单")))?;
    Ok(HttpResponse::Ok().json(f))
}

async fn run(
    state: &AppState,
    user: &Authed<StaffOnly>,
    id: i64,
    action: FollowUpAction,
    req: FollowUpRequest,
) -> Result<HttpResponse, ApiError> {
    let f = logic::act(state, user, id, action, req).await?;
    Ok(HttpResponse::Ok().json(f))
}

#[post("/ratings/follow-ups/{id}/visit")]
async fn visit(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    JsonBody(req): JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    run(&state, &user, id.into_inner(), FollowUpAction::Visit, req).await
}

#[post("/ratings/follow-ups/{id}/resolve")]
async fn resolve(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    JsonBody(req): JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    run(&state, &user, id.into_inner(), FollowUpAction::Resolve, req).await
}

#[post("/ratings/follow-ups/{id}/appeal")]
async fn appeal(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    JsonBody(req): JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    run(&state, &user, id.into_inner(), FollowUpAction::Appeal, req).await
}

#[post("/ratings/follow-ups/{id}/appeal/review")]
async fn review_appeal(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    JsonBody(req): JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let action = match req.upheld {
        Some(true) => FollowUpAction::UpholdAppeal,
        Some(false) => FollowUpAction::RejectAppeal,
        None => {
            return Err(ApiError::Validation(vec![crate::web::error::FieldError::new(
                "upheld",
                "required",
                "请说明申诉是否成立（upheld: true 或 false）",
            )]))
        }
    };
    let f = logic::act(&state, &user, id.into_inner(), action, req).await?;
    Ok(HttpResponse::Ok().json(f))
}

#[get("/ratings/monthly")]
async fn monthly(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    logic::require_case_staff(&user)?;
    let (_, period) = report::load_period(&state, &q).await?;
    let rows = state
        .db
        .run(move |c| crate::store::ratings::monthly_by_department(c, &period))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": rows })))
}
