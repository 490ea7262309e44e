//! 好差评 pages: the applicant's rating form for a finished case (linked from the receipt
//! page) and the staff's follow-up (整改) list with the visit, outcome, appeal and review
//! forms. Plain forms with CSRF tokens; no script.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::Role;
use crate::metrics::ratings::{FollowUpAction, FollowUpStatus, Level};
use crate::web::auth::{require_csrf, Applicant, Authed, StaffOnly};
use crate::web::error::PageError;
use crate::web::page::{form_message, form_page, page_err, PageForm};
use crate::web::ratings::service::{self as logic, DepartmentLevel, FollowUpRequest, RatingRequest};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(rating_page)
        .service(rating_submit)
        .service(follow_ups_page)
        .service(follow_up_action);
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
}

fn levels() -> Vec<Choice> {
    Level::ALL
        .iter()
        .map(|l| Choice {
            value: l.as_str(),
            label: l.label(),
        })
        .collect()
}

#[derive(Serialize)]
struct Part {
    code: String,
    name: String,
}

async fn rating_context(
    state: &AppState,
    req: &HttpRequest,
    user: &crate::web::auth::CurrentUser,
    receipt: &str,
) -> Result<tera::Context, PageError> {
    let view =
        crate::web::apply::service::case_view(state, user, receipt, &crate::web::auth::client_address(req))
            .await
            .map_err(|e| page_err(state, e))?;
    let existing = logic::rating_of(state, user, receipt)
        .await
        .map_err(|e| page_err(state, e))?;
    let mut parts: Vec<Part> = Vec::new();
    for p in &view.sub_cases {
        if !parts.iter().any(|x| x.code == p.summary.department) {
            parts.push(Part {
                code: p.summary.department.clone(),
                name: p.summary.department_name.clone(),
            });
        }
    }
    let mut ctx = tera::Context::new();
    ctx.insert(
        "finished",
        &matches!(view.status.as_str(), "completed" | "delivered" | "archived"),
    );
    ctx.insert("case", &view);
    ctx.insert("existing", &existing);
    ctx.insert("levels", &levels());
    ctx.insert("parts", &parts);
    ctx.insert("errors", &HashMap::<String, String>::new());
    ctx.insert("message", "");
    ctx.insert("level", "");
    ctx.insert("comment", "");
    Ok(ctx)
}

#[get("/applications/{receipt_no}/rating")]
async fn rating_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<Applicant>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = rating_context(&state, &req, &user, &receipt).await?;
    form_page(&state, &req, "ratings/rating.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct RatingForm {
    csrf_token: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    comment: String,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

#[post("/applications/{receipt_no}/rating")]
async fn rating_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<Applicant>,
    receipt: web::Path<String>,
    form: PageForm<RatingForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let departments = form
        .fields
        .iter()
        .filter_map(|(k, v)| {
            let code = k.strip_prefix("dept_")?;
            (!v.trim().is_empty()).then(|| DepartmentLevel {
                department: code.to_owned(),
                level: v.clone(),
            })
        })
        .collect();
    let request = RatingRequest {
        level: Some(form.level.clone()),
        comment: Some(form.comment.clone()),
        departments,
    };
    match logic::rate(&state, &user, &receipt, request).await {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/applications/{receipt}/rating")))
            .finish()),
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = rating_context(&state, &req, &user, &receipt).await?;
            let map: HashMap<String, String> = errors.into_iter().map(|f| (f.field, f.message)).collect();
            ctx.insert("errors", &map);
            ctx.insert("message", &message);
            ctx.insert("level", &form.level);
            ctx.insert("comment", &form.comment);
            Ok(form_page(&state, &req, "ratings/rating.html", &mut ctx, status)?)
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    done: Option<String>,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    f: crate::store::ratings::FollowUpView,
    overdue: bool,
    closed: bool,
}

#[get("/staff/follow-ups")]
async fn follow_ups_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let items = logic::list(&state, &user, q.status.as_deref())
        .await
        .map_err(|e| page_err(&state, e))?;
    let rows: Vec<Row> = items
        .into_iter()
        .map(|f| Row {
            overdue: logic::is_overdue(&f, state.today()),
            closed: FollowUpStatus::parse(&f.row.status).is_some_and(FollowUpStatus::is_closed),
            f,
        })
        .collect();
    let statuses: Vec<(&str, &str)> = FollowUpStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("rows", &rows);
    ctx.insert("statuses", &statuses);
    ctx.insert("status", &q.status.clone().unwrap_or_default());
    ctx.insert("notice", &q.done.clone().unwrap_or_default());
    ctx.insert("is_admin", &(user.role == Role::Admin));
    form_page(&state, &req, "ratings/follow_ups.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct ActionForm {
    csrf_token: String,
    action: String,
    #[serde(default)]
    text: String,
}

#[post("/staff/follow-ups/{id}")]
async fn follow_up_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    form: PageForm<ActionForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let text = Some(form.text.clone());
    let (action, request, label) = match form.action.as_str() {
        "visit" => (
            FollowUpAction::Visit,
            FollowUpRequest {
                note: text,
                ..Default::default()
            },
            "已登记回访",
        ),
        "resolve" => (
            FollowUpAction::Resolve,
            FollowUpRequest {
                outcome: text,
                ..Default::default()
            },
            "已登记整改结果",
        ),
        "appeal" => (
            FollowUpAction::Appeal,
            FollowUpRequest {
                reason: text,
                ..Default::default()
            },
            "已提交申诉",
        ),
        "uphold" | "reject" => (
            if form.action == "uphold" {
                FollowUpAction::UpholdAppeal
            } else {
                FollowUpAction::RejectAppeal
            },
            FollowUpRequest {
                note: text,
                ..Default::default()
            },
            "已审核申诉",
        ),
        _ => {
            return Err(state
                .page_error(StatusCode::BAD_REQUEST, "无法完成操作", "未知的操作。")
                .into())
        }
    };
    match logic::act(&state, &user, id.into_inner(), action, request).await {
        Ok(_) => {
            let done: String = url::form_urlencoded::byte_serialize(label.as_bytes()).collect();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/staff/follow-ups?done={done}")))
                .finish())
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let detail: Vec<String> = errors.into_iter().map(|f| f.message).collect();
            Err(state
                .page_error(status, "无法完成操作", &format!("{message}{}", detail.join("；")))
                .into())
        }
    }
}
