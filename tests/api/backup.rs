//! `onething backup` under submission load, `restore` into either backend, and
//! `export` / `import` between backends, each checked by a server started on the result.

use std::path::Path;
use std::process::Command;

use onething::auth::Role;
use onething::config::{Secret, Settings};
use serde_json::Value;

use crate::applications::{complete_application, submit};
use crate::both_backends;
use crate::helpers::{spawn_server, Backend, TestApp, TestDatabase, CITIZEN_PHONE, PASSWORD};

/// The binary, pointed at `data_dir` and `database_url` (unset: the SQLite file there).
fn onething(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onething"));
    c.env("ONETHING_DATA_DIR", data_dir)
        .env("ONETHING_FORMS_DIR", crate::helpers::repo_forms())
        .env("ONETHING_LOG_LEVEL", "error")
        .env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        c.env("DATABASE_URL", url);
    }
    c
}

fn run(mut c: Command) -> String {
    let out = c.output().expect("run the binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{c:?} failed:\n{text}");
    text
}

fn pg_dump_present() -> bool {
    Command::new("pg_dump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn source_command(app: &TestApp) -> Command {
    onething(
        &app.settings.data_dir,
        app.settings.database_url.as_ref().map(Secret::expose),
    )
}

/// A server on a restored data directory and database.
async fn server_on(data_dir: &Path, database_url: Option<&str>) -> String {
    let mut settings = Settings::with_data_dir(data_dir);
    settings.database_url = database_url.map(Secret::new);
    settings.forms_dir = crate::helpers::repo_forms();
    settings.workers = 1;
    settings.sweep_seconds = 0;
    spawn_server(&settings).await.0
}

async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn login(base: &str, username: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let body: Value = resp.json().await.expect("json");
    body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login of {username}: {body}"))
        .to_owned()
}

/// Every case the clerk's queue lists, by receipt number, as the case detail shows it
/// (without the clock-dependent traffic light), and the audit log by entry id.
async fn contents(base: &str) -> (Vec<(String, Value)>, Vec<Value>) {
    let clerk = login(base, "clerk").await;
    let chief = login(base, "chief").await;
    let (status, queue) = get(base, "/api/v1/cases?per_page=200", &clerk).await;
    assert_eq!(status, 200, "{queue}");
    let mut cases = Vec::new();
    for c in queue["items"].as_array().expect("items") {
        let receipt = c["receipt_no"].as_str().expect("receipt").to_owned();
        let (status, mut detail) = get(base, &format!("/api/v1/cases/{receipt}"), &clerk).await;
        assert_eq!(status, 200, "{detail}");
        detail.as_object_mut().expect("object").remove("light");
        cases.push((receipt, detail));
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    // Reading cases and logging in write audit entries on each server: compare the
    // submissions' entries, which only the source writes.
    let (status, audit) = get(
        base,
        "/api/v1/admin/audit?action=application_submit&per_page=200",
        &chief,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let audit = audit["items"].as_array().expect("items").clone();
    (cases, audit)
}

/// What the restored server shows is what the source showed for the same cases and audit
/// entries: every restored case is whole and equal, and every upload it names is served
/// with the same bytes.
async fn assert_restored_matches(source: &str, restored: &str, at_least: usize) {
    let (src_cases, src_audit) = contents(source).await;
    let (cases, audit) = contents(restored).await;
    assert!(
        cases.len() >= at_least,
        "{} cases restored, {at_least} acknowledged before",
        cases.len()
    );
    let clerk_src = login(source, "clerk").await;
    let clerk = login(restored, "clerk").await;
    for (receipt, detail) in &cases {
        let original = src_cases
            .iter()
            .find(|(r, _)| r == receipt)
            .unwrap_or_else(|| panic!("{receipt} restored but unknown to the source"));
        if let Some(diff) = first_difference("", &original.1, detail) {
            panic!("{receipt} differs after the restore: {diff}");
        }
        for m in detail["case"]["materials"].as_array().expect("materials") {
            let id = m["upload_id"].as_str().expect("upload id");
            let bytes = |base: &str, token: &str| {
                let url = format!("{base}/api/v1/uploads/{id}");
                let token = token.to_owned();
                async move {
                    let resp = reqwest::Client::new()
                        .get(url)
                        .bearer_auth(token)
                        .send()
                        .await
                        .expect("upload");
                    assert_eq!(resp.status().as_u16(), 200, "upload {id}");
                    resp.bytes().await.expect("bytes")
                }
            };
            assert_eq!(
                bytes(source, &clerk_src).await,
                bytes(restored, &clerk).await,
                "upload {id} of {receipt}"
            );
        }
    }
    assert!(
        audit.len() >= at_least,
        "the submissions' audit entries are restored"
    );
    for entry in &audit {
        assert!(
            src_audit.iter().any(|e| e["id"] == entry["id"]) && src_audit.contains(entry),
            "audit entry {entry} is not the source's"
        );
    }
}

both_backends!(
    a_backup_taken_under_submission_load_restores_into_either_backend,
    |app| {
        app.register_citizen().await;
        app.staff_token("clerk", Role::Window, None).await;
        app.staff_token("chief", Role::Admin, None).await;
        let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
        let body = complete_application(&app, &citizen, "newborn").await;
        for n in 0..3 {
            let (status, created) = submit(&app, &citizen, Some(&format!("before-{n}")), &body).await;
            assert_eq!(status, 201, "{created}");
        }
        let backup_dir = tempfile::tempdir().expect("dir");
        let target = backup_dir.path().join("backup");
        let backup = {
            let c = {
                let mut c = source_command(&app);
                c.arg("backup").arg(&target);
                c
            };
            tokio::task::spawn_blocking(move || run(c))
        };
        let mut load = Vec::new();
        for n in 0..20 {
            let (app_ref, citizen, body) = (&app, citizen.clone(), body.clone());
            load.push(async move { submit(app_ref, &citizen, Some(&format!("load-{n}")), &body).await });
        }
        for (status, created) in futures_util::future::join_all(load).await {
            assert_eq!(status, 201, "{created}");
        }
        let said = backup.await.expect("backup task");
        assert!(said.contains("backup written"), "{said}");

        let restored_dirs = tempfile::tempdir().expect("dir");
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let Some(db) = TestDatabase::create(backend, restored_dirs.path()) else {
                continue;
            };
            // SQLite: the default file in the data directory, as a fresh install has it.
            let url = db.url.clone().filter(|_| backend == Backend::Postgres);
            let data_dir = restored_dirs.path().join(format!("data-{backend:?}"));
            let source_is_pg = app
                .settings
                .database_url
                .as_ref()
                .is_some_and(|u| u.expose().starts_with("postgres"));
            if source_is_pg && backend == Backend::Sqlite && pg_dump_present() {
                let refused = onething(&data_dir, None)
                    .arg("restore")
                    .arg(&target)
                    .output()
                    .expect("run");
                let said = String::from_utf8_lossy(&refused.stderr);
                assert!(
                    !refused.status.success() && said.contains("onething export"),
                    "a pg_dump archive cannot become SQLite; the error says how to move: {said}"
                );
                continue;
            }
            let said = run({
                let mut c = onething(&data_dir, url.as_deref());
                c.arg("restore").arg(&target);
                c
            });
            assert!(said.contains("the counts match the backup"), "{said}");
            let refused = onething(&data_dir, url.as_deref())
                .arg("restore")
                .arg(&target)
                .output()
                .expect("run");
            assert!(
                !refused.status.success(),
                "a second restore into the same place is refused"
            );
            assert!(
                String::from_utf8_lossy(&refused.stderr).contains("not empty"),
                "{}",
                String::from_utf8_lossy(&refused.stderr)
            );
            let restored = server_on(&data_dir, url.as_deref()).await;
            assert_restored_matches(&app.address, &restored, 3).await;
            drop(db);
        }
    }
);

both_backends!(
    an_export_imports_into_the_other_backend_with_equal_counts_and_the_same_pages,
    |app| {
        app.register_citizen().await;
        app.staff_token("clerk", Role::Window, None).await;
        app.staff_token("chief", Role::Admin, None).await;
        let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
        let body = complete_application(&app, &citizen, "newborn").await;
        let (status, created) = submit(&app, &citizen, Some("export"), &body).await;
        assert_eq!(status, 201, "{created}");
        let receipt = created["receipt_no"].as_str().expect("receipt").to_owned();

        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("onething.jsonl");
        let said = run({
            let mut c = source_command(&app);
            c.arg("export").arg(&file);
            c
        });
        assert!(said.contains("exported"), "{said}");
        let other = if app
            .settings
            .database_url
            .as_ref()
            .is_some_and(|u| u.expose().starts_with("postgres"))
        {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let Some(db) = TestDatabase::create(other, dir.path()) else {
            return;
        };
        // The data directory moves as it is (keys and uploads); only the database changes.
        let data_dir = dir.path().join("data");
        for sub in ["keys", "uploads"] {
            crate::loader::copy_dir(&app.settings.data_dir.join(sub), &data_dir.join(sub));
        }
        let said = run({
            let mut c = onething(&data_dir, db.url.as_deref());
            c.arg("import").arg(&file);
            c
        });
        assert!(said.contains("every table's count matches the export"), "{said}");
        let again = onething(&data_dir, db.url.as_deref())
            .arg("import")
            .arg(&file)
            .output()
            .expect("run");
        assert!(
            !again.status.success(),
            "an import into a database that holds data is refused"
        );

        let moved = server_on(&data_dir, db.url.as_deref()).await;
        assert_restored_matches(&app.address, &moved, 1).await;
        let page = |base: String, token: String| {
            let path = format!("/applications/{receipt}");
            async move {
                reqwest::Client::new()
                    .get(format!("{base}{path}"))
                    .header("Cookie", format!("onething_session={token}"))
                    .send()
                    .await
                    .expect("page")
                    .text()
                    .await
                    .expect("html")
            }
        };
        let moved_citizen = login(&moved, CITIZEN_PHONE).await;
        let (a, b) = (
            page(app.address.clone(), citizen.clone()).await,
            page(moved.clone(), moved_citizen).await,
        );
        // The CSRF token is per visit and the QR code encodes the server's own address.
        let strip = |html: &str| {
            html.split("csrf_token\" value=\"")
                .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
                .collect::<String>()
                .lines()
                .filter(|l| !l.contains("<figure class=\"qr\""))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(a.contains(&receipt), "the applicant's case page shows the case");
        let (a, b) = (strip(&a), strip(&b));
        if let Some((x, y)) = a.lines().zip(b.lines()).find(|(x, y)| x != y) {
            panic!("the applicant's case page differs on the other backend:\n{x}\n{y}");
        }
        assert_eq!(a.lines().count(), b.lines().count(), "the page has as many lines");
    }
);

/// Where two JSON values first differ, as `path: left != right`.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys())
            .find_map(|k| first_difference(&format!("{path}.{k}"), &x[k], y.get(k).unwrap_or(&Value::Null)))
            .or_else(|| (x.len() != y.len()).then(|| format!("{path}: keys differ"))),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(&format!("{path}[{i}]"), p, q)),
        _ => (a != b).then(|| format!("{path}: {a} != {b}")),
    }
}

both_backends!(the_export_covers_every_table_of_the_schema, |app| {
    let mut conn = app.db.get().expect("connection");
    let tables = onething::db::dialect::table_count(&mut conn).expect("count tables");
    let counts = onething::store::transfer::counts(&mut conn).expect("every listed table exists");
    assert_eq!(
        usize::try_from(tables).expect("a count"),
        counts.len(),
        "a table of the schema is missing from store::transfer::TABLES, so export and backup would lose it"
    );
});
