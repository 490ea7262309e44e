//! HTTP: the JSON API under /api/v1, the portal pages, health, and the response headers
//! every response carries.

pub mod accounts;
pub mod apply;
pub mod assets;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod certificates;
pub mod counter;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod policies;
pub mod rate_limit;
pub mod ratings;
pub mod smart;
pub mod templates;
pub mod validate;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{get, web, HttpRequest, HttpResponse, ResponseError};

use crate::db::{Db, DbError};
use error::{ApiError, FieldError};

/// Everything a handler may use; cheap to clone, no per-user state (the server is stateless).
pub struct AppState {
    pub db: Db,
    pub templates: Arc<tera::Tera>,
    /// A tag of the template sources, part of every page's entity tag.
    pub templates_tag: String,
    /// The public catalogue in memory, following the database's catalogue version.
    pub catalogue: Arc<catalogue::snapshot::CatalogueCache>,
    pub tokens: crate::auth::TokenService,
    pub vault: crate::auth::Vault,
    /// Signs e-certificates; its public half verifies them (`/api/v1/certificates/public-key`).
    pub certificate_key: ed25519_dalek::SigningKey,
    pub data_dir: std::path::PathBuf,
    /// The working-day calendar: the shipped years, `ONETHING_HOLIDAYS_DIR`, and the years
    /// administrators entered (read through [`AppState::calendar`]).
    pub calendars: Arc<crate::store::calendar::CalendarCache>,
    /// The one clock every handler reads "now" from.
    pub clock: Arc<dyn crate::clock::Clock>,
    pub max_upload_bytes: usize,
    /// Uploads in progress per account, capped (`ONETHING_MAX_CONCURRENT_UPLOADS`).
    pub upload_slots: apply::service::UploadSlots,
    /// Content checks of received files running at once (one per core).
    pub content_checks: tokio::sync::Semaphore,
    /// How long a taken `Idempotency-Key` protects a request that never completed it.
    pub idempotency_in_flight: chrono::Duration,
    /// Peers whose forwarding headers are believed (`ONETHING_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The policy search engine and how it is kept in step with the database.
    pub search: crate::search::follower::Search,
    /// The general per-client request limit; `None` when turned off.
    pub rate_limit: Option<rate_limit::ClientLimiter>,
    /// Where smart approval looks applicants up: the local registries or the provincial
    /// data-exchange platform (`ONETHING_REGISTRY_URL`).
    pub registries: crate::registry::Registries,
}

impl AppState {
    /// The calendar as of the newest year entered on any server.
    pub async fn calendar(&self) -> Result<Arc<crate::calendar::Calendar>, ApiError> {
        let cache = self.calendars.clone();
        Ok(self.db.run(move |c| cache.current(c)).await?)
    }

    /// The current instant as stored (UTC).
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now_utc()
    }

    /// Today's business date in Beijing.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today()
    }
}

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        // The portal uses no camera, microphone, location or payment API.
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ))
}

/// The headers that depend on the request: responses to requests that carry credentials may
/// hold personal data, so no cache keeps them; over HTTPS, Strict-Transport-Security.
pub async fn per_request_headers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let credentials = req.headers().contains_key(actix_web::http::header::AUTHORIZATION)
        || req.cookie(auth::SESSION_COOKIE).is_some();
    // Over HTTPS (TLS terminated by this server) browsers are told to stay on HTTPS.
    let secure = req.app_config().secure();
    let mut res = next.call(req).await?;
    if secure {
        res.headers_mut().insert(
            actix_web::http::header::STRICT_TRANSPORT_SECURITY,
            actix_web::http::header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if credentials {
        res.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

/// `HEAD` on every page and API route: answered as the `GET` it asks about, without the
/// body (routes are declared for `GET`, which actix would otherwise answer 404 for `HEAD`).
pub async fn head_as_get(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody, ()>>,
    actix_web::Error,
> {
    let head = req.method() == actix_web::http::Method::HEAD;
    if head {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    let res = next.call(req).await?;
    Ok(if head {
        res.map_body(|_, _| actix_web::body::EitherBody::right(()))
    } else {
        res.map_into_left_body()
    })
}

/// Registers every route of the application: the API through `utoipa_actix_web`, so that
/// each of its routes is in the OpenAPI document, and the pages as plain actix services.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::InvalidQuery(vec![FieldError::new(
            "query",
            "malformed",
            format!("查询参数格式有误：{err}"),
        )])
        .into()
    }))
    // A path segment that is not a valid number or code names nothing: 404, as JSON under
    // the API and as a page elsewhere (never actix's plain-text message).
    .app_data(web::PathConfig::default().error_handler(|err, req| {
        tracing::debug!(error = %err, "unusable path parameter");
        match req.app_data::<web::Data<AppState>>() {
            Some(state) if !req.path().starts_with(openapi::BASE) => state
                .page_error(
                    StatusCode::NOT_FOUND,
                    "页面不存在",
                    "您访问的页面不存在，请从首页重新进入。",
                )
                .into(),
            _ => ApiError::NotFound("未找到：地址中的编号或编码无效".into()).into(),
        }
    }))
    .service(
        utoipa_actix_web::scope(openapi::BASE)
            .configure(catalogue::api::configure)
            .configure(accounts::api::configure)
            .configure(apply::api::configure)
            .configure(calendar::api::configure)
            .configure(cases::api::configure)
            .configure(metrics::api::configure)
            .configure(ratings::api::configure)
            .configure(certificates::api::configure)
            .configure(smart::api::configure)
            .configure(policies::api::configure)
            .default_service(web::to(api_not_found)),
    )
    .map(|cfg| {
        cfg.service(healthz)
            .configure(assets::configure)
            .configure(catalogue::pages::configure)
            .configure(accounts::pages::configure)
            .configure(apply::pages::configure)
            .configure(cases::pages::configure)
            .configure(cases::documents::configure)
            .configure(counter::pages::configure)
            .configure(cases::applicant::configure)
            .configure(metrics::pages::configure)
            .configure(ratings::pages::configure)
            .configure(certificates::pages::configure)
            .configure(policies::pages::configure)
            .configure(calendar::pages::configure)
            .default_service(web::to(page_not_found))
    });
}

#[get("/healthz")]
async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    use diesel::connection::SimpleConnection;
    state
        .db
        .run(|c| {
            c.batch_execute("SELECT 1")
                .map_err(DbError::from)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "database": state.db.backend().name(),
    })))
}

async fn api_not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("接口 {} {} 不存在", req.method(), req.path())).error_response()
}

async fn page_not_found(state: web::Data<AppState>) -> HttpResponse {
    state
        .page_error(
            StatusCode::NOT_FOUND,
            "页面不存在",
            "您访问的页面不存在，请从首页重新进入。",
        )
        .error_response()
}
