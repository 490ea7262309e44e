//! 好差评 API: the applicant's rating of a finished case, the follow-ups of negative
//! ratings with their visit, outcome and appeal, and monthly figures per department.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::metrics::ratings::FollowUpAction;
use crate::store::ratings::{DepartmentMonth, FollowUpView};
use crate::web::auth::{AnyUser, Applicant, Authed, StaffOnly};
use crate::web::error::ApiError;
use crate::web::extract::JsonBody;
use crate::web::metrics::service::{self as report, MetricsQuery};
use crate::web::ratings::service::{self as logic, FollowUpRequest, RatingRequest, RatingView};
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
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

/// A saved rating and, for a negative one, the follow-up it opened.
#[derive(Serialize, ToSchema)]
struct Rated {
    rating: RatingView,
    follow_up: Option<FollowUpView>,
}

/// The applicant rates (好差评) their finished case, overall and per department.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号")),
    request_body = RatingRequest,
    responses(
        (status = 201, body = Rated),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not finished yet, or already rated")
    )
)]
#[post("/cases/{receipt_no}/rating")]
async fn rate(
    state: web::Data<AppState>,
    user: Authed<Applicant>,
    receipt: web::Path<String>,
    req: JsonBody<RatingRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = req.validated()?;
    let (saved, opened) = logic::rate(&state, &user, &receipt, req).await?;
    Ok(HttpResponse::Created().json(Rated {
        rating: saved,
        follow_up: opened,
    }))
}

/// The rating of a case, for its applicant and the staff who may see it.
#[utoipa::path(tag = "ratings", security(("bearer" = [])), params(("receipt_no" = String, Path, description = "受理编号")), responses((status = 200, body = RatingView)))]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only follow-ups in this state.
    #[param(value_type = Option<crate::metrics::ratings::FollowUpStatus>, inline)]
    status: Option<String>,
}

/// A follow-up in the staff list, with whether it is past its deadline.
#[derive(Serialize, ToSchema)]
struct FollowUpListItem {
    #[serde(flatten)]
    follow_up: FollowUpView,
    overdue: bool,
}

#[derive(Serialize, ToSchema)]
struct FollowUpList {
    items: Vec<FollowUpListItem>,
}

/// The follow-ups (整改工单) of negative ratings, newest first.
#[utoipa::path(tag = "ratings", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = FollowUpList)))]
#[get("/ratings/follow-ups")]
async fn follow_ups(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let items = logic::list(&state, &user, q.status.as_deref()).await?;
    let today = state.today();
    let items = items
        .into_iter()
        .map(|f| FollowUpListItem {
            overdue: logic::is_overdue(&f, today),
            follow_up: f,
        })
        .collect();
    Ok(HttpResponse::Ok().json(FollowUpList { items }))
}

/// One follow-up.
#[utoipa::path(tag = "ratings", security(("bearer" = [])), params(("id" = i64, Path, description = "The follow-up's number")), responses((status = 200, body = FollowUpView)))]
#[get("/ratings/follow-ups/{id}")]
async fn follow_up(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    logic::require_case_staff(&user)?;
    let id = id.into_inner();
    let department = user.reviewer_department().map(str::to_owned);
    let f = state
        .db
        .run(move |c| crate::store::ratings::follow_up(c, id, department.as_deref()))
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

/// Record the return visit (回访): `note` is required.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The follow-up's number")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, body = FollowUpView),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the follow-up's state, or changed meanwhile")
    )
)]
#[post("/ratings/follow-ups/{id}/visit")]
async fn visit(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    req: JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = req.validated()?;
    run(&state, &user, id.into_inner(), FollowUpAction::Visit, req).await
}

/// Record the outcome of the rectification (整改结果): `outcome` is required.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The follow-up's number")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, body = FollowUpView),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the follow-up's state, or changed meanwhile")
    )
)]
#[post("/ratings/follow-ups/{id}/resolve")]
async fn resolve(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    req: JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = req.validated()?;
    run(&state, &user, id.into_inner(), FollowUpAction::Resolve, req).await
}

/// Appeal a rating as unfounded (申诉): `reason` is required.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The follow-up's number")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, body = FollowUpView),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the follow-up's state, or changed meanwhile")
    )
)]
#[post("/ratings/follow-ups/{id}/appeal")]
async fn appeal(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    req: JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = req.validated()?;
    run(&state, &user, id.into_inner(), FollowUpAction::Appeal, req).await
}

/// An administrator upholds or rejects the appeal: `upheld` and `note` are required; an upheld appeal excludes the rating from the figures.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The follow-up's number")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, body = FollowUpView),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the follow-up's state, or changed meanwhile")
    )
)]
#[post("/ratings/follow-ups/{id}/appeal/review")]
async fn review_appeal(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    req: JsonBody<FollowUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = req.validated()?;
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

#[derive(Serialize, ToSchema)]
struct MonthlyRatings {
    items: Vec<DepartmentMonth>,
}

/// Ratings per department and month of the period.
#[utoipa::path(tag = "ratings", security(("bearer" = [])), params(MetricsQuery), responses((status = 200, body = MonthlyRatings)))]
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
    Ok(HttpResponse::Ok().json(MonthlyRatings { items: rows }))
}
