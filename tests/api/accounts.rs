//! Accounts, roles and personal-data protection, through the API and the pages, on both
//! backends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use diesel::prelude::*;
use onething::auth::Role;
use onething::clock::Clock;
use serde_json::{json, Value};

use crate::both_backends;
use crate::catalogue_api::has_chinese;
use crate::helpers::{TestApp, CITIZEN_ID, CITIZEN_PHONE, ENTERPRISE_PHONE, ENTERPRISE_USCC, PASSWORD};

both_backends!(
    a_citizen_registers_logs_in_by_phone_or_id_and_sees_own_data_unmasked,
    |app| {
        let reg = app.register_citizen().await;
        assert_eq!(reg["role"], "citizen");
        for username in [CITIZEN_PHONE, CITIZEN_ID] {
            let token = app.login(username, PASSWORD).await;
            let (status, me) = app.get_auth("/api/v1/me", &token).await;
            assert_eq!(status, 200);
            assert_eq!(
                me["id_number"], CITIZEN_ID,
                "the owner sees the ID number unmasked"
            );
            assert_eq!(me["phone"], CITIZEN_PHONE);
            assert_eq!(me["name"], "林晓明");
        }
    }
);

both_backends!(an_enterprise_registers_and_logs_in_by_uscc_or_phone, |app| {
    let reg = app.register_enterprise().await;
    assert_eq!(reg["role"], "enterprise");
    assert_eq!(reg["industry"], "62");
    assert_eq!(reg["scale"], "micro");
    for username in [ENTERPRISE_USCC, ENTERPRISE_PHONE] {
        let token = app.login(username, PASSWORD).await;
        let (_, me) = app.get_auth("/api/v1/me", &token).await;
        assert_eq!(me["uscc"], ENTERPRISE_USCC);
    }
});

both_backends!(bad_registrations_get_chinese_errors_per_field, |app| {
    let cases = [
        (
            json!({"kind": "citizen", "name": "张三", "id_number": "110105194912310021", "phone": "13800000000", "password": PASSWORD}),
            "id_number",
            "invalid_check_digit",
        ),
        (
            json!({"kind": "citizen", "name": "张三", "id_number": CITIZEN_ID, "phone": "12345", "password": PASSWORD}),
            "phone",
            "invalid_mobile",
        ),
        (
            json!({"kind": "citizen", "name": "张三", "id_number": CITIZEN_ID, "phone": "13800000001", "password": "short"}),
            "password",
            "weak_password",
        ),
        (
            json!({"kind": "citizen", "id_number": CITIZEN_ID, "phone": "13800000001", "password": PASSWORD}),
            "name",
            "required",
        ),
        (
            json!({"kind": "enterprise", "name": "某公司", "uscc": "91350100M000100Y42", "legal_representative": "甲", "contact_name": "乙", "phone": "13800000002", "industry": "62", "scale": "micro", "password": PASSWORD}),
            "uscc",
            "invalid_check_digit",
        ),
        (
            json!({"kind": "enterprise", "name": "某公司", "uscc": ENTERPRISE_USCC, "legal_representative": "甲", "contact_name": "乙", "phone": "13800000002", "industry": "ZZ", "scale": "huge", "password": PASSWORD}),
            "industry",
            "unknown_industry",
        ),
        (json!({"kind": "martian"}), "kind", "invalid_choice"),
    ];
    for (body, field, code) in cases {
        let (status, resp) = app.post_json("/api/v1/auth/register", None, body.clone()).await;
        assert_eq!(status, 422, "{body}: {resp}");
        assert_eq!(resp["code"], "validation_failed");
        let errors = resp["errors"].as_array().expect("errors");
        let e = errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no error for {field}: {resp}"));
        assert_eq!(e["code"], code, "{resp}");
        assert!(e["message"].as_str().is_some_and(has_chinese), "{resp}");
    }
    let (status, resp) = app
        .post_json("/api/v1/auth/register", None, json!("not an object"))
        .await;
    assert!(status == 400 || status == 422, "{status}: {resp}");
});

both_backends!(
    a_second_registration_with_the_same_phone_or_id_is_a_conflict,
    |app| {
        app.register_citizen().await;
        let (status, resp) = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"kind": "citizen", "name": "李四", "id_number": "44030419851231002X", "phone": CITIZEN_PHONE, "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, 409, "{resp}");
        assert_eq!(resp["errors"][0]["field"], "phone");
        let (status, resp) = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"kind": "citizen", "name": "李四", "id_number": CITIZEN_ID, "phone": "13700137000", "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, 409, "{resp}");
        assert_eq!(resp["errors"][0]["field"], "id_number");
    }
);

both_backends!(wrong_passwords_are_refused_and_then_throttled, |app| {
    app.register_citizen().await;
    let (status, resp) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": CITIZEN_PHONE, "password": "Wrong12345"}),
        )
        .await;
    assert_eq!(status, 401, "{resp}");
    assert_eq!(resp["code"], "invalid_credentials");
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": "13011112222", "password": "Wrong12345"}),
        )
        .await;
    assert_eq!(
        status, 401,
        "an unknown account looks the same as a wrong password"
    );
    for _ in 0..4 {
        app.post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": CITIZEN_PHONE, "password": "Wrong12345"}),
        )
        .await;
    }
    let resp = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&json!({"username": CITIZEN_PHONE, "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status().as_u16(),
        429,
        "even the right password waits out the lock"
    );
    let retry: i64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry > 0 && retry <= 15 * 60, "Retry-After {retry}");
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("分钟后再试")),
        "{body}"
    );
});

fn signed(app: &TestApp, claims: Value, key: &[u8]) -> String {
    let _ = app;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("sign")
}

fn app_jwt_key(app: &TestApp) -> Vec<u8> {
    let text = std::fs::read_to_string(app.settings.data_dir.join("keys").join("jwt.key")).expect("key file");
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .expect("base64")
}

both_backends!(forged_expired_wrong_audience_and_unsigned_tokens_are_401, |app| {
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let (_, me) = app.get_auth("/api/v1/me", &token).await;
    let id = me["id"].as_i64().expect("id").to_string();
    let now = app.clock.now().timestamp();
    let base = json!({"sub": id, "role": "citizen", "iss": "onething", "aud": "onething", "iat": now,
        "exp": now + 600, "jti": "x", "iat_ms": now * 1000 + 999});
    let key = app_jwt_key(&app);
    let good = signed(&app, base.clone(), &key);
    assert_eq!(
        app.get_auth("/api/v1/me", &good).await.0,
        200,
        "a correctly made token passes (control)"
    );
    let mut wrong_aud = base.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut expired = base.clone();
    expired["exp"] = json!(now - 3600);
    let mut admin_claim = base.clone();
    admin_claim["role"] = json!("admin");
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = B64.encode(base.to_string());
    for (what, t) in [
        (
            "forged with another key",
            signed(&app, base.clone(), b"another-key-another-key-another-key"),
        ),
        ("wrong audience", signed(&app, wrong_aud, &key)),
        ("expired", signed(&app, expired, &key)),
        (
            "role claim differs from the account",
            signed(&app, admin_claim, &key),
        ),
        ("alg none", format!("{header}.{payload}.")),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let (status, body) = app.get_auth("/api/v1/me", &t).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["code"], "invalid_token", "{what}");
    }
    let (status, body) = app.get_json("/api/v1/me").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")));
});

both_backends!(logout_and_password_change_revoke_earlier_tokens, |app| {
    app.register_citizen().await;
    let a = app.login(CITIZEN_PHONE, PASSWORD).await;
    let b = app.login(CITIZEN_PHONE, PASSWORD).await;
    let (status, _) = app.post_json("/api/v1/auth/logout", Some(&a), json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(app.get_auth("/api/v1/me", &a).await.0, 401, "logged-out token");
    assert_eq!(
        app.get_auth("/api/v1/me", &b).await.0,
        200,
        "another session lives on"
    );
    let (status, resp) = app
        .post_json(
            "/api/v1/auth/password",
            Some(&b),
            json!({"current_password": "Nope12345", "new_password": "NewPass2027"}),
        )
        .await;
    assert_eq!(
        (status, resp["errors"][0]["field"].as_str()),
        (422, Some("current_password"))
    );
    let (status, _) = app
        .post_json(
            "/api/v1/auth/password",
            Some(&b),
            json!({"current_password": PASSWORD, "new_password": "NewPass2027"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.get_auth("/api/v1/me", &b).await.0,
        401,
        "tokens from before the change are revoked"
    );
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": CITIZEN_PHONE, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 401, "the old password no longer works");
    let c = app.login(CITIZEN_PHONE, "NewPass2027").await;
    assert_eq!(app.get_auth("/api/v1/me", &c).await.0, 200);
});

both_backends!(every_protected_route_admits_exactly_its_roles, |app| {
    app.register_citizen().await;
    app.register_enterprise().await;
    let mut tokens: Vec<(Option<Role>, Option<String>)> = vec![
        (None, None),
        (
            Some(Role::Citizen),
            Some(app.login(CITIZEN_PHONE, PASSWORD).await),
        ),
        (
            Some(Role::Enterprise),
            Some(app.login(ENTERPRISE_USCC, PASSWORD).await),
        ),
    ];
    for (name, role, dept) in [
        ("window1", Role::Window, None),
        ("reviewer1", Role::Reviewer, Some("police")),
        ("admin1", Role::Admin, None),
        ("editor1", Role::PolicyEditor, None),
    ] {
        tokens.push((Some(role), Some(app.staff_token(name, role, dept).await)));
    }
    let admin_routes: [(&str, &str); 3] = [
        ("GET", "/api/v1/admin/users"),
        ("GET", "/api/v1/admin/audit"),
        ("POST", "/api/v1/admin/users"),
    ];
    for (role, token) in &tokens {
        // Any logged-in user may read their own account.
        let mut req = app.client.get(format!("{}/api/v1/me", app.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let status = req.send().await.expect("request").status().as_u16();
        assert_eq!(
            status,
            if role.is_some() { 200 } else { 401 },
            "GET /me as {role:?}"
        );
        for (method, path) in admin_routes {
            let mut req = if method == "GET" {
                app.client.get(format!("{}{path}", app.address))
            } else {
                app.client.post(format!("{}{path}", app.address)).json(&json!({}))
            };
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let status = req.send().await.expect("request").status().as_u16();
            let expected: &[u16] = match role {
                None => &[401],
                Some(Role::Admin) if method == "POST" => &[422],
                Some(Role::Admin) => &[200],
                Some(_) => &[403],
            };
            assert!(
                expected.contains(&status),
                "{method} {path} as {role:?}: {status}, expected {expected:?}"
            );
        }
    }
    // Pages: anonymous visitors are sent to log in; non-administrators are refused.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirect
        .get(format!("{}/admin/users", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 303);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap_or("")
        .starts_with("/login?next="));
    for (role, token) in tokens.iter().skip(1) {
        let token = token.as_deref().unwrap_or("");
        let resp = no_redirect
            .get(format!("{}/admin/users", app.address))
            .header("cookie", format!("onething_session={token}"))
            .send()
            .await
            .expect("request");
        let expected = if *role == Some(Role::Admin) { 200 } else { 403 };
        assert_eq!(resp.status().as_u16(), expected, "/admin/users as {role:?}");
    }
});

both_backends!(administrators_create_and_disable_staff_accounts, |app| {
    let admin = app.staff_token("chief", Role::Admin, None).await;
    let (status, resp) = app
        .post_json(
            "/api/v1/admin/users",
            Some(&admin),
            json!({"username": "rev.police", "password": PASSWORD, "role": "reviewer"}),
        )
        .await;
    assert_eq!(
        (status, resp["errors"][0]["field"].as_str()),
        (422, Some("department")),
        "{resp}"
    );
    let (status, resp) = app
        .post_json(
            "/api/v1/admin/users",
            Some(&admin),
            json!({"username": "rev.police", "password": PASSWORD, "role": "reviewer", "department": "nowhere"}),
        )
        .await;
    assert_eq!(
        (status, resp["errors"][0]["code"].as_str()),
        (422, Some("unknown_department"))
    );
    let (status, created) = app
        .post_json(
            "/api/v1/admin/users",
            Some(&admin),
            json!({"username": "rev.police", "password": PASSWORD, "role": "reviewer", "department": "police"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["department"], "police");
    let (status, _) = app
        .post_json(
            "/api/v1/admin/users",
            Some(&admin),
            json!({"username": "rev.police", "password": PASSWORD, "role": "window"}),
        )
        .await;
    assert_eq!(status, 409, "usernames are unique");
    let reviewer = app.login("rev.police", PASSWORD).await;
    let id = created["id"].as_i64().expect("id");
    let (status, _) = app
        .post_json(
            &format!("/api/v1/admin/users/{id}/disable"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.get_auth("/api/v1/me", &reviewer).await.0,
        401,
        "a disabled account's token stops working"
    );
    let (status, resp) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": "rev.police", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 403, "{resp}");
    let (_, audit) = app
        .get_auth("/api/v1/admin/audit?action=account_disable", &admin)
        .await;
    assert_eq!(audit["total"], 1, "{audit}");
});

both_backends!(security_events_are_audited_and_the_log_is_append_only, |app| {
    app.register_citizen().await;
    app.post_json(
        "/api/v1/auth/login",
        None,
        json!({"username": CITIZEN_PHONE, "password": "Wrong12345"}),
    )
    .await;
    app.login(CITIZEN_PHONE, PASSWORD).await;
    let admin = app.staff_token("auditor", Role::Admin, None).await;
    let (_, all) = app.get_auth("/api/v1/admin/audit?per_page=200", &admin).await;
    let entries = all["items"].as_array().expect("items");
    for (action, outcome) in [
        ("register", "success"),
        ("login", "failure"),
        ("login", "success"),
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == action && e["outcome"] == outcome),
            "no {action}/{outcome}: {all}"
        );
    }
    let text = all.to_string();
    assert!(
        !text.contains(CITIZEN_PHONE) && !text.contains(CITIZEN_ID),
        "the audit log holds no clear personal data"
    );
    let mut conn = app.db.get().expect("connection");
    let update = diesel::sql_query("UPDATE audit_log SET outcome = 'x'").execute(&mut *conn);
    assert!(update.is_err(), "UPDATE on the audit log must fail");
    let delete = diesel::sql_query("DELETE FROM audit_log").execute(&mut *conn);
    assert!(delete.is_err(), "DELETE on the audit log must fail");
});

both_backends!(personal_data_is_encrypted_in_the_database, |app| {
    app.register_citizen().await;
    app.register_enterprise().await;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let mut conn = app.db.get().expect("connection");
    let sql = match &*conn {
        onething::db::DbConn::Postgresql(_) => "SELECT CAST(a AS TEXT) AS t FROM accounts a",
        onething::db::DbConn::Sqlite(_) => {
            "SELECT COALESCE(id_number_enc,'') || '|' || COALESCE(id_number_hash,'') || '|' || COALESCE(phone_enc,'') || '|' || \
             COALESCE(phone_hash,'') || '|' || display_name || '|' || COALESCE(uscc,'') AS t FROM accounts"
        }
    };
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut *conn).expect("rows");
    assert_eq!(rows.len(), 2);
    for r in &rows {
        for secret in [CITIZEN_ID, CITIZEN_PHONE, ENTERPRISE_PHONE, &CITIZEN_ID[6..14]] {
            assert!(
                !r.t.contains(secret),
                "clear personal data {secret} in a row: {}",
                r.t
            );
        }
    }
    drop(conn);
    if let Some(url) = app.settings.database_url.as_ref().map(|u| u.expose().to_owned()) {
        if let Some(path) = url.strip_prefix("sqlite://") {
            // The file and its write-ahead log, byte for byte.
            for file in [path.to_owned(), format!("{path}-wal")] {
                let Ok(bytes) = std::fs::read(&file) else { continue };
                for secret in [CITIZEN_ID, CITIZEN_PHONE, ENTERPRISE_PHONE] {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{secret} in clear in {file}"
                    );
                }
            }
        }
    }
});

both_backends!(page_forms_without_a_matching_csrf_token_are_refused, |app| {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = client
        .post(format!("{}/login", app.address))
        .form(&[
            ("username", "x"),
            ("password", "y"),
            ("csrf_token", "forged-token-forged-token-forged-token"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status().as_u16(),
        403,
        "a login form without the CSRF cookie"
    );
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let resp = client
        .post(format!("{}/api/v1/auth/logout", app.address))
        .header("cookie", format!("onething_session={token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status().as_u16(),
        403,
        "cookie-authenticated API change without X-CSRF-Token"
    );
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.0,
        200,
        "the refused logout changed nothing"
    );
});

both_backends!(
    the_browser_flow_registers_logs_out_and_logs_in_with_cookies,
    |app| {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let form = client
            .get(format!("{}/register?kind=citizen", app.address))
            .send()
            .await
            .expect("form");
        let html = form.text().await.expect("html");
        let csrf = crate::helpers::input_value(&html, "csrf_token");
        // A bad ID number comes back beside its field, with what was typed kept.
        let resp = client
            .post(format!("{}/register", app.address))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "citizen"),
                ("name", "林晓明"),
                ("id_number", "110105194912310021"),
                ("phone", CITIZEN_PHONE),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 422);
        let html = resp.text().await.expect("html");
        assert!(
            html.contains("身份证号码校验位不正确") && html.contains("value=\"林晓明\""),
            "error beside the field"
        );
        let resp = client
            .post(format!("{}/register", app.address))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "citizen"),
                ("name", "林晓明"),
                ("id_number", CITIZEN_ID),
                ("phone", CITIZEN_PHONE),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 303);
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("onething_session="))
            .expect("session cookie")
            .to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let resp = client
            .get(format!("{}/account", app.address))
            .send()
            .await
            .expect("account");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers().get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let html = resp.text().await.expect("html");
        assert!(html.contains(CITIZEN_ID), "the owner sees the ID number");
        let resp = client
            .post(format!("{}/logout", app.address))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .expect("logout");
        assert_eq!(resp.status().as_u16(), 303);
        let resp = client
            .get(format!("{}/account", app.address))
            .send()
            .await
            .expect("account");
        assert_eq!(resp.status().as_u16(), 303, "logged out");
        let resp = client
            .post(format!("{}/login", app.address))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", CITIZEN_ID),
                ("password", "Wrong12345"),
                ("next", "/account"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp.text().await.expect("html").contains("账号或密码错误"));
        let resp = client
            .post(format!("{}/login", app.address))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", CITIZEN_ID),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(resp.headers()["location"], "/account", "no open redirect");
    }
);

both_backends!(
    an_id_number_with_a_chinese_character_is_refused_not_a_dropped_connection,
    |app| {
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                None,
                json!({"username": "1101011990030712中3", "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 401, "{body}");
        let (status, body) = app
            .post_json(
                "/api/v1/auth/register",
                None,
                json!({"kind": "citizen", "name": "林晓明", "id_number": "1101011990030712中3",
                "phone": CITIZEN_PHONE, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body.to_string().contains("invalid_format"), "{body}");
    }
);

both_backends!(
    one_account_locks_after_five_wrong_passwords_however_its_phone_is_spelled,
    |app| {
        app.register_citizen().await;
        let spellings = [
            "+86 138 0013 8000",
            "138-0013-8000",
            "+8613800138000",
            "138 0013 8000",
            CITIZEN_PHONE,
        ];
        for (n, name) in spellings.into_iter().enumerate() {
            let (status, body) = app
                .post_json(
                    "/api/v1/auth/login",
                    None,
                    json!({"username": name, "password": "Wrong12345"}),
                )
                .await;
            // The fifth failure locks the account.
            assert_eq!(status, if n < 4 { 401 } else { 429 }, "{name}: {body}");
        }
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                None,
                json!({"username": "+86-138-0013-8000", "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 429, "the sixth spelling meets the lock: {body}");
    }
);

both_backends!(a_busy_address_never_keeps_out_a_right_password, |app| {
    app.register_enterprise().await;
    for n in 0..25 {
        app.post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": format!("1301111{n:04}"), "password": "Wrong12345"}),
        )
        .await;
    }
    let (status, body) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": "13011119999", "password": "Wrong12345"}),
        )
        .await;
    assert_eq!(status, 429, "failures from the busy address are slowed: {body}");
    let (status, body) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": ENTERPRISE_USCC, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        status, 200,
        "an account that is not locked logs in from that address: {body}"
    );
});

both_backends!(
    a_client_flooding_the_server_is_answered_429_and_nobody_else_is,
    settings: |s: &mut onething::config::Settings| {
        s.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a CIDR")];
        s.rate_limit_per_minute = 60;
        s.rate_limit_burst = 5;
    },
    |app| {
        let from = |client: &'static str, path: &str| {
            app.client
                .get(format!("{}{path}", app.address))
                .header("X-Forwarded-For", client)
                .send()
        };
        for n in 0..5 {
            let res = from("203.0.113.9", "/api/v1/bundles").await.expect("request");
            assert_eq!(res.status(), 200, "request {n} is within the burst");
        }
        let res = from("203.0.113.9", "/api/v1/bundles").await.expect("request");
        assert_eq!(res.status(), 429, "the sixth request at once is over the burst");
        let retry: u64 = res.headers()["retry-after"].to_str().ok().and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
        assert!((1..=2).contains(&retry), "Retry-After {retry}");
        let body: Value = res.json().await.expect("a JSON error");
        assert_eq!(body["code"], "too_many_requests", "{body}");
        assert!(has_chinese(body["message"].as_str().unwrap_or_default()), "{body}");

        let page = from("203.0.113.9", "/").await.expect("request");
        assert_eq!(page.status(), 429);
        assert!(page.headers().contains_key("retry-after"));
        assert!(page.text().await.expect("html").contains("请求过于频繁"));

        let health = from("203.0.113.9", "/healthz").await.expect("request");
        assert_eq!(health.status(), 200, "load balancers always reach /healthz");
        let other = from("203.0.113.10", "/api/v1/bundles").await.expect("request");
        assert_eq!(other.status(), 200, "another client keeps its own budget");
        for _ in 0..10 {
            let (status, _) = app.get_json("/api/v1/bundles").await;
            assert_eq!(status, 200, "loopback itself is not limited unless asked");
        }
    }
);

both_backends!(registering_from_an_application_returns_to_it, |app| {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = client
        .get(format!("{}/login?next=/apply/newborn", app.address))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    assert!(
        login.contains("/register?kind=citizen&amp;next=%2Fapply%2Fnewborn"),
        "the login page's register link keeps where the person was going"
    );
    for (next, lands) in [
        ("/apply/newborn", "/apply/newborn"),
        ("//evil.example", "/account"),
    ] {
        let page = client
            .get(format!(
                "{}/register?kind=citizen&next={}",
                app.address,
                crate::catalogue_api::urlencode(next)
            ))
            .send()
            .await
            .expect("register page")
            .text()
            .await
            .expect("html");
        let csrf = crate::helpers::input_value(&page, "csrf_token");
        let (id, phone) = if lands == "/account" {
            ("110105198001010024", "13700137000")
        } else {
            (CITIZEN_ID, CITIZEN_PHONE)
        };
        let resp = client
            .post(format!("{}/register", app.address))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "citizen"),
                ("name", "林晓明"),
                ("id_number", id),
                ("phone", phone),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .expect("register");
        assert_eq!(resp.status().as_u16(), 303);
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(location.starts_with(lands), "{next} → {location}");
    }
});
