//! Who is acting: roles, password hashing, login tokens, keys and the personal-data vault.
//! Plain Rust; the web layer turns these into extractors and cookies.

pub mod keys;
pub mod vault;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use keys::Keys;
pub use vault::{PiiKind, Vault};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Enterprise,
    Window,
    Reviewer,
    Admin,
    PolicyEditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Citizen,
        Role::Enterprise,
        Role::Window,
        Role::Reviewer,
        Role::Admin,
        Role::PolicyEditor,
    ];
    pub const STAFF: [Role; 4] = [Role::Window, Role::Reviewer, Role::Admin, Role::PolicyEditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Enterprise => "enterprise",
            Self::Window => "window",
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
            Self::PolicyEditor => "policy_editor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Citizen => "个人用户",
            Self::Enterprise => "企业用户",
            Self::Window => "综窗人员",
            Self::Reviewer => "部门审批人员",
            Self::Admin => "管理员",
            Self::PolicyEditor => "政策编辑",
        }
    }

    pub fn is_staff(self) -> bool {
        Self::STAFF.contains(&self)
    }
}

/// argon2id with the crate's default (OWASP-recommended) parameters and a random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .expect("argon2 hashing with default parameters cannot fail")
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that "no such user" and
/// "wrong password" take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-0"))
}

pub const ISSUER: &str = "onething";
pub const AUDIENCE: &str = "onething";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Issue time in milliseconds: a password change revokes every token issued before it,
    /// even within the same second.
    pub iat_ms: i64,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs and checks login tokens: HS256 only, issuer, audience and expiry required.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenService {
    pub fn new(secret: &[u8], ttl_minutes: u32) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the application's clock in `verify`, not the
        // library's reading of the system time.
        validation.validate_exp = false;
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: Duration::minutes(i64::from(ttl_minutes.max(1))),
        }
    }

    pub fn issue(&self, account_id: i64, role: Role, now: DateTime<Utc>) -> IssuedToken {
        let mut jti_bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut jti_bytes);
        let jti = hex::encode(jti_bytes);
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: account_id.to_string(),
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: jti.clone(),
            iat_ms: now.timestamp_millis(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail");
        IssuedToken {
            token,
            jti,
            expires_at,
        }
    }

    /// The claims of a token signed by this service that has not expired at `now` (five
    /// seconds of leeway for clocks of several servers).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
            .filter(|c| c.exp.saturating_add(5) >= now.timestamp())
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse 1");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse 1", &h));
        assert!(!verify_password("correct horse 2", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering_and_other_keys() {
        let a = TokenService::new(&[1u8; 32], 60);
        let b = TokenService::new(&[2u8; 32], 60);
        let t = a.issue(42, Role::Admin, Utc::now());
        let now = Utc::now();
        let claims = a.verify(&t.token, now).expect("valid");
        assert_eq!((claims.sub.as_str(), claims.role), ("42", Role::Admin));
        assert!(b.verify(&t.token, now).is_none(), "another key");
        let mut tampered = t.token.clone();
        tampered.pop();
        assert!(a.verify(&tampered, now).is_none(), "tampered signature");
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let s = TokenService::new(&[1u8; 32], 1);
        let issued = Utc::now() - Duration::hours(2);
        let t = s.issue(1, Role::Citizen, issued);
        assert!(s.verify(&t.token, Utc::now()).is_none());
        // Expiry follows the clock it is given, not the machine's.
        assert!(s.verify(&t.token, issued + Duration::seconds(30)).is_some());
        assert!(s.verify(&t.token, issued + Duration::seconds(66)).is_none());
    }
}
