//! Intake and handling API: the window's queue and actions, department decisions, the
//! applicant's resubmission, timelines and messages. Every action needs `If-Match`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::{Validate, ValidationError};

use crate::auth::Role;
use crate::store::cases::{self as store, EventRow, MessageRow};
use crate::store::Page;
use crate::web::apply::service::{self as apply, CaseView, SubmitResult};
use crate::web::auth::{client_address, AnyUser, Applicant, Authed, StaffOnly};
use crate::web::cases::service::{summary, transition, CaseSummary, PartDue, QueueQuery, QueueView};
use crate::web::error::ApiError;
use crate::web::extract::{etag, IdempotencyKey, IfMatch, JsonBody};
use crate::web::AppState;
use crate::workflow::{CaseStatus, Command, DeliveryMethod, Event, SubCase, SupplementItem};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(queue)
        .service(case_detail)
        .service(accept)
        .service(supplement)
        .service(refuse)
        .service(supplement_visit)
        .service(deliver)
        .service(extend)
        .service(archive)
        .service(decide)
        .service(resubmit)
        .service(my_messages)
        .service(counter)
        .service(result_document)
        .service(archive_package);
}

/// The handling queue: window clerks see every case, reviewers those with a part for their
/// department. One page in the asked order, with the true total.
#[utoipa::path(tag = "cases", security(("bearer" = [])), params(QueueQuery), responses((status = 200, body = Page<CaseSummary>)))]
#[get("/cases")]
async fn queue(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    if user.role == Role::PolicyEditor {
        return Err(ApiError::Forbidden("政策编辑无权查看办件".into()));
    }
    let (params, paging) = q.parse(QueueView::All).map_err(ApiError::InvalidQuery)?;
    let (page, _) = crate::web::cases::service::queue(&state, &user, &params, paging, false).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A case with everything the staff console shows: its view, the parts' due dates, the
/// workflow state and the timeline.
#[derive(Serialize, ToSchema)]
struct CaseDetail {
    case: CaseView,
    part_dues: Vec<PartDue>,
    version: u32,
    status: CaseStatus,
    trips: u32,
    due_date: Option<String>,
    /// Counted through a year whose holidays are not yet officially published (预计).
    due_date_provisional: bool,
    light: Option<&'static str>,
    /// The 补正 notice waiting for the applicant.
    open_notice: Option<Vec<SupplementItem>>,
    /// Clock pauses for 补正: start and (unless still open) end.
    #[serde(with = "crate::clock::rfc3339::pauses")]
    pauses: Vec<(NaiveDateTime, Option<NaiveDateTime>)>,
    /// The one extension: working days and the reason.
    extension: Option<(u32, String)>,
    sub_cases: Vec<SubCase>,
    timeline: Vec<EventRow>,
}

/// One case for its applicant or the staff who may see it (ETag: its version).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号")),
    responses((status = 200, body = CaseDetail, headers(("ETag" = String, description = "The case's version"))))
)]
#[get("/cases/{receipt_no}")]
async fn case_detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Bringing the case up to date (deemed acceptance) is the same for every reader; who
    // may see it is decided by case_view, which answers 404 to anyone else.
    let (row, wf) = crate::web::cases::service::load_current(&state, &receipt)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件")))?;
    let view = apply::case_view(&state, &user, &receipt, &client_address(&req)).await?;
    let case_id = row.id;
    let mut timeline = state.db.run(move |c| store::timeline(c, case_id)).await?;
    let calendar = state.calendar().await?;
    let s = summary(&calendar, &row, state.today())?;
    let dues = crate::web::cases::service::case_dues(&state, &calendar, &row, &wf).await?;
    let (mut wf, mut part_dues) = (wf, dues.part_dues);
    crate::web::cases::service::scope_to_reviewer(&user, &mut wf, &mut part_dues, &mut timeline);
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(wf.version)))
        .json(CaseDetail {
            case: view,
            part_dues,
            version: wf.version,
            status: wf.status,
            trips: wf.trips,
            due_date: dues.due_date.or(s.due_date),
            due_date_provisional: dues.due_date_provisional,
            light: s.light,
            open_notice: wf.open_notice,
            pauses: wf.pauses,
            extension: wf.extension,
            sub_cases: wf.sub_cases,
            timeline,
        }))
}

async fn respond(
    state: &AppState,
    user: &crate::web::auth::CurrentUser,
    receipt: &str,
    seen: u32,
    cmd: Command,
) -> Result<HttpResponse, ApiError> {
    let (row, wf, due) = transition(state, user, receipt, seen, cmd).await?;
    Ok(changed(&row, &wf, due))
}

/// A case after a successful transition.
#[derive(Serialize, ToSchema)]
struct Changed<'a> {
    receipt_no: &'a str,
    status: CaseStatus,
    status_label: &'static str,
    version: u32,
    trips: u32,
    due_date: Option<String>,
    sub_cases: &'a [SubCase],
    last_event: Option<&'a Event>,
}

/// The answer to a successful transition: the case's new state and its new ETag.
fn changed(
    row: &crate::store::applications::CaseRow,
    wf: &crate::workflow::Case,
    due: Option<String>,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", etag(wf.version)))
        .json(Changed {
            receipt_no: &row.receipt_no,
            status: wf.status,
            status_label: wf.status.label(),
            version: wf.version,
            trips: wf.trips,
            due_date: due,
            sub_cases: &wf.sub_cases,
            last_event: wf.events.last(),
        })
}

const DELIVERY_CHOICE: &str =
    "送达方式 method 应为 mail（邮寄）、e_certificate（电子证照）或 pickup（窗口领取）";
const DECISION_CHOICE: &str = "decision 应为 approve（同意）或 deny（不予批准）";

fn delivery_method(v: &str) -> Result<(), ValidationError> {
    match DeliveryMethod::parse(v, String::new()) {
        Some(_) => Ok(()),
        None => Err(crate::web::validate::problem("invalid_choice", DELIVERY_CHOICE)),
    }
}

fn decision_choice(v: &str) -> Result<(), ValidationError> {
    match v {
        "approve" | "deny" => Ok(()),
        _ => Err(crate::web::validate::problem("invalid_choice", DECISION_CHOICE)),
    }
}

fn window_or_admin(user: &crate::web::auth::CurrentUser) -> Result<(), ApiError> {
    if user.is_window_clerk() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("只有综窗人员或管理员可以执行此操作".into()))
    }
}

/// Accept (受理) and dispatch to the departments in parallel.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/accept")]
async fn accept(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    window_or_admin(&user)?;
    respond(&state, &user, &receipt, seen, Command::Accept).await
}

/// What each item must say is the workflow's rule (a field or material of the case, a
/// reason, the asking department once in progress).
#[derive(Default, Deserialize, ToSchema, Validate)]
struct SupplementBody {
    #[serde(default)]
    items: Vec<SupplementInput>,
}

#[derive(Default, Deserialize, ToSchema)]
struct SupplementInput {
    target: Option<String>,
    reason: Option<String>,
    department: Option<String>,
}

/// Ask for corrections (补正): one consolidated notice naming each field or material and why; the clock pauses.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    request_body = SupplementBody,
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/supplement")]
async fn supplement(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    body: JsonBody<SupplementBody>,
) -> Result<HttpResponse, ApiError> {
    window_or_admin(&user)?;
    let body = body.validated()?;
    let items = body
        .items
        .into_iter()
        .map(|i| SupplementItem {
            target: i.target.unwrap_or_default().trim().to_owned(),
            reason: i.reason.unwrap_or_default().trim().to_owned(),
            department: i.department.filter(|d| !d.trim().is_empty()),
            label: String::new(),
        })
        .collect();
    respond(
        &state,
        &user,
        &receipt,
        seen,
        Command::RequestSupplement { items },
    )
    .await
}

/// The window clerk records that the applicant brought the 补正 papers to the centre: one
/// trip (跑动), counted against the zero-trip target. Only staff record trips; an applicant's
/// own resubmission never counts as one.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/supplement-visit")]
async fn supplement_visit(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    window_or_admin(&user)?;
    let cmd = Command::RecordVisit {
        reason: crate::workflow::VisitReason::SupplementInPerson,
    };
    respond(&state, &user, &receipt, seen, cmd).await
}

/// The workflow requires the reason (it is told to the applicant).
#[derive(Default, Deserialize, ToSchema, Validate)]
struct ReasonBody {
    reason: Option<String>,
}

/// Refuse to accept (不予受理) with the reason told to the applicant.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    request_body = ReasonBody,
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/refuse")]
async fn refuse(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    body: JsonBody<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    window_or_admin(&user)?;
    let body = body.validated()?;
    let reason = body.reason.unwrap_or_default().trim().to_owned();
    respond(&state, &user, &receipt, seen, Command::Refuse { reason }).await
}

#[derive(Default, Deserialize, ToSchema, Validate)]
struct DeliverBody {
    /// mail, e_certificate or pickup.
    #[validate(
        required(
            code = "invalid_choice",
            message = "送达方式 method 应为 mail（邮寄）、e_certificate（电子证照）或 pickup（窗口领取）"
        ),
        custom(function = "delivery_method")
    )]
    method: Option<String>,
    tracking_no: Option<String>,
}

/// Deliver the results: by mail (with tracking number), as e-certificates, or at the window.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    request_body = DeliverBody,
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/deliver")]
async fn deliver(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    body: JsonBody<DeliverBody>,
) -> Result<HttpResponse, ApiError> {
    window_or_admin(&user)?;
    let body = body.validated()?;
    let tracking_no = body.tracking_no.unwrap_or_default().trim().to_owned();
    let method = DeliveryMethod::parse(body.method.as_deref().unwrap_or(""), tracking_no)
        .ok_or_else(|| ApiError::failed("delivery method", "validated method did not parse"))?;
    respond(&state, &user, &receipt, seen, Command::Deliver { method }).await
}

/// The workflow checks the days against the legal cap and requires the reason.
#[derive(Default, Deserialize, ToSchema, Validate)]
struct ExtendBody {
    working_days: Option<u32>,
    reason: Option<String>,
}

/// Extend the time limit once, by working days, with the reason told to the applicant.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    request_body = ExtendBody,
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/extend")]
async fn extend(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
    body: JsonBody<ExtendBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.validated()?;
    let cmd = Command::Extend {
        working_days: body.working_days.unwrap_or(0),
        reason: body.reason.unwrap_or_default().trim().to_owned(),
    };
    respond(&state, &user, &receipt, seen, cmd).await
}

/// Archive a delivered or refused case.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/cases/{receipt_no}/archive")]
async fn archive(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    window_or_admin(&user)?;
    respond(&state, &user, &receipt, seen, Command::Archive).await
}

#[derive(Default, Deserialize, ToSchema, Validate)]
struct DecideBody {
    /// approve or deny.
    #[validate(
        required(
            code = "invalid_choice",
            message = "decision 应为 approve（同意）或 deny（不予批准）"
        ),
        custom(function = "decision_choice")
    )]
    decision: Option<String>,
    opinion: Option<String>,
    result: Option<String>,
    /// An upload of the deciding reviewer: the result document (批文, 证照 scan).
    result_upload: Option<String>,
}

/// A department's decision on its part: approve or deny, with an opinion (required for a denial) and, for an approval, the certificate number or a result document.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The part's (子件) number"), IfMatch),
    request_body = DecideBody,
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/sub-cases/{id}/decide")]
async fn decide(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<StaffOnly>,
    id: web::Path<i64>,
    body: JsonBody<DecideBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.validated()?;
    let approve = body.decision.as_deref() == Some("approve");
    let sub_case = id.into_inner();
    let receipt = state
        .db
        .run(move |c| store::receipt_of_sub_case(c, sub_case))
        .await?
        .ok_or_else(|| ApiError::NotFound("未找到该子件".into()))?;
    let (row, wf, due) = crate::web::cases::service::decide(
        &state,
        &user,
        &receipt,
        seen,
        sub_case,
        approve,
        body.opinion.unwrap_or_default().trim().to_owned(),
        body.result.filter(|r| !r.trim().is_empty()),
        body.result_upload.filter(|r| !r.trim().is_empty()),
    )
    .await?;
    Ok(changed(&row, &wf, due))
}

/// The result document a department attached to its decision: for the applicant and for
/// the staff who may see the case.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The part's (子件) number")),
    responses((status = 200, description = "The document, with its content type", content_type = "application/octet-stream"))
)]
#[get("/sub-cases/{id}/result-document")]
async fn result_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let sub_case = id.into_inner();
    let not_found = || ApiError::NotFound("未找到该子件的结果文件".into());
    let (case, part) = state
        .db
        .run(move |c| store::sub_case_with_case(c, sub_case))
        .await?
        .ok_or_else(not_found)?;
    let allowed = case.account_id == user.id
        || user.is_window_clerk()
        || user.reviewer_department() == Some(part.department_code.as_str());
    let upload_id = part.result_upload.filter(|_| allowed).ok_or_else(not_found)?;
    let upload = apply::readable_upload(&state, &user, &upload_id, &client_address(&req)).await?;
    let bytes = apply::read_upload(&state, &upload).await?;
    Ok(HttpResponse::Ok()
        .content_type(upload.content_type.as_str())
        .insert_header(("Content-Disposition", apply::disposition(&upload)))
        .body(bytes))
}

/// Which fields and materials may be corrected, and their values, are checked against the
/// notice and the form by the resubmission.
#[derive(Default, Deserialize, ToSchema, Validate)]
struct ResubmitBody {
    #[serde(default)]
    #[schema(value_type = Object)]
    data: crate::form::FormData,
    #[serde(default)]
    #[schema(value_type = std::collections::HashMap<String, Vec<String>>)]
    materials: crate::form::MaterialLinks,
}

/// The applicant's corrections after a 补正 notice: exactly the listed fields and materials.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号"), IfMatch),
    request_body = ResubmitBody,
    responses(
        (status = 200, body = Changed, headers(("ETag" = String, description = "The case's new version"))),
        (status = 409, body = crate::web::error::ErrorBody, description = "Not allowed in the case's state")
    )
)]
#[post("/applications/{receipt_no}/resubmit")]
async fn resubmit(
    state: web::Data<AppState>,
    IfMatch(seen): IfMatch,
    user: Authed<Applicant>,
    receipt: web::Path<String>,
    body: JsonBody<ResubmitBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.validated()?;
    let (row, wf, due) =
        crate::web::cases::supplement::resubmit(&state, &user, &receipt, seen, body.data, body.materials)
            .await?;
    Ok(changed(&row, &wf, due))
}

/// The applicant's inbox (站内消息), newest first.
#[utoipa::path(tag = "cases", security(("bearer" = [])), responses((status = 200, body = Page<MessageRow>)))]
#[get("/messages")]
async fn my_messages(state: web::Data<AppState>, user: Authed<Applicant>) -> Result<HttpResponse, ApiError> {
    let id = user.id;
    let items = state.db.run(move |c| store::messages_of(c, id)).await?;
    let total = items.len() as i64;
    Ok(HttpResponse::Ok().json(Page {
        items,
        total,
        page: 1,
        per_page: total.max(1),
    }))
}

/// The applicant is validated as a registration (with the password the counter generates)
/// and the application as any submission.
#[derive(Default, Deserialize, ToSchema, Validate)]
struct CounterBody {
    applicant: Option<crate::web::accounts::service::RegisterInput>,
    #[serde(flatten)]
    #[schema(value_type = crate::web::apply::service::SubmitInput)]
    application: serde_json::Map<String, serde_json::Value>,
}

/// A walk-in application registered at the counter on the applicant's behalf: the
/// applicant is found by ID number or USCC, or registered and handed a one-time
/// `activation_code` to set a password; the case's channel is the window and it counts one trip.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(IdempotencyKey),
    request_body = CounterBody,
    responses(
        (status = 201, body = SubmitResult, description = "The case; for an applicant registered just now also `activation_code`, printed for them to set a password"),
        (status = 409, body = crate::web::error::ErrorBody, description = "The key is in use by a request still running")
    )
)]
#[post("/cases/counter")]
async fn counter(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    IdempotencyKey(key): IdempotencyKey,
    body: JsonBody<CounterBody>,
) -> Result<HttpResponse, ApiError> {
    if !user.is_window_clerk() {
        return Err(ApiError::Forbidden("只有综窗人员或管理员可以代为登记".into()));
    }
    let body = body.validated()?;
    let who = body.applicant.unwrap_or_default();
    let (applicant, created) =
        crate::web::counter::service::find_or_register(&state, who, client_address(&req)).await?;
    let (status, text) = apply::submit_idempotent(
        &state,
        &user,
        applicant,
        &key,
        serde_json::Value::Object(body.application),
        "window",
    )
    .await?;
    let mut result: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ApiError::failed("serialize the response", e))?;
    // A new applicant gets a printed one-time code to set their password; a replayed
    // request does not mint another.
    if created && status == 201 {
        let code = crate::web::counter::service::issue_activation_code(&state, &user, applicant).await?;
        result["activation_code"] = serde_json::Value::String(code);
    }
    Ok(HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::CREATED),
    )
    .json(result))
}

/// The electronic archive of a case (电子归档): a ZIP with `manifest.json` (every other file
/// with its size and SHA-256), `case.json` (the record and its timeline), the materials, the
/// result documents and the signed certificates. Window staff and administrators; audited.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("receipt_no" = String, Path, description = "受理编号")),
    responses(
        (status = 200, description = "The package", content_type = "application/zip"),
        (status = 403, body = crate::web::error::ErrorBody),
        (status = 404, body = crate::web::error::ErrorBody)
    )
)]
#[get("/cases/{receipt_no}/archive-package")]
async fn archive_package(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<StaffOnly>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (name, bytes) =
        crate::web::cases::archive::package(&state, &user, &receipt, &client_address(&req)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .body(bytes))
}
