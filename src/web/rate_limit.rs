//! A general request rate limit per client address, beside the login rules: a client that
//! sends far more requests than a person could (a scraper, a broken script) is answered 429
//! with `Retry-After` and nobody else notices. The address is the one the audit log uses
//! (the TCP peer, or the forwarded client behind a trusted proxy); IPv6 clients are counted
//! per /64, since one subscriber holds a whole /64.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::error::ApiError;
use super::AppState;

/// Above this many remembered clients the limiter forgets those whose budget is full again,
/// so a flood of distinct addresses cannot grow memory without bound.
const FORGET_ABOVE: usize = 100_000;

/// How the limit is set (`ONETHING_RATE_LIMIT_PER_MINUTE`, `ONETHING_RATE_LIMIT_BURST`,
/// `ONETHING_RATE_LIMIT_LOOPBACK`).
#[derive(Clone, Copy, Debug)]
pub struct RateLimitSettings {
    /// Sustained requests per minute per client; 0 turns the limit off.
    pub per_minute: u32,
    /// Requests a client may send at once before the sustained rate applies.
    pub burst: u32,
    /// Whether loopback clients (the machine itself, tests, local tools) are limited too.
    pub loopback: bool,
}

/// The per-client budgets. The limiter counts on a monotonic clock of its own: this is
/// about request pacing, not business time, and must not jump when the business clock does.
pub struct ClientLimiter {
    limiter: RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>,
    clock: DefaultClock,
    loopback: bool,
}

impl ClientLimiter {
    /// `None` when the settings turn the limit off.
    pub fn new(settings: RateLimitSettings) -> Option<Self> {
        let per_minute = NonZeroU32::new(settings.per_minute)?;
        let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
        let clock = DefaultClock::default();
        Some(Self {
            limiter: RateLimiter::dashmap_with_clock(
                Quota::per_minute(per_minute).allow_burst(burst),
                clock.clone(),
            ),
            clock,
            loopback: settings.loopback,
        })
    }

    /// `Err(seconds to wait)` when `client` is over its budget.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        if client.is_loopback() && !self.loopback {
            return Ok(());
        }
        if self.limiter.len() > FORGET_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&bucket(client))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }
}

/// The address a budget belongs to: IPv4 as is, IPv6 by its /64 network.
fn bucket(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
    }
}

/// The middleware: over budget, a 429 with `Retry-After` (JSON under `/api/`, a page
/// elsewhere); `/healthz` is never limited, so load balancers keep seeing the server.
pub async fn limit_clients(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let limiter = state.as_ref().and_then(|s| s.rate_limit.as_ref());
    let verdict = match (limiter, super::auth::client_ip(req.request())) {
        (Some(limiter), Some(client)) if req.path() != "/healthz" => limiter.check(client),
        _ => Ok(()),
    };
    let (Err(retry_after), Some(state)) = (verdict, state) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let message = format!("请求过于频繁，请 {retry_after} 秒后再试");
    let response = if req.path().starts_with("/api/") {
        ApiError::TooManyRequests {
            retry_after: i64::try_from(retry_after).unwrap_or(i64::MAX),
            message,
        }
        .error_response()
    } else {
        let mut page = state
            .page_error(StatusCode::TOO_MANY_REQUESTS, "请求过于频繁", &message)
            .error_response();
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(retry_after),
        );
        page
    };
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn limiter(loopback: bool) -> ClientLimiter {
        ClientLimiter::new(RateLimitSettings {
            per_minute: 60,
            burst: 3,
            loopback,
        })
        .expect("a non-zero rate")
    }

    #[test]
    fn a_client_over_its_burst_is_told_how_long_to_wait_and_others_are_not_affected() {
        let l = limiter(false);
        let busy: IpAddr = ip("203.0.113.7");
        for _ in 0..3 {
            assert_eq!(l.check(busy), Ok(()));
        }
        let wait = l
            .check(busy)
            .expect_err("the fourth request at once is over the burst");
        assert!(
            (1..=1).contains(&wait),
            "one request a second refills: wait {wait}s"
        );
        assert_eq!(l.check(ip("203.0.113.8")), Ok(()));
    }

    #[test]
    fn ipv6_clients_share_the_budget_of_their_64_network() {
        let l = limiter(false);
        for i in 1..=3 {
            let addr: IpAddr = ip(&format!("2001:db8:1:2::{i}"));
            assert_eq!(l.check(addr), Ok(()));
        }
        assert!(l.check(ip("2001:db8:1:2::ffff")).is_err());
        assert_eq!(l.check(ip("2001:db8:1:3::1")), Ok(()));
    }

    #[test]
    fn loopback_is_limited_only_when_asked() {
        let free = limiter(false);
        let strict = limiter(true);
        let local: IpAddr = ip("127.0.0.1");
        for _ in 0..10 {
            assert_eq!(free.check(local), Ok(()));
        }
        for _ in 0..3 {
            assert_eq!(strict.check(local), Ok(()));
        }
        assert!(strict.check(local).is_err());
    }

    #[test]
    fn a_zero_rate_turns_the_limit_off() {
        assert!(ClientLimiter::new(RateLimitSettings {
            per_minute: 0,
            burst: 10,
            loopback: true,
        })
        .is_none());
    }
}
