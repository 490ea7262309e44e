//! Walk-in registration at the counter, activation codes, result documents, the
//! applicant's 补正 form, inbox and e-certificates, and the deemed-acceptance sweep, on
//! both backends.

use onething::auth::Role;
use serde_json::{json, Value};

use crate::applications::{complete_application, upload, PDF};
use crate::both_backends;
use crate::cases::{act, back_date, detail, submitted_case};
use crate::helpers::{TestApp, PASSWORD};

const CSRF: &str = "csrf-token-for-the-tests-0123456789abcdef";
const WALK_IN_ID: &str = "11010519491231002X";

fn cookies(token: &str) -> String {
    format!("onething_session={token}; onething_csrf={CSRF}")
}

async fn page_post(app: &TestApp, token: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let mut fields = vec![("csrf_token", CSRF)];
    fields.extend_from_slice(form);
    let resp = app
        .client
        .post(format!("{}{path}", app.address))
        .header("cookie", cookies(token))
        .form(&fields)
        .send()
        .await
        .expect("page post");
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

async fn page_get(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let resp = app
        .client
        .get(format!("{}{path}", app.address))
        .header("cookie", cookies(token))
        .send()
        .await
        .expect("page get");
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

async fn counter_submit(app: &TestApp, window: &str, key: &str) -> Value {
    let mut body = complete_application(app, window, "newborn").await;
    body["applicant"] =
        json!({"kind": "citizen", "name": "陈阿婆", "id_number": WALK_IN_ID, "phone": "13512345678"});
    // The form's applicant is the walk-in applicant, filled in from the registered identity.
    for key in ["applicant_name", "id_number"] {
        body["data"].as_object_mut().expect("data").remove(key);
    }
    let resp = app
        .client
        .post(format!("{}/api/v1/cases/counter", app.address))
        .bearer_auth(window)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("counter");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    body
}

both_backends!(
    a_walk_in_applicant_sets_a_password_with_the_printed_activation_code,
    |app| {
        let window = app.staff_token("clerk", Role::Window, None).await;
        let created = counter_submit(&app, &window, "walk-in-1").await;
        let code = created["activation_code"]
            .as_str()
            .unwrap_or_else(|| panic!("a new applicant gets a code: {created}"))
            .to_owned();
        assert_eq!(code.len(), 11, "XXXXX-XXXXX: {code}");
        let again = counter_submit(&app, &window, "walk-in-2").await;
        assert!(
            again.get("activation_code").is_none(),
            "a known applicant gets no new code: {again}"
        );

        let activate = |login: &'static str, code: String, password: &'static str| {
            let app = &app;
            async move {
                app.post_json(
                    "/api/v1/auth/activate",
                    None,
                    json!({"login": login, "code": code, "password": password}),
                )
                .await
            }
        };
        let (status, body) = activate(WALK_IN_ID, "AAAAA-AAAAA".into(), PASSWORD).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (422, Some("invalid_activation_code")),
            "{body}"
        );
        let (status, body) = activate(WALK_IN_ID, code.clone(), "short").await;
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (422, Some("password")),
            "{body}"
        );
        let (status, body) = activate(WALK_IN_ID, code.to_lowercase(), PASSWORD).await;
        assert_eq!(
            status, 200,
            "the code is read off paper, case does not matter: {body}"
        );
        let token = app.login(WALK_IN_ID, PASSWORD).await;
        let (status, mine) = app.get_auth("/api/v1/applications", &token).await;
        assert_eq!(status, 200);
        assert_eq!(
            mine["items"].as_array().map(Vec::len),
            Some(2),
            "the walk-in applicant sees the cases filed for them: {mine}"
        );
        let (status, _) = activate(WALK_IN_ID, code, "Another2026pass").await;
        assert_eq!(status, 422, "a code works once");
    }
);

both_backends!(
    a_clerk_fills_the_form_only_for_the_verified_counter_applicant,
    |app| {
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (status, page) = page_get(&app, &window, "/apply/newborn").await;
        assert_eq!(status, 403, "no counter session, no filing: {page}");
        let (status, page) = page_post(
            &app,
            &window,
            "/staff/counter",
            &[
                ("action", "start"),
                ("kind", "citizen"),
                ("name", "陈阿婆"),
                ("id_number", "110105194912310021"),
                ("phone", "13512345678"),
            ],
        )
        .await;
        assert_eq!(status, 422, "a bad check character is refused");
        assert!(page.contains("field-error"), "the error sits by its field");
        let (status, page) = page_post(
            &app,
            &window,
            "/staff/counter",
            &[
                ("action", "start"),
                ("kind", "citizen"),
                ("name", "陈阿婆"),
                ("id_number", WALK_IN_ID),
                ("phone", "13512345678"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("账户激活码") && page.contains("当前申请人：陈阿婆"),
            "a new applicant's code is printed once"
        );
        let (status, page) = page_get(&app, &window, "/apply/newborn/form").await;
        assert!(status == 200 || status == 303, "{status}");
        let (status, page2) = page_get(&app, &window, "/apply/newborn").await;
        assert_eq!(status, 200);
        assert!(
            page2.contains("窗口代为登记：正在为") || page.contains("窗口代为登记：正在为"),
            "the form says whom it is filled for"
        );
        let reviewer = app.staff_token("rev", Role::Reviewer, Some("health")).await;
        let (status, _) = page_get(&app, &reviewer, "/staff/counter").await;
        assert_eq!(status, 403, "reviewers do not register walk-ins");
        let (status, _) = page_get(&app, &reviewer, "/apply/newborn").await;
        assert_eq!(status, 403);
        let (status, _) = page_post(&app, &window, "/staff/counter", &[("action", "end")]).await;
        assert_eq!(status, 200);
        let (status, _) = page_get(&app, &window, "/apply/newborn").await;
        assert_eq!(status, 403, "the session ended");
    }
);

both_backends!(
    the_applicant_corrects_in_a_page_and_downloads_results_and_e_certificates,
    |app| {
        let (citizen, receipt, created) = submitted_case(&app).await;
        let window = app.staff_token("clerk", Role::Window, None).await;
        let (_, tag) = detail(&app, &window, &receipt).await;
        let path = format!("/api/v1/cases/{receipt}");
        let (status, body, tag) = act(
            &app,
            &window,
            &format!("{path}/supplement"),
            Some(&tag),
            json!({"items": [{"target": "child_name", "reason": "与出生医学证明不一致"}]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, page) = page_get(&app, &citizen, &format!("/applications/{receipt}")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("补正并重新提交") && page.contains("name=\"field__child_name\""),
            "the receipt page carries the correction form"
        );
        let version = tag.as_deref().expect("etag").trim_matches('"').to_owned();
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", CSRF)
            .text("version", version.clone())
            .text("field__child_name", "");
        let resp = app
            .client
            .post(format!("{}/applications/{receipt}/resubmit", app.address))
            .header("cookie", cookies(&citizen))
            .multipart(form)
            .send()
            .await
            .expect("resubmit");
        assert_eq!(resp.status().as_u16(), 422, "the listed field must be given");
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", CSRF)
            .text("version", version)
            .text("field__child_name", "林小满");
        let resp = app
            .client
            .post(format!("{}/applications/{receipt}/resubmit", app.address))
            .header("cookie", cookies(&citizen))
            .multipart(form)
            .send()
            .await
            .expect("resubmit");
        assert!(
            resp.url().as_str().ends_with("?resubmitted=1"),
            "back to the receipt page: {}",
            resp.url()
        );
        let (case, tag) = detail(&app, &window, &receipt).await;
        assert_eq!(
            case["status"], "submitted",
            "back at the window: {}",
            case["status"]
        );
        let (status, _, tag) = act(&app, &window, &format!("{path}/accept"), Some(&tag), json!({})).await;
        assert_eq!(status, 200);
        let mut tag = tag.expect("etag");
        let (case, _) = detail(&app, &window, &receipt).await;
        let due = case["due_date"]
            .as_str()
            .expect("due after acceptance")
            .to_owned();
        let (status, notice) = page_get(
            &app,
            &window,
            &format!("/staff/cases/{receipt}/documents/acceptance"),
        )
        .await;
        assert_eq!(status, 200);
        let (y, m, d) = (
            &due[..4],
            due[5..7].trim_start_matches('0'),
            due[8..].trim_start_matches('0'),
        );
        let due_words = format!("{y}年{m}月{d}日");
        for expected in [
            "福州市长乐区行政服务中心",
            "受理通知书",
            "第三十二条第一款第（五）项",
            receipt.as_str(),
            due_words.as_str(),
        ] {
            assert!(
                notice.contains(expected),
                "the printed acceptance notice says “{expected}”"
            );
        }

        // Each department decides; the first attaches a result document.
        let subs = created["sub_cases"].as_array().expect("subs").clone();
        let mut first_reviewer = String::new();
        for (n, s) in subs.iter().enumerate() {
            let dept = s["department"].as_str().expect("dept");
            let reviewer = app
                .staff_token(&format!("rev{n}"), Role::Reviewer, Some(dept))
                .await;
            let id = s["id"].as_i64().expect("id");
            let mut decision = json!({"decision": "approve", "opinion": "同意", "result": format!("ZS{id}")});
            if n == 0 {
                let (_, citizens) = upload(&app, &citizen, PDF, "别人的.pdf").await;
                decision["result_upload"] = citizens["id"].clone();
                let (status, body, _) = act(
                    &app,
                    &reviewer,
                    &format!("/api/v1/sub-cases/{id}/decide"),
                    Some(&tag),
                    decision.clone(),
                )
                .await;
                assert_eq!(
                    (status, body["errors"][0]["field"].as_str()),
                    (422, Some("result_upload")),
                    "only the reviewer's own upload: {body}"
                );
                let (status, doc) = upload(&app, &reviewer, PDF, "批文.pdf").await;
                assert_eq!(status, 201, "reviewers upload result documents: {doc}");
                decision["result_upload"] = doc["id"].clone();
                first_reviewer = reviewer.clone();
            }
            let (status, body, next) = act(
                &app,
                &reviewer,
                &format!("/api/v1/sub-cases/{id}/decide"),
                Some(&tag),
                decision,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            tag = next.expect("etag");
        }
        let first = subs[0]["id"].as_i64().expect("id");
        let doc_path = format!("{}/api/v1/sub-cases/{first}/result-document", app.address);
        let resp = app
            .client
            .get(&doc_path)
            .bearer_auth(&citizen)
            .send()
            .await
            .expect("document");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.bytes().await.expect("bytes").as_ref(), PDF);
        let outsider = app.staff_token("outsider", Role::Reviewer, Some("samr")).await;
        let resp = app
            .client
            .get(&doc_path)
            .bearer_auth(&outsider)
            .send()
            .await
            .expect("document");
        assert_eq!(resp.status().as_u16(), 404, "another department sees nothing");
        assert!(!first_reviewer.is_empty());

        let cert = format!("/applications/{receipt}/certificates/{first}");
        let (status, _) = page_get(&app, &citizen, &cert).await;
        assert_eq!(status, 404, "no e-certificate before delivery");
        let (status, body, _) = act(
            &app,
            &window,
            &format!("{path}/deliver"),
            Some(&tag),
            json!({"method": "e_certificate"}),
        )
        .await;
        assert_eq!((status, body["trips"].as_i64()), (200, Some(0)), "{body}");
        let (status, page) = page_get(&app, &citizen, &cert).await;
        assert_eq!(status, 200);
        assert!(
            page.contains(&format!("ZS{first}")) && page.contains("<svg"),
            "the certificate shows its number and a QR code"
        );
        let (status, page) = page_get(&app, &citizen, &format!("/applications/{receipt}")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("电子证照") && page.contains("结果文件"),
            "results are linked"
        );

        let (status, inbox) = page_get(&app, &citizen, "/messages").await;
        assert_eq!(status, 200);
        assert!(
            inbox.contains("class=\"unread\"") && inbox.contains(&receipt),
            "new messages are marked and linked"
        );
        let (_, inbox) = page_get(&app, &citizen, "/messages").await;
        assert!(
            !inbox.contains("class=\"unread\""),
            "opening the inbox marks them read"
        );
    }
);

both_backends!(
    the_sweep_deems_untouched_cases_accepted_without_anyone_opening_them,
    settings: |s: &mut onething::config::Settings| s.sweep_seconds = 1,
    |app| {
        let (_, receipt, _) = submitted_case(&app).await;
        back_date(&app, &receipt);
        let status = || {
            use diesel::prelude::*;
            use onething::db::schema::cases;
            let mut conn = app.db.get().expect("connection");
            cases::table
                .filter(cases::receipt_no.eq(&receipt))
                .select(cases::status)
                .first::<String>(&mut *conn)
                .expect("status")
        };
        let mut seen = status();
        for _ in 0..100 {
            if seen == "in_progress" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            seen = status();
        }
        assert_eq!(seen, "in_progress", "the sweep accepted the case within 10 s");
    }
);

both_backends!(a_clerks_view_of_the_applicants_own_data_is_audited, |app| {
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (status, page) = page_post(
        &app,
        &window,
        "/staff/counter",
        &[
            ("action", "start"),
            ("kind", "citizen"),
            ("name", "陈阿婆"),
            ("id_number", WALK_IN_ID),
            ("phone", "13512345678"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    // Answer the bundle's situation questions (each its first option), then open the form.
    let (_, bundle) = app.get_json("/api/v1/bundles/after-death").await;
    let answers: Vec<(String, String)> = bundle["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .filter(|q| q["show_if"].is_null())
        .map(|q| {
            (
                format!("q_{}", q["code"].as_str().expect("code")),
                q["options"][0]["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect();
    let fields: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, page) = page_post(&app, &window, "/apply/after-death/answers", &fields).await;
    assert!(status < 400, "{status}: {page}");
    let (status, page) = page_get(&app, &window, "/apply/after-death/form").await;
    assert_eq!(status, 200, "{page}");
    let admin = app.staff_token("chief", Role::Admin, None).await;
    let (_, audit) = app
        .get_auth("/api/v1/admin/audit?action=prefill_read", &admin)
        .await;
    let entry = &audit["items"][0];
    assert!(
        entry["actor"].as_str().is_some_and(|a| a.starts_with("window#"))
            && entry["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("account:"))
            && entry["detail"]
                .as_str()
                .is_some_and(|d| d.contains("id_number") && !d.contains(WALK_IN_ID)),
        "the read is audited naming the applicant, without the data itself: {audit}"
    );
});
