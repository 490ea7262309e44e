//! Smart approval (智慧审批) as an applicant, the window and an auditor meet it, on both
//! backends: the configured items are listed; a qualifying 新生儿出生一件事 has its automatic
//! parts decided within the submission, with signed certificates, and its other parts left
//! to the window; a registry that does not answer sends the part to a person with the
//! reason; the HTTP adapter honours its contract against a real HTTP server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use onething::auth::Role;
use onething::clock::SettableClock;
use serde_json::{json, Value};

use crate::applications::{complete_application, submit};
use crate::helpers::{test_settings, Backend, TestApp, PASSWORD};

/// 林晓燕 of the shipped demonstration registries: registered in 长乐区, employee-insured,
/// mother of a boy born on 2026-11-18 at a district hospital.
const LIN_ID: &str = "35011219950314042X";
const LIN_PHONE: &str = "13800138011";

/// A server on 2026-12-08 10:00 Beijing time with `tweak` applied to its settings.
async fn smart_app(backend: Backend, tweak: impl FnOnce(&mut onething::config::Settings)) -> Option<TestApp> {
    onething::telemetry::init(onething::config::LogFormat::Text, "error");
    let (mut settings, db, dir) = test_settings(backend)?;
    settings.registries_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("registries");
    tweak(&mut settings);
    let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 8)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("a time");
    Some(crate::helpers::spawn_app_at(settings, dir, db, Arc::new(SettableClock::at_beijing(at))).await)
}

/// 林晓燕 registers and signs in; returns her token.
async fn register_lin(app: &TestApp) -> String {
    let (status, body) = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"kind": "citizen", "name": "林晓燕", "id_number": LIN_ID, "phone": LIN_PHONE, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "registration: {body}");
    let token = app.login(LIN_PHONE, PASSWORD).await;
    token
}

/// 林晓燕's 新生儿出生一件事, filled in as she would: every optional service asked for.
async fn lin_applies(app: &TestApp) -> (String, Value) {
    let token = register_lin(app).await;
    let mut body = complete_application(app, &token, "newborn").await;
    assert_eq!(body["answers"]["mother_maternity"], "yes", "{}", body["answers"]);
    let data = body["data"].as_object_mut().expect("data");
    for (key, value) in [
        ("mother_name", json!("林晓燕")),
        ("mother_id_number", json!(LIN_ID)),
        ("child_birth_date", json!("2026-11-18")),
        ("resident_insured_group", json!("newborn")),
        ("maternity_childbirth_type", json!("natural")),
        ("maternity_leave_days", json!(158)),
    ] {
        if data.contains_key(key) {
            data.insert(key.to_owned(), value);
        }
    }
    (token, body)
}

fn part<'a>(case: &'a Value, item: &str) -> &'a Value {
    case["sub_cases"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["item"] == item)
        .unwrap_or_else(|| panic!("no part for {item} in {case}"))
}

async fn case_of(app: &TestApp, token: &str, receipt: &str) -> Value {
    let (status, case) = app
        .get_auth(&format!("/api/v1/applications/{receipt}"), token)
        .await;
    assert_eq!(status, 200, "{case}");
    case
}

macro_rules! on_both {
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let Some($app) = smart_app(Backend::Sqlite, $tweak).await else {
                    return;
                };
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = smart_app(Backend::Postgres, $tweak).await else {
                    return;
                };
                $body
            }
        }
    };
}

on_both!(
    the_configured_items_are_listed_with_their_published_rules,
    |_| {},
    |app| {
        let (status, page) = app
            .get_json("/api/v1/items?smart_approval=true&per_page=200")
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(
            items.len() >= 12,
            "only {} smart-approval items: {page}",
            items.len()
        );
        assert!(items.iter().all(|i| i["smart_approval"] == true), "{page}");
        let codes: Vec<&str> = items.iter().filter_map(|i| i["code"].as_str()).collect();
        for code in ["WJ-001", "WJ-012", "MZ-009", "GJ-005", "SJ-004"] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
        let (_, others) = app
            .get_json("/api/v1/items?smart_approval=false&per_page=200")
            .await;
        assert_eq!(
            others["total"].as_i64().expect("total") + page["total"].as_i64().expect("total"),
            app.get_json("/api/v1/items").await.1["total"]
                .as_i64()
                .expect("total")
        );
        let (_, item) = app.get_json("/api/v1/items/WJ-012").await;
        assert_eq!(item["smart_approval"], true);
        assert_eq!(item["decision_table"]["hit_policy"], "first", "{item}");
        assert!(
            item["decision_table"]["rule"]
                .as_array()
                .is_some_and(|r| r.len() >= 2),
            "{item}"
        );
        let (_, plain) = app.get_json("/api/v1/items/GA-001").await;
        assert_eq!(
            (plain["smart_approval"].clone(), plain["decision_table"].clone()),
            (json!(false), Value::Null)
        );
        let (status, bad) = app.get_json("/api/v1/items?smart_approval=maybe").await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(bad["errors"][0]["field"], "smart_approval", "{bad}");
    }
);

on_both!(
    a_qualifying_newborn_is_decided_within_the_submission_and_the_rest_goes_to_the_window,
    |_| {},
    |app| {
        let (citizen, body) = lin_applies(&app).await;
        let (status, created) = submit(&app, &citizen, Some("smart-newborn"), &body).await;
        assert_eq!(status, 201, "{created}");
        let receipt = created["receipt_no"].as_str().expect("receipt").to_owned();

        let case = case_of(&app, &citizen, &receipt).await;
        assert_eq!(case["status"], "in_progress", "accepted by the system: {case}");
        for item in ["WJ-001", "WJ-012", "YB-001", "YB-006"] {
            let p = part(&case, item);
            assert_eq!(p["status"], "approved", "{item}: {p}");
            let d = &p["smart_decision"];
            assert_eq!(d["outcome"], "approve", "{item}: {d}");
            assert_eq!(d["outcome_label"], "系统自动核准");
            let trials = d["decision"]["trials"].as_array().expect("trials");
            let last = trials.last().expect("a rule");
            assert_eq!(last["matched"], true, "{item}: {d}");
            assert!(
                last["checks"]
                    .as_array()
                    .expect("checks")
                    .iter()
                    .all(|c| c["holds"] == true),
                "{item}: {d}"
            );
        }
        // The materials the registries provide were fetched, not asked for, with their source.
        let shared = case["shared_materials"].as_array().expect("shared materials");
        let id_card = shared
            .iter()
            .find(|m| m["code"] == "id-card")
            .unwrap_or_else(|| panic!("the ID card comes from the household register: {shared:?}"));
        assert_eq!(
            (id_card["source"].clone(), id_card["status"].clone()),
            (json!("户籍人口信息"), json!("已核验获取")),
            "{id_card}"
        );
        assert_eq!(id_card["answer_digest"].as_str().map(str::len), Some(64));
        let (_, receipt_page) = {
            let (client, _) = crate::helpers::page_login(&app, LIN_PHONE, PASSWORD).await;
            let page = client
                .get(format!("{}/applications/{receipt}", app.address))
                .send()
                .await
                .expect("receipt page")
                .text()
                .await
                .expect("text");
            ((), page)
        };
        assert!(
            receipt_page.contains("无需提交的材料") && receipt_page.contains("来源：户籍人口信息"),
            "the applicant sees where the material came from"
        );

        // Parts without rules, and rules that need a person, are the window's and departments'.
        assert_eq!(part(&case, "GA-001")["status"], "pending");
        assert!(part(&case, "GA-001")["smart_decision"].is_null());
        let card = part(&case, "RS-001");
        assert_eq!(card["status"], "pending", "{card}");
        assert_eq!(card["smart_decision"]["outcome"], "manual", "{card}");
        assert!(
            card["smart_decision"]["reason"]
                .as_str()
                .expect("reason")
                .contains("第 2 条规则"),
            "a deny the law does not let the system give names its rule: {card}"
        );

        // The certificate of an automatic part verifies; a tampered copy does not.
        let no = format!("ZN-{receipt}-{}", part(&case, "WJ-012")["id"]);
        let (status, cert) = app.get_json(&format!("/api/v1/certificates/{no}")).await;
        assert_eq!(status, 200, "{cert}");
        let (_, verdict) = app
            .post_json("/api/v1/certificates/verify", None, cert.clone())
            .await;
        assert_eq!(verdict["valid"], true, "{verdict}");
        let mut tampered = cert.clone();
        tampered["payload"]["item"] = json!("高龄津贴申领");
        let (_, verdict) = app.post_json("/api/v1/certificates/verify", None, tampered).await;
        assert_eq!(verdict["valid"], false, "{verdict}");

        // The timeline says the system did it, and the applicant was told.
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, detail) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
        let timeline = detail["timeline"].as_array().expect("timeline");
        let accept = timeline
            .iter()
            .find(|e| e["action"] == "accept")
            .expect("an acceptance");
        assert_eq!(accept["actor_role"], "系统");
        let approvals = timeline
            .iter()
            .filter(|e| e["action"] == "approve" && e["actor_role"] == "系统")
            .count();
        assert_eq!(approvals, 4, "{timeline:?}");
        let (_, messages) = app.get_auth("/api/v1/messages", &citizen).await;
        assert!(
            messages.to_string().contains("自动办结"),
            "the applicant is told: {messages}"
        );

        // Every lookup is audited by digests, never the ID number.
        let (status, lookups) = app
            .get_auth(&format!("/api/v1/cases/{receipt}/registry-lookups"), &window)
            .await;
        assert_eq!(status, 200, "{lookups}");
        let rows = lookups.as_array().expect("rows");
        let registries: Vec<&str> = rows.iter().filter_map(|r| r["registry"].as_str()).collect();
        for r in ["household", "birth", "social_insurance"] {
            assert!(registries.contains(&r), "{r} not audited: {lookups}");
        }
        assert!(
            rows.iter()
                .all(|r| r["outcome"] == "found" && r["adapter"] == "local"),
            "{lookups}"
        );
        assert!(
            !lookups.to_string().contains(LIN_ID),
            "the audit holds no ID number"
        );
        let reviewer = app.staff_token("rev", Role::Reviewer, Some("health")).await;
        let (status, _) = app
            .get_auth(&format!("/api/v1/cases/{receipt}/registry-lookups"), &reviewer)
            .await;
        assert_eq!(status, 403);

        // The dashboard counts what the system decided, and how fast, against the people.
        let reviewer_gov = app.staff_token("gov", Role::Reviewer, Some("police")).await;
        let ga = part(&case, "GA-001")["id"].as_i64().expect("id");
        let (_, tag) = crate::cases::detail(&app, &reviewer_gov, &receipt).await;
        let (status, decided, _) = crate::cases::act(
            &app,
            &reviewer_gov,
            &format!("/api/v1/sub-cases/{ga}/decide"),
            Some(&tag),
            json!({"decision": "approve", "opinion": "同意"}),
        )
        .await;
        assert_eq!(status, 200, "a person decides the 出生登记: {decided}");
        let (_, o) = app
            .get_json("/api/v1/metrics/overview?from=2026-12-01&to=2026-12-31")
            .await;
        assert_eq!(
            (o["automatic_parts"].clone(), o["decided_parts"].clone()),
            (json!(4), json!(5)),
            "{o}"
        );
        assert!(
            o["median_seconds_automatic"].as_f64().is_some_and(|s| s < 60.0),
            "{o}"
        );
        assert!(o["median_seconds_manual"].as_f64().is_some(), "{o}");
        assert!(
            o["smart_approval_items"]
                .as_i64()
                .is_some_and(|n| n >= o["smart_approval_target"].as_i64().unwrap_or(i64::MAX)),
            "{o}"
        );
        let (_, dashboard) = app.get_html("/dashboard?from=2026-12-01&to=2026-12-31").await;
        assert!(
            dashboard.contains("系统自动审批的子件占比") && dashboard.contains("80.0%（4&#x2F;5）"),
            "the dashboard shows the automatic share: {}",
            dashboard
                .split("系统自动审批的子件占比")
                .nth(1)
                .unwrap_or(&dashboard)
                .chars()
                .take(1500)
                .collect::<String>()
        );

        // A replay files nothing twice and decides nothing twice.
        let (_, before) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
        let timeline = before["timeline"].as_array().expect("timeline").clone();
        let (status, again) = submit(&app, &citizen, Some("smart-newborn"), &body).await;
        assert_eq!(
            (status, &again["receipt_no"]),
            (201, &created["receipt_no"]),
            "{again}"
        );
        let (_, detail) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
        assert_eq!(detail["timeline"].as_array().map(Vec::len), Some(timeline.len()));
    }
);

/// A registry that accepts connections and never answers.
async fn silent_registry() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    address
}

mod a_registry_timeout_sends_the_parts_to_people_with_the_reason {
    use super::*;

    async fn run(backend: Backend) {
        let registry = silent_registry().await;
        let Some(app) = smart_app(backend, |s| {
            s.registry_url = Some(registry);
            s.registry_timeout_ms = 200;
            s.registry_retries = 1;
        })
        .await
        else {
            return;
        };
        let (citizen, body) = lin_applies(&app).await;
        let (status, created) = submit(&app, &citizen, Some("smart-remote"), &body).await;
        assert_eq!(status, 201, "the case is filed all the same: {created}");
        let receipt = created["receipt_no"].as_str().expect("receipt");
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, detail) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
        assert_eq!(
            detail["case"]["status"], "submitted",
            "nothing decided on a guess: {detail}"
        );
        let p = part(&detail["case"], "WJ-012");
        assert_eq!(p["status"], "pending");
        let d = &p["smart_decision"];
        assert_eq!(d["outcome"], "manual", "{d}");
        assert!(
            d["reason"].as_str().expect("reason").contains("暂时无法核验"),
            "{d}"
        );
        let why = d["decision"]["unavailable"].to_string();
        assert!(
            why.contains("户籍人口信息") && why.contains("超时"),
            "staff see why: {why}"
        );
        let (_, lookups) = app
            .get_auth(&format!("/api/v1/cases/{receipt}/registry-lookups"), &window)
            .await;
        assert!(
            lookups
                .as_array()
                .expect("rows")
                .iter()
                .all(|r| r["outcome"] == "unavailable" && r["adapter"] == "http"),
            "{lookups}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

/// A small data-exchange platform: answers the lookup contract from a fixed table, counts
/// the requests and refuses any without the key.
async fn exchange_platform(fail_first: usize) -> (String, Arc<AtomicUsize>) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().route(
            "/v1/lookup",
            web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer exchange-key") {
                        return HttpResponse::Unauthorized().finish();
                    }
                    if n < fail_first {
                        return HttpResponse::ServiceUnavailable().finish();
                    }
                    let answer = match (body["registry"].as_str(), body["key"].as_str()) {
                        (Some("household"), Some(LIN_ID)) => {
                            json!({"found": true, "attributes": {"region": "350112", "gender": "女", "birth_date": "1995-03-14"}})
                        }
                        (Some("birth"), Some(LIN_ID)) => json!({"found": true, "attributes": {
                            "child_birth_date": "2026-11-18", "hospital": "福州市长乐区妇幼保健院"}}),
                        (Some("social_insurance"), Some(LIN_ID)) => json!({"found": true, "attributes": {
                            "employee_medical": true, "resident_medical": false, "has_card": true, "months_contributed": 60}}),
                        _ => json!({"found": false}),
                    };
                    HttpResponse::Ok().json(answer)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind");
    let address = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    (address, seen)
}

mod the_http_adapter_decides_from_the_exchange_platform_and_retries_a_failed_request {
    use super::*;

    async fn run(backend: Backend) {
        let (platform, seen) = exchange_platform(1).await;
        let Some(app) = smart_app(backend, |s| {
            s.registry_url = Some(platform);
            s.registry_key = Some(onething::config::Secret::new("exchange-key"));
            s.registry_retries = 2;
        })
        .await
        else {
            return;
        };
        let (citizen, body) = lin_applies(&app).await;
        // Showing the form looked the marriage register up too; count the filing alone, whose
        // first request is answered 503.
        seen.store(0, Ordering::SeqCst);
        let (status, created) = submit(&app, &citizen, Some("smart-remote"), &body).await;
        assert_eq!(status, 201, "{created}");
        let case = case_of(&app, &citizen, created["receipt_no"].as_str().expect("receipt")).await;
        for item in ["WJ-001", "WJ-012", "YB-006"] {
            assert_eq!(part(&case, item)["status"], "approved", "{item}: {case}");
        }
        // Four distinct lookups (户籍, 出生, 社保 for the rules; 婚姻 for the marriage
        // certificate the centre fetches), one of which was answered 503 first and tried again.
        assert_eq!(seen.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

/// An enterprise of the demonstration registries, registered on the platform.
async fn enterprise(app: &TestApp, name: &str, uscc: &str, phone: &str) -> String {
    let (status, body) = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"kind": "enterprise", "name": name, "uscc": uscc, "legal_representative": "陈海",
                "contact_name": "王芳", "phone": phone, "industry": "6210", "scale": "micro", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.login(phone, PASSWORD).await
}

on_both!(
    a_designated_policy_reaches_qualifying_enterprises_without_an_application,
    |_| {},
    |app| {
        let editor = crate::policies::editor(&app).await;
        let mut policy = crate::policies::policy_json("长乐区小店经济经营者稳岗补贴", "政策原文。", &["H"]);
        policy["scales"] = json!(["micro"]);
        policy["regions"] = json!(["350112"]);
        policy["conditions"] = json!([{"kind": "max_employees", "value": 10, "text": "从业人员不超过10人"}]);
        policy["no_application"] = json!(true);

        // Only conditions the registry decides may go without an application.
        let mut needs_word = policy.clone();
        needs_word["conditions"] = json!([{"kind": "note", "text": "店铺实际经营满一年"}]);
        let (status, refused) = app.post_json("/api/v1/policies", Some(&editor), needs_word).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["errors"][0]["field"], "no_application", "{refused}");

        let id = crate::policies::publish_new(&app, &editor, policy).await;
        // 陈记海鲜排档: micro, catering, 3 people, in 长乐区; the closed restaurant and the software
        // company of 鼓楼区 do not qualify.
        let stall = enterprise(
            &app,
            "福州市长乐区陈记海鲜排档",
            "92350112MA8T2L5N68",
            "13900139001",
        )
        .await;
        let closed = enterprise(
            &app,
            "福州长乐滨海餐饮管理有限公司",
            "91350112MA2Y6D0P4B",
            "13900139002",
        )
        .await;
        enterprise(
            &app,
            "福州鼓楼云端软件有限公司",
            "91350102MA33QW7K2H",
            "13900139003",
        )
        .await;

        let (status, _) = app
            .post_json("/api/v1/policies/no-application/run", Some(&stall), json!({}))
            .await;
        assert_eq!(status, 403, "an enterprise does not run it");
        let (status, run) = app
            .post_json("/api/v1/policies/no-application/run", Some(&editor), json!({}))
            .await;
        assert_eq!((status, run["granted"].clone()), (200, json!(1)), "{run}");
        let (_, again) = app
            .post_json("/api/v1/policies/no-application/run", Some(&editor), json!({}))
            .await;
        assert_eq!(again["granted"], 0, "a grant is made once");

        let (status, grants) = app.get_auth("/api/v1/benefits", &stall).await;
        assert_eq!(status, 200, "{grants}");
        assert_eq!(grants[0]["policy_id"], id, "{grants}");
        assert!(
            grants[0]["reasons"].to_string().contains("从业人员不超过10人"),
            "{grants}"
        );
        let (_, none) = app.get_auth("/api/v1/benefits", &closed).await;
        assert_eq!(
            none,
            json!([]),
            "an enterprise no longer in business gets nothing"
        );

        let (_, page) = app.get_html(&format!("/policies/{id}")).await;
        assert!(
            page.contains("免申即享") && page.contains("已惠及 <strong>1</strong> 家企业"),
            "{page}"
        );
        let (client, _) = crate::helpers::page_login(&app, "13900139001", PASSWORD).await;
        let inbox = client
            .get(format!("{}/messages", app.address))
            .send()
            .await
            .expect("inbox")
            .text()
            .await
            .expect("text");
        assert!(
            inbox.contains("免申即享") && inbox.contains("长乐区小店经济经营者稳岗补贴"),
            "the enterprise is told in its inbox"
        );
    }
);

on_both!(
    the_form_is_prefilled_from_the_registries_where_the_account_does_not_know,
    |_| {},
    |app| {
        let token = register_lin(&app).await;
        let (status, form) = app
            .post_json(
                "/api/v1/bundles/housing-fund-loan/form",
                Some(&token),
                json!({"answers": {}}),
            )
            .await;
        assert_eq!(status, 200, "{form}");
        let prefill = &form["prefill"];
        assert_eq!(
            prefill["marital_status"], "married",
            "from the marriage register: {prefill}"
        );

        let (_, form) = app
            .post_json(
                "/api/v1/bundles/hukou-transfer/form",
                Some(&token),
                json!({"answers": {}}),
            )
            .await;
        assert!(
            form["sections"].to_string().contains("\"gender\""),
            "the form asks for the sex"
        );
        assert_eq!(
            form["prefill"]["gender"], "female",
            "from the ID number: {}",
            form["prefill"]
        );

        // Someone the marriage register does not know gets nothing guessed.
        app.register_citizen().await;
        let other = app.login(crate::helpers::CITIZEN_PHONE, PASSWORD).await;
        let (_, form) = app
            .post_json(
                "/api/v1/bundles/housing-fund-loan/form",
                Some(&other),
                json!({"answers": {}}),
            )
            .await;
        assert!(form["prefill"]["marital_status"].is_null(), "{}", form["prefill"]);
    }
);
