//! The working-day calendar past the published years: provisional dates, official years
//! entered by an administrator without a restart, and every deadline path driven with the
//! application's clock in a provisional year, on both backends.

use onething::auth::Role;
use onething::clock::Clock;
use serde_json::{json, Value};

use crate::cases::{accepted_case, detail, submitted_case, Accepted};
use crate::helpers::{spawn_app_on, spawn_server, Backend, TestApp};
use crate::metrics::finish_through_the_api;

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The HTML of a page as the holder of `token` sees it.
async fn page_as(app: &TestApp, token: &str, path: &str) -> String {
    app.client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .text()
        .await
        .expect("html")
}

/// A due date for the case and every part, provisional exactly when it lies past 2026.
fn assert_dues(case: &Value, when: &str) {
    let due = case["due_date"]
        .as_str()
        .unwrap_or_else(|| panic!("{when}: no due date: {case}"));
    let provisional = case["due_date_provisional"]
        .as_bool()
        .unwrap_or_else(|| panic!("{when}: no due_date_provisional: {case}"));
    assert_eq!(provisional, due > "2026-12-31", "{when}: case due {due}");
    let parts = case["part_dues"].as_array().expect("part_dues");
    assert!(!parts.is_empty(), "{when}: every part has a due date: {case}");
    for p in parts {
        let d = p["due_date"].as_str().expect("part due date");
        assert_eq!(
            p["due_date_provisional"].as_bool(),
            Some(d > "2026-12-31"),
            "{when}: part {p}"
        );
        assert!(p["light"].is_string(), "{when}: a running part has a light: {p}");
    }
    assert!(case["light"].is_string(), "{when}: {case}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_accepted_around_and_past_the_published_years_get_due_dates() {
    for backend in BACKENDS {
        for when in ["2026-12-20 10:00", "2027-02-03 10:00", "2031-06-01 10:00"] {
            let Some(app) = spawn_app_on(backend, when).await else {
                continue;
            };
            let Accepted { window, receipt, .. } = accepted_case(&app).await;
            let (case, _) = detail(&app, &window, &receipt).await;
            assert_dues(&case, when);
            if when.starts_with("2031") {
                assert_eq!(case["due_date_provisional"], true, "{case}");
            }
            // The staff console says 预计 beside such a date.
            let page = page_as(&app, &window, &format!("/staff/cases/{receipt}")).await;
            assert_eq!(
                page.contains("预计"),
                case["due_date_provisional"] == true,
                "{when}: the staff page marks a provisional date"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_working_days_over_the_2027_spring_festival_skips_the_statutory_days() {
    let Some(app) = spawn_app_on(Backend::Sqlite, "2026-12-02 09:00").await else {
        return;
    };
    // Thu 2027-02-04 + 1: 除夕 Fri 2-5 to 初三 Mon 2-8 are statutory holidays.
    let (status, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2027-02-04&days=1")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["date"].as_str(), body["provisional"].as_bool()),
        (Some("2027-02-09"), Some(true))
    );
    let (_, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2026-06-01&days=5")
        .await;
    assert_eq!(
        (body["date"].as_str(), body["provisional"].as_bool()),
        (Some("2026-06-08"), Some(false))
    );
    let (status, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2017-06-01&days=5")
        .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("beyond_calendar")),
        "{body}"
    );

    let (status, body) = app.get_json("/api/v1/calendar/years").await;
    assert_eq!(status, 200);
    let years = body["years"].as_array().expect("years");
    let year = |y: i64| {
        years
            .iter()
            .find(|v| v["year"] == y)
            .unwrap_or_else(|| panic!("{y} listed: {body}"))
    };
    assert_eq!(year(2026)["source"], "official");
    assert_eq!(year(2027)["source"], "provisional");
    assert_eq!(year(2027)["off_days"].as_array().map(Vec::len), Some(13));
    assert_eq!(year(2027)["working_days"], json!([]));
    assert!(year(2026)["working_days"]
        .as_array()
        .is_some_and(|w| !w.is_empty()));
}

/// The 2027 notice as an administrator would type it: a long Spring Festival (2-5 to 2-12)
/// with make-up Saturdays, so that due dates in February move.
fn notice_2027() -> Value {
    let mut days = vec![json!({"name": "元旦", "date": "2027-01-01", "isOffDay": true})];
    for d in 5..=12 {
        days.push(json!({"name": "春节", "date": format!("2027-02-{d:02}"), "isOffDay": true}));
    }
    days.push(json!({"name": "春节", "date": "2027-02-20", "isOffDay": false}));
    json!({"year": 2027, "days": days, "source_note": "国办发明电〔2026〕测试号"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entering_an_official_year_moves_due_dates_and_clears_provisional_on_every_server() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_on(backend, "2027-01-20 10:00").await else {
            continue;
        };
        let Accepted {
            citizen,
            window,
            receipt,
            ..
        } = accepted_case(&app).await;
        let (before, _) = detail(&app, &window, &receipt).await;
        assert_eq!(before["due_date_provisional"], true, "{before}");
        let admin = app.staff_token("chief", Role::Admin, None).await;
        let put = |token: String, body: Value| {
            let req = app
                .client
                .put(format!("{}/api/v1/calendar/years/2027", app.address))
                .bearer_auth(token)
                .json(&body);
            async move {
                let resp = req.send().await.expect("put");
                (
                    resp.status().as_u16(),
                    resp.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let (status, _) = put(window.clone(), notice_2027()).await;
        assert_eq!(status, 403, "only administrators enter a year");
        let mut clash = notice_2027();
        clash["days"][1]["date"] = json!("2026-02-14");
        let (status, body) = put(admin.clone(), clash).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (422, Some("invalid_calendar")),
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("2026-02-14"),
            "{body}"
        );
        let mut other_year = notice_2027();
        other_year["year"] = json!(2028);
        for d in other_year["days"].as_array_mut().expect("days") {
            let date = d["date"].as_str().expect("date").replace("2027", "2028");
            d["date"] = json!(date);
        }
        let (status, body) = put(admin.clone(), other_year).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (422, Some("year_mismatch")),
            "{body}"
        );
        let (status, body) = put(admin.clone(), json!({"year": 2027, "days": []})).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (422, Some("no_off_days")),
            "{body}"
        );

        // A second server on the same database, started before the year is entered.
        let (other, _) = spawn_server(&app.settings).await;
        let (status, body) = put(admin.clone(), notice_2027()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["year"].as_i64(), body["version"].as_i64()),
            (Some(2027), Some(1))
        );
        assert_eq!(
            body["recomputed"].as_u64(),
            Some(1),
            "the open case moved: {body}"
        );

        let (after, _) = detail(&app, &window, &receipt).await;
        assert_eq!(after["due_date_provisional"], false, "{after}");
        assert!(
            after["due_date"].as_str() > before["due_date"].as_str(),
            "the longer Spring Festival moves the due date: {before} → {after}"
        );
        let timeline = after["timeline"].as_array().expect("timeline");
        let change = timeline
            .iter()
            .find(|e| e["action"] == "due_date_changed")
            .unwrap_or_else(|| panic!("the timeline records the change: {after}"));
        assert!(change["detail"]
            .as_str()
            .unwrap_or("")
            .contains(after["due_date"].as_str().unwrap_or("?")));
        let (_, messages) = app.get_auth("/api/v1/messages", &citizen).await;
        assert!(
            messages.to_string().contains("办结时限已按 2027 年"),
            "{messages}"
        );

        // The other server counts with the new year at once.
        let body: Value = reqwest::get(format!(
            "{other}/api/v1/calendar/add-working-days?from=2027-02-04&days=1"
        ))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
        assert_eq!(
            (body["date"].as_str(), body["provisional"].as_bool()),
            (Some("2027-02-15"), Some(false)),
            "{body}"
        );

        let (_, audit) = app
            .get_auth("/api/v1/admin/audit?action=calendar_year_enter", &admin)
            .await;
        assert!(audit.to_string().contains("calendar#2027"), "{audit}");
        // Entering the same year again is a new version; nothing moves twice.
        let (status, body) = put(admin.clone(), notice_2027()).await;
        assert_eq!(
            (status, body["version"].as_i64(), body["recomputed"].as_u64()),
            (200, Some(2), Some(0))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_intake_journey_runs_in_a_provisional_year() {
    for backend in BACKENDS {
        // 07:30 in Beijing is still the day before in UTC.
        let Some(app) = spawn_app_on(backend, "2031-06-02 07:30").await else {
            continue;
        };
        // Deemed acceptance: submitted Mon 2031-06-02, five working days end Mon 6-09; on
        // Tue 6-10 the case is accepted by law, as of receipt.
        let (citizen, receipt, _) = submitted_case(&app).await;
        assert!(
            receipt.contains("20310602"),
            "receipt numbers carry the Beijing date: {receipt}"
        );
        let page = page_as(&app, &citizen, &format!("/applications/{receipt}")).await;
        assert!(
            page.contains("提交时间：2031-06-02 07:3"),
            "the receipt shows Beijing time"
        );
        assert!(
            !page.contains("UTC") && !page.contains("2031-06-01 23:3"),
            "no UTC time is shown, in the timeline either"
        );
        app.staff_token("clerk", Role::Window, None).await;
        // Days pass: login tokens expire with the clock, so each day starts with a login.
        app.clock.advance(chrono::Duration::days(7));
        let window = app.login("clerk", crate::helpers::PASSWORD).await;
        let (case, _) = detail(&app, &window, &receipt).await;
        assert_eq!(
            case["status"], "submitted",
            "6-09 is still within the window: {case}"
        );
        app.clock.advance(chrono::Duration::days(1));
        let window = app.login("clerk", crate::helpers::PASSWORD).await;
        let citizen = app
            .login(crate::helpers::CITIZEN_PHONE, crate::helpers::PASSWORD)
            .await;
        let (case, _) = detail(&app, &window, &receipt).await;
        assert_eq!(case["status"], "in_progress", "deemed accepted on 6-10: {case}");
        assert_dues(&case, "2031 deemed acceptance");
        assert_eq!(case["due_date_provisional"], true);

        // Decisions, delivery and a 不满意 rating with its follow-up deadline.
        let body = crate::applications::complete_application(&app, &citizen, "newborn").await;
        let (status, more) = crate::applications::submit(&app, &citizen, Some("second"), &body).await;
        assert_eq!(status, 201, "{more}");
        finish_through_the_api(&app, &more, "e_certificate").await;
        let finished = more["receipt_no"].as_str().expect("receipt");
        let (status, body) = app
            .post_json(
                &format!("/api/v1/cases/{finished}/rating"),
                Some(&citizen),
                json!({"level": "不满意", "comment": "等待时间太长"}),
            )
            .await;
        assert_eq!(status, 201, "a rating in 2031 is accepted: {body}");
        let due = body["follow_up"]["due_date"]
            .as_str()
            .expect("follow-up due")
            .to_owned();
        let expected = onething::calendar::Calendar::shipped()
            .add_working_days(app.clock.today(), 5)
            .expect("2031 is provisional, not missing")
            .to_string();
        assert_eq!(due, expected);
        let (status, overview) = app
            .get_json("/api/v1/metrics/overview?from=2031-01-01&to=2031-12-31")
            .await;
        assert_eq!(status, 200, "{overview}");
        assert!(overview["finished_cases"].as_i64() >= Some(1), "{overview}");
        assert!(
            overview["average_handling_days"].is_number(),
            "KPI handling time is counted in a provisional year: {overview}"
        );
    }
}

/// The administrator's page: a typed year with a bad line is refused beside its field and
/// keeps what was typed; a good one takes effect and is listed with who entered it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_enters_a_year_on_the_calendar_page() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_on(backend, "2026-12-02 10:00").await else {
            continue;
        };
        app.staff_token("chief", Role::Admin, None).await;
        let (client, csrf) = crate::helpers::page_login(&app, "chief", crate::helpers::PASSWORD).await;
        let page = client
            .get(format!("{}/admin/calendar", app.address))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(
            page.contains("2027 年") && page.contains("预计（按放假办法推算）"),
            "2027 is listed as provisional"
        );
        let post = |form: Vec<(&'static str, String)>| {
            let req = client.post(format!("{}/admin/calendar", app.address)).form(&form);
            async move { req.send().await.expect("post") }
        };
        let bad = post(vec![
            ("csrf_token", csrf.clone()),
            ("year", "2027".into()),
            ("off_days", "2027-01-01 元旦\n2027-02-30 春节".into()),
            ("working_days", String::new()),
            ("source_note", String::new()),
        ])
        .await;
        assert_eq!(bad.status().as_u16(), 422);
        let html = bad.text().await.expect("html");
        assert!(
            html.contains("第 2 行") && html.contains("2027-02-30 春节"),
            "the bad line is named and kept"
        );
        let good = post(vec![
            ("csrf_token", csrf.clone()),
            ("year", "2027".into()),
            ("off_days", "2027-01-01 元旦\n2027-02-05~2027-02-12 春节".into()),
            ("working_days", "2027-02-20 春节".into()),
            ("source_note", "国办发明电〔2026〕测试号".into()),
        ])
        .await;
        assert_eq!(good.status().as_u16(), 303);
        let location = good.headers()["location"].to_str().expect("location").to_owned();
        assert!(location.contains("entered=2027&version=1"), "{location}");
        let page = client
            .get(format!("{}{location}", app.address))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(
            page.contains("已录入 2027 年节假日安排（第 1 版）"),
            "the notice confirms it"
        );
        assert!(
            page.contains("国办发明电〔2026〕测试号") && page.contains("管理员 chief"),
            "the entry is listed with who made it"
        );
        let (_, body) = app
            .get_json("/api/v1/calendar/add-working-days?from=2027-02-04&days=1")
            .await;
        assert_eq!(
            (body["date"].as_str(), body["provisional"].as_bool()),
            (Some("2027-02-15"), Some(false))
        );
        // The form refuses a request without its CSRF token.
        let forged = client
            .post(format!("{}/admin/calendar", app.address))
            .form(&[("year", "2028"), ("off_days", "2028-01-01 元旦")])
            .send()
            .await
            .expect("post");
        assert!(forged.status().is_client_error(), "no CSRF token, no change");
    }
}
