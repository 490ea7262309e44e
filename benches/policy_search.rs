//! Policy search over a generated library, in one run: how long indexing takes, how large
//! the index is against the raw text, search latency in-process (the embedded tantivy
//! index against a SQL `LIKE` over the same rows, with criterion and as p50/p99), and
//! latency of `GET /api/v1/policies/search` over HTTP against `/healthz`.
//!
//! Run with `cargo bench --bench policy_search` (optionally `POLICY_BENCH_N=100000
//! BENCH_SECONDS=10 BENCH_CONCURRENCY=16`; `DATABASE_URL` selects PostgreSQL).
//!
//! With `BENCH_MEILI_URL` (and `BENCH_MEILI_KEY`, the master key) the same policies are
//! also indexed into that Meilisearch, and the run adds, for the same query mix: the
//! indexing time, our API on Meilisearch, and Meilisearch queried directly (its own HTTP
//! search with the same words, filter and page), with the hits of each. Indexing many
//! Chinese policies into Meilisearch takes many minutes, hence the flag.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use diesel::Connection;
use onething::clock::{Clock, SystemClock};
use onething::config::{Secret, Settings};
use onething::search::tantivy_index::{index_dir, TantivyIndex};
use onething::search::{PolicyIndex, SearchQuery};
use onething::startup::{prepare_database, Application};
use onething::store::policies as store;

const QUERIES: [&str; 6] = [
    "稳岗返还",
    "研发费用",
    "饭店",
    "在建工程",
    "小微企业 所得税",
    "贴息",
];

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

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<42} p50 {:>9.3} ms  p99 {:>9.3} ms  ({} samples)",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

async fn load(client: &reqwest::Client, urls: &[String], concurrency: u64, seconds: u64) -> Vec<Duration> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let client = client.clone();
        let urls = urls.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = t as usize;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += concurrency as usize;
                let start = Instant::now();
                let resp = client.get(url).send().await.expect("request");
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
    all
}

/// Meilisearch beside the embedded engine: indexing, our API on it, and it queried directly.
async fn side_by_side(
    settings: &Settings,
    meili_url: &str,
    embedded_urls: &[String],
    embedded_fresh: &[String],
    concurrency: u64,
    seconds: u64,
) {
    let key = std::env::var("BENCH_MEILI_KEY").ok();
    let uid = format!("policies_bench_{}", std::process::id());
    let meili = onething::search::meili::MeiliIndex::new(meili_url, key.as_deref(), &uid).expect("client");
    let db = prepare_database(settings, SystemClock.now_utc()).expect("database");
    let started = Instant::now();
    let indexed = meili
        .rebuild(&db, &|_, _| {})
        .await
        .expect("index into Meilisearch");
    println!(
        "Meilisearch: indexed {indexed} policies in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut on_meili = settings.clone();
    on_meili.data_dir = settings.data_dir.with_file_name("data-meili");
    on_meili.meili_url = Some(meili_url.to_owned());
    on_meili.meili_key = key.clone().map(Secret::new);
    on_meili.meili_index = uid.clone();
    let app = Application::build(&on_meili).expect("application on Meilisearch");
    let base = format!("http://127.0.0.1:{}", app.port());
    let embedded_base = embedded_urls[0]
        .split("/api/")
        .next()
        .unwrap_or_default()
        .to_owned();
    tokio::spawn(app.run_until_stopped());
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(k) = &key {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {k}").parse().expect("header"),
        );
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .default_headers(headers)
        .build()
        .expect("client");
    let ours = |urls: &[String]| -> Vec<String> {
        urls.iter()
            .map(|u| u.replacen(&embedded_base, &base, 1))
            .collect()
    };
    // Meilisearch's own search for the same words, in force today, one page of 20 with the
    // facets, every word required.
    let today = day_number(SystemClock.today());
    let filter: String = url::form_urlencoded::byte_serialize(
        format!("status = \"published\" AND eff_from_key <= {today} AND eff_to_key >= {today}").as_bytes(),
    )
    .collect();
    let direct: Vec<String> = QUERIES
        .iter()
        .map(|q| {
            let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
            format!(
                "{meili_url}/indexes/{uid}/search?q={q}&filter={filter}&limit=20&matchingStrategy=all\
                 &facets=industry_sections,scales,regions,issuers,status&attributesToHighlight=title"
            )
        })
        .collect();
    println!("  hits per query (embedded API / API on Meilisearch / Meilisearch directly):");
    for (i, q) in QUERIES.iter().enumerate() {
        let total = |url: String| {
            let client = client.clone();
            async move {
                let v: serde_json::Value = client
                    .get(url)
                    .send()
                    .await
                    .expect("search")
                    .json()
                    .await
                    .expect("json");
                v["total"]
                    .as_u64()
                    .or(v["estimatedTotalHits"].as_u64())
                    .unwrap_or(0)
            }
        };
        println!(
            "    {q}: {} / {} / {}",
            total(embedded_urls[i].clone()).await,
            total(ours(embedded_urls)[i].clone()).await,
            total(direct[i].clone()).await
        );
    }
    let rps = |v: &Vec<Duration>| v.len() as f64 / seconds as f64;
    let fresh_pages: Vec<String> = (1..=40)
        .flat_map(|page| (0..QUERIES.len()).map(move |i| (page, i)))
        .map(|(page, i)| format!("{}&offset={}", direct[i], page * 20))
        .collect();
    for (name, urls) in [
        ("API on Meilisearch, asked again", ours(embedded_urls)),
        ("API on Meilisearch, first time", ours(embedded_fresh)),
        ("Meilisearch directly, asked again", direct.clone()),
        ("Meilisearch directly, pages", fresh_pages),
    ] {
        let lat = load(&client, &urls, concurrency, seconds).await;
        let n = rps(&lat);
        report(&format!("  {name} ({n:.0} req/s)"), lat);
    }
    let _ = client.delete(format!("{meili_url}/indexes/{uid}")).send().await;
    let _ = client
        .delete(format!("{meili_url}/indexes/{uid}_position"))
        .send()
        .await;
}

fn day_number(d: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(d.num_days_from_ce())
}

fn main() {
    let n = env_or("POLICY_BENCH_N", 20_000) as usize;
    let seconds = env_or("BENCH_SECONDS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::with_data_dir(dir.path().join("data"));
    settings.forms_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
    settings.database_url = std::env::var("DATABASE_URL").ok().map(Secret::new);
    settings.log_level = "warn".into();
    onething::telemetry::init(settings.log, &settings.log_level);

    let seeds = onething::policy::seed::shipped().expect("seed library");
    let library = onething::policy::demo::generate(n, &seeds);
    let raw_bytes: usize = library
        .iter()
        .map(|(_, _, c)| serde_json::to_string(c).map(|s| s.len()).unwrap_or(0))
        .sum();
    let now = SystemClock.now_utc();
    let db = prepare_database(&settings, now).expect("database");
    let mut conn = db.get().expect("connection");
    let started = Instant::now();
    for chunk in library.chunks(1000) {
        conn.transaction::<_, onething::db::DbError, _>(|c| {
            for (key, status, content) in chunk {
                let by = store::By {
                    actor: "bench",
                    at: now,
                };
                store::insert(c, key, *status, content, by)?;
            }
            Ok(())
        })
        .expect("insert");
    }
    println!(
        "inserted {n} policies into {} in {:.1} s",
        db.backend().name(),
        started.elapsed().as_secs_f64()
    );

    let index_path = index_dir(&settings.data_dir);
    let (index, _) = TantivyIndex::open_or_create(&index_path).expect("index");
    let started = Instant::now();
    let indexed = index.rebuild(&mut conn, &|_, _| {}).expect("rebuild");
    println!(
        "indexed {indexed} policies in {:.1} s; index {:.1} MiB for {:.1} MiB of raw policy text ({:.2}×)",
        started.elapsed().as_secs_f64(),
        dir_size(&index_path) as f64 / 1048576.0,
        raw_bytes as f64 / 1048576.0,
        dir_size(&index_path) as f64 / raw_bytes as f64
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let today = SystemClock.today();
    let engine: Arc<dyn PolicyIndex> = Arc::new(index);
    let search = |q: &str| {
        runtime
            .block_on(engine.search(SearchQuery::new(q, today)))
            .expect("search")
    };
    // LIKE takes the query's first word: it has no segmentation or synonyms, so its hit
    // counts show what the index finds beyond literal substrings.
    let like_word = |q: &'static str| q.split_whitespace().next().unwrap_or(q);
    for q in QUERIES {
        let (_, like_total) = store::like_search(&mut conn, like_word(q), 20).expect("like");
        println!(
            "  {q}: {} hits (SQL LIKE '%{}%': {like_total})",
            search(q).total,
            like_word(q)
        );
    }
    // Each round asks another page, so that no answer comes from the engine's kept
    // answers (a repeated search is answered from them until the index changes; measured
    // separately below).
    let search_page = |q: &str, page: usize| {
        let mut query = SearchQuery::new(q, today);
        query.page = page;
        runtime.block_on(engine.search(query)).expect("search")
    };
    let (mut tantivy, mut repeated, mut like) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..30 {
        for q in QUERIES {
            let start = Instant::now();
            search_page(q, round + 2);
            tantivy.push(start.elapsed());
            let start = Instant::now();
            search(q);
            repeated.push(start.elapsed());
            let start = Instant::now();
            store::like_search(&mut conn, like_word(q), 20).expect("like");
            like.push(start.elapsed());
        }
    }
    report(
        "in-process tantivy, first time (page, total, facets, highlights)",
        tantivy,
    );
    report("in-process tantivy, asked again", repeated);
    report("in-process SQL LIKE (page of ids, total)", like);

    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = c.benchmark_group("policy_search");
    // A page not asked before each time (see above).
    let mut page = 100;
    group.bench_function("tantivy_query_mix", |b| {
        b.iter(|| {
            page += 1;
            for q in QUERIES {
                search_page(q, page);
            }
        })
    });
    group.bench_function("sql_like_query_mix", |b| {
        b.iter(|| {
            for q in QUERIES {
                store::like_search(&mut conn, like_word(q), 20).expect("like");
            }
        })
    });
    group.finish();
    drop(conn);
    drop(engine);

    runtime.block_on(async {
        let app = Application::build(&settings).expect("application");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency as usize)
            .build()
            .expect("client");
        let urls: Vec<String> = QUERIES
            .iter()
            .map(|q| {
                let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
                format!("{base}/api/v1/policies/search?q={q}&in_force=true")
            })
            .collect();
        // The same searches with pages and page sizes never asked before (thousands of
        // distinct addresses), so that none is answered from the kept answers.
        let fresh: Vec<String> = (1..=40)
            .flat_map(|page| (10..=50).map(move |per_page| (page, per_page)))
            .flat_map(|(page, per_page)| {
                urls.iter()
                    .map(move |u| format!("{u}&page={page}&per_page={per_page}"))
            })
            .collect();
        let health = load(&client, &[format!("{base}/healthz")], concurrency, seconds).await;
        let searches = load(&client, &urls, concurrency, seconds).await;
        let first_time = load(&client, &fresh, concurrency, seconds).await;
        println!("over HTTP, {concurrency} concurrent clients, {seconds} s each:");
        let rps = |v: &Vec<Duration>| v.len() as f64 / seconds as f64;
        println!(
            "  /healthz {:.0} req/s; search asked again {:.0} req/s; search first time {:.0} req/s ({} distinct addresses)",
            rps(&health),
            rps(&searches),
            rps(&first_time),
            fresh.len()
        );
        report("  GET /healthz", health);
        report("  GET /api/v1/policies/search (asked again)", searches);
        report("  GET /api/v1/policies/search (first time)", first_time);
        if let Ok(meili_url) = std::env::var("BENCH_MEILI_URL") {
            side_by_side(&settings, &meili_url, &urls, &fresh, concurrency, seconds).await;
        }
    });
}
