//! Typed configuration, read from environment variables (or command-line flags) with
//! defaults that need nothing. The value is passed to [`crate::startup::Application`];
//! there is no global configuration.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// A value that must never reach a log line or a debug print.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings shared by every subcommand.
#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// Address the HTTP server listens on.
    #[arg(long, env = "ONETHING_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,

    /// Directory for the SQLite database, keys, uploads and the search index.
    #[arg(long, env = "ONETHING_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Database: postgres://… or postgresql://… for PostgreSQL, sqlite://PATH for a SQLite
    /// file; unset means a SQLite file `onething.db` in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<Secret>,

    /// Directory of the catalogue definitions (field dictionary, items, bundles).
    #[arg(long, env = "ONETHING_FORMS_DIR", default_value = "./forms", global = true)]
    pub forms_dir: PathBuf,

    /// Directory whose templates override the built-in ones (same file names).
    #[arg(long, env = "ONETHING_TEMPLATE_DIR", global = true)]
    pub template_dir: Option<PathBuf>,

    /// Log output format.
    #[arg(long, env = "ONETHING_LOG", value_enum, default_value = "text", global = true)]
    pub log: LogFormat,

    /// Log filter in the `tracing` directive syntax, e.g. `info,onething=debug`.
    #[arg(long, env = "ONETHING_LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,

    /// Largest database connection pool size.
    #[arg(long, env = "ONETHING_DB_POOL_SIZE", default_value_t = 10, global = true)]
    pub db_pool_size: u32,

    /// HTTP worker threads; 0 means one per CPU core.
    #[arg(long, env = "ONETHING_WORKERS", default_value_t = 0, global = true)]
    pub workers: usize,

    /// Key that signs login tokens (at least 32 characters); unset means a key generated
    /// once into the data directory. Instances behind one load balancer must share it.
    #[arg(long, env = "ONETHING_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret>,

    /// Key (base64 of 32 bytes) that encrypts ID numbers and phones at rest; unset means a
    /// key generated once into the data directory. Instances sharing a database must share it.
    #[arg(long, env = "ONETHING_DATA_KEY", hide_env_values = true, global = true)]
    pub data_key: Option<Secret>,

    /// Key (base64 of the 32-byte Ed25519 seed) that signs e-certificates; unset means a key
    /// generated once into the data directory. Instances sharing a database must share it.
    #[arg(long, env = "ONETHING_CERTIFICATE_KEY", hide_env_values = true, global = true)]
    pub certificate_key: Option<Secret>,

    /// Lifetime of a login token, in minutes.
    #[arg(
        long,
        env = "ONETHING_TOKEN_TTL_MINUTES",
        default_value_t = 480,
        global = true
    )]
    pub token_ttl_minutes: u32,

    /// Folder of holiday-calendar year files (same format as `assets/holidays-cn/*.json`)
    /// that add years or replace shipped ones, so a new year needs no new release.
    #[arg(long, env = "ONETHING_HOLIDAYS_DIR", global = true)]
    pub holidays_dir: Option<PathBuf>,

    /// Largest uploaded material, in MiB.
    #[arg(long, env = "ONETHING_MAX_UPLOAD_MB", default_value_t = 10, global = true)]
    pub max_upload_mb: u32,

    /// Uploads one account may have in progress at once; more are answered 429.
    #[arg(
        long,
        env = "ONETHING_MAX_CONCURRENT_UPLOADS",
        default_value_t = 3,
        global = true
    )]
    pub max_concurrent_uploads: usize,

    /// Seconds between sweeps that apply deemed acceptance (行政许可法 Art. 32) to cases
    /// nobody acted on within five working days; 0 turns the sweep off.
    #[arg(long, env = "ONETHING_SWEEP_SECONDS", default_value_t = 300, global = true)]
    pub sweep_seconds: u64,

    /// Seconds after which a submission's `Idempotency-Key` that was taken but never
    /// completed (its request crashed) may be taken over by a retry; until then a retry is
    /// told the request is still being processed (409).
    #[arg(
        long,
        env = "ONETHING_IDEMPOTENCY_IN_FLIGHT_SECONDS",
        default_value_t = 60,
        global = true
    )]
    pub idempotency_in_flight_seconds: u64,

    /// Reverse proxies (CIDRs, comma-separated) whose `Forwarded` / `X-Forwarded-For` header
    /// names the client; from any other peer the header is ignored. Default: none.
    #[arg(long, env = "ONETHING_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// General request limit: sustained requests per minute per client address (IPv6 per
    /// /64), answered 429 with `Retry-After` beyond it; 0 turns it off.
    #[arg(
        long,
        env = "ONETHING_RATE_LIMIT_PER_MINUTE",
        default_value_t = 600,
        global = true
    )]
    pub rate_limit_per_minute: u32,

    /// Requests a client may send at once before the sustained rate applies.
    #[arg(long, env = "ONETHING_RATE_LIMIT_BURST", default_value_t = 120, global = true)]
    pub rate_limit_burst: u32,

    /// Whether clients on the loopback address are limited too (off: local tools and tests
    /// on the machine itself are not).
    #[arg(
        long,
        env = "ONETHING_RATE_LIMIT_LOOPBACK",
        default_value_t = false,
        global = true
    )]
    pub rate_limit_loopback: bool,

    /// Meilisearch address; when set, search uses Meilisearch instead of the embedded index.
    #[arg(long, env = "MEILI_URL", global = true)]
    pub meili_url: Option<String>,

    /// Meilisearch API key.
    #[arg(long, env = "MEILI_KEY", hide_env_values = true, global = true)]
    pub meili_key: Option<Secret>,

    /// The provincial data-exchange platform's address; when set, registry lookups go there
    /// (JSON over HTTPS) instead of to the local registry tables.
    #[arg(long, env = "ONETHING_REGISTRY_URL", global = true)]
    pub registry_url: Option<String>,

    /// The data-exchange platform's API key (sent as a bearer token).
    #[arg(long, env = "ONETHING_REGISTRY_KEY", hide_env_values = true, global = true)]
    pub registry_key: Option<Secret>,

    /// How long one registry request may take before it counts as no answer (milliseconds).
    #[arg(
        long,
        env = "ONETHING_REGISTRY_TIMEOUT_MS",
        default_value_t = 800,
        global = true
    )]
    pub registry_timeout_ms: u64,

    /// How many times a registry request that got no answer is tried again.
    #[arg(long, env = "ONETHING_REGISTRY_RETRIES", default_value_t = 1, global = true)]
    pub registry_retries: u32,

    /// The local registries' files (`<registry>.csv` or `.xlsx`), loaded at start into
    /// registries that are still empty; the repository ships a synthetic demonstration set.
    #[arg(
        long,
        env = "ONETHING_REGISTRIES_DIR",
        default_value = "registries",
        global = true
    )]
    pub registries_dir: PathBuf,

    /// The Meilisearch index of the policies (its change-log position is kept in
    /// `{index}_position` beside it).
    #[arg(long, env = "MEILI_INDEX", default_value = "policies", global = true)]
    pub meili_index: String,
}

impl Settings {
    /// Settings for a server on `bind` with everything else at its default; tests and
    /// embedders adjust the fields they need.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            database_url: None,
            forms_dir: PathBuf::from("forms"),
            template_dir: None,
            log: LogFormat::Text,
            log_level: "info".into(),
            db_pool_size: 10,
            workers: 0,
            jwt_secret: None,
            data_key: None,
            certificate_key: None,
            token_ttl_minutes: 480,
            max_upload_mb: 10,
            max_concurrent_uploads: 3,
            sweep_seconds: 300,
            idempotency_in_flight_seconds: 60,
            trusted_proxies: Vec::new(),
            rate_limit_per_minute: 600,
            rate_limit_burst: 120,
            rate_limit_loopback: false,
            holidays_dir: None,
            meili_url: None,
            meili_key: None,
            meili_index: "policies".into(),
            registry_url: None,
            registry_key: None,
            registry_timeout_ms: 800,
            registry_retries: 1,
            registries_dir: PathBuf::from("registries"),
        }
    }
}
