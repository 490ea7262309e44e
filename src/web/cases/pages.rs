//! The staff console: the window's queue and case page with its actions (accept, 补正,
//! refuse, deliver), and the department reviewers' view of their own parts with the
//! decision form. Every action form carries the case version the clerk saw.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::Role;
use crate::store::cases as store;
use crate::web::apply::service as apply;
use crate::web::auth::{client_address, require_csrf, Authed, StaffOnly};
use crate::web::cases::service::{summary, transition, QueueQuery, QueueView};
use crate::web::error::PageError;
use crate::web::page::{form_message, form_page, page_err, PageForm};
use crate::web::AppState;
use crate::workflow::{Command, DeliveryMethod, SupplementItem};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(queue_page)
        .service(case_page)
        .service(case_action)
        .service(decide_action)
        .service(revoke_certificate);
}

#[derive(serde::Serialize)]
struct QueueRow {
    #[serde(flatten)]
    case: crate::web::cases::service::CaseSummary,
    bundle_name: String,
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
    let (params, paging) = q.parse(QueueView::Todo).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        state.page_error(StatusCode::BAD_REQUEST, "筛选条件有误", &text.join("；"))
    })?;
    let paging = crate::store::Paging {
        per_page: if q.per_page.is_some() { paging.per_page } else { 50 },
        ..paging
    };
    let (page, tabs) = crate::web::cases::service::queue(&state, &user, &params, paging, true)
        .await
        .map_err(|e| page_err(&state, e))?;
    let bundles = state
        .db
        .run(move |c| {
            crate::store::catalogue::list_bundles(
                c,
                &Default::default(),
                crate::store::Paging {
                    page: 1,
                    per_page: crate::store::Paging::MAX_PER_PAGE,
                },
            )
        })
        .await
        .map_err(|e| page_err(&state, e.into()))?
        .items;
    let names: HashMap<&str, &str> = bundles
        .iter()
        .map(|b| (b.code.as_str(), b.name.as_str()))
        .collect();
    let items: Vec<QueueRow> = page
        .items
        .into_iter()
        .map(|case| QueueRow {
            bundle_name: names.get(case.bundle.as_str()).unwrap_or(&"").to_string(),
            case,
        })
        .collect();
    let first = (page.page - 1) * page.per_page + 1;
    let last = first + items.len() as i64 - 1;
    // The filters of this view, repeated in every tab, sort and page link.
    let keep: Vec<(&str, String)> = [
        ("status", params.status.clone()),
        ("light", params.light.clone()),
        ("bundle", params.bundle.clone()),
        ("channel", params.channel.clone()),
        ("age", params.age_days.map(|a| a.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let query = |extra: &[(&str, String)]| -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(keep.iter().chain(extra.iter()))
            .finish()
    };
    let sort = crate::web::cases::service::order_name(params.order);
    let view = params.view.as_str();
    let base = vec![("view", view.to_owned()), ("sort", sort.to_owned())];
    let page_link = |n: i64| {
        let mut extra = base.clone();
        extra.push(("page", n.to_string()));
        format!("/staff/cases?{}", query(&extra))
    };
    let mut ctx = tera::Context::new();
    ctx.insert("cases", &items);
    ctx.insert("total", &page.total);
    ctx.insert("first", &first);
    ctx.insert("last", &last);
    ctx.insert("prev_link", &(page.page > 1).then(|| page_link(page.page - 1)));
    ctx.insert(
        "next_link",
        &(page.page * page.per_page < page.total).then(|| page_link(page.page + 1)),
    );
    ctx.insert("overdue", &tabs.overdue);
    ctx.insert("due_soon", &tabs.due_soon);
    let tab_links: Vec<(String, &str, i64, bool)> = tabs
        .tabs
        .iter()
        .map(|t| {
            let link = format!(
                "/staff/cases?{}",
                query(&[("view", t.view.to_owned()), ("sort", sort.to_owned())])
            );
            (link, t.label, t.count, t.view == view && params.status.is_none())
        })
        .collect();
    ctx.insert("tabs", &tab_links);
    ctx.insert("view", view);
    ctx.insert("view_label", params.view.label());
    ctx.insert("sort", sort);
    ctx.insert("bundles", &bundles);
    ctx.insert("status", &params.status);
    ctx.insert("light", &params.light);
    ctx.insert("bundle", &params.bundle);
    ctx.insert("channel", &params.channel);
    ctx.insert("age", &params.age_days);
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
    let issued = state
        .db
        .run(move |c| crate::store::certificates::of_case(c, case_id))
        .await
        .map_err(|e| page_err(state, e.into()))?;
    let certificates = issued
        .iter()
        .map(|c| {
            Ok(CertificateLine {
                sub_case: c.sub_case_id,
                number: c.certificate_no.clone(),
                verify_path: crate::web::certificates::service::verify_path(&c.certificate_no),
                standing: crate::web::certificates::service::stored_verdict(state, c)?,
                revoked: c.revoked_at.is_some(),
            })
        })
        .collect::<Result<Vec<CertificateLine>, crate::web::error::ApiError>>()
        .map_err(|e| page_err(state, e))?;
    let mut ctx = tera::Context::new();
    ctx.insert("certificates", &certificates);
    ctx.insert("part_dues", &dues.part_dues);
    ctx.insert("dues", &dues);
    ctx.insert("documents", &Vec::<(&str, &str)>::new());
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
        ctx.insert("documents", &crate::web::cases::documents::available(&wf));
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

/// A part's signed e-certificate as its page lists it.
#[derive(Serialize)]
struct CertificateLine {
    sub_case: i64,
    number: String,
    verify_path: String,
    standing: crate::web::certificates::service::Verdict,
    revoked: bool,
}

#[derive(Deserialize, Validate)]
struct RevokeForm {
    csrf_token: String,
    certificate_no: String,
    reason: String,
}

/// Revokes a part's e-certificate from the case page: a reviewer of the issuing department
/// or an administrator, with the reason every verifier will see.
#[post("/staff/cases/{receipt_no}/revoke-certificate")]
async fn revoke_certificate(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    form: PageForm<RevokeForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let reason = form.reason.trim();
    let outcome = match reason.chars().count() {
        2..=500 => crate::web::certificates::service::revoke(&state, &user, &form.certificate_no, reason)
            .await
            .map(|_| ()),
        _ => Err(crate::web::error::ApiError::Validation(vec![
            crate::web::error::FieldError::new("reason", "length", "请填写撤销原因（2 至 500 字）"),
        ])),
    };
    let posted = HashMap::from([("reason".to_owned(), reason.to_owned())]);
    after_action(&state, &req, &user, &receipt, "撤销电子证照", outcome, &posted).await
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
                    label: String::new(),
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
    let outcome = match (posted.refused, decision) {
        (Some(r), _) => Err(crate::web::error::ApiError::Validation(vec![
            crate::web::error::FieldError::new("result_upload", "upload_failed", r.message),
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
