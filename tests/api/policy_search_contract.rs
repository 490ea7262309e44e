//! One contract for every policy search engine: the embedded tantivy index always, and
//! Meilisearch when ONETHING_TEST_MEILI_URL (and ONETHING_TEST_MEILI_KEY) are set — always
//! in CI, where `.ci/run` starts one and sets ONETHING_REQUIRE_MEILI.

use chrono::NaiveDate;
use onething::policy::{validate, PolicyInput, Status};
use onething::search::meili::MeiliIndex;
use onething::search::tantivy_index::TantivyIndex;
use onething::search::{IndexDoc, PolicyIndex, SearchQuery, Sort};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).expect("date")
}

fn doc(
    id: i64,
    status: Status,
    title: &str,
    body: &str,
    industries: &[&str],
    effective_to: &str,
    deadline: &str,
) -> IndexDoc {
    let content = validate(&PolicyInput {
        title: title.into(),
        doc_number: format!("测〔2026〕{id}号"),
        issuer: if id % 2 == 0 {
            "福州市财政局".into()
        } else {
            "长乐区人民政府".into()
        },
        published_on: format!("2026-01-{:02}", if id < 29 { id } else { id % 28 + 1 }),
        effective_from: "2026-01-01".into(),
        effective_to: effective_to.into(),
        apply_deadline: deadline.into(),
        summary: format!("{title}摘要"),
        body: body.into(),
        benefits: "补助".into(),
        industries: industries.iter().map(|s| s.to_string()).collect(),
        scales: if id == 3 { vec!["large".into()] } else { vec![] },
        regions: vec![if id == 4 { "350200".into() } else { "350100".into() }],
        ..Default::default()
    })
    .expect("valid fixture");
    IndexDoc::build(id, status, &content)
}

fn fixtures() -> Vec<IndexDoc> {
    vec![
        doc(
            1,
            Status::Published,
            "在建工程抵押贷款贴息",
            "对在建工程抵押贷款给予贴息",
            &["E"],
            "",
            "2026-09-30",
        ),
        doc(
            2,
            Status::Published,
            "餐饮业纾困房租补助",
            "对餐饮企业给予房租补助",
            &["62"],
            "",
            "2026-07-31",
        ),
        doc(
            3,
            Status::Published,
            "高新技术企业认定奖励",
            "首次认定的高新技术企业给予奖励",
            &[],
            "",
            "",
        ),
        doc(
            4,
            Status::Published,
            "厦门软件企业补助",
            "软件和信息技术服务业补助",
            &["65"],
            "",
            "",
        ),
        doc(
            5,
            Status::Published,
            "过期的稳岗返还",
            "失业保险稳岗返还",
            &[],
            "2026-03-31",
            "",
        ),
        doc(
            6,
            Status::Revoked,
            "已废止的制造业补助",
            "制造业技术改造补助",
            &["C"],
            "",
            "",
        ),
    ]
}

/// An all-industry policy that leaves manufacturing out.
fn excluding_manufacturing() -> IndexDoc {
    let content = validate(&PolicyInput {
        title: "服务业发展奖励".into(),
        doc_number: "测〔2026〕8号".into(),
        issuer: "福州市财政局".into(),
        published_on: "2026-01-08".into(),
        effective_from: "2026-01-01".into(),
        summary: "服务业发展奖励摘要".into(),
        body: "对服务业企业给予奖励".into(),
        benefits: "奖励".into(),
        excluded_industries: vec!["C".into()],
        regions: vec!["350100".into()],
        ..Default::default()
    })
    .expect("valid fixture");
    IndexDoc::build(8, Status::Published, &content)
}

fn ids(r: &onething::search::SearchResult) -> Vec<i64> {
    r.items.iter().map(|h| h.id).collect()
}

/// The behaviour every engine must show over the fixtures.
async fn contract(engine: &dyn PolicyIndex) {
    let name = engine.name();
    engine.clear().await.expect("clear");
    engine.upsert(fixtures()).await.expect("index fixtures");
    let search = |q: SearchQuery| async move { engine.search(q).await.expect("search") };

    let r = search(SearchQuery::new("工程", today())).await;
    assert_eq!(ids(&r), vec![1], "{name}: 工程 finds 在建工程");
    assert!(
        r.items[0].highlight.contains("<mark>"),
        "{name}: highlight {:?}",
        r.items[0].highlight
    );

    let r = search(SearchQuery::new("高新技术企业", today())).await;
    assert_eq!(
        ids(&r),
        vec![3],
        "{name}: every word of a compound must match, not just 企业"
    );

    let r = search(SearchQuery::new("饭店", today())).await;
    assert!(
        ids(&r).contains(&2),
        "{name}: 饭店 finds the 餐饮 policy: {:?}",
        ids(&r)
    );

    let r = search(SearchQuery::new("高企", today())).await;
    assert!(
        ids(&r).contains(&3),
        "{name}: synonym 高企 → 高新技术企业: {:?}",
        ids(&r)
    );

    let mut q = SearchQuery::new("", today());
    q.in_force = Some(true);
    let r = search(q).await;
    let mut got = ids(&r);
    got.sort();
    assert_eq!(
        got,
        vec![1, 2, 3, 4],
        "{name}: in force excludes expired and revoked"
    );

    let mut q = SearchQuery::new("", today());
    q.industry = Some("H".into());
    let mut got = ids(&search(q).await);
    got.sort();
    assert_eq!(
        got,
        vec![2, 3, 5],
        "{name}: section H matches its divisions and all-industry policies"
    );

    let mut q = SearchQuery::new("", today());
    q.region = Some("350112".into());
    q.scale = Some(onething::identity::Scale::Micro);
    let got = ids(&search(q).await);
    assert!(
        !got.contains(&3) && !got.contains(&4),
        "{name}: scale and region filters: {got:?}"
    );

    let mut q = SearchQuery::new("", today());
    q.issuer = Some("福州市财政局".into());
    let mut got = ids(&search(q).await);
    got.sort();
    assert_eq!(got, vec![2, 4, 6], "{name}: issuer filter");

    let mut q = SearchQuery::new("", today());
    q.sort = Sort::Newest;
    q.per_page = 2;
    q.page = 2;
    let r = search(q).await;
    assert_eq!(ids(&r), vec![4, 3], "{name}: newest first, second page");
    assert_eq!(r.total, 6);
    let status: Vec<(String, u64)> = r.facets["status"]
        .iter()
        .map(|f| (f.value.clone(), f.count))
        .collect();
    assert!(
        status.contains(&("expired".into(), 1)) && status.contains(&("revoked".into(), 1)),
        "{name}: {status:?}"
    );
    assert!(
        r.facets["industry"]
            .iter()
            .any(|f| f.value == "H" && f.count == 1),
        "{name}: {:?}",
        r.facets["industry"]
    );
    assert!(
        r.facets["in_force"]
            .iter()
            .any(|f| f.value == "true" && f.count == 4),
        "{name}"
    );

    let mut q = SearchQuery::new("", today());
    q.sort = Sort::Deadline;
    q.per_page = 2;
    assert_eq!(
        ids(&search(q).await),
        vec![2, 1],
        "{name}: nearest application deadline first"
    );
    let mut q = SearchQuery::new("", NaiveDate::from_ymd_opt(2026, 8, 15).expect("date"));
    q.sort = Sort::Deadline;
    let open = ids(&search(q).await);
    assert!(
        open.first() == Some(&1) && !open.contains(&2),
        "{name}: by deadline, what can still be applied for, soonest first, no deadline last: {open:?}"
    );

    let r = search(SearchQuery::new("贴息 房租", today())).await;
    assert!(
        r.items.is_empty() && r.total == 0,
        "{name}: every word is required; 贴息 and 房租 are in different policies: {:?}",
        ids(&r)
    );

    engine
        .upsert(vec![excluding_manufacturing()])
        .await
        .expect("index");
    let mut q = SearchQuery::new("", today());
    q.industry = Some("C".into());
    q.in_force = Some(true);
    let got = ids(&search(q).await);
    assert!(
        got.contains(&3) && !got.contains(&8),
        "{name}: a policy that excludes manufacturing is not listed for it: {got:?}"
    );

    engine.upsert(vec![live_and_expired()]).await.expect("index");
    let r = search(SearchQuery::new("稳岗返还", today())).await;
    assert_eq!(
        ids(&r),
        vec![7, 5],
        "{name}: the policy in force before the expired one"
    );
    assert!(!r.items[1].in_force, "{name}");
    assert_eq!(
        r.items[0].highlight,
        "对不裁员或少裁员的参保企业，按规定<mark>返还失业保险费</mark>，<mark>稳岗返还</mark>资金直接拨付企业账户。",
        "{name}: the sentence that holds the words, whole, with the synonym (返还失业保险费) marked whole"
    );
    let mut page2 = SearchQuery::new("稳岗返还", today());
    page2.per_page = 1;
    page2.page = 2;
    let r = search(page2).await;
    assert_eq!(
        ids(&r),
        vec![5],
        "{name}: paging runs on past the policies in force"
    );
    assert_eq!(r.total, 2, "{name}");

    engine.delete(vec![1]).await.expect("delete");
    assert!(
        search(SearchQuery::new("工程", today())).await.items.is_empty(),
        "{name}: deleted"
    );

    let many: Vec<IndexDoc> = (100..1_300)
        .map(|id| {
            doc(
                id,
                Status::Published,
                &format!("养老服务补贴第{id}号"),
                "养老服务机构运营补贴",
                &[],
                "",
                "",
            )
        })
        .collect();
    engine.upsert(many).await.expect("index many");
    let mut q = SearchQuery::new("养老服务", today());
    q.sort = Sort::Newest;
    let r = search(q).await;
    assert_eq!(r.total, 1_200, "{name}: totals are exact past a thousand");
    assert_eq!(r.items.len(), 20, "{name}");
}

/// A policy in force whose text holds 稳岗返还 in one sentence among others (the expired
/// fixture 5 holds it too).
fn live_and_expired() -> IndexDoc {
    doc(
        7,
        Status::Published,
        "稳岗返还经办规程",
        "其他说明。对不裁员或少裁员的参保企业，按规定返还失业保险费，稳岗返还资金直接拨付企业账户。附则。",
        &[],
        "",
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_engine_meets_the_search_contract() {
    let engine = TantivyIndex::in_memory().expect("index");
    contract(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meilisearch_meets_the_search_contract_when_configured() {
    let Some((url, key)) = crate::meili::server() else {
        return;
    };
    let uid = crate::meili::unique_index("policies_contract");
    let engine = MeiliIndex::new(&url, key.as_deref(), &uid).expect("client");
    contract(&engine).await;
}
