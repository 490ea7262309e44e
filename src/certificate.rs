//! Electronic certificates (电子证照) that anyone can verify: a JSON payload signed with
//! Ed25519. What is signed is the payload's canonical form — object keys sorted at every
//! level, no white space — so a verifier who receives the payload with its keys in another
//! order, or re-indented, still checks the same bytes.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::NaiveDate;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a certificate states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payload {
    pub certificate_no: String,
    /// The name of the item the certificate results from.
    pub item: String,
    pub holder: Holder,
    /// The issuing department.
    pub issuer: String,
    pub issued_on: NaiveDate,
    /// The last day of validity; none when the certificate is valid until revoked.
    pub valid_until: Option<NaiveDate>,
    /// The case it was issued in.
    pub receipt_no: String,
}

/// Who holds the certificate: a person's name with the ID number masked, or an enterprise's
/// name with its unified social credit code (public by law).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Holder {
    pub name: String,
    pub id: String,
}

/// A payload with its signature, as the API returns it and a verifier sends it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signed {
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Base64 of the 64-byte Ed25519 signature of the canonical payload.
    pub signature: String,
}

/// Why a signed certificate does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("签名格式有误：应为 64 字节签名的 Base64 编码")]
    SignatureEncoding,
    #[error("签名与内容不符：证照内容已被改动，或并非本平台签发")]
    Mismatch,
}

/// The bytes that are signed: keys sorted at every level, no white space.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let ordered: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    // A map built in sorted order serialises in that order, with or without serde_json's
    // order-preserving maps.
    sorted(v).to_string()
}

/// Signs `payload`.
pub fn sign(key: &SigningKey, payload: &Payload) -> Result<Signed, serde_json::Error> {
    let payload = serde_json::to_value(payload)?;
    let signature = key.sign(canonical(&payload).as_bytes());
    Ok(Signed {
        payload,
        signature: B64.encode(signature.to_bytes()),
    })
}

/// Checks the signature of `signed` against `key`.
pub fn verify(key: &VerifyingKey, signed: &Signed) -> Result<(), Invalid> {
    let bytes: [u8; 64] = B64
        .decode(signed.signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Invalid::SignatureEncoding)?;
    key.verify_strict(
        canonical(&signed.payload).as_bytes(),
        &Signature::from_bytes(&bytes),
    )
    .map_err(|_| Invalid::Mismatch)
}

/// A short name of a public key, stored with each certificate so that a rotated key can be
/// told apart: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Reads a verifying key from the Base64 of its 32 bytes.
pub fn verifying_key(b64: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = B64.decode(b64.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn payload(no: &str, name: &str) -> Payload {
        Payload {
            certificate_no: no.into(),
            item: "出生医学证明".into(),
            holder: Holder {
                name: name.into(),
                id: "350182********0015".into(),
            },
            issuer: "区卫生健康局".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 12, 7).expect("date"),
            valid_until: None,
            receipt_no: "CL20261207000001".into(),
        }
    }

    #[test]
    fn a_signed_certificate_verifies_with_the_issuers_key_only() {
        let signed = sign(&key(1), &payload("CZ2026-001", "林小明")).expect("signed");
        assert_eq!(verify(&key(1).verifying_key(), &signed), Ok(()));
        assert_eq!(verify(&key(2).verifying_key(), &signed), Err(Invalid::Mismatch));
    }

    #[test]
    fn key_order_and_white_space_do_not_change_what_is_checked() {
        let signed = sign(&key(1), &payload("CZ2026-001", "林小明")).expect("signed");
        let pretty = serde_json::to_string_pretty(&signed.payload).expect("json");
        // The same object with its keys written in reverse order.
        let reversed: Value = {
            let m = signed.payload.as_object().expect("object");
            let mut out = String::from("{");
            for (i, (k, v)) in m.iter().rev().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{}:{}", Value::String(k.clone()), v));
            }
            out.push('}');
            serde_json::from_str(&out).expect("json")
        };
        for payload in [serde_json::from_str(&pretty).expect("json"), reversed] {
            let again = Signed {
                payload,
                signature: signed.signature.clone(),
            };
            assert_eq!(verify(&key(1).verifying_key(), &again), Ok(()));
        }
    }

    #[test]
    fn a_malformed_signature_is_named_as_such() {
        let mut signed = sign(&key(1), &payload("CZ2026-001", "林小明")).expect("signed");
        signed.signature = "not base64!".into();
        assert_eq!(
            verify(&key(1).verifying_key(), &signed),
            Err(Invalid::SignatureEncoding)
        );
        signed.signature = B64.encode([0u8; 10]);
        assert_eq!(
            verify(&key(1).verifying_key(), &signed),
            Err(Invalid::SignatureEncoding)
        );
    }

    #[test]
    fn a_key_reads_back_from_its_base64() {
        let public = key(3).verifying_key();
        let b64 = B64.encode(public.as_bytes());
        assert_eq!(verifying_key(&b64), Some(public));
        assert_eq!(verifying_key("AAAA"), None);
        assert_eq!(key_id(&public).len(), 16);
    }

    proptest! {
        /// Any change to any field of the payload breaks the signature.
        #[test]
        fn any_tampered_field_fails_verification(
            field in 0usize..6,
            text in "[\\p{Han}A-Z0-9]{1,12}",
        ) {
            let original = payload("CZ2026-001", "林小明");
            let signed = sign(&key(7), &original).expect("signed");
            let mut tampered = signed.clone();
            let p = tampered.payload.as_object_mut().expect("object");
            let (name, value) = match field {
                0 => ("certificate_no", Value::String(format!("X{text}"))),
                1 => ("item", Value::String(format!("{}{text}", original.item))),
                2 => ("holder", serde_json::json!({"name": format!("{text}林"), "id": original.holder.id})),
                3 => ("issuer", Value::String(format!("{}{text}", original.issuer))),
                4 => ("valid_until", Value::String("2099-12-31".into())),
                _ => ("receipt_no", Value::String(format!("{}{text}", original.receipt_no))),
            };
            p.insert(name.into(), value);
            prop_assert_eq!(verify(&key(7).verifying_key(), &tampered), Err(Invalid::Mismatch));
            prop_assert_eq!(verify(&key(7).verifying_key(), &signed), Ok(()));
        }
    }
}
