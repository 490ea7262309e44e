//! Personal data at rest: XChaCha20-Poly1305 encryption bound to the kind of value, and a
//! keyed hash (HMAC-SHA256) for uniqueness and lookup without decrypting.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone, Copy, Debug)]
pub enum PiiKind {
    IdNumber,
    Phone,
    /// A whole application form (draft, case or part) as JSON.
    FormData,
    /// A counter activation code (only ever hashed).
    ActivationCode,
    /// A login name or address as the throttling counters key it (only ever hashed).
    LoginKey,
    /// A reference registry's key (an ID number or a credit code) and its record.
    Registry,
}

impl PiiKind {
    /// Bound into every sealed value and hash, so that one kind never opens as another.
    fn label(self) -> &'static [u8] {
        match self {
            Self::IdNumber => b"id_number",
            Self::Phone => b"phone",
            Self::FormData => b"form_data",
            Self::ActivationCode => b"activation_code",
            Self::LoginKey => b"login_key",
            Self::Registry => b"registry",
        }
    }

    /// The label of values sealed in the v1 format: form data was then sealed under the
    /// phone label, and those rows must still open.
    fn v1_label(self) -> &'static [u8] {
        match self {
            Self::FormData => Self::Phone.label(),
            other => other.label(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("stored personal data cannot be decrypted with the configured data key")]
pub struct VaultError;

#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    lookup_key: [u8; 32],
}

impl Vault {
    pub fn new(data_key: &[u8; 32]) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(data_key).expect("HMAC takes any key length");
        mac.update(b"onething/lookup/v1");
        let lookup_key: [u8; 32] = mac.finalize().into_bytes().into();
        Self {
            cipher: XChaCha20Poly1305::new(data_key.into()),
            lookup_key,
        }
    }

    pub fn encrypt(&self, kind: PiiKind, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: kind.label(),
                },
            )
            .expect("encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v2:{}", B64.encode(out))
    }

    /// Opens a value sealed by [`Vault::encrypt`] (`v2:`) or by earlier releases (`v1:`).
    pub fn decrypt(&self, kind: PiiKind, stored: &str) -> Result<String, VaultError> {
        let (raw, label) = match (stored.strip_prefix("v2:"), stored.strip_prefix("v1:")) {
            (Some(raw), _) => (raw, kind.label()),
            (None, Some(raw)) => (raw, kind.v1_label()),
            (None, None) => return Err(VaultError),
        };
        let bytes = B64.decode(raw).map_err(|_| VaultError)?;
        if bytes.len() < 24 {
            return Err(VaultError);
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: label })
            .map_err(|_| VaultError)?;
        String::from_utf8(plain).map_err(|_| VaultError)
    }

    /// Deterministic keyed hash: equal values give equal hashes, and without the key the
    /// hash says nothing about the value (an ID number's small space cannot be enumerated).
    pub fn lookup_hash(&self, kind: PiiKind, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.lookup_key).expect("any key length");
        mac.update(kind.label());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form sealed by a release before form data had its own kind.
    fn sealed_as_v1(v: &Vault, label: &[u8], plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = v
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: label,
                },
            )
            .expect("seal");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v1:{}", B64.encode(out))
    }

    #[test]
    fn form_data_has_its_own_kind_and_old_forms_still_open() {
        let v = Vault::new(&[9u8; 32]);
        let old = sealed_as_v1(&v, b"phone", "{\"child_name\":\"林小明\"}");
        assert_eq!(
            v.decrypt(PiiKind::FormData, &old).ok().as_deref(),
            Some("{\"child_name\":\"林小明\"}")
        );
        let new = v.encrypt(PiiKind::FormData, "{}");
        assert!(new.starts_with("v2:"));
        assert_eq!(v.decrypt(PiiKind::FormData, &new).ok().as_deref(), Some("{}"));
        assert!(
            v.decrypt(PiiKind::Phone, &new).is_err(),
            "a form does not open as a phone"
        );
        let phone = sealed_as_v1(&v, b"phone", "13812341234");
        assert_eq!(
            v.decrypt(PiiKind::Phone, &phone).ok().as_deref(),
            Some("13812341234")
        );
        assert_ne!(
            v.lookup_hash(PiiKind::ActivationCode, "x"),
            v.lookup_hash(PiiKind::Phone, "x"),
            "codes and phones never share a hash"
        );
    }

    #[test]
    fn encryption_round_trips_and_is_bound_to_the_kind() {
        let v = Vault::new(&[7u8; 32]);
        let sealed = v.encrypt(PiiKind::Phone, "13812341234");
        assert!(!sealed.contains("13812341234"));
        assert_eq!(v.decrypt(PiiKind::Phone, &sealed).expect("opens"), "13812341234");
        assert!(
            v.decrypt(PiiKind::IdNumber, &sealed).is_err(),
            "a phone cannot be read as an ID number"
        );
        assert_ne!(
            sealed,
            v.encrypt(PiiKind::Phone, "13812341234"),
            "fresh nonce each time"
        );
    }

    #[test]
    fn another_key_cannot_decrypt_or_reproduce_the_lookup_hash() {
        let a = Vault::new(&[1u8; 32]);
        let b = Vault::new(&[2u8; 32]);
        let sealed = a.encrypt(PiiKind::IdNumber, "11010519491231002X");
        assert!(b.decrypt(PiiKind::IdNumber, &sealed).is_err());
        assert_eq!(
            a.lookup_hash(PiiKind::Phone, "1"),
            a.lookup_hash(PiiKind::Phone, "1")
        );
        assert_ne!(
            a.lookup_hash(PiiKind::Phone, "1"),
            b.lookup_hash(PiiKind::Phone, "1")
        );
        assert_ne!(
            a.lookup_hash(PiiKind::Phone, "1"),
            a.lookup_hash(PiiKind::IdNumber, "1")
        );
    }
}
