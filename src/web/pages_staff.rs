//! The staff console: the window's queue and case page with its actions (accept, 补正,
//! refuse, deliver), and the department reviewers' view of their own parts with the
//! decision form. Every action form carries the case version the clerk saw.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::applications as apply;
use super::auth::{client_address, require_csrf, Authed, StaffOnly};
use super::cases::{summary, transition};
use super::error::PageError;
use super::pages_auth::{form_message, form_page, page_err};
use super::AppState;
use crate::auth::Role;
use crate::store::cases::{self as store, QueueFilter};
use crate::workflow::{Command, DeliveryMethod, SupplementItem};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(queue_page).service(case_page).service(case_action);
}

#[derive(Deserialize)]
struct QueueQuery {
    status: Option<String>,
    light: Option<String>,
}

#[get("/staff/cases")]
async fn queue_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, PageError> {
    if user.role == Role::PolicyEditor {
        return Err(state.page_error(StatusCode::FORBIDDEN, "没有访问权限", "政策编辑无权查看办件。"));
    }
    let status = q.status.clone().filter(|s| !s.is_empty());
    let filter = QueueFilter {
        department: user.department.clone().filter(|_| user.role == Role::Reviewer),
        status: status.clone(),
        ..Default::default()
    };
    let rows = state
        .db
        .run(move |c| store::queue(c, &filter, 500))
        .await
        .map_err(|e| page_err(&state, e.into()))?;
    let mut items = Vec::new();
    for row in rows {
        let s = summary(&state.calendar, &row);
        if q.light
            .as_deref()
            .is_some_and(|l| !l.is_empty() && s.light != Some(l))
        {
            continue;
        }
        items.push(s);
    }
    let mut ctx = tera::Context::new();
    ctx.insert("cases", &items);
    ctx.insert("status", &status);
    ctx.insert("light", &q.light);
    ctx.insert("role", user.role.as_str());
    let statuses: Vec<(&str, &str)> = crate::workflow::CaseStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect();
    ctx.insert("statuses", &statuses);
    form_page(&state, &req, "staff_queue.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize)]
struct NoticeQuery {
    done: Option<String>,
}

#[get("/staff/cases/{receipt_no}")]
async fn case_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = case_context(&state, &req, &user, &receipt).await?;
    if let Some(d) = &q.done {
        ctx.insert("notice", &format!("操作已完成：{d}"));
    }
    form_page(&state, &req, "staff_case.html", &mut ctx, StatusCode::OK)
}

async fn case_context(
    state: &AppState,
    req: &HttpRequest,
    user: &super::auth::CurrentUser,
    receipt: &str,
) -> Result<tera::Context, PageError> {
    let (row, wf) = super::cases::load_current(state, receipt)
        .await
        .map_err(|e| page_err(state, e))?
        .ok_or_else(|| state.page_error(StatusCode::NOT_FOUND, "办件不存在", "没有找到这个受理编号。"))?;
    let view = apply::case_view(state, user, receipt, &client_address(req))
        .await
        .map_err(|e| page_err(state, e))?;
    let case_id = row.id;
    let timeline = state
        .db
        .run(move |c| store::timeline(c, case_id))
        .await
        .map_err(|e| page_err(state, e.into()))?;
    let s = summary(&state.calendar, &row);
    let mut ctx = tera::Context::new();
    ctx.insert("case", &view);
    ctx.insert("wf", &wf);
    ctx.insert("status_label", wf.status.label());
    ctx.insert("summary", &s);
    ctx.insert("timeline", &timeline);
    ctx.insert("role", user.role.as_str());
    ctx.insert("department", &user.department);
    ctx.insert("is_window", &matches!(user.role, Role::Window | Role::Admin));
    Ok(ctx)
}

#[derive(Deserialize)]
struct ActionForm {
    csrf_token: String,
    version: u32,
    action: String,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

#[post("/staff/cases/{receipt_no}")]
async fn case_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, actix_web::Error> {
    require_csrf(&req, &form.csrf_token)?;
    let text = |k: &str| {
        form.fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (cmd, label) = match form.action.as_str() {
        "accept" => (Command::Accept, "受理"),
        "refuse" => (
            Command::Refuse {
                reason: text("reason"),
            },
            "不予受理",
        ),
        "supplement" => {
            // One line per part: "字段或材料 | 原因".
            let items = text("items")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (target, reason) = l.split_once('|').unwrap_or((l, ""));
                    SupplementItem {
                        target: target.trim().to_owned(),
                        reason: reason.trim().to_owned(),
                        department: Some(text("department")).filter(|d| !d.is_empty()),
                    }
                })
                .collect();
            (Command::RequestSupplement { items }, "一次性告知补正")
        }
        "deliver" => {
            let method = match text("method").as_str() {
                "mail" => DeliveryMethod::Mail {
                    tracking_no: text("tracking_no"),
                },
                "pickup" => DeliveryMethod::Pickup,
                _ => DeliveryMethod::ECertificate,
            };
            (Command::Deliver { method }, "送达")
        }
        "decide" => (
            Command::Decide {
                sub_case: text("sub_case").parse().unwrap_or(-1),
                approve: text("decision") == "approve",
                opinion: text("opinion"),
                result: Some(text("result")).filter(|r| !r.is_empty()),
            },
            "审批决定",
        ),
        "archive" => (Command::Archive, "归档"),
        _ => {
            return Err(state
                .page_error(StatusCode::BAD_REQUEST, "无法完成操作", "未知的操作。")
                .into())
        }
    };
    match transition(&state, &user, &receipt, form.version, cmd).await {
        Ok(_) => {
            let done: String = url::form_urlencoded::byte_serialize(label.as_bytes()).collect();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/staff/cases/{receipt}?done={done}")))
                .finish())
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = case_context(&state, &req, &user, &receipt).await?;
            let detail: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            ctx.insert("message", &format!("{message}{}", detail.join("；")));
            let mut resp = form_page(&state, &req, "staff_case.html", &mut ctx, StatusCode::OK)?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}
