//! Requests per second of the bundle page and `GET /api/v1/bundles/{code}` against the same
//! server's `/healthz`, in one run. Starts the real application on a temporary SQLite
//! database (or on `DATABASE_URL` when set), loads it from a second set of client tasks on
//! loopback, and prints one line per route. The routes are measured in alternation
//! (`BENCH_ROUNDS` rounds, the median round reported), so a drift of the machine affects
//! all of them alike.
//!
//! Run with `cargo bench --bench http` (optionally `BENCH_SECONDS=10 BENCH_CONCURRENCY=32
//! BENCH_ROUNDS=5`).

use std::time::{Duration, Instant};

use onething::config::{Secret, Settings};
use onething::startup::Application;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn load(client: &reqwest::Client, url: &str, concurrency: u64, seconds: u64) -> (u64, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let start = Instant::now();
                let resp = client.get(&url).send().await.expect("request");
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                let _ = resp.bytes().await.expect("body");
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    (all.len() as u64, all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.forms_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
    settings.database_url = std::env::var("DATABASE_URL").ok().map(Secret::new);
    settings.log_level = "warn".into();
    onething::telemetry::init(settings.log, &settings.log_level);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let app = Application::build(&settings).expect("application");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency as usize)
            .build()
            .expect("client");
        let list: serde_json::Value = client
            .get(format!("{base}/api/v1/bundles?per_page=1"))
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let code = list["items"][0]["code"].as_str().expect("a bundle").to_owned();
        println!(
            "backend={} concurrency={concurrency} seconds={seconds} bundle={code}",
            if settings.database_url.is_some() {
                "DATABASE_URL"
            } else {
                "sqlite"
            }
        );
        println!(
            "{:<32} {:>10} {:>10} {:>10} {:>10}",
            "route", "req/s", "p50", "p99", "vs healthz"
        );
        let paths = [
            "/healthz".to_owned(),
            format!("/api/v1/bundles/{code}"),
            format!("/bundles/{code}"),
        ];
        let rounds = env_or("BENCH_ROUNDS", 3);
        let mut runs: Vec<Vec<(f64, Duration, Duration)>> = vec![Vec::new(); paths.len()];
        for _ in 0..rounds {
            for (i, path) in paths.iter().enumerate() {
                let url = format!("{base}{path}");
                // Warm up connections and caches.
                let _ = load(&client, &url, concurrency, 1).await;
                let (n, lat) = load(&client, &url, concurrency, seconds).await;
                runs[i].push((
                    n as f64 / seconds as f64,
                    percentile(&lat, 0.50),
                    percentile(&lat, 0.99),
                ));
            }
        }
        let median = |v: &mut Vec<(f64, Duration, Duration)>| {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v[v.len() / 2]
        };
        let healthz = median(&mut runs[0].clone()).0;
        for (path, mut r) in paths.iter().zip(runs) {
            let (rps, p50, p99) = median(&mut r);
            println!(
                "{:<32} {:>10.0} {:>9.2}ms {:>9.2}ms {:>9.0}%",
                path,
                rps,
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                rps / healthz * 100.0
            );
        }
    });
}
