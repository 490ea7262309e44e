//! Applications API: the merged form, drafts, uploads, submission with Idempotency-Key,
//! and the applicant's cases.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::form;
use crate::store::Page;
use crate::web::apply::service::{
    self as apply, CaseSummary, CaseView, Draft, FormResponse, SubmitInput, SubmitResult,
};
use crate::web::auth::{client_address, AnyUser, Applicant, Authed, MaybeUser};
use crate::web::error::{ApiError, FieldError};
use crate::web::extract::{IdempotencyKey, JsonBody};
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(merged_form)
        .service(get_draft)
        .service(put_draft)
        .service(upload)
        .service(get_upload)
        .service(submit)
        .service(list_applications)
        .service(get_application);
}

/// Which answers a bundle's questions allow is the bundle's rule (`form::check_answers`).
#[derive(Default, Deserialize, ToSchema, Validate)]
struct AnswersBody {
    #[serde(default)]
    answers: HashMap<String, String>,
}

/// The merged form (一表申请) of a bundle for the applicant's answers to its questions; a
/// logged-in applicant gets what their account already knows in `prefill`.
#[utoipa::path(
    tag = "apply",
    params(("code" = String, Path, description = "The bundle's code")),
    request_body = AnswersBody,
    responses((status = 200, body = FormResponse))
)]
#[post("/bundles/{code}/form")]
async fn merged_form(
    state: web::Data<AppState>,
    code: web::Path<String>,
    user: MaybeUser,
    body: JsonBody<AnswersBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.validated()?;
    let entry = apply::bundle_entry(&state, &code).await?;
    let problems = form::check_answers(&entry.def, &body.answers);
    if !problems.is_empty() {
        return Err(ApiError::Validation(
            problems.into_iter().map(FieldError::from).collect(),
        ));
    }
    let merged = entry.merged(&body.answers);
    let prefill = match &user.0 {
        Some(u) if matches!(u.role, crate::auth::Role::Citizen | crate::auth::Role::Enterprise) => {
            apply::prefill(&state, u.id, &merged).await?
        }
        _ => Default::default(),
    };
    Ok(HttpResponse::Ok().json(FormResponse {
        form: (*merged).clone(),
        prefill,
    }))
}

/// The applicant's draft of a bundle's application (empty if none).
#[utoipa::path(tag = "apply", security(("bearer" = [])), params(("bundle" = String, Path, description = "The bundle's code")), responses((status = 200, body = Draft)))]
#[get("/drafts/{bundle}")]
async fn get_draft(
    state: web::Data<AppState>,
    user: Authed<Applicant>,
    bundle: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    apply::bundle_entry(&state, &bundle).await?;
    let draft = apply::load_draft(&state, &user, &bundle).await?;
    Ok(HttpResponse::Ok().json(draft))
}

/// Nothing in a draft is checked: it keeps whatever was typed.
#[derive(Default, Deserialize, ToSchema, Validate)]
struct DraftPatch {
    answers: Option<HashMap<String, String>>,
    #[schema(value_type = Option<Object>)]
    data: Option<form::FormData>,
    #[schema(value_type = Option<HashMap<String, Vec<String>>>)]
    materials: Option<form::MaterialLinks>,
}

#[derive(Serialize, ToSchema)]
struct DraftSaved {
    version: i32,
    /// Beijing time with its offset.
    saved_at: String,
}

/// Autosave: the parts present in the body replace those of the stored draft. Nothing is
/// validated here; a draft keeps whatever was typed.
#[utoipa::path(
    tag = "apply",
    security(("bearer" = [])),
    params(("bundle" = String, Path, description = "The bundle's code")),
    request_body = DraftPatch,
    responses((status = 200, body = DraftSaved))
)]
#[put("/drafts/{bundle}")]
async fn put_draft(
    state: web::Data<AppState>,
    user: Authed<Applicant>,
    bundle: web::Path<String>,
    patch: JsonBody<DraftPatch>,
) -> Result<HttpResponse, ApiError> {
    let patch = patch.validated()?;
    apply::bundle_entry(&state, &bundle).await?;
    let mut draft = apply::load_draft(&state, &user, &bundle).await?;
    if let Some(a) = patch.answers {
        draft.answers = a;
    }
    if let Some(d) = patch.data {
        draft.data.extend(d);
    }
    if let Some(m) = patch.materials {
        draft.materials = m;
    }
    let version = apply::save_draft(&state, &user, &bundle, &draft).await?;
    Ok(HttpResponse::Ok().json(DraftSaved {
        version,
        saved_at: state
            .clock
            .now()
            .with_timezone(&crate::clock::beijing_offset())
            .to_rfc3339(),
    }))
}

/// Reads one multipart file field into memory, refusing more than `limit` bytes.
pub async fn read_file_field(field: &mut actix_multipart::Field, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: "upload_failed",
            message: format!("文件上传中断：{e}"),
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "文件超过大小上限：每个文件不能超过 {}",
        crate::web::templates::human_size(limit as u64)
    ))
}

/// Refuses a body whose declared length is over the limit before reading any of it.
pub fn check_length(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Allow for the multipart envelope around the file.
    match declared {
        Some(n) if n > limit + 64 * 1024 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

#[derive(Serialize, ToSchema)]
struct Uploaded {
    id: String,
    sha256: String,
    size: i64,
    content_type: String,
    file_name: String,
}

/// Applicants upload their materials, window staff those handed in at the counter, and
/// reviewers the result documents of their decisions.
#[utoipa::path(
    tag = "apply",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "One part named `file`: the document (PDF, JPEG or PNG)"),
    responses(
        (status = 201, body = Uploaded),
        (status = 413, body = crate::web::error::ErrorBody, description = "Larger than the limit"),
        (status = 429, body = crate::web::error::ErrorBody, description = "Too many uploads of this account at once")
    )
)]
#[post("/uploads")]
async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    mut payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    if user.role == crate::auth::Role::PolicyEditor {
        return Err(ApiError::Forbidden("该角色不能上传办件文件".into()));
    }
    check_length(&req, state.max_upload_bytes)?;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| ApiError::BadRequest {
            code: "invalid_multipart",
            message: format!("上传内容格式有误：{e}"),
        })?;
        if field.name() != Some("file") {
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("材料")
            .to_owned();
        let Some(row) = apply::receive_upload(&state, &user, &mut field, &name).await? else {
            return Err(ApiError::Validation(vec![FieldError::new(
                "file",
                "empty",
                "文件是空的（0 字节），请重新选择",
            )]));
        };
        return Ok(HttpResponse::Created().json(Uploaded {
            id: row.id,
            sha256: row.sha256,
            size: row.size,
            content_type: row.content_type,
            file_name: row.file_name,
        }));
    }
    Err(ApiError::Validation(vec![FieldError::new(
        "file",
        "required",
        "请选择要上传的文件（表单字段名为 file）",
    )]))
}

/// An upload's bytes: for its owner; for window staff and administrators when a case links
/// it; for a reviewer when it belongs to a part of their department. Staff reads are audited.
#[utoipa::path(
    tag = "apply",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The upload's id")),
    responses((status = 200, description = "The file, with its content type", content_type = "application/octet-stream"))
)]
#[get("/uploads/{id}")]
async fn get_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = apply::readable_upload(&state, &user, &id, &client_address(&req)).await?;
    let bytes = apply::read_upload(&state, &row).await?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header(("Content-Disposition", apply::disposition(&row)))
        .body(bytes))
}

/// Submit an application: one merged form and one set of materials for the whole bundle
/// (一表申请). A replay with the same `Idempotency-Key` returns the first answer.
#[utoipa::path(
    tag = "apply",
    security(("bearer" = [])),
    params(IdempotencyKey),
    request_body = SubmitInput,
    responses(
        (status = 201, body = SubmitResult),
        (status = 404, body = crate::web::error::ErrorBody, description = "No bundle of that code"),
        (status = 409, body = crate::web::error::ErrorBody, description = "The key is in use by a request still running"),
        (status = 422, body = crate::web::error::ErrorBody, description = "The form, a rule or a material is not right; each field named")
    )
)]
#[post("/applications")]
async fn submit(
    state: web::Data<AppState>,
    user: Authed<Applicant>,
    IdempotencyKey(key): IdempotencyKey,
    raw: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: serde_json::Value = crate::web::extract::parse(&raw)?;
    let (status, text) = apply::submit_idempotent(&state, &user, user.id, &key, body, "online").await?;
    Ok(HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::CREATED),
    )
    .content_type("application/json")
    .body(text))
}

/// The applicant's own cases, newest first.
#[utoipa::path(tag = "apply", security(("bearer" = [])), responses((status = 200, body = Page<CaseSummary>)))]
#[get("/applications")]
async fn list_applications(
    state: web::Data<AppState>,
    user: Authed<Applicant>,
) -> Result<HttpResponse, ApiError> {
    let items = apply::my_cases(&state, &user).await?;
    let total = items.len() as i64;
    Ok(HttpResponse::Ok().json(Page {
        items,
        total,
        page: 1,
        per_page: total.max(1),
    }))
}

/// One case as its applicant (or staff who may see it) sees it; staff reads are audited.
#[utoipa::path(tag = "apply", security(("bearer" = [])), params(("receipt_no" = String, Path, description = "受理编号")), responses((status = 200, body = CaseView)))]
#[get("/applications/{receipt_no}")]
async fn get_application(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    receipt: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = apply::case_view(&state, &user, &receipt, &client_address(&req)).await?;
    Ok(HttpResponse::Ok().json(view))
}
