//! Applying online: the merged form, drafts, uploads, idempotent submission and who may
//! read a case, on both backends.

use onething::auth::Role;
use onething::clock::Clock;
use serde_json::{json, Value};

use crate::both_backends;
use crate::catalogue_api::has_chinese;
use crate::helpers::{TestApp, CITIZEN_PHONE, PASSWORD};

/// A real one-page PDF: uploads must parse as what they claim to be.
pub const PDF: &[u8] = include_bytes!("../fixtures/one-page.pdf");

/// A valid value for a merged-form field.
pub fn sample(field: &Value) -> Value {
    let key = field["key"].as_str().unwrap_or("");
    match field["type"].as_str().unwrap_or("text") {
        "id_number" => json!(if key.contains("spouse") || key.contains("father") {
            "44030419851231002X"
        } else {
            "110101199003071233"
        }),
        "uscc" => json!("91350100M000100Y43"),
        "mobile" => json!("13800138000"),
        "phone" => json!("0591-28921110"),
        "date" => json!(if key.contains("end") {
            "2026-06-30"
        } else if key.contains("birth") {
            // The birth date the sample ID number encodes (an id_matches rule checks it).
            "1990-03-07"
        } else {
            "2020-03-01"
        }),
        "enum" => field["options"][0]["value"].clone(),
        "integer" => json!(field["min"].as_i64().unwrap_or(1).max(1)),
        "money" => json!(format!("{}.00", field["max"].as_i64().unwrap_or(100).min(100))),
        "address" => json!({"region": "350112", "detail": "吴航街道郑和中路99号"}),
        "boolean" => json!(true),
        _ => json!("测试内容"),
    }
}

/// Answers every shown question with its first option (or, where that leaves nothing to
/// apply for, its last), then fills every field and uploads one PDF for every required
/// material.
pub async fn complete_application(app: &TestApp, token: &str, bundle: &str) -> Value {
    for pick_last in [false, true] {
        if let Some(body) = try_complete(app, token, bundle, pick_last).await {
            return body;
        }
    }
    panic!("{bundle}: no choice of answers leaves an item to apply for");
}

async fn try_complete(app: &TestApp, token: &str, bundle: &str, pick_last: bool) -> Option<Value> {
    let mut answers = serde_json::Map::new();
    let form = loop {
        let (status, form) = app
            .post_json(
                &format!("/api/v1/bundles/{bundle}/form"),
                Some(token),
                json!({"answers": answers}),
            )
            .await;
        assert_eq!(status, 200, "{form}");
        let open: Vec<&Value> = form["questions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|q| q["answer"].is_null())
            .collect();
        if open.is_empty() && !form["items"].as_array().is_none_or(Vec::is_empty) {
            break form;
        }
        if open.is_empty() {
            return None;
        }
        for q in open {
            let options = q["options"].as_array().expect("options");
            let choice = if pick_last {
                options.last()
            } else {
                options.first()
            };
            answers.insert(
                q["code"].as_str().expect("code").to_owned(),
                choice.expect("an option")["value"].clone(),
            );
        }
    };
    // As a person filling in the form: the values the account holds as shown, the rest typed.
    let mut data = serde_json::Map::new();
    for section in form["sections"].as_array().into_iter().flatten() {
        for f in section["fields"].as_array().into_iter().flatten() {
            let key = f["key"].as_str().expect("key");
            let value = match &form["prefill"][key] {
                Value::Null => sample(f),
                held => held.clone(),
            };
            data.insert(key.to_owned(), value);
        }
    }
    let mut materials = serde_json::Map::new();
    for m in form["materials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["required"] == true)
    {
        let id = upload(app, token, PDF, "材料.pdf").await.1["id"].clone();
        materials.insert(m["code"].as_str().expect("code").to_owned(), json!([id]));
    }
    Some(json!({"bundle": bundle, "answers": answers, "data": data, "materials": materials}))
}

pub async fn upload(app: &TestApp, token: &str, bytes: &[u8], name: &str) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned());
    let resp = app
        .client
        .post(format!("{}/api/v1/uploads", app.address))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn submit(app: &TestApp, token: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/api/v1/applications", app.address))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.expect("submit");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

both_backends!(
    the_merged_form_lists_items_fields_once_and_shared_materials_once,
    |app| {
        let (status, form) = app
            .post_json("/api/v1/bundles/newborn/form", None, json!({"answers": {}}))
            .await;
        assert_eq!(status, 200, "{form}");
        assert!(form["items"].as_array().is_some_and(|i| i.len() >= 2));
        let mut keys = Vec::new();
        for s in form["sections"].as_array().expect("sections") {
            assert!(s["title"].is_string());
            for f in s["fields"].as_array().expect("fields") {
                for k in ["key", "label", "type", "required", "items"] {
                    assert!(!f[k].is_null(), "field lacks {k}: {f}");
                }
                keys.push(f["key"].as_str().expect("key").to_owned());
            }
        }
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(n, keys.len(), "every field once");
        for m in form["materials"].as_array().expect("materials") {
            for k in ["code", "name", "required", "items"] {
                assert!(!m[k].is_null(), "material lacks {k}: {m}");
            }
        }
        let (status, body) = app
            .post_json(
                "/api/v1/bundles/newborn/form",
                None,
                json!({"answers": {"nope": "x"}}),
            )
            .await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (422, Some("unknown_question"))
        );
        let (status, _) = app
            .post_json("/api/v1/bundles/no-such/form", None, json!({}))
            .await;
        assert_eq!(status, 404);
    }
);

/// The signature and header chunk of a PNG image of the given size.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

both_backends!(uploads_are_typed_by_content_limited_in_size_and_private, |app| {
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let (status, body) = upload(&app, &token, PDF, "证明.pdf").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["content_type"], "application/pdf");
    assert_eq!(body["size"], PDF.len());
    assert_eq!(body["sha256"].as_str().map(str::len), Some(64));
    let (status, body) = upload(&app, &token, b"just text, named .pdf", "fake.pdf").await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("unsupported_type"))
    );
    let big = vec![0xFFu8; 2 * 1024 * 1024];
    let (status, body) = upload(&app, &token, &big, "big.jpg").await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = upload(&app, &token, &png_header(1, 1), "photo.png").await;
    assert_eq!(
        (status, body["content_type"].as_str()),
        (201, Some("image/png")),
        "{body}"
    );
    let (status, body) = upload(&app, &token, &png_header(100_000, 100_000), "huge.png").await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("unsupported_type")),
        "{body}"
    );
    // Starts like a PDF, continues as an executable.
    let disguised = [&b"%PDF-1.4\n"[..], b"\x7fELF\x02\x01\x01", &[0u8; 64]].concat();
    let (status, body) = upload(&app, &token, &disguised, "证明.pdf").await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("unsupported_type")),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("不是完整有效的 PDF")),
        "the refusal says why: {body}"
    );
    let (status, _) = app.post_json("/api/v1/uploads", None, json!({})).await;
    assert_eq!(status, 401, "uploads need an account");
});

both_backends!(drafts_are_saved_and_resumed_on_another_device, |app| {
    app.register_citizen().await;
    let phone = app.login(CITIZEN_PHONE, PASSWORD).await;
    let resp = app
        .client
        .put(format!("{}/api/v1/drafts/newborn", app.address))
        .bearer_auth(&phone)
        .json(&json!({"answers": {"child_insurance": "yes"}, "data": {"child_name": "林小满", "mobile": "not a phone yet"}}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status().as_u16(), 200);
    let laptop = app.login(crate::helpers::CITIZEN_ID, PASSWORD).await;
    let (status, draft) = app.get_auth("/api/v1/drafts/newborn", &laptop).await;
    assert_eq!(status, 200);
    assert_eq!(draft["data"]["child_name"], "林小满");
    assert_eq!(
        draft["data"]["mobile"], "not a phone yet",
        "a draft keeps what was typed, valid or not"
    );
    assert_eq!(draft["answers"]["child_insurance"], "yes");
});

both_backends!(a_submission_is_idempotent_and_split_per_department, |app| {
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let body = complete_application(&app, &token, "newborn").await;
    let (status, resp) = submit(&app, &token, None, &body).await;
    assert_eq!(
        (status, resp["code"].as_str()),
        (400, Some("idempotency_key_missing"))
    );
    let (status, first) = submit(&app, &token, Some("key-1"), &body).await;
    assert_eq!(status, 201, "{first}");
    let receipt = first["receipt_no"].as_str().expect("receipt").to_owned();
    assert!(
        receipt.len() == 16 && receipt.starts_with("CL") && receipt[2..].chars().all(|c| c.is_ascii_digit()),
        "{receipt}"
    );
    assert_eq!(first["status"], "submitted");
    let (_, form) = app
        .post_json(
            "/api/v1/bundles/newborn/form",
            Some(&token),
            json!({"answers": body["answers"]}),
        )
        .await;
    let items: Vec<&str> = form["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let subs = first["sub_cases"].as_array().expect("sub cases");
    assert_eq!(
        subs.iter().filter_map(|s| s["item"].as_str()).collect::<Vec<_>>(),
        items,
        "one sub-case per included item"
    );
    assert!(subs
        .iter()
        .all(|s| s["department"].is_string() && s["status"] == "pending"));

    let (status, replay) = submit(&app, &token, Some("key-1"), &body).await;
    assert_eq!(status, 201);
    assert_eq!(replay, first, "a replay returns the original response");
    let mut other = body.clone();
    other["data"]["child_name"] = json!("另一个名字");
    let (status, resp) = submit(&app, &token, Some("key-1"), &other).await;
    assert_eq!(
        (status, resp["errors"][0]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (_, mine) = app.get_auth("/api/v1/applications", &token).await;
    assert_eq!(mine["total"], 1, "the replay created no second case");

    // A key whose request is still being processed.
    let hash = onething::web::apply::service::request_hash(&other);
    let (_, me) = app.get_auth("/api/v1/me", &token).await;
    let account = me["id"].as_i64().expect("id");
    let mut conn = app.db.get().expect("conn");
    onething::store::applications::begin_idempotent(
        &mut conn,
        account,
        "key-2",
        &hash,
        app.clock.now_utc(),
        chrono::Duration::seconds(60),
    )
    .expect("begin");
    drop(conn);
    let (status, resp) = submit(&app, &token, Some("key-2"), &other).await;
    assert_eq!(
        (status, resp["errors"][0]["code"].as_str()),
        (409, Some("idempotency_in_flight"))
    );

    let (status, case) = app
        .get_auth(&format!("/api/v1/applications/{receipt}"), &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        case["data"]["id_number"], "110101199003071233",
        "the owner sees own data"
    );
    assert_eq!(case["sub_cases"].as_array().map(Vec::len), Some(items.len()));
});

both_backends!(bad_submissions_get_field_errors_and_write_nothing, |app| {
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let mut body = complete_application(&app, &token, "newborn").await;
    body["data"]["mobile"] = json!("123");
    body["data"]["surprise"] = json!("x");
    let first_material = body["materials"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("a material");
    body["materials"][&first_material] = json!([]);
    let (status, resp) = submit(&app, &token, Some("bad-1"), &body).await;
    assert_eq!(status, 422, "{resp}");
    let errors = resp["errors"].as_array().expect("errors");
    for (field, code) in [
        ("mobile", "invalid_mobile"),
        ("surprise", "unknown_field"),
        (&*format!("materials.{first_material}"), "required"),
    ] {
        assert!(
            errors.iter().any(|e| e["field"] == field && e["code"] == code),
            "no {code} on {field}: {resp}"
        );
    }
    assert!(errors
        .iter()
        .all(|e| e["message"].as_str().is_some_and(has_chinese)));
    // Someone else's upload cannot be linked.
    let (_, body2) = app
        .post_json("/api/v1/auth/register", None, json!({"kind": "citizen", "name": "李四", "id_number": "44030419851231002X", "phone": "13700137000", "password": PASSWORD}))
        .await;
    assert_eq!(body2["role"], "citizen");
    let other = app.login("13700137000", PASSWORD).await;
    let foreign = upload(&app, &other, PDF, "x.pdf").await.1["id"].clone();
    let mut body = complete_application(&app, &token, "newborn").await;
    body["materials"][&first_material] = json!([foreign]);
    let (status, resp) = submit(&app, &token, Some("bad-2"), &body).await;
    assert_eq!(
        (status, resp["errors"][0]["code"].as_str()),
        (422, Some("unknown_upload"))
    );
    let (_, mine) = app.get_auth("/api/v1/applications", &token).await;
    assert_eq!(mine["total"], 0, "nothing was written");
    // The key of a refused request is free again.
    let (status, _) = submit(
        &app,
        &token,
        Some("bad-2"),
        &complete_application(&app, &token, "newborn").await,
    )
    .await;
    assert_eq!(status, 201);
});

both_backends!(only_the_owner_and_staff_with_a_reason_can_read_a_case, |app| {
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let body = complete_application(&app, &token, "newborn").await;
    let (_, created) = submit(&app, &token, Some("k"), &body).await;
    let receipt = created["receipt_no"].as_str().expect("receipt").to_owned();
    let path = format!("/api/v1/applications/{receipt}");
    app.post_json("/api/v1/auth/register", None, json!({"kind": "citizen", "name": "李四", "id_number": "44030419851231002X", "phone": "13700137000", "password": PASSWORD})).await;
    let stranger = app.login("13700137000", PASSWORD).await;
    assert_eq!(
        app.get_auth(&path, &stranger).await.0,
        404,
        "another citizen learns nothing"
    );
    let window = app.staff_token("clerk", Role::Window, None).await;
    let (status, seen) = app.get_auth(&path, &window).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen["data"]["id_number"], "110101199003071233",
        "window staff see the case unmasked"
    );
    let dept = created["sub_cases"][0]["department"]
        .as_str()
        .expect("dept")
        .to_owned();
    let reviewer = app.staff_token("rev", Role::Reviewer, Some(&dept)).await;
    let (status, part) = app.get_auth(&path, &reviewer).await;
    assert_eq!(status, 200);
    assert!(
        part["sub_cases"]
            .as_array()
            .expect("parts")
            .iter()
            .all(|p| p["department"] == dept.as_str()),
        "only their department's part"
    );
    assert_eq!(part["data"], json!({}), "not the whole merged form");
    let other_dept = if dept == "samr" { "tax" } else { "samr" };
    let outsider = app.staff_token("rev2", Role::Reviewer, Some(other_dept)).await;
    assert_eq!(app.get_auth(&path, &outsider).await.0, 404);
    let admin = app.staff_token("boss", Role::Admin, None).await;
    let (_, audit) = app.get_auth("/api/v1/admin/audit?action=unmask", &admin).await;
    assert!(
        audit["total"].as_i64().unwrap_or(0) >= 2,
        "staff views are audited: {audit}"
    );
});

both_backends!(concurrent_submissions_all_succeed_with_distinct_receipts, |app| {
    app.register_citizen().await;
    let token = app.login(CITIZEN_PHONE, PASSWORD).await;
    let body = complete_application(&app, &token, "newborn").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (client, address, token, body) = (
            app.client.clone(),
            app.address.clone(),
            token.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(format!("{address}/api/v1/applications"))
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("parallel-{i}"))
                .json(&body)
                .send()
                .await
                .expect("submit");
            let status = resp.status().as_u16();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            (status, v["receipt_no"].as_str().unwrap_or("").to_owned(), v)
        }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        let (status, receipt, v) = t.await.expect("task");
        assert_eq!(status, 201, "{v}");
        receipts.push(receipt);
    }
    receipts.sort();
    receipts.dedup();
    assert_eq!(receipts.len(), 12, "distinct receipt numbers");
});

both_backends!(every_bundle_of_the_catalogue_can_be_applied_for_online, |app| {
    app.register_citizen().await;
    let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
    app.register_enterprise().await;
    let enterprise = app.login(crate::helpers::ENTERPRISE_USCC, PASSWORD).await;
    let (_, list) = app.get_json("/api/v1/bundles?per_page=200").await;
    let bundles = list["items"].as_array().expect("bundles");
    for (n, b) in bundles.iter().enumerate() {
        let code = b["code"].as_str().expect("code");
        let token = if b["audience"] == "enterprise" {
            &enterprise
        } else {
            &citizen
        };
        let body = complete_application(&app, token, code).await;
        let (status, resp) = submit(&app, token, Some(&format!("all-{n}")), &body).await;
        assert_eq!(status, 201, "{code}: {resp}");
        assert!(
            !resp["sub_cases"].as_array().is_none_or(Vec::is_empty),
            "{code}: no sub-case"
        );
    }
});

both_backends!(
    uploads_stream_to_disk_under_a_per_account_cap_and_leave_nothing_behind_when_refused,
    |app| {
        use tokio::io::AsyncWriteExt;
        app.register_citizen().await;
        let token = app.login(CITIZEN_PHONE, PASSWORD).await;

        // Over the limit (1 MB in the tests): refused as it streams, no temporary file left.
        let big = vec![b'%'; 1024 * 1024 + 10];
        let (status, body) = upload(&app, &token, &big, "big.pdf").await;
        assert_eq!(status, 413, "{body}");
        let tmp = app.settings.data_dir.join("uploads").join("tmp");
        let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "nothing remains of a refused upload");

        // Three uploads that never finish hold the account's three slots.
        let host = app.address.trim_start_matches("http://").to_owned();
        let mut held = Vec::new();
        for n in 0..3 {
            let mut s = tokio::net::TcpStream::connect(&host).await.expect("connect");
            let part = format!(
                "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow{n}.pdf\"\r\n\
                 Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
            );
            let head = format!(
                "POST /api/v1/uploads HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 500000\r\n\r\n{part}"
            );
            s.write_all(head.as_bytes()).await.expect("send the start");
            held.push(s);
        }
        // Let the server take up the three before probing: a probe racing them could take a
        // slot first and have one of the held uploads refused instead.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut refused = None;
        for _ in 0..50 {
            let (status, body) = upload(&app, &token, PDF, "one.pdf").await;
            if status == 429 {
                refused = Some(body);
                break;
            }
            assert_eq!(status, 201, "{body}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let body = refused.expect("a fourth upload at once is refused");
        assert!(
            body["message"].as_str().unwrap_or_default().contains("正在上传"),
            "{body}"
        );
        app.register_enterprise().await;
        let other = app.login(crate::helpers::ENTERPRISE_USCC, PASSWORD).await;
        let (status, body) = upload(&app, &other, PDF, "other.pdf").await;
        assert_eq!(status, 201, "another account is not held up: {body}");

        drop(held);
        let mut ok = false;
        for _ in 0..50 {
            if upload(&app, &token, PDF, "one.pdf").await.0 == 201 {
                ok = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(ok, "the slots are free again once the held uploads are gone");
    }
);

both_backends!(
    the_applicant_is_the_account_holder_unless_the_case_is_filed_as_a_declared_agent,
    |app| {
        app.register_citizen().await;
        let citizen = app.login(CITIZEN_PHONE, PASSWORD).await;
        let mut body = complete_application(&app, &citizen, "newborn").await;
        assert_eq!(
            body["data"]["applicant_name"], "林晓明",
            "the form carries the account's name"
        );

        // Another person's name and ID number as the applicant, filed "for oneself".
        body["data"]["applicant_name"] = json!("王五");
        body["data"]["id_number"] = json!("110105198001010024");
        let (status, refused) = submit(&app, &citizen, Some("other-person"), &body).await;
        assert_eq!(status, 422, "{refused}");
        let fields: Vec<&str> = refused["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter(|e| e["code"] == "not_account_holder")
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, ["applicant_name", "id_number"], "{refused}");

        // The same as a 代办 needs the relationship, then files with the agent recorded.
        body["filing_for"] = json!("agent");
        let (status, refused) = submit(&app, &citizen, Some("agent-no-relation"), &body).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["errors"][0]["field"], "agent_relationship", "{refused}");
        body["agent_relationship"] = json!("child");
        // The agent fields are the account holder's: left empty, they are filled from it.
        for key in ["agent_name", "agent_id_number", "agent_mobile"] {
            body["data"].as_object_mut().expect("data").remove(key);
        }
        let (status, created) = submit(&app, &citizen, Some("agent"), &body).await;
        assert_eq!(status, 201, "{created}");
        let receipt = created["receipt_no"].as_str().expect("receipt");
        let window = app.staff_token("clerk", onething::auth::Role::Window, None).await;
        let (_, case) = app.get_auth(&format!("/api/v1/cases/{receipt}"), &window).await;
        assert_eq!(case["case"]["agency"]["agent_name"], "林晓明", "{case}");
        assert_eq!(case["case"]["agency"]["relationship_label"], "子女");
        assert_eq!(
            case["case"]["data"]["applicant_name"], "王五",
            "the applicant is the principal"
        );
        assert_eq!(
            case["case"]["data"]["agent_name"], "林晓明",
            "the agent is the account holder"
        );
        let page = app
            .client
            .get(format!("{}/staff/cases/{receipt}", app.address))
            .header("Cookie", format!("onething_session={window}"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(
            page.contains("由 林晓明（子女）代申请人提交"),
            "the staff console shows the 代办"
        );
    }
);
