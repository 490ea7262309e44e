//! The crash harness: the real server binary as a child process takes concurrent
//! submissions, is killed with SIGKILL in the middle of them, restarts on the same database
//! and data directory, and every request is retried with its own `Idempotency-Key`. No
//! acknowledged case may be lost, no key may file two cases, every case must be whole.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::applications::complete_application;
use crate::both_backends;
use crate::helpers::{TestApp, CITIZEN_ID, PASSWORD};

/// Submissions fired at once, and how many answers the server gives before it is killed.
const SUBMISSIONS: usize = 60;
const KILL_AFTER: usize = 20;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A server child process, killed when dropped so that a failing test leaves none behind.
struct Server(Child);

impl Server {
    /// SIGKILL, as a crash would stop it.
    fn kill(&mut self) {
        self.0.kill().expect("SIGKILL the server");
        self.0.wait().expect("the killed server is reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `onething serve` on the test's database and data directory.
async fn start_server(app: &TestApp, client: &reqwest::Client) -> (Server, String) {
    let port = free_port();
    let database = app
        .settings
        .database_url
        .as_ref()
        .map(|s| s.expose().to_owned())
        .expect("a database URL");
    let child = Command::new(env!("CARGO_BIN_EXE_onething"))
        .arg("serve")
        .env("DATABASE_URL", database)
        .env("ONETHING_DATA_DIR", &app.settings.data_dir)
        .env("ONETHING_FORMS_DIR", &app.settings.forms_dir)
        .env("ONETHING_BIND", format!("127.0.0.1:{port}"))
        .env("ONETHING_WORKERS", "2")
        .env("ONETHING_SWEEP_SECONDS", "0")
        .env("ONETHING_IDEMPOTENCY_IN_FLIGHT_SECONDS", "2")
        .env("ONETHING_LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Server)
        .expect("the server binary starts");
    let address = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return (child, address);
        }
        assert!(
            Instant::now() < deadline,
            "the server did not come up at {address}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> Option<(u16, Value)> {
    let resp = client
        .post(format!("{address}/api/v1/applications"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let body = resp.json().await.ok()?;
    Some((status, body))
}

both_backends!(
    a_crash_mid_load_loses_no_acknowledged_case_and_files_none_twice,
    |app| {
        app.register_citizen().await;
        let token = app.login(CITIZEN_ID, PASSWORD).await;
        let body = Arc::new(complete_application(&app, &token, "newborn").await);
        let client = reqwest::Client::new();

        let (mut server, address) = start_server(&app, &client).await;
        let answered = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..SUBMISSIONS {
            let (client, address, token, body, answered) = (
                client.clone(),
                address.clone(),
                token.clone(),
                body.clone(),
                answered.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let key = format!("crash-{i}");
                let answer = post(&client, &address, &token, &key, &body).await;
                answered.fetch_add(1, Ordering::SeqCst);
                (key, answer)
            }));
        }
        while answered.load(Ordering::SeqCst) < KILL_AFTER {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.kill();

        let mut acknowledged = BTreeMap::new();
        let mut keys = Vec::new();
        for task in tasks {
            let (key, answer) = task.await.expect("the request task");
            if let Some((201, body)) = answer {
                acknowledged.insert(
                    key.clone(),
                    body["receipt_no"].as_str().expect("receipt").to_owned(),
                );
            }
            keys.push(key);
        }
        assert!(
            !acknowledged.is_empty() && acknowledged.len() < SUBMISSIONS,
            "the kill should fall mid-load: {} of {SUBMISSIONS} acknowledged",
            acknowledged.len()
        );

        let (mut server, address) = start_server(&app, &client).await;
        let mut receipts = BTreeMap::new();
        for key in &keys {
            let deadline = Instant::now() + Duration::from_secs(30);
            let receipt = loop {
                match post(&client, &address, &token, key, &body).await {
                    Some((201, b)) => break b["receipt_no"].as_str().expect("receipt").to_owned(),
                    // Still held by the killed request: free once the in-flight time has passed.
                    Some((409, b)) if b["errors"][0]["code"] == "idempotency_in_flight" => {}
                    other => panic!("retry of {key}: {other:?}"),
                }
                assert!(Instant::now() < deadline, "{key} stayed in flight");
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            if let Some(first) = acknowledged.get(key) {
                assert_eq!(
                    &receipt, first,
                    "{key}: the retry must replay the acknowledged case"
                );
            }
            receipts.insert(key.clone(), receipt);
        }

        let distinct: BTreeSet<&String> = receipts.values().collect();
        assert_eq!(distinct.len(), SUBMISSIONS, "each key has its own case");
        let (status, mine) = app.get_auth("/api/v1/applications", &token).await;
        assert_eq!(status, 200, "{mine}");
        let filed: BTreeSet<String> = mine["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["receipt_no"].as_str().expect("receipt").to_owned())
            .collect();
        assert_eq!(
            filed.len(),
            SUBMISSIONS,
            "{} cases for {SUBMISSIONS} keys: a key filed twice or a case was lost",
            filed.len()
        );
        assert!(
            distinct.iter().all(|r| filed.contains(*r)),
            "every receipt is a stored case"
        );
        let parts = body_parts(&app, &token, distinct.iter().next().expect("a receipt")).await;
        for receipt in &distinct {
            let n = body_parts(&app, &token, receipt).await;
            assert_eq!(n, parts, "{receipt} is not whole");
        }
        eprintln!(
            "crash harness: {} of {SUBMISSIONS} acknowledged before SIGKILL, {} retried to one case each",
            acknowledged.len(),
            SUBMISSIONS - acknowledged.len()
        );
        server.kill();
    }
);

/// The parts of a case, each with its fields and materials; 0 when any of them is missing.
async fn body_parts(app: &TestApp, token: &str, receipt: &str) -> usize {
    let (status, case) = app
        .get_auth(&format!("/api/v1/applications/{receipt}"), token)
        .await;
    assert_eq!(status, 200, "{receipt}: {case}");
    let parts = case["sub_cases"].as_array().expect("sub_cases");
    let whole = !case["data"].as_object().is_none_or(|d| d.is_empty())
        && !case["materials"].as_array().is_none_or(Vec::is_empty)
        && parts
            .iter()
            .all(|p| !p["fields"].as_array().is_none_or(Vec::is_empty));
    if whole {
        parts.len()
    } else {
        0
    }
}
