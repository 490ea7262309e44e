//! Building and running the application: the library's entry point that `main` and the
//! tests share. `Application::build` binds the listener (port 0 picks a free port) and
//! returns before serving, so callers learn the address first.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

use crate::auth::{Keys, TokenService, Vault};
use crate::calendar::Calendar;
use crate::catalogue::load_catalogue;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{DatabaseTarget, Db};
use crate::search::follower::Search;
use crate::store::catalogue::sync;
use crate::web::{self, AppState};
use actix_web::web::Data;

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
}

/// Opens the database (creating and migrating it) and makes its catalogue equal to the
/// definitions in `forms/`; a definition problem stops here with nothing written.
/// `now` stamps the definitions that change.
pub fn prepare_database(settings: &Settings, now: chrono::NaiveDateTime) -> anyhow::Result<Db> {
    let catalogue = load_catalogue(&settings.forms_dir)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("loading the catalogue from {}", settings.forms_dir.display()))?;
    let target = DatabaseTarget::from_settings(settings)?;
    let db = Db::open(&target, settings.db_pool_size)?;
    let mut conn = db.get()?;
    let report = sync(&mut conn, &catalogue, now)?;
    tracing::info!(
        bundles = catalogue.bundles.len(),
        items = catalogue.items.len(),
        inserted = report.inserted,
        updated = report.updated,
        retired = report.retired,
        unchanged = report.unchanged,
        "catalogue loaded"
    );
    Ok(db)
}

/// Loads the policy seed library (idempotently, by key) and opens the search engine,
/// rebuilding the embedded index when it is missing or unreadable.
pub fn prepare_policies(settings: &Settings, db: &Db, now: chrono::NaiveDateTime) -> anyhow::Result<Search> {
    let entries = crate::policy::seed::shipped().map_err(anyhow::Error::msg)?;
    let report = crate::store::policies::seed(&mut *db.get()?, &entries, now)?;
    tracing::info!(
        policies = entries.len(),
        inserted = report.inserted,
        updated = report.updated,
        unchanged = report.unchanged,
        "policy seed library loaded"
    );
    let search = Search::open(settings, db)?;
    tracing::info!(engine = search.engine(), "policy search ready");
    Ok(search)
}

/// The registries smart approval looks applicants up in: the provincial data-exchange
/// platform when `ONETHING_REGISTRY_URL` is set, else the local tables, into which the
/// files of `ONETHING_REGISTRIES_DIR` are loaded for each registry still empty.
pub fn prepare_registries(
    settings: &Settings,
    db: &Db,
    vault: &Vault,
    clock: &dyn Clock,
) -> anyhow::Result<crate::registry::Registries> {
    if let Some(url) = &settings.registry_url {
        let http = crate::registry::http::HttpRegistries::new(
            url,
            settings.registry_key.as_ref().map(|k| k.expose().to_owned()),
            std::time::Duration::from_millis(settings.registry_timeout_ms),
            settings.registry_retries,
        )
        .map_err(anyhow::Error::msg)?;
        tracing::info!(adapter = "http", "registries ready");
        return Ok(crate::registry::Registries::Http(http));
    }
    let loaded =
        crate::registry::load::load_empty(&mut *db.get()?, vault, &settings.registries_dir, clock.now_utc())
            .with_context(|| format!("loading registries from {}", settings.registries_dir.display()))?;
    for (registry, records) in loaded {
        tracing::info!(registry = %registry, records, "registry loaded");
    }
    Ok(crate::registry::Registries::Local {
        db: db.clone(),
        vault: vault.clone(),
    })
}

impl Application {
    /// The application on the machine's clock.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(crate::clock::SystemClock))
    }

    /// The application reading time from `clock` (tests put it on any day).
    pub fn build_with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = prepare_database(settings, clock.now_utc())?;
        let search = prepare_policies(settings, &db, clock.now_utc())?;
        search.spawn_follower(db.clone());
        let (templates, templates_tag) = web::templates::load_tagged(settings.template_dir.as_deref())?;
        let templates = Arc::new(templates);
        let catalogue = Arc::new(web::catalogue::snapshot::CatalogueCache::load(&mut *db.get()?)?);
        catalogue.clone().spawn_follower(db.clone());
        let keys = Keys::load(settings)?;
        let tokens = TokenService::new(&keys.jwt, settings.token_ttl_minutes);
        let vault = Vault::new(&keys.data);
        let registries = prepare_registries(settings, &db, &vault, clock.as_ref())?;
        let mut calendar = Calendar::shipped().clone();
        if let Some(dir) = &settings.holidays_dir {
            calendar
                .add_dir(dir)
                .with_context(|| format!("loading holiday years from {}", dir.display()))?;
        }
        let calendars = Arc::new(crate::store::calendar::CalendarCache::new(calendar));
        let current = calendars.current(&mut *db.get()?)?;
        tracing::info!(official_years = ?current.known_years(), "working-day calendar ready");
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = Data::new(AppState {
            db: db.clone(),
            templates,
            templates_tag,
            catalogue,
            tokens,
            vault,
            certificate_key: ed25519_dalek::SigningKey::from_bytes(&keys.certificate),
            data_dir: settings.data_dir.clone(),
            calendars,
            clock,
            max_upload_bytes: settings.max_upload_mb as usize * 1024 * 1024,
            upload_slots: web::apply::service::UploadSlots::new(settings.max_concurrent_uploads),
            content_checks: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
            idempotency_in_flight: i64::try_from(settings.idempotency_in_flight_seconds)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .unwrap_or(chrono::Duration::MAX),
            trusted_proxies: settings.trusted_proxies.clone(),
            search,
            rate_limit: web::rate_limit::ClientLimiter::new(web::rate_limit::RateLimitSettings {
                per_minute: settings.rate_limit_per_minute,
                burst: settings.rate_limit_burst,
                loopback: settings.rate_limit_loopback,
            }),
            registries,
        });
        if settings.sweep_seconds > 0 {
            tokio::spawn(web::cases::service::sweep_loop(
                state.clone(),
                std::time::Duration::from_secs(settings.sweep_seconds),
            ));
        }
        let mut server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .configure(web::configure)
                .into_app()
                .wrap(actix_web::middleware::from_fn(web::head_as_get))
                .wrap(actix_web::middleware::from_fn(web::rate_limit::limit_clients))
                .wrap(actix_web::middleware::from_fn(web::per_request_headers))
                .wrap(web::security_headers())
                // gzip or brotli, as the client accepts: pages and JSON are mostly text.
                .wrap(actix_web::middleware::Compress::default())
                .wrap(TracingLogger::default())
                .app_data(state.clone())
        })
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            db,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
