//! E-certificates over JSON: a certificate by number, verification of a signed payload by
//! anyone, the public key for offline checks, and revocation by the issuing department.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::certificate::Signed;
use crate::web::auth::{Authed, StaffOnly};
use crate::web::certificates::service::{self as logic, Verdict};
use crate::web::error::ApiError;
use crate::web::extract::JsonBody;
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(public_key)
        .service(verify)
        .service(certificate)
        .service(revoke);
}

/// The key that verifies this platform's certificates.
#[derive(Serialize, ToSchema)]
struct PublicKey {
    /// Always `Ed25519`.
    algorithm: &'static str,
    /// The first 16 hex digits of the key's SHA-256, stored with each certificate.
    key_id: String,
    /// Base64 of the 32-byte public key.
    public_key: String,
}

/// The public key that verifies e-certificates, for checks without this server.
#[utoipa::path(tag = "certificates", responses((status = 200, body = PublicKey)))]
#[get("/certificates/public-key")]
async fn public_key(state: web::Data<AppState>) -> HttpResponse {
    use base64::Engine;
    let key = state.certificate_key.verifying_key();
    HttpResponse::Ok().json(PublicKey {
        algorithm: "Ed25519",
        key_id: crate::certificate::key_id(&key),
        public_key: base64::engine::general_purpose::STANDARD.encode(key.as_bytes()),
    })
}

/// A signed certificate as `GET /api/v1/certificates/{certificate_no}` returns it.
#[derive(Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
struct VerifyRequest {
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    #[validate(length(min = 1, message = "请提供证照的签名 signature"))]
    signature: String,
}

/// Verify a certificate: the signature against this platform's key, then the register
/// (unknown, revoked and expired certificates are not valid). Anyone may ask.
#[utoipa::path(tag = "certificates", request_body = VerifyRequest, responses((status = 200, body = Verdict)))]
#[post("/certificates/verify")]
async fn verify(state: web::Data<AppState>, body: JsonBody<VerifyRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.validated()?;
    if !body.payload.is_object() {
        return Err(ApiError::Validation(vec![crate::web::error::FieldError::new(
            "payload",
            "required",
            "请提供证照内容 payload（JSON 对象）",
        )]));
    }
    let signed = Signed {
        payload: body.payload,
        signature: body.signature,
    };
    Ok(HttpResponse::Ok().json(logic::verify(&state, &signed).await?))
}

/// A certificate's signed payload, by its number: what a holder presents and a verifier
/// sends to `POST /api/v1/certificates/verify`.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_no" = String, Path, description = "证照编号")),
    responses((status = 200, body = Signed), (status = 404, body = crate::web::error::ErrorBody))
)]
#[get("/certificates/{certificate_no}")]
async fn certificate(state: web::Data<AppState>, no: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let row = logic::find(&state, &no)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {no} 的证照")))?;
    Ok(HttpResponse::Ok().json(logic::signed(&row)?))
}

#[derive(Default, Deserialize, Validate, ToSchema)]
#[serde(default)]
struct RevokeRequest {
    /// Why the certificate no longer stands (shown to anyone who verifies it).
    #[validate(length(min = 2, max = 500, message = "请填写撤销原因（2 至 500 字）"))]
    reason: String,
}

/// The standing of a certificate after its revocation.
#[derive(Serialize, ToSchema)]
struct Revoked {
    certificate_no: String,
    #[serde(with = "crate::clock::rfc3339::option")]
    revoked_at: Option<chrono::NaiveDateTime>,
    standing: Verdict,
}

/// Revoke a certificate: a reviewer of the issuing department or an administrator, with
/// the reason; recorded in the audit log and shown to everyone who verifies it.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("certificate_no" = String, Path, description = "证照编号")),
    request_body = RevokeRequest,
    responses((status = 200, body = Revoked), (status = 409, body = crate::web::error::ErrorBody, description = "Already revoked"))
)]
#[post("/certificates/{certificate_no}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    user: Authed<StaffOnly>,
    no: web::Path<String>,
    body: JsonBody<RevokeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.validated()?;
    let row = logic::revoke(&state, &user, &no, body.reason.trim()).await?;
    Ok(HttpResponse::Ok().json(Revoked {
        standing: logic::standing(&state, &row),
        certificate_no: row.certificate_no,
        revoked_at: row.revoked_at,
    }))
}
