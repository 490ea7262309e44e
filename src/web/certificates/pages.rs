//! `/verify/{certificate_no}`: the public page a certificate's QR code opens. It shows what
//! the certificate states, whether its signature checks against this platform's key, and
//! whether it is in force (revoked and expired certificates say so, with the reason).

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::certificate::Payload;
use crate::web::error::PageError;
use crate::web::page::{form_page, page_err};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(verify_page);
}

#[get("/verify/{certificate_no}")]
async fn verify_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    no: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let no = no.into_inner();
    let mut ctx = tera::Context::new();
    ctx.insert("certificate_no", &no);
    let Some(row) = super::service::find(&state, &no)
        .await
        .map_err(|e| page_err(&state, e))?
    else {
        ctx.insert("found", &false);
        return form_page(
            &state,
            &req,
            "certificates/verify.html",
            &mut ctx,
            StatusCode::NOT_FOUND,
        );
    };
    let signed = super::service::signed(&row).map_err(|e| page_err(&state, e))?;
    let verdict = super::service::stored_verdict(&state, &row).map_err(|e| page_err(&state, e))?;
    let payload: Option<Payload> = serde_json::from_value(signed.payload.clone()).ok();
    ctx.insert("found", &true);
    ctx.insert("payload", &payload);
    ctx.insert("verdict", &verdict);
    ctx.insert("revoked", &row.revoked_at.is_some());
    ctx.insert("issued_at", &row.issued_at);
    ctx.insert("revoked_at", &row.revoked_at);
    ctx.insert("key_id", &row.key_id);
    ctx.insert(
        "signed_json",
        &serde_json::to_string_pretty(&signed).unwrap_or_default(),
    );
    form_page(&state, &req, "certificates/verify.html", &mut ctx, StatusCode::OK)
}
