//! The applicant's side of a case: the receipt and progress page with its 补正 form, the
//! e-certificates of a delivered case, and the message inbox.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::FieldType;
use crate::form::{FormData, MaterialLinks};
use crate::store::cases as store;
use crate::web::apply::pages::read_posted_form;
use crate::web::apply::service as apply;
use crate::web::auth::{client_address, AnyUser, Applicant, Authed, CurrentUser};
use crate::web::error::{ApiError, FieldError, PageError};
use crate::web::page::{field_errors, form_message, form_page, page_err};
use crate::web::AppState;
use crate::workflow::{CaseStatus, SubStatus};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(receipt_page)
        .service(resubmit_submit)
        .service(certificate_page)
        .service(inbox_page);
}

/// One line of an open 补正 notice, as the applicant's form shows it.
#[derive(Serialize)]
struct NoticeLine {
    target: String,
    label: String,
    reason: String,
    /// "material", "address", "boolean" or "text".
    input: &'static str,
    /// The material code, or the field key.
    key: String,
    /// For an address: the picker's levels, starting at the district.
    picker: Vec<crate::web::apply::pages::PickerLevel>,
}

/// One department's result as the applicant sees it.
#[derive(Serialize)]
struct ResultLine {
    id: i64,
    certificate_no: Option<String>,
    opinion: Option<String>,
    document: bool,
    e_certificate: bool,
}

/// The case's status page address and its QR code as inline SVG of at least `size` pixels,
/// printed on receipts and certificates so that anyone can check them.
pub(super) fn status_qr(req: &HttpRequest, receipt: &str, size: u32) -> (String, String) {
    let url = {
        let info = req.connection_info();
        format!("{}://{}/applications/{receipt}", info.scheme(), info.host())
    };
    let qr = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(size, size)
                .build()
        })
        .unwrap_or_default();
    (url, qr)
}

async fn receipt_context(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    receipt: &str,
) -> Result<tera::Context, PageError> {
    let view = apply::case_view(state, user, receipt, &client_address(req))
        .await
        .map_err(|e| page_err(state, e))?;
    let (url, qr) = status_qr(req, &view.receipt_no, 160);
    let mut ctx = tera::Context::new();
    ctx.insert("qr_svg", &qr);
    ctx.insert("status_url", &url);
    ctx.insert("is_new", &false);
    ctx.insert("errors", &HashMap::<String, String>::new());
    ctx.insert("is_owner", &false);
    ctx.insert("notice", &Vec::<NoticeLine>::new());
    ctx.insert("results", &Vec::<ResultLine>::new());
    ctx.insert("part_dues", &Vec::<crate::web::cases::service::PartDue>::new());
    ctx.insert("due_date_provisional", &false);
    // The case's progress as the applicant follows it: notice, extension, due date, events.
    if let Some((row, wf)) = crate::web::cases::service::load_current(state, receipt)
        .await
        .map_err(|e| page_err(state, e))?
    {
        let entry = apply::bundle_entry(state, &row.bundle_code)
            .await
            .map_err(|e| page_err(state, e))?;
        let catalogue = &entry.catalogue;
        let steps: Vec<(String, &str, String)> = wf
            .events
            .iter()
            .map(|e| {
                (
                    crate::clock::beijing(e.at).format("%Y-%m-%d %H:%M").to_string(),
                    crate::workflow::action_label(&e.action),
                    e.actor_label.clone(),
                )
            })
            .collect();
        let notice: Vec<NoticeLine> = wf
            .open_notice
            .iter()
            .flatten()
            .map(|i| {
                let label = super::supplement::target_name(catalogue, &i.target);
                match i.target.strip_prefix("materials.") {
                    Some(m) => NoticeLine {
                        target: i.target.clone(),
                        label,
                        reason: i.reason.clone(),
                        input: "material",
                        key: m.to_owned(),
                        picker: Vec::new(),
                    },
                    None => {
                        let input = match catalogue.fields.get(&i.target).map(|d| d.field_type) {
                            Some(FieldType::Address) => "address",
                            Some(FieldType::Boolean) => "boolean",
                            _ => "text",
                        };
                        NoticeLine {
                            target: i.target.clone(),
                            label,
                            reason: i.reason.clone(),
                            input,
                            key: i.target.clone(),
                            // An address is picked from the division list, starting at the district.
                            picker: if input == "address" {
                                crate::web::apply::pages::picker(crate::form::regions::HOME_COUNTY)
                            } else {
                                Vec::new()
                            },
                        }
                    }
                }
            })
            .collect();
        let delivered = matches!(wf.status, CaseStatus::Delivered | CaseStatus::Archived);
        let results: Vec<ResultLine> = wf
            .sub_cases
            .iter()
            .filter(|s| s.status != SubStatus::Pending)
            .map(|s| ResultLine {
                id: s.id,
                certificate_no: s.result.clone(),
                opinion: s.opinion.clone(),
                document: view
                    .sub_cases
                    .iter()
                    .any(|p| p.summary.id == s.id && p.summary.result_document),
                e_certificate: (delivered || decided_by_rules(&view, s.id))
                    && s.result.is_some()
                    && s.status != SubStatus::Denied,
            })
            .collect();
        let calendar = state.calendar().await.map_err(|e| page_err(state, e))?;
        let dues = crate::web::cases::service::case_dues(state, &calendar, &row, &wf)
            .await
            .map_err(|e| page_err(state, e))?;
        ctx.insert("part_dues", &dues.part_dues);
        ctx.insert("due_date_provisional", &dues.due_date_provisional);
        ctx.insert("is_owner", &(row.account_id == user.id));
        ctx.insert("steps", &steps);
        ctx.insert("notice", &notice);
        ctx.insert("version", &wf.version);
        ctx.insert("results", &results);
        ctx.insert("extension", &wf.extension);
        ctx.insert("due_date", &row.due_date);
        ctx.insert("trips", &wf.trips);
    }
    ctx.insert("case", &view);
    Ok(ctx)
}

#[derive(Deserialize)]
struct ReceiptQuery {
    new: Option<String>,
    resubmitted: Option<String>,
}

#[get("/applications/{receipt_no}")]
async fn receipt_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    receipt: web::Path<String>,
    q: web::Query<ReceiptQuery>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = receipt_context(&state, &req, &user, &receipt).await?;
    ctx.insert("is_new", &q.new.is_some());
    if q.resubmitted.is_some() {
        ctx.insert("done", "补正材料已提交，办理时限恢复计算。");
    }
    form_page(&state, &req, "cases/receipt.html", &mut ctx, StatusCode::OK)
}

/// The 补正 form on the receipt page: new values for the listed fields, new files for the
/// listed materials, checked and saved exactly as the API's resubmission.
#[post("/applications/{receipt_no}/resubmit")]
async fn resubmit_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<Applicant>,
    receipt: web::Path<String>,
    mut payload: Multipart,
) -> Result<HttpResponse, actix_web::Error> {
    crate::web::apply::api::check_length(&req, state.max_upload_bytes * 4)?;
    let posted = read_posted_form(&state, &req, &user, &mut payload, &|_| true).await?;
    let mut data = FormData::new();
    let mut materials = MaterialLinks::new();
    for (material, upload) in posted.files {
        materials.entry(material).or_default().push(upload);
    }
    for (name, value) in &posted.inputs {
        let Some(key) = name.strip_prefix("field__") else {
            continue;
        };
        let value = value.trim();
        if let Some((key, part)) = key.split_once('.') {
            let entry = data
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(Default::default()));
            entry[part] = Value::String(value.to_owned());
        } else if value == "true" || value == "false" {
            data.insert(key.to_owned(), Value::Bool(value == "true"));
        } else if !value.is_empty() {
            data.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    // An address comes as the picker's levels and the street: one region and the street.
    for value in data.values_mut() {
        let Some(parts) = value.as_object() else { continue };
        if parts.contains_key("region") {
            continue;
        }
        let level = |name: &str| parts.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
        let region =
            crate::web::apply::pages::picked_region(&["province", "city", "county", "township"].map(level));
        *value = serde_json::json!({"region": region, "detail": level("detail")});
    }
    let version: u32 = posted
        .inputs
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let outcome = match posted.refused {
        Some(r) => Err(ApiError::Validation(vec![FieldError::new(
            "materials",
            "upload_failed",
            r.message,
        )])),
        None => {
            crate::web::cases::supplement::resubmit(&state, &user, &receipt, version, data, materials).await
        }
    };
    match outcome {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/applications/{receipt}?resubmitted=1")))
            .finish()),
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = receipt_context(&state, &req, &user, &receipt).await?;
            ctx.insert("message", &message);
            ctx.insert("errors", &field_errors(&errors));
            Ok(form_page(&state, &req, "cases/receipt.html", &mut ctx, status)?)
        }
    }
}

/// Whether the part was approved by its declared rules: its e-certificate is the
/// applicant's at once (领证零上门), without waiting for the rest of the case.
fn decided_by_rules(view: &apply::CaseView, part: i64) -> bool {
    view.sub_cases.iter().any(|p| {
        p.summary.id == part
            && p.smart_decision
                .as_ref()
                .is_some_and(|d| d.outcome == crate::rules::Outcome::Approve)
    })
}

/// A printable e-certificate (电子证照) for one approved part of a delivered case, or of a
/// part its rules approved, with a QR code of its public verification page.
#[get("/applications/{receipt_no}/certificates/{sub_case}")]
async fn certificate_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, PageError> {
    let (receipt, sub_case) = path.into_inner();
    let view = apply::case_view(&state, &user, &receipt, &client_address(&req))
        .await
        .map_err(|e| page_err(&state, e))?;
    let not_found = || {
        state.page_error(
            StatusCode::NOT_FOUND,
            "电子证照不存在",
            "该事项尚未办结送达，或没有核发证照。",
        )
    };
    let (row, wf) = crate::web::cases::service::load_current(&state, &receipt)
        .await
        .map_err(|e| page_err(&state, e))?
        .ok_or_else(not_found)?;
    let delivered = matches!(wf.status, CaseStatus::Delivered | CaseStatus::Archived);
    let part = wf
        .sub_cases
        .iter()
        .find(|s| s.id == sub_case && s.status != SubStatus::Denied && s.result.is_some())
        .filter(|_| delivered || decided_by_rules(&view, sub_case))
        .ok_or_else(not_found)?;
    let shown = view
        .sub_cases
        .iter()
        .find(|p| p.summary.id == sub_case)
        .ok_or_else(not_found)?;
    let issued_at = wf
        .events
        .iter()
        .rev()
        .find(|e| e.action == "decide" || e.action == "deliver")
        .map(|e| crate::clock::beijing_date(e.at));
    // Certificates signed when they were approved verify at /verify/{no}; one approved
    // before signing existed has only the case's status page to point to.
    let no = part.result.clone().unwrap_or_default();
    // Only the certificate issued for this very part: a number typed again elsewhere
    // before numbers were checked must not lend this page another case's certificate.
    let signed = crate::web::certificates::service::find(&state, &no)
        .await
        .map_err(|e| page_err(&state, e))?
        .filter(|c| c.case_id == row.id && c.sub_case_id == sub_case);
    let verify_path = signed
        .as_ref()
        .map(|c| crate::web::certificates::service::verify_path(&c.certificate_no));
    let qr = match &verify_path {
        Some(path) => crate::web::page::page_qr(&req, path, 120),
        None => status_qr(&req, &row.receipt_no, 120).1,
    };
    let holder = view.applicant_name().unwrap_or_default().to_owned();
    let mut ctx = tera::Context::new();
    ctx.insert("receipt_no", &row.receipt_no);
    ctx.insert("bundle_name", &view.bundle_name);
    ctx.insert("item_name", &shown.summary.item_name);
    ctx.insert("department_name", &shown.summary.department_name);
    ctx.insert("certificate_no", &part.result);
    ctx.insert("opinion", &part.opinion);
    ctx.insert("holder", &holder);
    // The date the certificate states, when it was signed; else the decision's Beijing date.
    let issued_on = signed
        .as_ref()
        .and_then(|c| serde_json::from_str::<crate::certificate::Payload>(&c.payload).ok())
        .map(|p| p.issued_on)
        .or(issued_at);
    ctx.insert("issued_on", &issued_on.map(|d| d.to_string()));
    ctx.insert("document", &shown.summary.result_document);
    ctx.insert("sub_case", &sub_case);
    ctx.insert("qr_svg", &qr);
    ctx.insert("verify_path", &verify_path);
    ctx.insert(
        "standing",
        &signed
            .as_ref()
            .map(|c| crate::web::certificates::service::stored_verdict(&state, c))
            .transpose()
            .map_err(|e| page_err(&state, e))?,
    );
    form_page(&state, &req, "cases/certificate.html", &mut ctx, StatusCode::OK)
}

#[derive(Serialize)]
struct InboxLine {
    at: chrono::NaiveDateTime,
    body: String,
    receipt_no: String,
    unread: bool,
}

/// The applicant's messages; opening the inbox marks them read.
#[get("/messages")]
async fn inbox_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<Applicant>,
) -> Result<HttpResponse, PageError> {
    let id = user.id;
    let rows = state
        .db
        .run(move |c| {
            let rows = store::inbox(c, id)?;
            store::mark_read(c, id)?;
            let grants = crate::store::benefits::grants_of(c, id)?;
            Ok::<_, crate::db::DbError>((rows, grants))
        })
        .await
        .map_err(|e| page_err(&state, e.into()))?;
    let (rows, grants) = rows;
    let lines: Vec<InboxLine> = rows
        .into_iter()
        .map(|(m, receipt_no)| InboxLine {
            at: m.at,
            body: m.body,
            receipt_no,
            unread: !m.read,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("messages", &lines);
    ctx.insert("grants", &grants);
    form_page(&state, &req, "cases/inbox.html", &mut ctx, StatusCode::OK)
}
