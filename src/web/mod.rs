//! HTTP: the JSON API under /api/v1, the portal pages, health, and the response headers
//! every response carries.

pub mod accounts;
pub mod api;
pub mod api_apply;
pub mod api_auth;
pub mod api_cases;
pub mod api_metrics;
pub mod api_policies;
pub mod api_ratings;
pub mod applications;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod counter;
pub mod error;
pub mod metrics;
pub mod pages;
pub mod pages_apply;
pub mod pages_auth;
pub mod pages_case;
pub mod pages_counter;
pub mod pages_dashboard;
pub mod pages_policies;
pub mod pages_ratings;
pub mod pages_staff;
pub mod ratings;
pub mod templates;

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
    pub tokens: crate::auth::TokenService,
    pub vault: crate::auth::Vault,
    pub data_dir: std::path::PathBuf,
    /// The working-day calendar: the shipped years, `ONETHING_HOLIDAYS_DIR`, and the years
    /// administrators entered (read through [`AppState::calendar`]).
    pub calendars: Arc<crate::store::calendar::CalendarCache>,
    /// The one clock every handler reads "now" from.
    pub clock: Arc<dyn crate::clock::Clock>,
    pub max_upload_bytes: usize,
    /// The policy search engine and how it is kept in step with the database.
    pub search: crate::search::follower::Search,
    /// Policy imports started from the admin pages, with their progress.
    pub imports: Arc<api_policies::ImportJobs>,
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
}

/// Responses to requests that carry credentials may hold personal data: no cache keeps them.
pub async fn no_store_for_credentials(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let credentials = req.headers().contains_key(actix_web::http::header::AUTHORIZATION)
        || req.cookie(auth::SESSION_COOKIE).is_some();
    let mut res = next.call(req).await?;
    if credentials {
        res.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

/// Registers every route of the application.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::InvalidQuery(vec![FieldError::new(
            "query",
            "malformed",
            format!("查询参数格式有误：{err}"),
        )])
        .into()
    }))
    .service(healthz)
    .service(
        web::scope("/api/v1")
            .configure(api::configure)
            .configure(api_auth::configure)
            .configure(api_apply::configure)
            .configure(calendar::api::configure)
            .configure(api_cases::configure)
            .configure(api_metrics::configure)
            .configure(api_ratings::configure)
            .configure(api_policies::configure)
            .default_service(web::to(api_not_found)),
    )
    .configure(pages::configure)
    .configure(pages_auth::configure)
    .configure(pages_apply::configure)
    .configure(pages_staff::configure)
    .configure(pages_counter::configure)
    .configure(pages_case::configure)
    .configure(pages_dashboard::configure)
    .configure(pages_ratings::configure)
    .configure(pages_policies::configure)
    .configure(calendar::pages::configure)
    .default_service(web::to(page_not_found));
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
