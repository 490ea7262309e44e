//! Issuing, finding, verifying and revoking e-certificates, shared by the API and the pages.

use diesel::Connection;
use serde::Serialize;

use crate::auth::{PiiKind, Role};
use crate::certificate::{self, Holder, Payload, Signed};
use crate::store::applications::CaseRow;
use crate::store::audit::{self, AuditEvent};
use crate::store::certificates::{self as store, CertificateRow};
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;
use crate::workflow;

/// The signed certificate of part `part` of the case, approved in `next` with number `no`;
/// written by the caller in the decision's own transaction.
pub async fn issue(
    state: &AppState,
    row: &CaseRow,
    next: &workflow::Case,
    part: i64,
    no: &str,
) -> Result<CertificateRow, ApiError> {
    let sub = next
        .sub_cases
        .iter()
        .find(|s| s.id == part)
        .ok_or_else(|| ApiError::failed("issue a certificate", "the approved part is missing"))?;
    let lookup = no.to_owned();
    if state.db.run(move |c| store::exists(c, &lookup)).await? {
        return Err(number_taken(no));
    }
    let holder = holder_of(state, row)?;
    let payload = Payload {
        certificate_no: no.to_owned(),
        item: sub.item_name.clone(),
        holder,
        issuer: sub.department_name.clone(),
        issued_on: state.today(),
        valid_until: None,
        receipt_no: row.receipt_no.clone(),
    };
    let signed = certificate::sign(&state.certificate_key, &payload)
        .map_err(|e| ApiError::failed("sign a certificate", e))?;
    Ok(CertificateRow {
        certificate_no: payload.certificate_no,
        case_id: row.id,
        sub_case_id: part,
        department_code: sub.department.clone(),
        payload: certificate::canonical(&signed.payload),
        signature: signed.signature,
        key_id: certificate::key_id(&state.certificate_key.verifying_key()),
        issued_at: state.now(),
        revoked_at: None,
        revoked_reason: None,
        revoked_by: None,
    })
}

/// The refusal of a certificate number already issued.
pub fn number_taken(no: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "result",
        "certificate_no_taken",
        format!("证照编号 {no} 已被使用，请核对后重新填写"),
    )])
}

/// The holder as a certificate names it: the applicant of the form (also when an agent
/// filed the case, 代办) — a person by the name with its middle masked and the ID number
/// masked, since anyone holding the number can fetch the certificate; an enterprise by its
/// name and credit code, which are public.
fn holder_of(state: &AppState, row: &CaseRow) -> Result<Holder, ApiError> {
    let text = state
        .vault
        .decrypt(PiiKind::FormData, &row.data_enc)
        .map_err(|_| ApiError::failed("decrypt a case", "the data key does not open it"))?;
    let data: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| ApiError::failed("read a case's form", e))?;
    let field = |key: &str| {
        data.get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(name) = field("enterprise_name") {
        return Ok(Holder {
            name: name.to_owned(),
            id: field("uscc").unwrap_or_default().to_owned(),
        });
    }
    let name = field("applicant_name")
        .ok_or_else(|| ApiError::failed("issue a certificate", "the case's form names no applicant"))?;
    Ok(Holder {
        name: mask_name(name),
        id: field("id_number")
            .map(crate::identity::mask_id_number)
            .unwrap_or_default(),
    })
}

/// A person's name as public pages show it: 林*明, 陈*.
fn mask_name(name: &str) -> String {
    let tail = usize::from(name.chars().count() > 2);
    crate::identity::mask_middle(name, 1, tail)
}

/// A stored certificate as the API returns it.
pub fn signed(row: &CertificateRow) -> Result<Signed, ApiError> {
    Ok(Signed {
        payload: serde_json::from_str(&row.payload).map_err(|e| ApiError::failed("read a certificate", e))?,
        signature: row.signature.clone(),
    })
}

pub async fn find(state: &AppState, no: &str) -> Result<Option<CertificateRow>, ApiError> {
    let lookup = no.to_owned();
    Ok(state.db.run(move |c| store::get(c, &lookup)).await?)
}

/// The answer to "is this certificate genuine and in force?".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    pub valid: bool,
    /// Why, in words.
    pub reason: String,
}

/// Checks the signature with this platform's key, then the register: a certificate with a
/// good signature may still be unknown here, revoked or expired.
pub async fn verify(state: &AppState, signed: &Signed) -> Result<Verdict, ApiError> {
    let no_valid = |reason: String| Verdict { valid: false, reason };
    if let Err(e) = certificate::verify(&state.certificate_key.verifying_key(), signed) {
        return Ok(no_valid(e.to_string()));
    }
    let no = signed
        .payload
        .get("certificate_no")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let Some(row) = find(state, &no).await? else {
        return Ok(no_valid(format!("签名有效，但本平台没有编号为 {no} 的证照登记")));
    };
    if row.payload != certificate::canonical(&signed.payload) {
        return Ok(no_valid("签名有效，但内容与登记的证照不一致".into()));
    }
    Ok(standing(state, &row))
}

/// The public page that verifies certificate `no` (the number as one path segment).
pub fn verify_path(no: &str) -> String {
    let segment: String = url::form_urlencoded::byte_serialize(no.as_bytes()).collect();
    format!("/verify/{}", segment.replace('+', "%20"))
}

/// A registered certificate checked as any verifier would check it: its stored signature
/// first, so a row changed in the database behind the platform's back is not genuine, then
/// whether it stands today.
pub fn stored_verdict(state: &AppState, row: &CertificateRow) -> Result<Verdict, ApiError> {
    Ok(
        match certificate::verify(&state.certificate_key.verifying_key(), &signed(row)?) {
            Ok(()) => standing(state, row),
            Err(e) => Verdict {
                valid: false,
                reason: e.to_string(),
            },
        },
    )
}

/// Whether a registered certificate is in force today.
pub fn standing(state: &AppState, row: &CertificateRow) -> Verdict {
    if let Some(at) = row.revoked_at {
        return Verdict {
            valid: false,
            reason: format!(
                "该证照已于 {} 被发证机关撤销：{}",
                crate::clock::beijing_date(at),
                row.revoked_reason.as_deref().unwrap_or("未说明原因")
            ),
        };
    }
    let until = serde_json::from_str::<Payload>(&row.payload)
        .ok()
        .and_then(|p| p.valid_until);
    match until {
        Some(d) if d < state.today() => Verdict {
            valid: false,
            reason: format!("该证照的有效期已于 {d} 届满"),
        },
        _ => Verdict {
            valid: true,
            reason: "签名有效，证照真实且在有效期内".into(),
        },
    }
}

/// Revokes a certificate: staff of the issuing department, or an administrator, with a
/// reason; audited.
pub async fn revoke(
    state: &AppState,
    user: &CurrentUser,
    no: &str,
    reason: &str,
) -> Result<CertificateRow, ApiError> {
    let row = find(state, no)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {no} 的证照")))?;
    let allowed = match user.role {
        Role::Admin => true,
        Role::Reviewer => user.department.as_deref() == Some(row.department_code.as_str()),
        _ => false,
    };
    if !allowed {
        return Err(ApiError::Forbidden(
            "只有发证部门的审核人员或管理员可以撤销该证照".into(),
        ));
    }
    if row.revoked_at.is_some() {
        return Err(ApiError::Conflict(vec![FieldError::new(
            "certificate_no",
            "already_revoked",
            "该证照已被撤销",
        )]));
    }
    let (lookup, why, actor, actor_id, now) = (
        no.to_owned(),
        reason.to_owned(),
        user.label(),
        user.id,
        state.now(),
    );
    state
        .db
        .write(move |c| {
            c.transaction(|c| {
                if !store::revoke(c, &lookup, now, &why, &actor)? {
                    return Err(crate::db::DbError::Superseded);
                }
                audit::record(
                    c,
                    &AuditEvent {
                        at: now,
                        actor_id: Some(actor_id),
                        actor: &actor,
                        action: "certificate_revoke",
                        target: &lookup,
                        address: "",
                        outcome: "success",
                        detail: &why,
                    },
                )
            })
        })
        .await
        .map_err(|e| match e {
            crate::db::DbError::Superseded => ApiError::Conflict(vec![FieldError::new(
                "certificate_no",
                "already_revoked",
                "该证照已被撤销",
            )]),
            e => ApiError::from(e),
        })?;
    find(state, no)
        .await?
        .ok_or_else(|| ApiError::failed("revoke a certificate", "the certificate vanished"))
}
