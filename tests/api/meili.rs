//! Servers and commands with Meilisearch as the search engine, against a real server:
//! `ONETHING_TEST_MEILI_URL` (and `ONETHING_TEST_MEILI_KEY`), which `.ci/run` starts. Each
//! test uses indexes of its own and deletes them at the end.

use std::time::{Duration, Instant};

use onething::clock::Clock;
use onething::config::Secret;
use onething::search::meili::MeiliIndex;
use onething::search::{PolicyIndex, SearchQuery};
use serde_json::Value;

use crate::helpers::{spawn_app_from, spawn_server, test_settings, Backend};
use crate::policies::{editor, policy_json, publish_new};

/// The Meilisearch server to test against, or `None` (allowed only outside CI).
pub fn server() -> Option<(String, Option<String>)> {
    match std::env::var("ONETHING_TEST_MEILI_URL") {
        Ok(url) => Some((url, std::env::var("ONETHING_TEST_MEILI_KEY").ok())),
        Err(_) => {
            assert!(
                std::env::var_os("ONETHING_REQUIRE_MEILI").is_none(),
                "ONETHING_REQUIRE_MEILI is set but ONETHING_TEST_MEILI_URL is not: start Meilisearch (.ci/run does)"
            );
            eprintln!("SKIPPED: ONETHING_TEST_MEILI_URL is not set");
            None
        }
    }
}

/// An index name no other test uses (this process's id and a counter).
pub fn unique_index(what: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{what}_{}_{n}", std::process::id())
}

/// Deletes an index and its position index.
async fn drop_indexes(url: &str, key: Option<&str>, uid: &str) {
    let client = reqwest::Client::new();
    for name in [uid.to_owned(), format!("{uid}_position")] {
        let mut req = client.delete(format!("{url}/indexes/{name}"));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let _ = req.send().await;
    }
}

async fn total(client: &reqwest::Client, address: &str, query: &str) -> (u64, Vec<i64>) {
    let body: Value = client
        .get(format!("{address}/api/v1/policies/search?{query}"))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let ids = body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
        .unwrap_or_default();
    (body["total"].as_u64().unwrap_or(0), ids)
}

/// Waits up to ten seconds for `ok` to hold of a search's answer.
async fn eventually(
    client: &reqwest::Client,
    address: &str,
    query: &str,
    what: &str,
    ok: impl Fn(u64, &[i64]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (n, ids) = total(client, address, query).await;
        if ok(n, &ids) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: after 10 s {query} gives total {n}, ids {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn fills_and_follows(backend: Backend) {
    let Some((url, key)) = server() else {
        return;
    };
    let Some((mut settings, db_guard, dir)) = test_settings(backend) else {
        return;
    };
    let uid = unique_index("policies_server");
    settings.meili_url = Some(url.clone());
    settings.meili_key = key.clone().map(Secret::new);
    settings.meili_index = uid.clone();
    let app = spawn_app_from(settings.clone(), dir, db_guard).await;
    let searchable: i64 = {
        use diesel::prelude::*;
        use onething::db::schema::policies::dsl as p;
        let mut c = app.db.get().expect("conn");
        p::policies
            .filter(p::status.ne("draft"))
            .count()
            .get_result(&mut *c)
            .expect("count")
    };
    assert!(searchable > 0, "the seed library is loaded");
    eventually(
        &app.client,
        &app.address,
        "sort=newest",
        "the server fills an empty Meilisearch index at start",
        |n, _| n as i64 == searchable,
    )
    .await;

    let token = editor(&app).await;
    let id = publish_new(
        &app,
        &token,
        policy_json("梅利同步测试政策", "梅利检验词出现在正文", &["C"]),
    )
    .await;
    let (_, ids) = total(
        &app.client,
        &app.address,
        "q=%E6%A2%85%E5%88%A9%E6%A3%80%E9%AA%8C%E8%AF%8D",
    )
    .await;
    assert_eq!(ids, vec![id], "a policy this server published is found at once");

    // A change another process makes (an import, another server) reaches Meilisearch
    // through the change log.
    let mut other = settings.clone();
    other.data_dir = settings.data_dir.with_file_name("data-b");
    let (address_b, _db_b) = spawn_server(&other).await;
    {
        let mut c = app.db.get().expect("conn");
        let content = onething::policy::validate(&onething::policy::PolicyInput {
            title: "日志跟随测试政策".into(),
            doc_number: "测〔2026〕77号".into(),
            issuer: "长乐区财政局".into(),
            published_on: "2026-01-05".into(),
            effective_from: "2026-01-05".into(),
            summary: "摘要".into(),
            body: "跟随检验词".into(),
            benefits: "补助".into(),
            ..Default::default()
        })
        .expect("valid");
        onething::store::policies::insert(
            &mut c,
            "follow-test",
            onething::policy::Status::Published,
            &content,
            onething::store::policies::By {
                actor: "test",
                at: app.clock.now_utc(),
            },
        )
        .expect("insert");
    }
    eventually(
        &app.client,
        &address_b,
        "q=%E8%B7%9F%E9%9A%8F%E6%A3%80%E9%AA%8C%E8%AF%8D",
        "a policy written to the database is followed into Meilisearch",
        |n, _| n == 1,
    )
    .await;
    let (_, on_b) = total(
        &app.client,
        &address_b,
        "q=%E6%A2%85%E5%88%A9%E6%A3%80%E9%AA%8C%E8%AF%8D",
    )
    .await;
    assert_eq!(on_b, vec![id], "the other server shares the engine");
    drop_indexes(&url, key.as_deref(), &uid).await;
}

mod with_meilisearch_a_server_fills_the_index_at_start_and_follows_the_change_log {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::fills_and_follows(crate::helpers::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::fills_and_follows(crate::helpers::Backend::Postgres).await;
    }
}

#[test]
fn with_meilisearch_the_import_and_reindex_commands_reach_it() {
    let Some((url, key)) = server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let uid = unique_index("policies_cli");
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_onething"));
        cmd.arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--log-level", "error"])
            .env("MEILI_URL", &url)
            .env("MEILI_INDEX", &uid)
            .args(args);
        if let Some(k) = &key {
            cmd.env("MEILI_KEY", k);
        }
        let out = cmd.output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let file = dir.path().join("one.csv");
    std::fs::write(
        &file,
        "key,status,title,issuer,published_on,effective_from,summary,body,benefits\n\
         cli-m,published,命令行导入政策,长乐区财政局,2026-01-01,2026-01-01,摘要,导入检验词,补助\n",
    )
    .expect("write");
    let out = run(&["import-policies", file.to_str().expect("path")]);
    assert!(out.contains("1 inserted"), "{out}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let engine = MeiliIndex::new(&url, key.as_deref(), &uid).expect("client");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let found = runtime
        .block_on(engine.search(SearchQuery::new("导入检验词", today)))
        .expect("search");
    assert_eq!(found.total, 1, "the import reached Meilisearch");

    // Lost from Meilisearch (say, its volume was replaced), brought back by reindex.
    runtime
        .block_on(engine.delete(vec![found.items[0].id]))
        .expect("delete");
    let out = run(&["reindex"]);
    assert!(out.contains("1 policies indexed"), "{out}");
    let again = runtime
        .block_on(engine.search(SearchQuery::new("导入检验词", today)))
        .expect("search");
    assert_eq!(again.total, 1, "reindex filled Meilisearch from the database");
    runtime.block_on(drop_indexes(&url, key.as_deref(), &uid));
}
