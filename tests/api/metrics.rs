//! The KPI aggregates and the metrics API on both backends: random case histories driven
//! through the real store leave aggregates equal to a GROUP BY recount; the zero-trip share
//! of cases finished through the API; bad periods; exports; the dashboard pages.

use chrono::{Duration, NaiveDate};
use onething::auth::Role;
use onething::clock::Clock;
use onething::store::cases as case_store;
use onething::store::metrics::{self as store, Dim, Period};
use onething::workflow::{self, Actor, Command, DeliveryMethod, SupplementItem, VisitReason};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::applications::{complete_application, submit};
use crate::both_backends;
use crate::helpers::{page_login, spawn_app, Backend, TestApp, CITIZEN_PHONE, PASSWORD};

/// Submits `n` online cases of `bundle` as the citizen; returns the citizen's token and the
/// created cases.
pub async fn submitted_cases(app: &TestApp, bundle: &str, n: usize) -> (String, Vec<Value>) {
    app.register_citizen().await;
    let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
    let mut out = Vec::new();
    for i in 0..n {
        let body = complete_application(app, &citizen, bundle).await;
        let (status, created) = submit(app, &citizen, Some(&format!("metrics-{i}")), &body).await;
        assert_eq!(status, 201, "{created}");
        out.push(created);
    }
    (citizen, out)
}

/// Saves a transition straight through the store, as the web layer would.
fn save(
    conn: &mut onething::db::DbConn,
    row: &onething::store::applications::CaseRow,
    wf: &workflow::Case,
    next: &workflow::Case,
    due: Option<String>,
    at: chrono::NaiveDateTime,
) -> bool {
    let t = case_store::Transition {
        row,
        seen_version: wf.version,
        new: next,
        due_date: due,
        message: None,
        now: at,
        certificate: None,
    };
    case_store::save_transition(conn, &t, onething::calendar::Calendar::shipped()).expect("save")
}

fn everything() -> Period {
    Period {
        from: NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2100, 1, 1).expect("date"),
        department: None,
    }
}

/// One random step of a case's life, tried through the state machine; illegal ones are
/// skipped as the API would refuse them.
fn random_command(rng: &mut StdRng, wf: &workflow::Case) -> (Actor, Command) {
    let pending: Vec<i64> = wf
        .sub_cases
        .iter()
        .filter(|s| !s.status.is_decided())
        .map(|s| s.id)
        .collect();
    match rng.gen_range(0..10) {
        0 => (Actor::Window, Command::Accept),
        1..=3 if !pending.is_empty() => (
            Actor::Admin,
            Command::Decide {
                sub_case: pending[rng.gen_range(0..pending.len())],
                approve: rng.gen_bool(0.8),
                opinion: "审核意见".into(),
                result: None,
            },
        ),
        4 => (
            Actor::Window,
            Command::RecordVisit {
                reason: VisitReason::SupplementInPerson,
            },
        ),
        5 => (
            Actor::Window,
            Command::Deliver {
                method: if rng.gen_bool(0.5) {
                    DeliveryMethod::Pickup
                } else {
                    DeliveryMethod::ECertificate
                },
            },
        ),
        6 => (
            Actor::Window,
            Command::RequestSupplement {
                items: vec![SupplementItem {
                    target: "materials.x".into(),
                    reason: "不清晰".into(),
                    department: None,
                    label: String::new(),
                }],
            },
        ),
        7 => (
            Actor::Applicant,
            Command::Resubmit {
                corrected: vec!["materials.x".into()],
            },
        ),
        8 if rng.gen_bool(0.2) => (Actor::Applicant, Command::Withdraw),
        _ => (Actor::Admin, Command::Archive),
    }
}

both_backends!(
    aggregates_equal_a_group_by_recount_after_random_case_histories,
    |app| {
        let (_, created) = submitted_cases(&app, "newborn", 6).await;
        let receipts: Vec<String> = created
            .iter()
            .map(|c| c["receipt_no"].as_str().expect("receipt").to_owned())
            .collect();
        let seed: u64 = rand::random();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut conn = app.db.get().expect("connection");
        let mut at = app.clock.now_utc();
        // The last case is kept out of the random walk and driven to its finish after it, so
        // that the comparison never covers nothing whatever the seed.
        let (kept, receipts) = receipts.split_last().expect("cases");
        for _ in 0..300 {
            let receipt = &receipts[rng.gen_range(0..receipts.len())];
            let (row, _, wf) = case_store::load(&mut conn, receipt).expect("load").expect("case");
            let (actor, cmd) = random_command(&mut rng, &wf);
            // Steps spread over weeks so that finishes fall on different days and months.
            at += Duration::hours(rng.gen_range(1..200));
            let Ok(next) = workflow::apply(&wf, &actor, cmd, at, wf.version) else {
                continue;
            };
            let due = next
                .accepted_at
                .map(|a| (a + Duration::days(rng.gen_range(0..20))).date().to_string());
            let saved = save(&mut conn, &row, &wf, &next, due, at);
            assert!(saved, "seed {seed}: the version was current");
        }
        loop {
            let (row, _, wf) = case_store::load(&mut conn, kept).expect("load").expect("case");
            let pending = wf.sub_cases.iter().find(|s| !s.status.is_decided()).map(|s| s.id);
            let cmd = match (wf.accepted_at, pending) {
                (None, _) => Command::Accept,
                (Some(_), Some(sub_case)) => Command::Decide {
                    sub_case,
                    approve: true,
                    opinion: "同意".into(),
                    result: None,
                },
                (Some(_), None) => break,
            };
            let actor = if matches!(cmd, Command::Accept) {
                Actor::Window
            } else {
                Actor::Admin
            };
            at += Duration::hours(rng.gen_range(1..200));
            let next = workflow::apply(&wf, &actor, cmd, at, wf.version).expect("the kept case moves on");
            let due = next
                .accepted_at
                .map(|a| (a + Duration::days(10)).date().to_string());
            let saved = save(&mut conn, &row, &wf, &next, due, at);
            assert!(saved, "seed {seed}: the kept case's version was current");
        }
        let finished =
            store::total(&store::cases_by(&mut conn, &everything(), Dim::All).expect("total")).finished;
        assert!(finished > 0, "seed {seed}: some case finished");
        // Everything, and a period that starts and ends mid-month, so that whole months
        // come from the monthly rollups and the days around them from the per-day rows.
        let today = app.clock.today();
        let mid_month = Period {
            from: today + Duration::days(17),
            to: today + Duration::days(230),
            department: None,
        };
        for p in [everything(), mid_month] {
            for (dim, hf) in [
                (Dim::All, true),
                (Dim::All, false),
                (Dim::Department, true),
                (Dim::Item, false),
                (Dim::Bundle, true),
                (Dim::Channel, false),
            ] {
                let aggregate =
                    store::as_recount(&store::parts_by(&mut conn, &p, dim, hf).expect("aggregate"));
                let recount = store::recount_parts(&mut conn, &p, dim, hf).expect("recount");
                let recount: Vec<_> = recount.into_iter().filter(|r| r.finished != 0).collect();
                assert_eq!(
                    aggregate, recount,
                    "seed {seed}: {p:?} {dim:?} high-frequency-only={hf}"
                );
            }
            let aggregate =
                store::as_recount(&store::cases_by(&mut conn, &p, Dim::Channel).expect("aggregate"));
            let recount = store::recount_cases_by_channel(&mut conn, &p).expect("recount");
            assert_eq!(aggregate, recount, "seed {seed}: {p:?} cases by channel");
        }
        for (stored, summed) in store::month_rollups(&mut conn).expect("rollups") {
            assert_eq!(
                stored, summed,
                "seed {seed}: the monthly rollups equal the per-day rows summed"
            );
        }
    }
);

async fn post(app: &TestApp, token: &str, path: &str, etag: &str, body: Value) -> (u16, Value, String) {
    let resp = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("If-Match", etag)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let tag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, resp.json().await.unwrap_or(Value::Null), tag)
}

/// Takes a submitted case through acceptance, approval of every part and delivery.
pub async fn finish_through_the_api(app: &TestApp, created: &Value, delivery: &str) {
    let receipt = created["receipt_no"].as_str().expect("receipt");
    let window = app.staff_token(&format!("w{receipt}"), Role::Window, None).await;
    let admin = app.staff_token(&format!("a{receipt}"), Role::Admin, None).await;
    let resp = app
        .client
        .get(format!("{}/api/v1/cases/{receipt}", app.address))
        .bearer_auth(&window)
        .send()
        .await
        .expect("detail");
    let mut tag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let path = format!("/api/v1/cases/{receipt}");
    let (status, body, next) = post(app, &window, &format!("{path}/accept"), &tag, json!({})).await;
    assert_eq!(status, 200, "{body}");
    tag = next;
    for s in created["sub_cases"].as_array().expect("subs") {
        let id = s["id"].as_i64().expect("id");
        let (status, body, next) = post(
            app,
            &admin,
            &format!("/api/v1/sub-cases/{id}/decide"),
            &tag,
            json!({"decision": "approve", "opinion": "同意"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        tag = next;
    }
    let (status, body, _) = post(
        app,
        &window,
        &format!("{path}/deliver"),
        &tag,
        json!({"method": delivery}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// How many parts of a case are of high-frequency items.
fn high_frequency_parts(app: &TestApp, created: &Value) -> i64 {
    use diesel::prelude::*;
    use onething::db::schema::{cases, items, sub_cases};
    let mut conn = app.db.get().expect("connection");
    sub_cases::table
        .inner_join(cases::table)
        .inner_join(items::table.on(items::code.eq(sub_cases::item_code)))
        .filter(cases::receipt_no.eq(created["receipt_no"].as_str().expect("receipt")))
        .filter(items::high_frequency.eq(true))
        .count()
        .get_result(&mut conn)
        .expect("count")
}

both_backends!(
    the_zero_trip_share_counts_finished_cases_by_their_recorded_trips,
    |app| {
        let (_, created) = submitted_cases(&app, "newborn", 3).await;
        let hf = high_frequency_parts(&app, &created[0]);
        assert!(hf > 0, "the newborn bundle has high-frequency items");
        let (status, empty) = app.get_json("/api/v1/metrics/zero-trip").await;
        assert_eq!(status, 200, "{empty}");
        assert_eq!(
            (empty["total_cases"].as_i64(), empty["rate"].is_null()),
            (Some(0), true),
            "{empty}"
        );

        finish_through_the_api(&app, &created[0], "e_certificate").await;
        finish_through_the_api(&app, &created[1], "pickup").await;
        let (status, r) = app.get_json("/api/v1/metrics/zero-trip").await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["total_cases"].as_i64(), Some(2 * hf), "{r}");
        assert_eq!(
            r["zero_trip_cases"].as_i64(),
            Some(hf),
            "the pickup case has a trip: {r}"
        );
        assert_eq!(r["rate"].as_f64(), Some(0.5));
        assert_eq!(r["target"].as_f64(), Some(0.6));
        assert_eq!(r["meets_target"], json!(false));
        assert_eq!(r["by_channel"][0]["key"], "online", "{r}");
        let months = r["by_month"].as_array().expect("months");
        assert_eq!(months.len(), 1, "{r}");
        assert_eq!(months[0]["total_cases"].as_i64(), Some(2 * hf));
        let dept_total: i64 = r["by_department"]
            .as_array()
            .expect("departments")
            .iter()
            .map(|d| d["total_cases"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(dept_total, 2 * hf, "the departments add up to the total: {r}");
        let dept = r["by_department"][0]["key"].as_str().expect("dept").to_owned();
        let (_, one) = app
            .get_json(&format!("/api/v1/metrics/zero-trip?department={dept}"))
            .await;
        assert_eq!(one["total_cases"], r["by_department"][0]["total_cases"], "{one}");

        let (status, o) = app.get_json("/api/v1/metrics/overview").await;
        assert_eq!(status, 200, "{o}");
        assert_eq!(o["finished_cases"].as_i64(), Some(2), "{o}");
        assert_eq!(o["zero_trip_total"].as_i64(), Some(2 * hf));
        assert_eq!(o["channels"][0]["cases"].as_i64(), Some(2));
        assert!(
            o["bundles_online"]["value"].as_f64().expect("bundles") >= 1.0,
            "{o}"
        );
        assert_eq!(o["bundles_online"]["target"].as_f64(), Some(40.0));

        // A finish day before the period leaves it out.
        let (_, past) = app
            .get_json("/api/v1/metrics/zero-trip?from=2020-01-01&to=2020-12-31")
            .await;
        assert_eq!(past["total_cases"].as_i64(), Some(0), "{past}");
    }
);

both_backends!(bad_metric_periods_are_400_with_chinese_field_errors, |app| {
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-05-01&to=2026-04-01", "from"),
        ("from=1900-01-01&to=2026-01-01", "from"),
        ("department=NOPE", "department"),
    ] {
        for path in ["zero-trip", "overview", "zero-trip/export"] {
            let (status, body) = app.get_json(&format!("/api/v1/metrics/{path}?{query}")).await;
            assert_eq!(status, 400, "{path}?{query}: {body}");
            assert_eq!(body["errors"][0]["field"], field, "{path}?{query}: {body}");
            let message = body["errors"][0]["message"].as_str().unwrap_or("");
            assert!(
                message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "Chinese message: {body}"
            );
        }
    }
    let (status, body) = app.get_json("/api/v1/metrics/zero-trip/export?format=pdf").await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("format")),
        "{body}"
    );
    let (status, body) = app
        .get_json("/api/v1/metrics/overview/export?table=secrets")
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("table")),
        "{body}"
    );
});

both_backends!(every_dashboard_table_exports_as_csv_and_xlsx, |app| {
    let (_, created) = submitted_cases(&app, "newborn", 1).await;
    finish_through_the_api(&app, &created[0], "e_certificate").await;
    for (path, tables) in [
        (
            "zero-trip",
            vec!["department", "item", "bundle", "channel", "month"],
        ),
        ("overview", vec!["targets", "channels", "months"]),
    ] {
        for table in tables {
            let resp = app
                .get(&format!("/api/v1/metrics/{path}/export?format=csv&table={table}"))
                .await;
            assert_eq!(resp.status().as_u16(), 200, "{path} {table}");
            let ct = resp.headers()["content-type"].to_str().expect("ct").to_owned();
            assert!(ct.starts_with("text/csv"), "{ct}");
            let text = resp.text().await.expect("body");
            assert!(
                text.lines().count() >= 2,
                "{path} {table}: a header and a row: {text}"
            );
            let resp = app
                .get(&format!(
                    "/api/v1/metrics/{path}/export?format=xlsx&table={table}"
                ))
                .await;
            assert_eq!(resp.status().as_u16(), 200);
            let bytes = resp.bytes().await.expect("bytes");
            assert_eq!(&bytes[..2], b"PK", "{path} {table} is an XLSX zip");
        }
    }
    let resp = app
        .get("/api/v1/metrics/zero-trip/export?format=csv&table=item")
        .await;
    let text = resp.text().await.expect("body");
    assert!(text.contains("办事指南承诺跑动次数"), "{text}");
});

both_backends!(
    the_dashboards_show_figures_with_svg_charts_and_tables_without_script,
    |app| {
        let (_, created) = submitted_cases(&app, "newborn", 1).await;
        finish_through_the_api(&app, &created[0], "e_certificate").await;
        let (status, html) = app.get_html("/dashboard").await;
        assert_eq!(status, 200, "{html}");
        for needle in [
            "高频事项“一趟不用跑”占比",
            "<svg",
            "100.0%",
            "导出 Excel",
            "办结办件：<strong>1</strong>",
        ] {
            assert!(html.contains(needle), "public dashboard lacks {needle}: {html}");
        }
        assert!(!html.contains("<script"), "no script on the page");
        let (status, html) = app.get_html("/dashboard?from=2026-02-30").await;
        assert_eq!(status, 400, "{html}");
        assert!(html.contains("from 应为有效日期"), "{html}");

        let resp = app.get("/staff/dashboard").await;
        assert_eq!(
            resp.url().path(),
            "/login",
            "the staff dashboard needs a staff login"
        );
        app.staff_token("analyst", Role::Window, None).await;
        let (client, _) = page_login(&app, "analyst", PASSWORD).await;
        let resp = client
            .get(format!("{}/staff/dashboard", app.address))
            .send()
            .await
            .expect("staff dashboard");
        assert_eq!(resp.status().as_u16(), 200);
        let html = resp.text().await.expect("html");
        for needle in [
            "按部门",
            "按事项：实测跑动与办事指南承诺对照",
            "相符",
            "<svg",
            "目标 60%",
            "table=item",
        ] {
            assert!(html.contains(needle), "staff dashboard lacks {needle}: {html}");
        }
    }
);

both_backends!(
    demo_data_writes_a_year_of_cases_whose_aggregates_equal_a_recount,
    |app| {
        let mut conn = app.db.get().expect("connection");
        let now = app.clock.now_utc();
        let mut reported = 0;
        let keys = onething::auth::Keys::load(&app.settings).expect("keys");
        let empty_form =
            onething::auth::Vault::new(&keys.data).encrypt(onething::auth::PiiKind::FormData, "{}");
        let run = onething::store::demo::DemoRun {
            count: 400,
            seed: 11,
            batch: 150,
            now,
            empty_form: &empty_form,
        };
        let written =
            onething::store::demo::generate_cases(&mut conn, &run, |n| reported += n).expect("demo data");
        assert_eq!((written, reported), (400, 400));
        let p = everything();
        for (dim, hf) in [
            (Dim::All, true),
            (Dim::Department, true),
            (Dim::Item, false),
            (Dim::Channel, true),
        ] {
            let aggregate = store::as_recount(&store::parts_by(&mut conn, &p, dim, hf).expect("aggregate"));
            let recount: Vec<_> = store::recount_parts(&mut conn, &p, dim, hf)
                .expect("recount")
                .into_iter()
                .filter(|r| r.finished != 0)
                .collect();
            assert_eq!(aggregate, recount, "{dim:?} high-frequency-only={hf}");
        }
        let total = store::total(&store::cases_by(&mut conn, &p, Dim::All).expect("total"));
        assert!(total.finished > 300, "most demo cases are finished: {total:?}");
        for (stored, summed) in store::month_rollups(&mut conn).expect("rollups") {
            assert!(!stored.is_empty(), "the demo year fills the monthly rollups");
            assert_eq!(
                stored, summed,
                "the monthly rollups equal the per-day rows summed"
            );
        }
        assert_eq!(
            onething::store::ratings::satisfaction(&mut conn, &p).expect("counts"),
            onething::store::ratings::recount_satisfaction(&mut conn, &p).expect("recount"),
            "the demo's daily rating counts equal a recount"
        );
        drop(conn);
        let from = (now - Duration::days(400)).date();
        let (status, o) = app
            .get_json(&format!("/api/v1/metrics/overview?from={from}"))
            .await;
        assert_eq!(status, 200, "{o}");
        assert_eq!(o["finished_cases"].as_i64(), Some(total.finished), "{o}");
        assert!(o["ratings"].as_i64().unwrap_or(0) > 50, "{o}");
        // The demo cases open like any other in the staff console, and a new real case gets
        // a fresh id after them.
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (status, body) = app.get_auth("/api/v1/cases/DEMO0000000001", &window).await;
        assert_eq!(status, 200, "{body}");
        let (_, created) = submitted_cases(&app, "newborn", 1).await;
        assert_eq!(created.len(), 1);
    }
);

/// One seed writes the same demonstration cases on either database, so that figures from
/// demonstrations and benchmarks on the two compare.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_for_one_seed_is_the_same_on_both_backends() {
    use diesel::prelude::*;
    use onething::db::schema::cases;
    // A fixed instant: the same seed must write the same cases whatever today is.
    let now = chrono::NaiveDate::from_ymd_opt(2026, 6, 30)
        .and_then(|d| d.and_hms_opt(4, 0, 0))
        .expect("a time");
    let mut written = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        let mut conn = app.db.get().expect("connection");
        let keys = onething::auth::Keys::load(&app.settings).expect("keys");
        let empty_form =
            onething::auth::Vault::new(&keys.data).encrypt(onething::auth::PiiKind::FormData, "{}");
        let run = onething::store::demo::DemoRun {
            count: 300,
            seed: 7,
            batch: 100,
            now,
            empty_form: &empty_form,
        };
        onething::store::demo::generate_cases(&mut conn, &run, |_| {}).expect("demo data");
        let rows: Vec<(String, String, String, i32)> = cases::table
            .order(cases::id)
            .select((cases::bundle_code, cases::status, cases::channel, cases::trips))
            .load(&mut conn)
            .expect("cases");
        written.push(rows);
    }
    let (sqlite, postgres) = (&written[0], &written[1]);
    assert_eq!(sqlite.len(), postgres.len(), "cases written");
    if let Some(i) = (0..sqlite.len()).find(|&i| sqlite[i] != postgres[i]) {
        panic!(
            "case {i} differs: SQLite wrote {:?}, PostgreSQL {:?}",
            sqlite[i], postgres[i]
        );
    }
}
