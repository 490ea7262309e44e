//! 好差评 through the API and the pages, on both backends: one rating per finished case by
//! its applicant, the follow-up loop of a negative rating with its appeal, and the
//! satisfaction figures.

use onething::auth::Role;
use onething::clock::Clock;
use onething::store::ratings as ratings_store;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::page_login;
use crate::helpers::{TestApp, CITIZEN_PHONE, ENTERPRISE_PHONE, PASSWORD};
use crate::metrics::{finish_through_the_api, submitted_cases};

async fn rate(app: &TestApp, token: &str, receipt: &str, body: Value) -> (u16, Value) {
    app.post_json(&format!("/api/v1/cases/{receipt}/rating"), Some(token), body)
        .await
}

fn receipt(c: &Value) -> String {
    c["receipt_no"].as_str().expect("receipt").to_owned()
}

both_backends!(
    a_negative_rating_opens_a_follow_up_that_is_visited_appealed_and_resolved,
    |app| {
        let (citizen, created) = submitted_cases(&app, "newborn", 3).await;
        let (first, second, third) = (receipt(&created[0]), receipt(&created[1]), receipt(&created[2]));

        let (status, body) = rate(&app, &citizen, &first, json!({"level": "满意"})).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (409, Some("not_finished")),
            "{body}"
        );
        for c in &created {
            finish_through_the_api(&app, c, "e_certificate").await;
        }
        let window = app.staff_token("clerk", Role::Window, None).await;
        let admin = app.staff_token("chief", Role::Admin, None).await;
        let editor = app.staff_token("editor", Role::PolicyEditor, None).await;
        app.register_enterprise().await;
        let stranger = app.login(ENTERPRISE_PHONE, PASSWORD).await;

        let (status, _) = rate(&app, &stranger, &first, json!({"level": "满意"})).await;
        assert_eq!(status, 404, "someone else's case is not found");
        let (status, _) = rate(&app, &window, &first, json!({"level": "满意"})).await;
        assert_eq!(status, 403, "staff do not rate");
        let (status, body) = rate(&app, &citizen, &first, json!({"level": "一般"})).await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (422, Some("level")),
            "{body}"
        );
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("非常满意"));
        let (status, body) = rate(
            &app,
            &citizen,
            &first,
            json!({"level": "满意", "departments": [{"department": "NOPE", "level": "满意"}]}),
        )
        .await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (422, Some("unknown_department")),
            "{body}"
        );

        let dept = created[0]["sub_cases"][0]["department"]
            .as_str()
            .expect("dept")
            .to_owned();
        let (status, body) = rate(
        &app,
        &citizen,
        &first,
        json!({"level": "基本满意", "comment": "等候时间长", "departments": [{"department": dept, "level": "不满意"}]}),
    )
    .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["rating"]["level_label"], "基本满意");
        assert_eq!(
            body["follow_up"]["status"], "open",
            "a negative department level opens a follow-up: {body}"
        );
        let id = body["follow_up"]["id"].as_i64().expect("follow-up id");
        let due = body["follow_up"]["due_date"].as_str().expect("due").to_owned();
        let today = app.clock.today();
        assert_eq!(
            due,
            onething::calendar::Calendar::shipped()
                .add_working_days(today, 5)
                .expect("calendar")
                .to_string(),
            "due in 5 working days"
        );
        let (status, body) = rate(&app, &citizen, &first, json!({"level": "非常满意"})).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (409, Some("already_rated")),
            "{body}"
        );

        let (status, list) = app.get_auth("/api/v1/ratings/follow-ups", &window).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"][0]["receipt_no"], first.as_str(), "{list}");
        assert_eq!(list["items"][0]["overdue"], false);
        for token in [&citizen, &editor] {
            let (status, _) = app.get_auth("/api/v1/ratings/follow-ups", token).await;
            assert_eq!(status, 403);
        }
        let (status, body) = app
            .get_auth("/api/v1/ratings/follow-ups?status=bogus", &window)
            .await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (400, Some("status"))
        );

        let path = format!("/api/v1/ratings/follow-ups/{id}");
        let (status, body) = app
            .post_json(
                &format!("{path}/resolve"),
                Some(&window),
                json!({"outcome": "已改"}),
            )
            .await;
        assert_eq!(status, 409, "no outcome before the return visit: {body}");
        let (status, body) = app
            .post_json(&format!("{path}/visit"), Some(&window), json!({}))
            .await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (422, Some("note")),
            "{body}"
        );
        let (status, body) = app
            .post_json(
                &format!("{path}/visit"),
                Some(&window),
                json!({"note": "电话回访，申请人反映排队久"}),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("visited")),
            "{body}"
        );
        let (status, body) = app
            .post_json(
                &format!("{path}/appeal"),
                Some(&window),
                json!({"reason": "评价针对其他部门"}),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("appealed")),
            "{body}"
        );
        let (status, _) = app
            .post_json(
                &format!("{path}/appeal/review"),
                Some(&window),
                json!({"upheld": false, "note": "不成立"}),
            )
            .await;
        assert_eq!(status, 403, "only an administrator reviews an appeal");
        let (status, body) = app
            .post_json(
                &format!("{path}/appeal/review"),
                Some(&admin),
                json!({"upheld": false, "note": "评价属实"}),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("visited")),
            "{body}"
        );
        let (status, body) = app
            .post_json(
                &format!("{path}/resolve"),
                Some(&window),
                json!({"outcome": "增设自助取号机"}),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("resolved")),
            "{body}"
        );
        assert_eq!(body["outcome"], "增设自助取号机");
        let (status, _) = app
            .post_json(&format!("{path}/visit"), Some(&window), json!({"note": "再次"}))
            .await;
        assert_eq!(status, 409, "a resolved follow-up is closed");

        let (status, body) = rate(&app, &citizen, &second, json!({"level": "very_satisfied"})).await;
        assert_eq!((status, body["follow_up"].is_null()), (201, true), "{body}");
        let (status, body) = rate(
            &app,
            &citizen,
            &third,
            json!({"level": "非常不满意", "comment": "无"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let other = body["follow_up"]["id"].as_i64().expect("id");
        let (_, o) = app.get_json("/api/v1/metrics/overview").await;
        assert_eq!(
            (o["ratings"].as_i64(), o["satisfied_ratings"].as_i64()),
            (Some(3), Some(2)),
            "{o}"
        );
        let other_path = format!("/api/v1/ratings/follow-ups/{other}");
        let (status, _) = app
            .post_json(
                &format!("{other_path}/appeal"),
                Some(&window),
                json!({"reason": "误评"}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, body) = app
            .post_json(
                &format!("{other_path}/appeal/review"),
                Some(&admin),
                json!({"upheld": true, "note": "申请人确认误评"}),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("appeal_upheld")),
            "{body}"
        );
        let (_, o) = app.get_json("/api/v1/metrics/overview").await;
        assert_eq!(
            (o["ratings"].as_i64(), o["satisfied_ratings"].as_i64()),
            (Some(2), Some(2)),
            "an upheld appeal leaves the satisfaction rate: {o}"
        );
        let months = o["months"].as_array().expect("months");
        let rated: Vec<(i64, Option<f64>)> = months
            .iter()
            .filter(|m| m["ratings"].as_i64() != Some(0))
            .map(|m| {
                (
                    m["ratings"].as_i64().unwrap_or(-1),
                    m["satisfaction_rate"].as_f64(),
                )
            })
            .collect();
        assert_eq!(
            rated,
            vec![(2, Some(1.0))],
            "the month's trend shows the counted ratings: {o}"
        );
        {
            let mut conn = app.db.get().expect("connection");
            let all = onething::store::metrics::Period {
                from: chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"),
                to: chrono::NaiveDate::from_ymd_opt(2100, 1, 1).expect("date"),
                department: None,
            };
            let counted = ratings_store::satisfaction(&mut conn, &all).expect("counts");
            let recounted = ratings_store::recount_satisfaction(&mut conn, &all).expect("recount");
            assert_eq!(counted, recounted, "the daily rating counts equal a recount");
            assert_eq!(counted.0, 2, "the excluded rating is not counted: {counted:?}");
        }
        let (status, monthly) = app.get_auth("/api/v1/ratings/monthly", &admin).await;
        assert_eq!(status, 200, "{monthly}");
        let negative: i64 = monthly["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|r| r["negative"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(
            negative, 1,
            "the department level 不满意 of the first case: {monthly}"
        );
        let (status, r) = app
            .get_auth(&format!("/api/v1/cases/{first}/rating"), &citizen)
            .await;
        assert_eq!(
            (status, r["departments"].as_array().map(Vec::len).unwrap_or(0) > 0),
            (200, true),
            "{r}"
        );
    }
);

both_backends!(the_applicant_rates_on_the_page_linked_from_the_receipt, |app| {
    let (_, created) = submitted_cases(&app, "newborn", 1).await;
    let no = receipt(&created[0]);
    let (client, _) = page_login(&app, CITIZEN_PHONE, PASSWORD).await;
    let html = client
        .get(format!("{}/applications/{no}/rating", app.address))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("办件办结后才能评价"), "{html}");
    finish_through_the_api(&app, &created[0], "e_certificate").await;
    let receipt_page = client
        .get(format!("{}/applications/{no}", app.address))
        .send()
        .await
        .expect("receipt")
        .text()
        .await
        .expect("html");
    assert!(
        receipt_page.contains(&format!("/applications/{no}/rating")),
        "the receipt links to the rating"
    );
    let html = client
        .get(format!("{}/applications/{no}/rating", app.address))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    for label in ["非常满意", "基本满意", "非常不满意", "提交评价"] {
        assert!(html.contains(label), "{label}: {html}");
    }
    let csrf = crate::helpers::input_value(&html, "csrf_token");
    let resp = client
        .post(format!("{}/applications/{no}/rating", app.address))
        .form(&[("csrf_token", csrf.as_str()), ("comment", "很好")])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 422, "a level is required");
    assert!(resp.text().await.expect("html").contains("评价等级应为"));
    let resp = client
        .post(format!("{}/applications/{no}/rating", app.address))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("level", "dissatisfied"),
            ("comment", "材料要求不清楚"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 303);
    let html = client
        .get(format!("{}/applications/{no}/rating", app.address))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("您已评价") && html.contains("不满意"), "{html}");

    app.staff_token("clerk", Role::Window, None).await;
    let (staff, csrf) = page_login(&app, "clerk", PASSWORD).await;
    let html = staff
        .get(format!("{}/staff/follow-ups", app.address))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("html");
    assert!(html.contains(&no) && html.contains("登记回访"), "{html}");
    let id = html
        .split("action=\"/staff/follow-ups/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form")
        .to_owned();
    let resp = staff
        .post(format!("{}/staff/follow-ups/{id}", app.address))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("action", "visit"),
            ("text", "已电话回访"),
        ])
        .send()
        .await
        .expect("visit");
    assert_eq!(resp.status().as_u16(), 303);
    let html = staff
        .get(format!("{}/staff/follow-ups?status=visited", app.address))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("已电话回访") && html.contains("登记整改结果"),
        "{html}"
    );
});
