//! End-to-end application submissions per second, on SQLite and on PostgreSQL in one run:
//! first as fast as 16 concurrent applicants can go, then at half that rate with a fixed
//! arrival schedule, reporting p50/p99 latency. Each backend gets a fresh database.
//!
//! `cargo bench --bench submit` (optional: BENCH_SECONDS, BENCH_CONCURRENCY,
//! ONETHING_TEST_PG_URL for the PostgreSQL server).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use onething::catalogue::load_catalogue;
use onething::config::{Secret, Settings};
use onething::form::{self, example::example_data};
use onething::startup::Application;
use serde_json::{json, Value};

/// A real one-page PDF: uploads must parse as what they claim to be.
const PDF: &[u8] = include_bytes!("../tests/fixtures/one-page.pdf");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Valid 18-digit ID numbers for synthetic applicants (check character computed).
fn id_number(n: u64) -> String {
    let body = format!("35011219900101{:03}", n % 1000);
    format!(
        "{body}{}",
        onething::identity::id_check_char(&body).expect("check")
    )
}

struct Applicant {
    token: String,
    body: Value,
}

async fn prepare(
    base: &str,
    client: &reqwest::Client,
    n: u64,
    answers: &HashMap<String, String>,
    data: &Value,
    required: &[String],
) -> Applicant {
    let phone = format!("137{:08}", n);
    let reg = json!({"kind": "citizen", "name": "测试", "id_number": id_number(n), "phone": phone, "password": "Bench2026pass"});
    let r = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&reg)
        .send()
        .await
        .expect("register");
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
    let mut a = prepare_logged_in(base, client, &phone, answers, data, required).await;
    // Filing for oneself: the applicant fields are the account's own.
    a.body["data"]["applicant_name"] = json!("测试");
    a.body["data"]["id_number"] = json!(id_number(n));
    a
}

/// Logs in, uploads one file for every required material and builds the submission.
async fn prepare_logged_in(
    base: &str,
    client: &reqwest::Client,
    phone: &str,
    answers: &HashMap<String, String>,
    data: &Value,
    required: &[String],
) -> Applicant {
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": phone, "password": "Bench2026pass"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    let part = reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("材料.pdf");
    let up: Value = client
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let materials: serde_json::Map<String, Value> =
        required.iter().map(|m| (m.clone(), json!([up["id"]]))).collect();
    Applicant {
        token,
        body: json!({"bundle": "newborn", "answers": answers, "data": data, "materials": materials}),
    }
}

async fn submit(base: &str, client: &reqwest::Client, a: &Applicant, key: u64) -> Duration {
    let start = Instant::now();
    let r = client
        .post(format!("{base}/api/v1/applications"))
        .bearer_auth(&a.token)
        .header("Idempotency-Key", format!("bench-{key}"))
        .json(&a.body)
        .send()
        .await
        .expect("submit");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, 201, "{text}");
    start.elapsed()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

async fn run(label: &str, database_url: Option<String>) {
    let seconds = env_or("BENCH_SECONDS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.forms_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
    settings.database_url = database_url.map(Secret::new);
    settings.log_level = "warn".into();
    settings.db_pool_size = 16;
    onething::telemetry::init(settings.log, &settings.log_level);
    settings.registries_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("registries");
    // The automatic path decides by ages and dates: the business day is fixed, read through
    // the application's clock like everything else.
    let clock = Arc::new(onething::clock::SettableClock::at_beijing(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 8)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("a time"),
    ));
    let app = Application::build_with_clock(&settings, clock).expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let cat = load_catalogue(&settings.forms_dir).expect("catalogue");
    let bundle = cat.bundles.iter().find(|b| b.code == "newborn").expect("newborn");
    let mut answers = HashMap::new();
    loop {
        let open: Vec<_> = form::visible_questions(bundle, &answers)
            .into_iter()
            .filter(|q| !answers.contains_key(&q.code))
            .map(|q| (q.code.clone(), q.options[0].value.clone()))
            .collect();
        if open.is_empty() {
            break;
        }
        answers.extend(open);
    }
    let merged = form::merge(&cat, bundle, &answers);
    let data = serde_json::to_value(example_data(&cat, &merged, 1, |_| true)).expect("data");
    let required: Vec<String> = merged
        .materials
        .iter()
        .filter(|m| m.required)
        .map(|m| m.code.clone())
        .collect();
    let mut applicants = Vec::new();
    for n in 0..concurrency {
        applicants.push(Arc::new(
            prepare(&base, &client, n, &answers, &data, &required).await,
        ));
    }
    let keys = Arc::new(AtomicU64::new(0));

    // Closed loop: as fast as the applicants can go.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for a in &applicants {
        let (a, client, base, keys) = (a.clone(), client.clone(), base.clone(), keys.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                lat.push(submit(&base, &client, &a, keys.fetch_add(1, Ordering::SeqCst)).await);
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    lat.sort();
    let rate = lat.len() as f64 / seconds as f64;
    println!(
        "{label:<10} max throughput: {rate:>7.1} submissions/s (concurrency {concurrency}), p50 {:.1} ms, p99 {:.1} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    // Open loop at half that rate: requests leave on schedule whatever the responses do.
    let half = (rate / 2.0).max(1.0);
    let interval = Duration::from_secs_f64(1.0 / half);
    let total = (half * seconds as f64) as u64;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let a = applicants[(i % concurrency) as usize].clone();
        let (client, base, key) = (client.clone(), base.clone(), keys.fetch_add(1, Ordering::SeqCst));
        tasks.push(tokio::spawn(async move { submit(&base, &client, &a, key).await }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.push(t.await.expect("task"));
    }
    lat.sort();
    println!(
        "{label:<10} at {half:>7.1} submissions/s: p50 {:.1} ms, p99 {:.1} ms ({} requests)",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.len()
    );

    // The automatic path: 林晓燕 of the demonstration registries files 新生儿出生一件事; the
    // rules decide four parts (each with a signed certificate) within the submission. One
    // applicant after another, so the figure is the latency an applicant meets.
    let lin = automatic_applicant(&base, &client, &answers, &data, &required).await;
    let mut lat = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        lat.push(submit(&base, &client, &lin, keys.fetch_add(1, Ordering::SeqCst)).await);
    }
    let mine: Value = client
        .get(format!("{base}/api/v1/applications"))
        .bearer_auth(&lin.token)
        .send()
        .await
        .expect("my cases")
        .json()
        .await
        .expect("json");
    let receipt = mine["items"][0]["receipt_no"]
        .as_str()
        .expect("a case")
        .to_owned();
    let case: Value = client
        .get(format!("{base}/api/v1/applications/{receipt}"))
        .bearer_auth(&lin.token)
        .send()
        .await
        .expect("case")
        .json()
        .await
        .expect("json");
    let decided = case["sub_cases"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|p| p["smart_decision"]["outcome"] == "approve" && p["status"] == "approved")
        .count();
    assert_eq!(decided, 4, "the rules decided the newborn's four parts: {case}");
    lat.sort();
    println!(
        "{label:<10} automatic newborn, one at a time: p50 {:.1} ms, p99 {:.1} ms ({} submissions, 4 parts decided in each)",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.len()
    );
}

/// 林晓燕 (`35011219950314042X` in `registries/`), filing for herself and her son born on
/// 2026-11-18.
async fn automatic_applicant(
    base: &str,
    client: &reqwest::Client,
    answers: &HashMap<String, String>,
    data: &Value,
    required: &[String],
) -> Applicant {
    let id = "35011219950314042X";
    let r = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"kind": "citizen", "name": "林晓燕", "id_number": id, "phone": "13800138011", "password": "Bench2026pass"}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
    let mut a = prepare_logged_in(base, client, "13800138011", answers, data, required).await;
    for (key, value) in [
        ("applicant_name", json!("林晓燕")),
        ("id_number", json!(id)),
        ("mother_name", json!("林晓燕")),
        ("mother_id_number", json!(id)),
        ("child_birth_date", json!("2026-11-18")),
        ("resident_insured_group", json!("newborn")),
        ("maternity_childbirth_type", json!("natural")),
        ("maternity_leave_days", json!(158)),
    ] {
        if a.body["data"].get(key).is_some() {
            a.body["data"][key] = value;
        }
    }
    a
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run("sqlite", None));
    let admin = std::env::var("ONETHING_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match diesel::PgConnection::establish(&admin) {
        Ok(mut conn) => {
            let name = format!("onething_bench_{}", std::process::id());
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
            let mut url = url::Url::parse(&admin).expect("url");
            url.set_path(&name);
            runtime.block_on(run("postgres", Some(url.to_string())));
            drop(runtime);
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
        Err(e) => println!("postgres   skipped: cannot connect to {admin}: {e}"),
    }
}
