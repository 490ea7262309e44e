//! Authentication at the HTTP edge: the login token from `Authorization: Bearer` or the
//! session cookie, checked against the database (account enabled, token not revoked, not
//! issued before a password change), and role policies as extractors. A handler states the
//! role it needs by its argument type, e.g. `Authed<AdminOnly>`; checks fail closed.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};

use super::AppState;
use crate::auth::Role;
use crate::store::accounts;

pub const SESSION_COOKIE: &str = "onething_session";
pub const CSRF_COOKIE: &str = "onething_csrf";
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The authenticated account behind a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub role: Role,
    pub display_name: String,
    pub department: Option<String>,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

impl CurrentUser {
    /// A label for logs and the audit log that carries no personal data.
    pub fn label(&self) -> String {
        format!("{}#{}", self.role.as_str(), self.id)
    }

    /// Works the one window: a window clerk, or an administrator standing in for one.
    pub fn is_window_clerk(&self) -> bool {
        WindowClerks::ROLES.contains(&self.role)
    }

    /// The department a reviewer is bound to: what they see is limited to its parts. None
    /// for every other role.
    pub fn reviewer_department(&self) -> Option<&str> {
        self.department.as_deref().filter(|_| self.role == Role::Reviewer)
    }
}

/// Which roles may pass.
pub trait Policy {
    const ROLES: &'static [Role];
}

pub struct AnyUser;
impl Policy for AnyUser {
    const ROLES: &'static [Role] = &Role::ALL;
}
pub struct AdminOnly;
impl Policy for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}
pub struct Applicant;
impl Policy for Applicant {
    const ROLES: &'static [Role] = &[Role::Citizen, Role::Enterprise];
}
/// Window clerks and the administrators who may stand in for them.
pub struct WindowClerks;
impl Policy for WindowClerks {
    const ROLES: &'static [Role] = &[Role::Window, Role::Admin];
}
pub struct StaffOnly;
impl Policy for StaffOnly {
    const ROLES: &'static [Role] = &Role::STAFF;
}

pub struct Authed<P: Policy>(pub CurrentUser, PhantomData<P>);

impl<P: Policy> std::ops::Deref for Authed<P> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

/// A refused request: JSON for the API, a redirect to the login page or a rendered page
/// for the portal.
#[derive(Debug)]
pub struct AuthRejection {
    status: StatusCode,
    content_type: &'static str,
    body: String,
    location: Option<String>,
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request refused with {}", self.status)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        r.content_type(self.content_type);
        if let Some(l) = &self.location {
            r.insert_header((header::LOCATION, l.clone()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        r.body(self.body.clone())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Refusal {
    NoToken,
    BadToken,
    Forbidden,
    Csrf,
}

fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/")
}

fn refuse(req: &HttpRequest, why: Refusal) -> AuthRejection {
    if is_api(req) {
        let (status, code, message) = match why {
            Refusal::NoToken => (StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录"),
            Refusal::BadToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "登录凭证无效或已过期，请重新登录",
            ),
            Refusal::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "您没有权限执行此操作"),
            Refusal::Csrf => (
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "请求校验失败，请刷新页面后重试",
            ),
        };
        return AuthRejection {
            status,
            content_type: "application/json",
            body: serde_json::json!({"code": code, "message": message}).to_string(),
            location: None,
        };
    }
    match why {
        Refusal::NoToken | Refusal::BadToken => {
            let next: String = url::form_urlencoded::byte_serialize(req.uri().path().as_bytes()).collect();
            AuthRejection {
                status: StatusCode::SEE_OTHER,
                content_type: "text/plain; charset=utf-8",
                body: "请先登录".into(),
                location: Some(format!("/login?next={next}")),
            }
        }
        Refusal::Forbidden | Refusal::Csrf => {
            let (title, message) = if why == Refusal::Forbidden {
                (
                    "没有访问权限",
                    "您的账号没有访问此页面的权限。如需办理，请使用相应的账号登录。",
                )
            } else {
                ("请求已过期", "页面校验信息已失效，请返回上一页刷新后重新提交。")
            };
            let body = req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.page_error(StatusCode::FORBIDDEN, title, message).body)
                .unwrap_or_else(|| title.to_owned());
            AuthRejection {
                status: StatusCode::FORBIDDEN,
                content_type: "text/html; charset=utf-8",
                body,
                location: None,
            }
        }
    }
}

/// The token a request carries, and whether it came from the cookie.
fn token_of(req: &HttpRequest) -> Option<(String, bool)> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| (t.trim().to_owned(), false));
    }
    req.cookie(SESSION_COOKIE).map(|c| (c.value().to_owned(), true))
}

/// Resolves the request's user: `Ok(None)` when it carries no token at all.
async fn resolve(req: &HttpRequest) -> Result<Option<CurrentUser>, Refusal> {
    let Some((token, via_cookie)) = token_of(req) else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(Refusal::BadToken)?
        .clone();
    let claims = state
        .tokens
        .verify(&token, state.clock.now())
        .ok_or(Refusal::BadToken)?;
    let id: i64 = claims.sub.parse().map_err(|_| Refusal::BadToken)?;
    let jti = claims.jti.clone();
    let (account, revoked) = state
        .db
        .run(move |c| accounts::get_unless_revoked(c, id, &jti))
        .await
        .map_err(|e: crate::db::DbError| {
            tracing::error!(error = %e, "authentication lookup failed");
            Refusal::BadToken
        })?
        .ok_or(Refusal::BadToken)?;
    let role = account.role().ok_or(Refusal::BadToken)?;
    let valid_after = account.tokens_valid_after.and_utc().timestamp_millis();
    if revoked || account.disabled || role != claims.role || claims.iat_ms < valid_after {
        return Err(Refusal::BadToken);
    }
    // A browser's cookie rides along on cross-site requests; state changes through the
    // API with cookie authentication must also prove they come from our own pages.
    if via_cookie && is_api(req) && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let header = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !csrf_matches(req, header) {
            return Err(Refusal::Csrf);
        }
    }
    Ok(Some(CurrentUser {
        id,
        role,
        display_name: account.display_name,
        department: account.department_code,
        jti: claims.jti,
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(|| state.clock.now()),
    }))
}

impl<P: Policy + 'static> FromRequest for Authed<P> {
    type Error = AuthRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AuthRejection>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match resolve(&req).await {
                Ok(Some(user)) if P::ROLES.contains(&user.role) => Ok(Authed(user, PhantomData)),
                Ok(Some(_)) => Err(refuse(&req, Refusal::Forbidden)),
                Ok(None) => Err(refuse(&req, Refusal::NoToken)),
                Err(why) => Err(refuse(&req, why)),
            }
        })
    }
}

/// The user if the request carries a valid token, else `None` (never an error).
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequest for MaybeUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(resolve(&req).await.ok().flatten())) })
    }
}

fn secure(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

pub fn session_cookie(req: &HttpRequest, token: &str, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/")
        .http_only(true)
        .secure(secure(req))
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age_secs))
        .finish()
}

pub fn clear_session_cookie(req: &HttpRequest) -> Cookie<'static> {
    let mut c = session_cookie(req, "", 0);
    c.make_removal();
    c
}

/// The CSRF token of this browser (double-submit: an HttpOnly cookie and the same value in
/// each form), and the cookie to set when the browser has none yet.
pub fn csrf_token(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(CSRF_COOKIE).filter(|c| c.value().len() >= 32) {
        return (c.value().to_owned(), None);
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let token = B64.encode(bytes);
    let cookie = Cookie::build(CSRF_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .secure(secure(req))
        .same_site(SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

/// Whether a submitted token equals the browser's CSRF cookie (compared in constant time).
pub fn csrf_matches(req: &HttpRequest, submitted: &str) -> bool {
    let Some(cookie) = req.cookie(CSRF_COOKIE) else {
        return false;
    };
    let (a, b) = (cookie.value().as_bytes(), submitted.as_bytes());
    a.len() >= 32 && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a page form whose CSRF token does not match.
pub fn require_csrf(req: &HttpRequest, submitted: &str) -> Result<(), AuthRejection> {
    if csrf_matches(req, submitted) {
        Ok(())
    } else {
        Err(refuse(req, Refusal::Csrf))
    }
}

/// The client's address, for throttling and the audit log: the TCP peer, unless the peer is
/// a trusted proxy (`ONETHING_TRUSTED_PROXIES`); then the nearest address in `Forwarded`
/// (or else `X-Forwarded-For`) that is not itself a trusted proxy.
pub fn client_address(req: &HttpRequest) -> String {
    client_ip(req).map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// [`client_address`] as an address; `None` only for a request without a peer (a test request).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted: &[ipnet::IpNet] = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.trusted_proxies.as_slice())
        .unwrap_or_default();
    Some(forwarded_client(peer, trusted, req.headers()))
}

fn forwarded_client(
    peer: std::net::IpAddr,
    trusted: &[ipnet::IpNet],
    headers: &header::HeaderMap,
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = if headers.contains_key(header::FORWARDED) {
        headers
            .get_all(header::FORWARDED)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then(|| forwarded_ip(v))?
                })
            })
            .collect()
    } else {
        headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(forwarded_ip)
            .collect()
    };
    // Walk back from the proxy nearest to us; the first untrusted hop is the client.
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// An address of a forwarding header: `203.0.113.7`, `"[2001:db8::1]:4711"`, `1.2.3.4:80`.
fn forwarded_ip(raw: &str) -> Option<std::net::IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> header::HeaderMap {
        let mut h = header::HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                header::HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let lb: ipnet::IpNet = "10.0.0.0/8".parse().expect("cidr");
        let xff = headers(&[("x-forwarded-for", "198.51.100.9, 203.0.113.7, 10.0.0.5")]);
        let from_lb: std::net::IpAddr = "10.0.0.2".parse().expect("ip");
        let stranger: std::net::IpAddr = "192.0.2.1".parse().expect("ip");
        assert_eq!(forwarded_client(from_lb, &[lb], &xff).to_string(), "203.0.113.7");
        assert_eq!(
            forwarded_client(stranger, &[lb], &xff),
            stranger,
            "a spoofed header is ignored"
        );
        assert_eq!(
            forwarded_client(from_lb, &[], &xff),
            from_lb,
            "no proxy is trusted by default"
        );
        let fwd = headers(&[(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.9",
        )]);
        assert_eq!(forwarded_client(from_lb, &[lb], &fwd).to_string(), "2001:db8::1");
        assert_eq!(forwarded_client(from_lb, &[lb], &headers(&[])), from_lb);
    }
}
