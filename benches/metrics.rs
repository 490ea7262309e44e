//! The KPI endpoints over a large generated year of cases, on SQLite and PostgreSQL: latency
//! of `GET /api/v1/metrics/overview` and `GET /api/v1/metrics/zero-trip` (served from the
//! aggregate tables) beside the same zero-trip figures computed by a plain GROUP BY recount
//! over cases, events, sub-cases and items, in the same run; the figures must agree.
//!
//! Run with `cargo bench --bench metrics` (`BENCH_CASES=1000000` for a million cases,
//! default 100000; `BENCH_REQUESTS` requests per endpoint, default 30; `BENCH_PG_ADMIN_URL`
//! for the PostgreSQL server, default postgres://postgres@127.0.0.1:5432/postgres, and
//! `BENCH_BACKENDS=sqlite` to skip PostgreSQL).

use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use onething::config::{Secret, Settings};
use onething::startup::{prepare_database, Application};
use onething::store::metrics::{self as store, Dim, Period};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A fresh PostgreSQL database for this run, dropped at the end.
struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    fn create() -> Option<(Self, String)> {
        let admin = std::env::var("BENCH_PG_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = diesel::PgConnection::establish(&admin).ok()?;
        let name = format!("onething_bench_{}", std::process::id());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .ok()?;
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => return None,
        };
        Some((Self { admin, name }, url))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .execute(&mut conn);
        }
    }
}

async fn latency(client: &reqwest::Client, url: &str, n: u64) -> (Vec<Duration>, serde_json::Value) {
    let mut all = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..n {
        let start = Instant::now();
        let resp = client.get(url).send().await.expect("request");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        last = resp.json().await.expect("json");
        all.push(start.elapsed());
    }
    all.sort();
    (all, last)
}

fn run(backend: &str, database_url: Option<String>, cases: u64, requests: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.forms_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
    settings.database_url = database_url.map(Secret::new);
    settings.log_level = "warn".into();
    let now = chrono::Utc::now().naive_utc();
    let db = prepare_database(&settings, now).expect("database");
    let started = Instant::now();
    let keys = onething::auth::Keys::load(&settings).expect("keys");
    let empty_form = onething::auth::Vault::new(&keys.data).encrypt(onething::auth::PiiKind::FormData, "{}");
    let run = onething::store::demo::DemoRun {
        count: cases,
        seed: 2026,
        batch: 2000,
        now,
        empty_form: &empty_form,
    };
    let written = {
        let mut conn = db.get().expect("connection");
        onething::store::demo::generate_cases(&mut conn, &run, |_| {}).expect("demo data")
    };
    let generation = started.elapsed();
    println!(
        "[{backend}] {written} cases generated in {:.1} s ({:.0} cases/s)",
        generation.as_secs_f64(),
        written as f64 / generation.as_secs_f64()
    );
    let today = onething::metrics::local_day(now);
    let period = Period {
        from: today - chrono::Duration::days(366),
        to: today,
        department: None,
    };
    let query = format!("from={}&to={}", period.from, period.to);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let app = Application::build(&settings).expect("application");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        println!(
            "[{backend}] {:<44} {:>10} {:>10} {:>10}",
            "measure", "p50", "p99", "max"
        );
        let mut zero_trip = serde_json::Value::Null;
        for path in ["/api/v1/metrics/overview", "/api/v1/metrics/zero-trip"] {
            let url = format!("{base}{path}?{query}");
            let _ = latency(&client, &url, 2).await;
            let (lat, body) = latency(&client, &url, requests).await;
            if path.ends_with("zero-trip") {
                zero_trip = body;
            }
            println!(
                "[{backend}] {:<44} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
                format!("GET {path} (aggregates)"),
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                ms(*lat.last().unwrap_or(&Duration::ZERO))
            );
        }
        // The same zero-trip figures by a plain GROUP BY recount over the primary data.
        let mut conn = db.get().expect("connection");
        let mut recount_times = Vec::new();
        let mut recounted = Vec::new();
        for _ in 0..3 {
            let start = Instant::now();
            recounted = [Dim::All, Dim::Department, Dim::Item, Dim::Bundle, Dim::Channel]
                .into_iter()
                .map(|d| store::recount_parts(&mut conn, &period, d, true).expect("recount"))
                .collect::<Vec<_>>();
            recount_times.push(start.elapsed());
        }
        recount_times.sort();
        println!(
            "[{backend}] {:<44} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            "zero-trip breakdowns by GROUP BY recount",
            ms(percentile(&recount_times, 0.5)),
            ms(percentile(&recount_times, 0.99)),
            ms(*recount_times.last().unwrap_or(&Duration::ZERO))
        );
        let total = &recounted[0][0];
        println!(
            "[{backend}] zero-trip parts: aggregates {}/{} = {:.4}, recount {}/{}",
            zero_trip["zero_trip_cases"],
            zero_trip["total_cases"],
            zero_trip["rate"].as_f64().unwrap_or(0.0),
            total.zero_trip,
            total.finished
        );
        assert_eq!(
            zero_trip["total_cases"].as_i64(),
            Some(total.finished),
            "aggregates equal the recount"
        );
        assert_eq!(zero_trip["zero_trip_cases"].as_i64(), Some(total.zero_trip));
        for (dim, recount) in [Dim::Department, Dim::Item, Dim::Bundle, Dim::Channel]
            .into_iter()
            .zip(&recounted[1..])
        {
            let aggregate =
                store::as_recount(&store::parts_by(&mut conn, &period, dim, true).expect("aggregate"));
            let recount: Vec<_> = recount.iter().filter(|r| r.finished != 0).cloned().collect();
            assert_eq!(aggregate, recount, "{dim:?} aggregates equal the recount");
        }
    });
}

fn main() {
    let cases = env_or("BENCH_CASES", 100_000);
    let requests = env_or("BENCH_REQUESTS", 30);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    onething::telemetry::init(onething::config::LogFormat::Text, "warn");
    if backends.contains("sqlite") {
        run("sqlite", None, cases, requests);
    }
    if backends.contains("postgres") {
        match PgDatabase::create() {
            Some((db, url)) => {
                run("postgres", Some(url), cases, requests);
                drop(db);
            }
            None => println!("[postgres] no server reachable; skipped"),
        }
    }
}
