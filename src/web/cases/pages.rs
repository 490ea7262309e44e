//! The staff console: the window's queue and case page with its actions (accept, 补正,
//! refuse, deliver), and the department reviewers' view of their own parts with the
//! decision form. Every action form carries the case version the clerk saw.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use validator::Validate;

use crate::auth::Role;
use crate::store::cases::{self as store, QueueFilter};
use crate::web::apply::service as apply;
use crate::web::auth::{client_address, require_csrf, Authed, StaffOnly};
use crate::web::cases::service::{summary, transition};
use crate::web::error::PageError;
use crate::web::page::{form_message, form_page, page_err, PageForm};
use crate::web::AppState;
use crate::workflow::{Command, DeliveryMethod, SupplementItem};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(queue_page)
        .service(case_page)
        .service(case_action)
        .service(decide_action)
        .service(console_js);
}

#[get("/static/console.js")]
async fn console_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(crate::web::templates::CONSOLE_JS)
}

#[derive(Deserialize)]
struct QueueQuery {
    status: Option<String>,
    light: Option<String>,
    bundle: Option<String>,
    channel: Option<String>,
    /// Only cases waiting at least this many calendar days since submission.
    age: Option<String>,
}

#[derive(serde::Serialize)]
struct QueueRow {
    #[serde(flatten)]
    case: crate::web::cases::service::CaseSummary,
    bundle_name: String,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
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
    let status = non_empty(&q.status);
    let light = non_empty(&q.light);
    let bundle = non_empty(&q.bundle);
    let channel = non_empty(&q.channel).filter(|c| c == "window" || c == "online");
    let age: Option<i64> = non_empty(&q.age).and_then(|a| a.parse().ok()).filter(|a| *a > 0);
    let filter = QueueFilter {
        department: user.reviewer_department().map(str::to_owned),
        status: status.clone(),
        bundle: bundle.clone(),
        channel: channel.clone(),
    };
    let (rows, bundles) = state
        .db
        .run(move |c| {
            let rows = store::queue(c, &filter, 500)?;
            let bundles = crate::store::catalogue::list_bundles(
                c,
                &Default::default(),
                crate::store::Paging {
                    page: 1,
                    per_page: crate::store::Paging::MAX_PER_PAGE,
                },
            )?;
            Ok::<_, crate::db::DbError>((rows, bundles.items))
        })
        .await
        .map_err(|e| page_err(&state, e.into()))?;
    let now = state.now();
    let calendar = state.calendar().await.map_err(|e| page_err(&state, e))?;
    let today = state.today();
    let all: Vec<_> = rows
        .iter()
        .filter(|r| age.is_none_or(|a| (now - r.submitted_at).num_days() >= a))
        .map(|r| summary(&calendar, r, today))
        .collect::<Result<_, _>>()
        .map_err(|e| page_err(&state, e))?;
    let overdue = all.iter().filter(|s| s.light == Some("red")).count();
    let due_soon = all.iter().filter(|s| s.light == Some("yellow")).count();
    let names: HashMap<&str, &str> = bundles
        .iter()
        .map(|b| (b.code.as_str(), b.name.as_str()))
        .collect();
    let items: Vec<QueueRow> = all
        .into_iter()
        .filter(|s| light.as_deref().is_none_or(|l| s.light == Some(l)))
        .map(|case| QueueRow {
            bundle_name: names.get(case.bundle.as_str()).unwrap_or(&"").to_string(),
            case,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("cases", &items);
    ctx.insert("bundles", &bundles);
    ctx.insert("status", &status);
    ctx.insert("light", &light);
    ctx.insert("bundle", &bundle);
    ctx.insert("channel", &channel);
    ctx.insert("age", &age);
    ctx.insert("overdue", &overdue);
    ctx.insert("due_soon", &due_soon);
    ctx.insert("role", user.role.as_str());
    let statuses: Vec<(&str, &str)> = crate::workflow::CaseStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect();
    ctx.insert("statuses", &statuses);
    form_page(&state, &req, "cases/staff_queue.html", &mut ctx, StatusCode::OK)
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
    form_page(&state, &req, "cases/staff_case.html", &mut ctx, StatusCode::OK)
}

async fn case_context(
    state: &AppState,
    req: &HttpRequest,
    user: &crate::web::auth::CurrentUser,
    receipt: &str,
) -> Result<tera::Context, PageError> {
    let (row, mut wf) = crate::web::cases::service::load_current(state, receipt)
        .await
        .map_err(|e| page_err(state, e))?
        .ok_or_else(|| state.page_error(StatusCode::NOT_FOUND, "办件不存在", "没有找到这个受理编号。"))?;
    let view = apply::case_view(state, user, receipt, &client_address(req))
        .await
        .map_err(|e| page_err(state, e))?;
    let case_id = row.id;
    let mut timeline = state
        .db
        .run(move |c| store::timeline(c, case_id))
        .await
        .map_err(|e| page_err(state, e.into()))?;
    let calendar = state.calendar().await.map_err(|e| page_err(state, e))?;
    let s = summary(&calendar, &row, state.today()).map_err(|e| page_err(state, e))?;
    let mut dues = crate::web::cases::service::case_dues(state, &calendar, &row, &wf)
        .await
        .map_err(|e| page_err(state, e))?;
    crate::web::cases::service::scope_to_reviewer(user, &mut wf, &mut dues.part_dues, &mut timeline);
    let mut ctx = tera::Context::new();
    ctx.insert("part_dues", &dues.part_dues);
    ctx.insert("dues", &dues);
    ctx.insert("case", &view);
    ctx.insert("wf", &wf);
    ctx.insert("status_label", wf.status.label());
    // Whether the workflow still takes a visit record (any status that is not final).
    ctx.insert("case_open", &!wf.status.is_terminal());
    ctx.insert("summary", &s);
    ctx.insert("timeline", &timeline);
    ctx.insert("role", user.role.as_str());
    ctx.insert("department", &user.department);
    ctx.insert("is_window", &user.is_window_clerk());
    if user.is_window_clerk() {
        let choices = crate::web::cases::supplement::notice_choices(state, &row)
            .await
            .map_err(|e| page_err(state, e))?;
        let mut departments: Vec<(&str, &str)> = Vec::new();
        for p in &choices {
            if !departments.iter().any(|(code, _)| *code == p.department) {
                departments.push((&p.department, &p.department_name));
            }
        }
        ctx.insert("notice_departments", &departments);
        ctx.insert("notice_choices", &choices);
    }
    Ok(ctx)
}

#[derive(Deserialize, Validate)]
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
    form: PageForm<ActionForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
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
            // One checkbox per field or material of the case (`pick__<target>`), each with
            // its reason (`reason__<target>`); the department from the list of the parts'.
            let mut items: Vec<SupplementItem> = form
                .fields
                .keys()
                .filter_map(|k| k.strip_prefix("pick__"))
                .map(|target| SupplementItem {
                    target: target.to_owned(),
                    reason: text(&format!("reason__{target}")),
                    department: Some(text("department")).filter(|d| !d.is_empty()),
                })
                .collect();
            items.sort_by(|a, b| a.target.cmp(&b.target));
            if items.is_empty() {
                let outcome: Result<(), _> = Err(crate::web::error::ApiError::Validation(vec![
                    crate::web::error::FieldError::new(
                        "items",
                        "required",
                        "请勾选需要补正的字段或材料，并写明原因",
                    ),
                ]));
                return after_action(
                    &state,
                    &req,
                    &user,
                    &receipt,
                    "一次性告知补正",
                    outcome,
                    &form.fields,
                )
                .await;
            }
            (Command::RequestSupplement { items }, "一次性告知补正")
        }
        "deliver" => {
            // The form's radio buttons default to the e-certificate.
            let method = DeliveryMethod::parse(&text("method"), text("tracking_no"))
                .unwrap_or(DeliveryMethod::ECertificate);
            (Command::Deliver { method }, "送达")
        }
        "archive" => (Command::Archive, "归档"),
        "supplement_visit" => (
            Command::RecordVisit {
                reason: crate::workflow::VisitReason::SupplementInPerson,
            },
            "记录现场补正",
        ),
        _ => {
            return Err(state
                .page_error(StatusCode::BAD_REQUEST, "无法完成操作", "未知的操作。")
                .into())
        }
    };
    let outcome = transition(&state, &user, &receipt, form.version, cmd).await;
    after_action(&state, &req, &user, &receipt, label, outcome, &form.fields).await
}

/// Back to the case page: with a notice when the action succeeded, else with the reason and
/// the form as it was posted (`posted`), so that nothing typed or chosen is lost or reset.
async fn after_action<T>(
    state: &AppState,
    req: &HttpRequest,
    user: &crate::web::auth::CurrentUser,
    receipt: &str,
    label: &str,
    outcome: Result<T, crate::web::error::ApiError>,
    posted: &HashMap<String, String>,
) -> Result<HttpResponse, actix_web::Error> {
    match outcome {
        Ok(_) => {
            let done: String = url::form_urlencoded::byte_serialize(label.as_bytes()).collect();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/staff/cases/{receipt}?done={done}")))
                .finish())
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = case_context(state, req, user, receipt).await?;
            ctx.insert("posted", posted);
            let detail: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            ctx.insert("message", &format!("{message}{}", detail.join("；")));
            let mut resp = form_page(state, req, "cases/staff_case.html", &mut ctx, StatusCode::OK)?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

/// A department's decision from the case page, with an optional result document (a scan
/// of the 批文 or 证照), stored as the reviewer's upload and linked to the part.
#[post("/staff/cases/{receipt_no}/decide")]
async fn decide_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    mut payload: actix_multipart::Multipart,
) -> Result<HttpResponse, actix_web::Error> {
    crate::web::apply::api::check_length(&req, state.max_upload_bytes * 2)?;
    let posted =
        crate::web::apply::pages::read_posted_form(&state, &req, &user, &mut payload, &|m| m == "result")
            .await?;
    let text = |k: &str| {
        posted
            .inputs
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    // No default decision: a form that comes back with an error must never turn a 不予批准
    // into an approval because a select fell back to its first option.
    let decision = match text("decision").as_str() {
        "approve" => Ok(true),
        "deny" => Ok(false),
        _ => Err(crate::web::error::ApiError::Validation(vec![
            crate::web::error::FieldError::new("decision", "required", "请选择审批决定：同意或不予批准"),
        ])),
    };
    let outcome = match (posted.upload_error, decision) {
        (Some(message), _) => Err(crate::web::error::ApiError::Validation(vec![
            crate::web::error::FieldError::new("result_upload", "upload_failed", message),
        ])),
        (None, Err(e)) => Err(e),
        (None, Ok(approve)) => {
            crate::web::cases::service::decide(
                &state,
                &user,
                &receipt,
                text("version").parse().unwrap_or(0),
                text("sub_case").parse().unwrap_or(-1),
                approve,
                text("opinion"),
                Some(text("result")).filter(|r| !r.is_empty()),
                posted.files.into_iter().next().map(|(_, id)| id),
            )
            .await
        }
    };
    after_action(&state, &req, &user, &receipt, "审批决定", outcome, &posted.inputs).await
}
