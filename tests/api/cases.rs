//! One-window intake and parallel department handling through the API, on both backends:
//! the whole journey, version checks, the race of two clerks, and role isolation.

use onething::auth::Role;
use onething::clock::Clock;
use serde_json::{json, Value};

use crate::applications::{complete_application, submit};
use crate::both_backends;
use crate::helpers::{page_login, TestApp, CITIZEN_PHONE, PASSWORD};

pub async fn act(
    app: &TestApp,
    token: &str,
    path: &str,
    etag: Option<&str>,
    body: Value,
) -> (u16, Value, Option<String>) {
    let mut req = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .json(&body);
    if let Some(e) = etag {
        req = req.header("If-Match", e);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let tag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, resp.json().await.unwrap_or(Value::Null), tag)
}

pub async fn detail(app: &TestApp, token: &str, receipt: &str) -> (Value, String) {
    let resp = app
        .client
        .get(format!("{}/api/v1/cases/{receipt}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("detail");
    assert_eq!(resp.status().as_u16(), 200);
    let tag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_owned();
    (resp.json().await.expect("json"), tag)
}

pub async fn submitted_case(app: &TestApp) -> (String, String, Value) {
    app.register_citizen().await;
    let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
    let body = complete_application(app, &citizen, "newborn").await;
    let (status, created) = submit(app, &citizen, Some("journey"), &body).await;
    assert_eq!(status, 201, "{created}");
    (
        citizen,
        created["receipt_no"].as_str().expect("receipt").to_owned(),
        created,
    )
}

/// A submitted newborn case accepted at the window by `clerk`.
pub struct Accepted {
    pub citizen: String,
    pub window: String,
    pub receipt: String,
    /// The submission's answer (its parts).
    pub created: Value,
    /// The case's entity tag after the acceptance.
    pub tag: Option<String>,
}

pub async fn accepted_case(app: &TestApp) -> Accepted {
    let (citizen, receipt, created) = submitted_case(app).await;
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (_, tag) = detail(app, &window, &receipt).await;
    let (status, body, tag) = act(
        app,
        &window,
        &format!("/api/v1/cases/{receipt}/accept"),
        Some(&tag),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "accept: {body}");
    Accepted {
        citizen,
        window,
        receipt,
        created,
        tag,
    }
}

both_backends!(
    a_case_goes_from_submission_through_supplement_and_decisions_to_delivery,
    |app| {
        let (citizen, receipt, created) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, queue) = app.get_auth("/api/v1/cases?status=submitted", &window).await;
        assert!(
            queue["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|c| c["receipt_no"] == receipt.as_str()),
            "{queue}"
        );

        let path = format!("/api/v1/cases/{receipt}");
        let (_, tag) = detail(&app, &window, &receipt).await;
        let (status, body, _) = act(&app, &window, &format!("{path}/accept"), None, json!({})).await;
        assert_eq!((status, body["code"].as_str()), (428, Some("if_match_required")));
        let (status, body, _) = act(
            &app,
            &window,
            &format!("{path}/accept"),
            Some("\"99\""),
            json!({}),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (412, Some("version_conflict")));
        let (status, body, tag) = act(&app, &window, &format!("{path}/accept"), Some(&tag), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "in_progress");
        let (status, body, _) = act(
            &app,
            &window,
            &format!("{path}/accept"),
            tag.as_deref(),
            json!({}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("conflict")),
            "accepting twice is an illegal transition: {body}"
        );

        // One consolidated 补正 notice listing two parts, one for a department.
        let dept = created["sub_cases"][0]["department"]
            .as_str()
            .expect("dept")
            .to_owned();
        let notice = json!({"items": [
            {"target": "child_name", "reason": "与出生医学证明不一致", "department": dept},
            {"target": "materials.birth-medical-certificate", "reason": "扫描件不清晰", "department": dept},
        ]});
        let (status, body, tag) = act(
            &app,
            &window,
            &format!("{path}/supplement"),
            tag.as_deref(),
            notice,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "supplement_requested");
        let (_, messages) = app.get_auth("/api/v1/messages", &citizen).await;
        let text = messages["items"][0]["body"].as_str().unwrap_or("");
        assert!(
            text.contains("2 项") && text.contains("扫描件不清晰"),
            "one notice listing all: {messages}"
        );
        let resubmit = format!("/api/v1/applications/{receipt}/resubmit");
        let (status, body, _) = act(
            &app,
            &citizen,
            &resubmit,
            tag.as_deref(),
            json!({"data": {"child_name": "林小满"}}),
        )
        .await;
        assert_eq!(status, 422, "every listed part must be corrected: {body}");
        let (status, body, _) = act(
            &app,
            &citizen,
            &resubmit,
            tag.as_deref(),
            json!({"data": {"child_name": "林小满", "mobile": "13900000000"}}),
        )
        .await;
        assert!(
            status == 422 && body.to_string().contains("not_requested"),
            "only listed parts change: {body}"
        );
        let upload = crate::applications::upload(&app, &citizen, crate::applications::PDF, "清晰版.pdf")
            .await
            .1["id"]
            .clone();
        let (status, body, tag) = act(
            &app,
            &citizen,
            &resubmit,
            tag.as_deref(),
            json!({"data": {"child_name": "林小满"}, "materials": {"birth-medical-certificate": [upload]}}),
        )
        .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("in_progress")),
            "{body}"
        );
        let (_, mine) = app
            .get_auth(&format!("/api/v1/applications/{receipt}"), &citizen)
            .await;
        assert_eq!(
            mine["data"]["child_name"], "林小满",
            "the correction reached the case"
        );

        // Departments decide their own parts only.
        let mut tag = tag;
        let subs = body["sub_cases"].as_array().expect("subs").clone();
        let outsider = app.staff_token("outsider", Role::Reviewer, Some("samr")).await;
        let (_, theirs) = app.get_auth("/api/v1/cases", &outsider).await;
        assert!(
            !theirs["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|c| c["receipt_no"] == receipt.as_str()),
            "a reviewer's queue holds only cases with a part for their department: {theirs}"
        );
        let first = subs[0]["id"].as_i64().expect("id");
        let (status, _, _) = act(
            &app,
            &outsider,
            &format!("/api/v1/sub-cases/{first}/decide"),
            tag.as_deref(),
            json!({"decision": "approve", "opinion": "同意"}),
        )
        .await;
        assert_eq!(status, 403, "a reviewer of another department cannot decide");
        for (n, s) in subs.iter().enumerate() {
            let dept = s["department"].as_str().expect("dept");
            let reviewer = app
                .staff_token(&format!("rev{n}"), Role::Reviewer, Some(dept))
                .await;
            let (_, queue) = app.get_auth("/api/v1/cases", &reviewer).await;
            assert!(
                queue["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .any(|c| c["receipt_no"] == receipt.as_str()),
                "{queue}"
            );
            let id = s["id"].as_i64().expect("id");
            let (status, body, next) = act(
                &app,
                &reviewer,
                &format!("/api/v1/sub-cases/{id}/decide"),
                tag.as_deref(),
                json!({"decision": "approve", "opinion": "材料齐全，同意", "result": format!("ZS{id}")}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            tag = next;
        }
        let (case, _) = detail(&app, &window, &receipt).await;
        assert_eq!(
            case["status"], "completed",
            "every part decided completes the case"
        );
        let (status, body, _) = act(
            &app,
            &window,
            &format!("{path}/deliver"),
            tag.as_deref(),
            json!({"method": "mail"}),
        )
        .await;
        assert_eq!(status, 422, "mail needs a tracking number: {body}");
        let (status, body, _) = act(
            &app,
            &window,
            &format!("{path}/deliver"),
            tag.as_deref(),
            json!({"method": "mail", "tracking_no": "SF1234567890"}),
        )
        .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("delivered")),
            "{body}"
        );
        assert_eq!(
            body["trips"], 0,
            "online submission and mail delivery: zero trips"
        );
        let (case, _) = detail(&app, &citizen, &receipt).await;
        let actions: Vec<&str> = case["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for a in [
            "submit",
            "accept",
            "dispatch",
            "request_supplement",
            "resubmit",
            "approve",
            "complete",
            "deliver",
        ] {
            assert!(actions.contains(&a), "timeline lacks {a}: {actions:?}");
        }
        assert!(
            case["timeline"]
                .as_array()
                .expect("timeline")
                .iter()
                .all(|e| !e["actor_role"].as_str().unwrap_or("").contains("clerk")),
            "staff shown by role"
        );
    }
);

both_backends!(two_clerks_accepting_at_once_exactly_one_succeeds, |app| {
    let (_, receipt, _) = submitted_case(&app).await;
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (_, tag) = detail(&app, &window, &receipt).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, address, token, tag, receipt) = (
            app.client.clone(),
            app.address.clone(),
            window.clone(),
            tag.clone(),
            receipt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{address}/api/v1/cases/{receipt}/accept"))
                .bearer_auth(token)
                .header("If-Match", tag)
                .send()
                .await
                .expect("accept")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "exactly one accept wins: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 200 || *s == 412), "{statuses:?}");
});

both_backends!(pickup_at_the_window_counts_a_trip, |app| {
    let (_, receipt, created) = submitted_case(&app).await;
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (_, tag) = detail(&app, &window, &receipt).await;
    let path = format!("/api/v1/cases/{receipt}");
    let (_, _, mut tag) = act(&app, &window, &format!("{path}/accept"), Some(&tag), json!({})).await;
    let admin = app.staff_token("boss", Role::Admin, None).await;
    for s in created["sub_cases"].as_array().expect("subs") {
        let id = s["id"].as_i64().expect("id");
        let (status, body, next) = act(
            &app,
            &admin,
            &format!("/api/v1/sub-cases/{id}/decide"),
            tag.as_deref(),
            json!({"decision": "approve", "opinion": "同意"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        tag = next;
    }
    let (status, body, _) = act(
        &app,
        &window,
        &format!("{path}/deliver"),
        tag.as_deref(),
        json!({"method": "pickup"}),
    )
    .await;
    assert_eq!((status, body["trips"].as_i64()), (200, Some(1)), "{body}");
});

both_backends!(case_actions_are_refused_to_the_wrong_roles, |app| {
    let (citizen, receipt, _) = submitted_case(&app).await;
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (_, tag) = detail(&app, &window, &receipt).await;
    let (status, _, _) = act(
        &app,
        &citizen,
        &format!("/api/v1/cases/{receipt}/accept"),
        Some(&tag),
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "an applicant cannot accept");
    let editor = app.staff_token("editor", Role::PolicyEditor, None).await;
    assert_eq!(app.get_auth("/api/v1/cases", &editor).await.0, 403);
    assert_eq!(app.get_auth("/api/v1/cases", &citizen).await.0, 403);
    let (status, _) = app.get_json("/api/v1/cases").await;
    assert_eq!(status, 401);
});

both_backends!(the_window_console_lists_and_accepts_a_case, |app| {
    let (_, receipt, _) = submitted_case(&app).await;
    app.staff_token("clerk", Role::Window, None).await;
    let (client, csrf) = page_login(&app, "clerk", PASSWORD).await;
    let queue = client
        .get(format!("{}/staff/cases", app.address))
        .send()
        .await
        .expect("queue")
        .text()
        .await
        .expect("html");
    assert!(queue.contains(&receipt), "the queue lists the new case");
    let page = client
        .get(format!("{}/staff/cases/{receipt}", app.address))
        .send()
        .await
        .expect("case")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("受理并分送") && page.contains("110101199003071233"),
        "actions and the unmasked form"
    );
    let timeline = page.split("办理过程").nth(1).unwrap_or_default();
    assert!(
        timeline.contains("提交申请") && !timeline.contains("submit") && !timeline.contains("submitted"),
        "the timeline is in words, not codes: {timeline}"
    );
    let version = crate::helpers::input_value(&page, "version");
    let resp = client
        .post(format!("{}/staff/cases/{receipt}", app.address))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("version", version.as_str()),
            ("action", "accept"),
        ])
        .send()
        .await
        .expect("accept");
    assert_eq!(resp.status().as_u16(), 303);
    // The same stale form again: refused, the page says why.
    let resp = client
        .post(format!("{}/staff/cases/{receipt}", app.address))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("version", version.as_str()),
            ("action", "accept"),
        ])
        .send()
        .await
        .expect("accept again");
    assert_eq!(resp.status().as_u16(), 412);
    assert!(resp.text().await.expect("html").contains("已被他人更新"));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_holiday_year_loads_from_the_configured_folder_without_a_release() {
    use crate::helpers::{test_settings, Backend};
    let Some((mut settings, _db, dir)) = test_settings(Backend::Sqlite) else {
        return;
    };
    let folder = dir.path().join("holidays");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(
        folder.join("2027.json"),
        r#"{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#,
    )
    .expect("year file");
    settings.holidays_dir = Some(folder);
    let app = onething::startup::Application::build(&settings).expect("app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    // 2026-12-31 is a Thursday; 2027-01-01 is a holiday and 01-02/03 a weekend.
    let body: Value = reqwest::get(format!(
        "{address}/api/v1/calendar/add-working-days?from=2026-12-31&days=1"
    ))
    .await
    .expect("request")
    .json()
    .await
    .expect("json");
    assert_eq!(body["date"], "2027-01-04", "{body}");
    assert!(body["known_years"]
        .as_array()
        .is_some_and(|y| y.contains(&json!(2027))));
}

both_backends!(a_walk_in_application_at_the_counter_counts_one_trip, |app| {
    let window = app.staff_token("clerk", Role::Window, None).await;
    // The clerk fills the form for a citizen without an account, with the papers scanned.
    let mut body = crate::applications::complete_application(&app, &window, "newborn").await;
    body["applicant"] = json!({"kind": "citizen", "name": "陈阿婆", "id_number": "11010519491231002X", "phone": "13512345678"});
    // The applicant's name and ID number in the form are the walk-in applicant's, filled in
    // from the identity the clerk registers.
    for key in ["applicant_name", "id_number"] {
        body["data"].as_object_mut().expect("data").remove(key);
    }
    let (status, created, _) = act(&app, &window, "/api/v1/cases/counter", None, body.clone()).await;
    assert_eq!(
        (status, created["code"].as_str()),
        (400, Some("idempotency_key_missing"))
    );
    let resp = app
        .client
        .post(format!("{}/api/v1/cases/counter", app.address))
        .bearer_auth(&window)
        .header("Idempotency-Key", "walk-in-1")
        .json(&body)
        .send()
        .await
        .expect("counter");
    let status = resp.status().as_u16();
    let created: Value = resp.json().await.expect("json");
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["channel"], "window");
    let receipt = created["receipt_no"].as_str().expect("receipt");
    let (case, _) = detail(&app, &window, receipt).await;
    assert_eq!(case["trips"], 1, "a counter submission is one trip");
    let mut bad = body.clone();
    bad["applicant"]["id_number"] = json!("110105194912310021");
    let resp = app
        .client
        .post(format!("{}/api/v1/cases/counter", app.address))
        .bearer_auth(&window)
        .header("Idempotency-Key", "walk-in-2")
        .json(&bad)
        .send()
        .await
        .expect("counter");
    assert_eq!(resp.status().as_u16(), 422);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["errors"][0]["field"], "applicant.id_number", "{err}");
});

both_backends!(
    a_case_left_without_acceptance_or_notice_is_deemed_accepted,
    |app| {
        let (_, receipt, _) = submitted_case(&app).await;
        back_date(&app, &receipt);
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (case, tag) = detail(&app, &window, &receipt).await;
        assert_eq!(
            case["status"], "in_progress",
            "deemed accepted and dispatched: {case}"
        );
        assert!(case["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|e| e["action"] == "deemed_accept"));
        let (status, _, _) = act(
            &app,
            &window,
            &format!("/api/v1/cases/{receipt}/accept"),
            Some(&tag),
            json!({}),
        )
        .await;
        assert_eq!(status, 409, "nothing left to accept");
    }
);

/// Back-dates a case's submission to Monday 2026-11-02: five working days end on 11-09.
pub fn back_date(app: &TestApp, receipt: &str) {
    use diesel::prelude::*;
    use onething::db::schema::cases;
    let mut conn = app.db.get().expect("connection");
    let submitted = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("date");
    let stored: String = cases::table
        .filter(cases::receipt_no.eq(receipt))
        .select(cases::workflow)
        .first(&mut *conn)
        .expect("workflow");
    let mut wf: Value = serde_json::from_str(&stored).expect("json");
    wf["submitted_at"] = json!("2026-11-02T09:00:00");
    wf["events"][0]["at"] = json!("2026-11-02T09:00:00");
    diesel::update(cases::table.filter(cases::receipt_no.eq(receipt)))
        .set((
            cases::submitted_at.eq(submitted),
            cases::workflow.eq(wf.to_string()),
        ))
        .execute(&mut *conn)
        .expect("back-date");
}

both_backends!(
    each_part_is_due_by_its_items_promise_and_the_case_by_its_latest_part,
    |app| {
        let (_, receipt, _) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (case, tag) = detail(&app, &window, &receipt).await;
        assert!(
            case["part_dues"].as_array().is_some_and(Vec::is_empty),
            "nothing is due before acceptance: {}",
            case["part_dues"]
        );
        let (status, _, _) = act(
            &app,
            &window,
            &format!("/api/v1/cases/{receipt}/accept"),
            Some(&tag),
            json!({}),
        )
        .await;
        assert_eq!(status, 200);
        let (case, _) = detail(&app, &window, &receipt).await;
        let today = app.clock.today().to_string();
        let mut latest = String::new();
        for part in case["case"]["sub_cases"].as_array().expect("parts") {
            let item = part["item"].as_str().expect("item");
            let (_, def) = app.get_json(&format!("/api/v1/items/{item}")).await;
            let days = def["promised_time_limit_days"].as_i64().expect("promise");
            let (_, expected) = app
                .get_json(&format!(
                    "/api/v1/calendar/add-working-days?from={today}&days={days}"
                ))
                .await;
            let expected = expected["date"].as_str().expect("date").to_owned();
            let due = case["part_dues"]
                .as_array()
                .expect("dues")
                .iter()
                .find(|d| d["id"] == part["id"])
                .and_then(|d| d["due_date"].as_str())
                .unwrap_or_else(|| panic!("no due date for part {}", part["id"]));
            assert_eq!(due, expected, "{item}: {days} working days from {today}");
            latest = latest.max(expected);
        }
        assert_eq!(
            case["due_date"].as_str(),
            Some(latest.as_str()),
            "the case is due with its latest part"
        );
    }
);

both_backends!(
    a_decision_form_that_comes_back_keeps_the_denial_and_never_approves_by_default,
    |app| {
        let (_, receipt, created) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, tag) = detail(&app, &window, &receipt).await;
        let (status, body, _) = act(
            &app,
            &window,
            &format!("/api/v1/cases/{receipt}/accept"),
            Some(&tag),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let part = &created["sub_cases"][0];
        let (id, dept) = (
            part["id"].as_i64().expect("id").to_string(),
            part["department"].as_str().expect("dept"),
        );
        app.staff_token("rev", Role::Reviewer, Some(dept)).await;
        let (client, csrf) = page_login(&app, "rev", PASSWORD).await;
        let decide = |decision: &'static str, opinion: &'static str, version: String| {
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", csrf.clone())
                .text("version", version)
                .text("sub_case", id.clone())
                .text("decision", decision)
                .text("opinion", opinion);
            client
                .post(format!("{}/staff/cases/{receipt}/decide", app.address))
                .multipart(form)
                .send()
        };
        let version = |page: &str| crate::helpers::input_value(page, "version");
        let page = client
            .get(format!("{}/staff/cases/{receipt}", app.address))
            .send()
            .await
            .expect("case")
            .text()
            .await
            .expect("html");
        assert!(
            page.contains("name=\"decision\" value=\"approve\" required>")
                && !page.contains(" checked> 同意"),
            "nothing is chosen before the reviewer chooses"
        );
        let v = version(&page);

        let resp = decide("deny", "", v.clone()).await.expect("post");
        assert_eq!(resp.status().as_u16(), 422, "a denial needs an opinion");
        let page = resp.text().await.expect("html");
        assert!(
            page.contains("value=\"deny\" checked> 不予批准"),
            "the page comes back with 不予批准 still chosen"
        );

        let resp = decide("", "材料不全", v.clone()).await.expect("post");
        assert_eq!(resp.status().as_u16(), 422);
        let page = resp.text().await.expect("html");
        assert!(
            page.contains("请选择审批决定"),
            "no choice is refused, not approved"
        );
        assert!(page.contains(">材料不全</textarea>"), "the typed opinion is kept");

        let resp = decide("deny", "材料不全，不予批准", v).await.expect("post");
        assert_eq!(resp.status().as_u16(), 303);
        let (case, _) = detail(&app, &window, &receipt).await;
        let decided = case["sub_cases"]
            .as_array()
            .expect("parts")
            .iter()
            .find(|s| s["id"].as_i64().map(|i| i.to_string()) == Some(id.clone()))
            .expect("the part");
        assert_eq!(
            decided["status"], "denied",
            "the denial is recorded as a denial: {decided}"
        );
    }
);

both_backends!(
    a_supplement_notice_names_only_fields_and_materials_of_the_case,
    |app| {
        let (citizen, receipt, _) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, tag) = detail(&app, &window, &receipt).await;
        let path = format!("/api/v1/cases/{receipt}/supplement");
        for target in ["子女姓名", "foo_bar", "materials.no-such-material"] {
            let (status, body, _) = act(
                &app,
                &window,
                &path,
                Some(&tag),
                json!({"items": [{"target": target, "reason": "与出生医学证明不一致"}]}),
            )
            .await;
            assert_eq!(
                status, 422,
                "{target:?} is not a field or material of this case: {body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(target), "the error names {target:?}: {body}");
        }
        let (status, body, _) = act(
            &app,
            &window,
            &path,
            Some(&tag),
            json!({"items": [{"target": "child_name", "reason": "与出生医学证明不一致"}]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, page) = {
            let resp = app
                .client
                .get(format!("{}/applications/{receipt}", app.address))
                .header("Cookie", format!("onething_session={citizen}"))
                .send()
                .await
                .expect("page");
            (resp.status().as_u16(), resp.text().await.expect("html"))
        };
        assert_eq!(status, 200);
        assert!(
            page.contains("与出生医学证明不一致"),
            "the citizen's case page shows the open notice"
        );
    }
);

both_backends!(any_text_as_a_receipt_number_is_a_404_never_a_crash, |app| {
    use proptest::strategy::{Strategy, ValueTree};
    let (citizen, receipt, _) = submitted_case(&app).await;
    let window = app.staff_token("clerk", Role::Window, None).await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strings = "\\PC{1,40}";
    let mut tried = vec![
        format!("{receipt}中"),
        receipt.to_lowercase(),
        "CL２０２６１２０７０００００１".to_owned(),
        "../../etc/passwd".to_owned(),
    ];
    for _ in 0..60 {
        tried.push(strings.new_tree(&mut runner).expect("a string").current());
    }
    for r in tried {
        let encoded: String = url::form_urlencoded::byte_serialize(r.as_bytes()).collect();
        let encoded = encoded.replace('+', "%20");
        for (path, token) in [
            (format!("/api/v1/cases/{encoded}"), &window),
            (format!("/api/v1/applications/{encoded}"), &citizen),
        ] {
            let resp = app
                .client
                .get(format!("{}{path}", app.address))
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 404, "{path} ({r:?}): {body}");
            assert_eq!(body["code"], "not_found", "{path}: {body}");
        }
        let page = app
            .client
            .get(format!("{}/applications/{encoded}", app.address))
            .header("Cookie", format!("onething_session={citizen}"))
            .send()
            .await
            .expect("page");
        assert_eq!(page.status().as_u16(), 404, "/applications/{r:?}");
    }
});

both_backends!(
    a_trip_for_a_supplement_is_recorded_by_the_clerk_who_received_it,
    |app| {
        let (citizen, receipt, _) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let visit = format!("/api/v1/cases/{receipt}/supplement-visit");
        let (_, tag) = detail(&app, &window, &receipt).await;
        let (status, body, _) = act(&app, &window, &visit, Some(&tag), json!({})).await;
        assert_eq!(status, 422, "no 补正, no 补正 visit: {body}");

        let (status, body, tag) = act(
            &app,
            &window,
            &format!("/api/v1/cases/{receipt}/supplement"),
            Some(&tag),
            json!({"items": [{"target": "child_name", "reason": "与出生医学证明不一致"}]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // The applicant's own resubmission says nothing about trips, whatever it claims.
        let (status, body, tag) = act(
            &app,
            &citizen,
            &format!("/api/v1/applications/{receipt}/resubmit"),
            tag.as_deref(),
            json!({"data": {"child_name": "林小满"}, "in_person": true}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["trips"], 0, "an applicant cannot declare a trip: {body}");

        let (status, body, _) = act(&app, &citizen, &visit, tag.as_deref(), json!({})).await;
        assert_eq!(status, 403, "only staff record a visit: {body}");
        let (status, body, _) = act(&app, &window, &visit, tag.as_deref(), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["trips"], 1, "{body}");
        let (case, _) = detail(&app, &window, &receipt).await;
        let last = case["timeline"]
            .as_array()
            .and_then(|t| t.last())
            .expect("an event");
        assert!(
            last["detail"].as_str().unwrap_or_default().contains("现场补正"),
            "the timeline says who recorded what: {last}"
        );
        assert_eq!(last["actor_role"], "综窗人员", "{last}");
    }
);

both_backends!(
    the_clerk_picks_a_supplement_notice_from_the_fields_and_materials_of_the_case,
    |app| {
        let (_, receipt, _) = submitted_case(&app).await;
        app.staff_token("clerk", Role::Window, None).await;
        let (client, csrf) = page_login(&app, "clerk", PASSWORD).await;
        let page = |client: reqwest::Client| {
            let url = format!("{}/staff/cases/{receipt}", app.address);
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .expect("case")
                    .text()
                    .await
                    .expect("html")
            }
        };
        let html = page(client.clone()).await;
        assert!(
            html.contains("name=\"pick__child_name\"")
                && html.contains("name=\"pick__materials.birth-medical-certificate\""),
            "every field and material of the case can be picked"
        );
        assert!(!html.contains("<textarea id=\"items\""), "no free-text notice");
        let version = crate::helpers::input_value(&html, "version");
        let post = |form: Vec<(&'static str, String)>| {
            let client = client.clone();
            let url = format!("{}/staff/cases/{receipt}", app.address);
            async move { client.post(url).form(&form).send().await.expect("post") }
        };
        let base = |extra: Vec<(&'static str, String)>| {
            let mut f = vec![
                ("csrf_token", csrf.clone()),
                ("version", version.clone()),
                ("action", "supplement".to_owned()),
            ];
            f.extend(extra);
            f
        };
        let resp = post(base(vec![])).await;
        assert_eq!(resp.status().as_u16(), 422);
        assert!(resp
            .text()
            .await
            .expect("html")
            .contains("请勾选需要补正的字段或材料"));

        let resp = post(base(vec![
            ("pick__foo_bar", "on".into()),
            ("reason__foo_bar", "编造的".into()),
        ]))
        .await;
        assert_eq!(resp.status().as_u16(), 422);
        assert!(resp
            .text()
            .await
            .expect("html")
            .contains("不是本办件的字段或材料"));

        let resp = post(base(vec![
            ("pick__child_name", "on".into()),
            ("reason__child_name", "与出生医学证明不一致".into()),
        ]))
        .await;
        assert_eq!(resp.status().as_u16(), 303);
        let html = page(client.clone()).await;
        assert!(html.contains("待补正"), "the notice is open");
        assert!(html.contains("与出生医学证明不一致"), "with its reason");
    }
);

both_backends!(
    the_queue_pages_with_a_true_total_and_puts_what_needs_action_first,
    |app| {
        app.register_citizen().await;
        let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
        let body = complete_application(&app, &citizen, "newborn").await;
        let mut receipts = Vec::new();
        for n in 0..3 {
            let (status, created) = submit(&app, &citizen, Some(&format!("queue-{n}")), &body).await;
            assert_eq!(status, 201, "{created}");
            receipts.push(created["receipt_no"].as_str().expect("receipt").to_owned());
        }
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, tag) = detail(&app, &window, &receipts[0]).await;
        let (status, body, _) = act(
            &app,
            &window,
            &format!("/api/v1/cases/{}/accept", receipts[0]),
            Some(&tag),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body}");

        let (status, page1) = app
            .get_auth("/api/v1/cases?per_page=2&sort=newest", &window)
            .await;
        assert_eq!(status, 200, "{page1}");
        assert_eq!(
            page1["total"], 3,
            "the true total, not the page's length: {page1}"
        );
        let first: Vec<&str> = page1["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|c| c["receipt_no"].as_str())
            .collect();
        assert_eq!(
            first,
            [receipts[2].as_str(), receipts[1].as_str()],
            "newest first"
        );
        let (_, page2) = app
            .get_auth("/api/v1/cases?per_page=2&page=2&sort=newest", &window)
            .await;
        assert_eq!(page2["items"][0]["receipt_no"], receipts[0].as_str(), "{page2}");

        // Urgent: nothing is overdue or due soon, so the cases waiting to be accepted come
        // first, newest first, and the accepted one (weeks left) after them.
        let (_, urgent) = app.get_auth("/api/v1/cases", &window).await;
        let order: Vec<&str> = urgent["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|c| c["receipt_no"].as_str())
            .collect();
        assert_eq!(
            order,
            [receipts[2].as_str(), receipts[1].as_str(), receipts[0].as_str()],
            "{urgent}"
        );

        let (_, none) = app.get_auth("/api/v1/cases?view=supplement", &window).await;
        assert_eq!(none["total"], 0, "{none}");
        let (status, bad) = app.get_auth("/api/v1/cases?sort=random&view=x", &window).await;
        assert_eq!(status, 400, "{bad}");
        let fields: Vec<&str> = bad["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&"sort") && fields.contains(&"view"), "{bad}");

        let (client, _) = page_login(&app, "clerk", PASSWORD).await;
        let html = client
            .get(format!("{}/staff/cases?per_page=2", app.address))
            .send()
            .await
            .expect("queue")
            .text()
            .await
            .expect("html");
        assert!(
            html.contains("第 1–2 件，共 3 件"),
            "the page says how many there are"
        );
        assert!(html.contains("rel=\"next\""), "and links to the next page");
        assert!(
            html.contains("aria-current=\"page\">待办<span class=\"count\">3</span>"),
            "the 待办 tab is current and counts all three"
        );
    }
);

both_backends!(the_timeline_and_the_printed_notices_name_things_in_words, |app| {
    let (_, receipt, _) = submitted_case(&app).await;
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (_, tag) = detail(&app, &window, &receipt).await;
    let (status, body, _) = act(
        &app,
        &window,
        &format!("/api/v1/cases/{receipt}/supplement"),
        Some(&tag),
        json!({"items": [{"target": "child_name", "reason": "与出生医学证明不一致"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (client, _) = page_login(&app, "clerk", PASSWORD).await;
    let get = |path: String| {
        let client = client.clone();
        async move {
            let resp = client.get(path).send().await.expect("page");
            (resp.status().as_u16(), resp.text().await.expect("html"))
        }
    };
    let (_, page) = get(format!("{}/staff/cases/{receipt}", app.address)).await;
    assert!(
        page.contains("子女姓名：与出生医学证明不一致"),
        "the notice in the timeline names the field"
    );
    for code in ["child_name", "materials.", "（health）", "（police）"] {
        assert!(
            !page.contains(&format!("<small class=\"muted\">{code}")),
            "{code} shown"
        );
    }
    let (status, notice) = get(format!(
        "{}/staff/cases/{receipt}/documents/supplement",
        app.address
    ))
    .await;
    assert_eq!(status, 200);
    for expected in [
        "补正材料告知书",
        "福州市长乐区行政服务中心",
        "第三十二条第一款第（四）项",
        "子女姓名：与出生医学证明不一致",
        "（印章）",
    ] {
        assert!(notice.contains(expected), "the 补正告知书 says “{expected}”");
    }
    let (status, _) = get(format!("{}/staff/cases/{receipt}/documents/refusal", app.address)).await;
    assert_eq!(status, 404, "no refusal to print for a case not refused");
    let (_, tag) = detail(&app, &window, &receipt).await;
    let (status, body, _) = act(
        &app,
        &window,
        &format!("/api/v1/cases/{receipt}/refuse"),
        Some(&tag),
        json!({"reason": "申请事项不属于本机关职权范围"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, refusal) = get(format!("{}/staff/cases/{receipt}/documents/refusal", app.address)).await;
    assert_eq!(status, 200);
    for expected in [
        "不予受理决定书",
        "申请事项不属于本机关职权范围",
        "六十日内",
        "六个月内",
    ] {
        assert!(refusal.contains(expected), "the 不予受理决定书 says “{expected}”");
    }
});

both_backends!(
    a_supplement_of_an_address_is_answered_with_the_region_picker,
    |app| {
        let (citizen, receipt, _) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, tag) = detail(&app, &window, &receipt).await;
        let (status, body, _) = act(
            &app,
            &window,
            &format!("/api/v1/cases/{receipt}/supplement"),
            Some(&tag),
            json!({"items": [{"target": "household_address", "reason": "与户口簿不一致"}]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let page = app
            .client
            .get(format!("{}/applications/{receipt}", app.address))
            .bearer_auth(&citizen)
            .send()
            .await
            .expect("page");
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.expect("html");
        assert!(
            html.contains("name=\"field__household_address.county\"") && html.contains(">长乐区</option>"),
            "the address is picked from the division list, starting at 长乐区"
        );
        assert!(
            html.find("需要补正").unwrap_or(usize::MAX) < html.find("办理部门").unwrap_or(0),
            "the open notice comes before the general text"
        );
    }
);
