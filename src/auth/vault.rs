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
}

impl PiiKind {
    fn label(self) -> &'static [u8] {
        match self {
            Self::IdNumber => b"id_number",
            Self::Phone => b"phone",
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
        format!("v1:{}", B64.encode(out))
    }

    pub fn decrypt(&self, kind: PiiKind, stored: &str) -> Result<String, VaultError> {
        let raw = stored.strip_prefix("v1:").ok_or(VaultError)?;
        let bytes = B64.decode(raw).map_err(|_| VaultError)?;
        if bytes.len() < 24 {
            return Err(VaultError);
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: kind.label(),
                },
            )
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
