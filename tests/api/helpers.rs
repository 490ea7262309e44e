//! Test harness: every test gets its own database (a temporary SQLite file, or a fresh
//! PostgreSQL database dropped afterwards) and its own server on a random port.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::sync::Arc;

use onething::clock::{Clock, SettableClock};
use onething::config::{Secret, Settings};
use onething::startup::Application;
use tempfile::TempDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn repo_forms() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("forms")
}

fn pg_admin_url() -> String {
    std::env::var("ONETHING_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// PostgreSQL tests are mandatory in CI (CI=true or ONETHING_REQUIRE_PG=1); elsewhere an
/// unreachable server skips them with a message.
fn pg_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("ONETHING_REQUIRE_PG").is_ok_and(|v| v == "1")
}

/// A database made for one test and removed after it.
pub struct TestDatabase {
    pub url: Option<String>,
    pg_name: Option<String>,
}

impl TestDatabase {
    /// None when PostgreSQL is unreachable and not required (the test then skips).
    pub fn create(backend: Backend, dir: &Path) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self {
                url: Some(format!("sqlite://{}", dir.join("test.db").display())),
                pg_name: None,
            }),
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = match PgConnection::establish(&admin) {
                    Ok(c) => c,
                    Err(e) if !pg_required() => {
                        eprintln!("SKIPPED the PostgreSQL half of this test: cannot connect to {admin}: {e}");
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL is required here but unreachable at {admin}: {e}"),
                };
                static N: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "onething_t_{}_{}_{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst),
                    chrono::Utc::now().timestamp_subsec_nanos()
                );
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the test database");
                let mut url = url::Url::parse(&admin).expect("admin url");
                url.set_path(&name);
                Some(Self {
                    url: Some(url.to_string()),
                    pg_name: Some(name),
                })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    /// The server's clock: the machine's time unless a test moves it.
    pub clock: Arc<SettableClock>,
    pub address: String,
    pub db: onething::db::Db,
    pub client: reqwest::Client,
    pub settings: Settings,
    _db: TestDatabase,
    _dir: TempDir,
}

pub fn test_settings(backend: Backend) -> Option<(Settings, TestDatabase, TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::create(backend, dir.path())?;
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.database_url = db.url.clone().map(Secret::new);
    settings.forms_dir = repo_forms();
    settings.workers = 1;
    settings.db_pool_size = 4;
    settings.max_upload_mb = 1;
    Some((settings, db, dir))
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// A server whose settings the test adjusts first.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    // Errors the server logs appear in a failing test's output.
    onething::telemetry::init(onething::config::LogFormat::Text, "error");
    let (mut settings, db, dir) = test_settings(backend)?;
    tweak(&mut settings);
    Some(spawn_app_from(settings, dir, db).await)
}

/// Starts a server for settings made by [`test_settings`], keeping its database and
/// directory alive as long as the returned app.
pub async fn spawn_app_from(settings: Settings, dir: TempDir, db: TestDatabase) -> TestApp {
    spawn_app_at(settings, dir, db, Arc::new(SettableClock::at(chrono::Utc::now()))).await
}

/// A server whose clock starts at `local` Beijing time (and runs on from there).
pub async fn spawn_app_on(backend: Backend, local: &str) -> Option<TestApp> {
    onething::telemetry::init(onething::config::LogFormat::Text, "error");
    let (settings, db, dir) = test_settings(backend)?;
    let at = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|e| panic!("bad test time {local}: {e}"));
    Some(spawn_app_at(settings, dir, db, Arc::new(SettableClock::at_beijing(at))).await)
}

/// Starts a server reading time from `clock`.
pub async fn spawn_app_at(
    settings: Settings,
    dir: TempDir,
    db: TestDatabase,
    clock: Arc<SettableClock>,
) -> TestApp {
    let app = Application::build_with_clock(&settings, clock.clone()).expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let app_db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        clock,
        address,
        db: app_db,
        client: reqwest::Client::new(),
        settings,
        _db: db,
        _dir: dir,
    }
}

/// Starts one more server with the given settings (e.g. a second server on the same
/// database with its own data directory); returns its address and database handle.
pub async fn spawn_server(settings: &Settings) -> (String, onething::db::Db) {
    let app = Application::build(settings).expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    (address, db)
}

/// A fixed instant for writes a test makes without a server (no test reads the machine's
/// date).
pub fn fixed_now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 6, 15)
        .and_then(|d| d.and_hms_opt(2, 0, 0))
        .expect("a time")
}

/// Synthetic identities that pass the check characters (not real persons).
pub const CITIZEN_ID: &str = "110101199003071233";
pub const CITIZEN_PHONE: &str = "13800138000";
pub const ENTERPRISE_USCC: &str = "91350100M000100Y43";
pub const ENTERPRISE_PHONE: &str = "13900139000";
pub const PASSWORD: &str = "Secret2026pass";

impl TestApp {
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut req = self.client.post(format!("{}{}", self.address, path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .get(format!("{}{}", self.address, path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn register_citizen(&self) -> serde_json::Value {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/register",
                None,
                serde_json::json!({"kind": "citizen", "name": "林晓明", "id_number": CITIZEN_ID, "phone": CITIZEN_PHONE, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "citizen registration: {body}");
        body
    }

    pub async fn register_enterprise(&self) -> serde_json::Value {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/register",
                None,
                serde_json::json!({"kind": "enterprise", "name": "福州长乐海丝餐饮有限公司", "uscc": ENTERPRISE_USCC,
                    "legal_representative": "陈海", "contact_name": "王芳", "phone": ENTERPRISE_PHONE,
                    "industry": "62", "scale": "micro", "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "enterprise registration: {body}");
        body
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, 200, "login of {username}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Creates a staff account directly in the database and returns its login token.
    pub async fn staff_token(
        &self,
        username: &str,
        role: onething::auth::Role,
        department: Option<&str>,
    ) -> String {
        let new = onething::web::accounts::service::staff_account(
            username,
            username,
            onething::auth::hash_password(PASSWORD),
            role,
            department.map(str::to_owned),
            self.clock.now_utc(),
        );
        let mut conn = self.db.get().expect("connection");
        onething::store::accounts::create(&mut conn, new).expect("staff account");
        drop(conn);
        self.login(username, PASSWORD).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.get(path).await;
        let status = resp.status().as_u16();
        let body = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: body is not JSON: {e}"));
        (status, body)
    }

    pub async fn get_html(&self, path: &str) -> (u16, String) {
        let resp = self.get(path).await;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(
            ct.starts_with("text/html"),
            "GET {path}: content-type {ct:?}, expected text/html"
        );
        (status, resp.text().await.expect("body"))
    }
}

/// Declares one test body that runs once per backend, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, settings: $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some($app) =
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Sqlite, $tweak).await
                else {
                    return;
                };
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) =
                    $crate::helpers::spawn_app_with($crate::helpers::Backend::Postgres, $tweak).await
                else {
                    return;
                };
                $body
            }
        }
    };
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some($app) = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await else {
                    return;
                };
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await else {
                    return;
                };
                $body
            }
        }
    };
}

/// The value of the form input named `name` in a page (a CSRF token, a case version).
pub fn input_value(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("the page has no input named {name}"))
        .to_owned()
}

/// A cookie-keeping client logged in through the login page, and its CSRF token.
pub async fn page_login(app: &TestApp, username: &str, password: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let csrf = input_value(&login, "csrf_token");
    let resp = client
        .post(format!("{}/login", app.address))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
            ("next", "/account"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status().as_u16(), 303, "login of {username}");
    (client, csrf)
}
