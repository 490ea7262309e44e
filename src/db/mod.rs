//! Database access: one connection enum over PostgreSQL and SQLite, a pool, embedded
//! migrations for both backends, and a small async handle that runs diesel's blocking
//! calls on the blocking thread pool so that HTTP workers never hold a connection.

pub mod dialect;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::{Secret, Settings};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type for both backends; queries written once against it run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Where the database is, decided from `DATABASE_URL`'s scheme and nothing else.
#[derive(Clone, Debug)]
pub enum DatabaseTarget {
    Postgres(Secret),
    Sqlite(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("DATABASE_URL has an unsupported scheme {0:?}: use postgres://, postgresql:// or sqlite://PATH")]
    UnsupportedScheme(String),
    #[error("DATABASE_URL sqlite:// needs a file path, e.g. sqlite://./data/onething.db")]
    EmptySqlitePath,
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        source: diesel::ConnectionError,
    },
    #[error("cannot create the connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl DatabaseTarget {
    pub fn from_settings(settings: &Settings) -> Result<Self, DbSetupError> {
        match &settings.database_url {
            None => Ok(Self::Sqlite(settings.data_dir.join("onething.db"))),
            Some(url) => Self::parse(url.expose()),
        }
    }

    pub fn parse(url: &str) -> Result<Self, DbSetupError> {
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres(Secret::new(url))),
            "sqlite" => {
                let path = &url["sqlite://".len()..];
                if path.is_empty() {
                    return Err(DbSetupError::EmptySqlitePath);
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            _ => Err(DbSetupError::UnsupportedScheme(scheme.to_owned())),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection of the chosen backend, keeping the backend's own error.
    pub fn connect(&self) -> Result<DbConn, DbSetupError> {
        let backend = self.backend().name();
        match self {
            Self::Postgres(url) => PgConnection::establish(url.expose())
                .map(DbConn::Postgresql)
                .map_err(|source| DbSetupError::Connect { backend, source }),
            Self::Sqlite(path) => open_sqlite(path)
                .map(DbConn::Sqlite)
                .map_err(|source| DbSetupError::Connect { backend, source }),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Postgres(url) => match url::Url::parse(url.expose()) {
                Ok(u) => format!(
                    "postgres at {}:{}{}",
                    u.host_str().unwrap_or("localhost"),
                    u.port().unwrap_or(5432),
                    u.path()
                ),
                Err(_) => "postgres".into(),
            },
            Self::Sqlite(path) => format!("sqlite file {}", path.display()),
        }
    }
}

fn open_sqlite(path: &Path) -> Result<SqliteConnection, diesel::ConnectionError> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
    // busy_timeout must come before journal_mode: switching to WAL takes a lock that
    // other pooled connections would otherwise see as "database is locked".
    conn.batch_execute(
        "PRAGMA busy_timeout = 10000;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// r2d2 manager that opens connections of the backend chosen from the URL scheme.
pub struct Manager {
    target: DatabaseTarget,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url.expose()).map(DbConn::Postgresql),
            DatabaseTarget::Sqlite(path) => open_sqlite(path).map(DbConn::Sqlite),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// Runs the embedded migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, DbSetupError> {
    let applied = match conn {
        DbConn::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| DbSetupError::Migration(e.to_string()))
}

/// Reverts every migration of the connection's backend (used by the migrations test).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<usize, DbSetupError> {
    let reverted = match conn {
        DbConn::Postgresql(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    reverted.map_err(|e| DbSetupError::Migration(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database task failed: {0}")]
    Join(String),
    /// The write lost its claim (an `Idempotency-Key` taken over meanwhile): the
    /// transaction is rolled back and nothing is written.
    #[error("the claim on this write was taken over")]
    Superseded,
    /// A deadline computed inside a transaction could not be counted.
    #[error("working-day calendar: {0}")]
    Calendar(#[from] crate::calendar::CalendarError),
}

/// Cheap-to-clone handle to the pool; the only way the web layer reaches the database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite lets one writer in at a time and makes the others poll, sleeping a millisecond
    /// and more between tries; writers of this process queue here instead, and the next one
    /// starts the moment the last one commits.
    writer: Arc<Mutex<()>>,
}

impl Db {
    /// Connects (failing at once with the backend's own error), migrates, and pools.
    pub fn open(target: &DatabaseTarget, pool_size: u32) -> Result<Self, DbSetupError> {
        if let DatabaseTarget::Sqlite(path) = target {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| DbSetupError::CreateDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        let mut first = target.connect()?;
        let applied = run_migrations(&mut first)?;
        tracing::info!(database = %target.describe(), applied, "database ready");
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(Manager {
                target: target.clone(),
            })?;
        Ok(Self {
            pool,
            backend: target.backend(),
            writer: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.on_pool(None, f).await
    }

    /// [`Db::run`] for work that writes: on SQLite it waits its turn among this process's
    /// writers rather than in SQLite's busy handler.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let turn = (self.backend == Backend::Sqlite).then(|| self.writer.clone());
        self.on_pool(turn, f).await
    }

    /// Runs `f` on the blocking thread pool, holding `turn` (when given) before taking a
    /// connection, so that waiting writers hold no connection.
    async fn on_pool<T, E, F>(&self, turn: Option<Arc<Mutex<()>>>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            // The guard protects no data, so a writer that panicked leaves nothing broken.
            let _turn = turn.as_ref().map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(DbError::Join(e.to_string())))?
    }

    /// A connection for synchronous callers (CLI subcommands, start-up).
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }
}

/// Whether a failure is a lock conflict that a fresh attempt of the whole transaction can
/// get past: SQLite refuses at once (without waiting out the busy timeout) when two
/// transactions that both read first then both want to write; PostgreSQL reports
/// serialization failures and deadlocks.
pub fn is_lock_conflict(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("database is locked")
                || m.contains("database table is locked")
                || m.contains("deadlock detected")
        }
        _ => false,
    }
}

/// Errors that may carry a lock conflict.
pub trait MaybeLockConflict {
    fn is_lock_conflict(&self) -> bool;
}

impl MaybeLockConflict for DbError {
    fn is_lock_conflict(&self) -> bool {
        matches!(self, DbError::Query(e) if is_lock_conflict(e))
    }
}

/// Runs a read-then-write transaction, trying it again (a few times, with a short growing
/// pause) when it loses a lock conflict; the transaction has rolled back each time.
pub fn retry_on_conflict<T, E: MaybeLockConflict>(
    conn: &mut DbConn,
    mut f: impl FnMut(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    let mut attempt = 0u64;
    loop {
        match f(conn) {
            Err(e) if e.is_lock_conflict() && attempt < 50 => {
                attempt += 1;
                // Spread the retries of colliding transactions apart.
                let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=attempt * 4);
                std::thread::sleep(Duration::from_millis(attempt.min(20) * 2 + jitter));
            }
            other => return other,
        }
    }
}
