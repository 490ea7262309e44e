//! E-certificates as a holder, a verifier and the issuing department meet them, on both
//! backends: signed at approval, returned by number, verified by anyone (a tampered copy
//! fails), shown at /verify/{no}, revoked with a reason, and checked offline by the CLI.

use diesel::RunQueryDsl;
use onething::auth::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::cases::{accepted_case, act, detail, Accepted};
use crate::helpers::TestApp;

/// A submitted newborn case accepted at the window and its first part approved with a
/// certificate number; returns the number, the approving reviewer's token and the case.
async fn approved_with_certificate(app: &TestApp) -> (String, String, Accepted) {
    let case = accepted_case(app).await;
    let part = &case.created["sub_cases"][0];
    let dept = part["department"].as_str().expect("department");
    let reviewer = app.staff_token("rev", Role::Reviewer, Some(dept)).await;
    let id = part["id"].as_i64().expect("id");
    let no = format!("ZS-2026-{id:04}");
    let (status, body, _) = act(
        app,
        &reviewer,
        &format!("/api/v1/sub-cases/{id}/decide"),
        case.tag.as_deref(),
        json!({"decision": "approve", "opinion": "材料齐全，同意", "result": no}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (no, reviewer, case)
}

async fn verify(app: &TestApp, signed: &Value) -> (u16, Value) {
    app.post_json("/api/v1/certificates/verify", None, signed.clone())
        .await
}

both_backends!(
    an_approved_part_gets_a_signed_certificate_that_anyone_can_verify_until_it_is_revoked,
    |app| {
        let (no, reviewer, case) = approved_with_certificate(&app).await;
        let Accepted { receipt, created, .. } = case;

        let (status, signed) = app.get_json(&format!("/api/v1/certificates/{no}")).await;
        assert_eq!(status, 200, "{signed}");
        let payload = &signed["payload"];
        assert_eq!(payload["certificate_no"], no.as_str());
        assert_eq!(payload["receipt_no"], receipt.as_str());
        assert_eq!(payload["item"], created["sub_cases"][0]["item_name"]);
        assert_eq!(payload["issuer"], created["sub_cases"][0]["department_name"]);
        let id = payload["holder"]["id"].as_str().expect("holder id");
        assert!(
            id.contains('*') && !id.contains(crate::helpers::CITIZEN_ID),
            "a person's ID number is masked on a certificate anyone can fetch: {id}"
        );
        assert_eq!(
            payload["holder"]["name"], "林*明",
            "the person named in the form, the middle of the name masked"
        );
        assert!(payload["valid_until"].is_null(), "valid until revoked");

        let (status, verdict) = verify(&app, &signed).await;
        assert_eq!(status, 200);
        assert_eq!(verdict["valid"], true, "{verdict}");

        let mut tampered = signed.clone();
        tampered["payload"]["holder"]["name"] = json!("他人");
        let (_, verdict) = verify(&app, &tampered).await;
        assert_eq!(verdict["valid"], false, "a changed holder must fail: {verdict}");
        assert!(
            verdict["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("签名与内容不符"),
            "{verdict}"
        );
        let mut garbled = signed.clone();
        garbled["signature"] = json!("bm90IGEgc2lnbmF0dXJl");
        let (_, verdict) = verify(&app, &garbled).await;
        assert_eq!(verdict["valid"], false, "{verdict}");
        let (status, body) = verify(&app, &json!({"payload": payload})).await;
        assert_eq!(status, 422, "no signature is a field error: {body}");
        assert_eq!(body["errors"][0]["field"], "signature", "{body}");

        let (status, page) = app.get_html(&format!("/verify/{no}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("核验通过") && page.contains(&no), "{page}");

        let issuer = created["sub_cases"][0]["department"]
            .as_str()
            .expect("department");
        let (_, departments) = app.get_json("/api/v1/departments").await;
        let elsewhere = departments
            .as_array()
            .or_else(|| departments["items"].as_array())
            .expect("departments")
            .iter()
            .filter_map(|d| d["code"].as_str())
            .find(|c| *c != issuer)
            .expect("another department")
            .to_owned();
        let other = app.staff_token("other", Role::Reviewer, Some(&elsewhere)).await;
        let revoke = format!("/api/v1/certificates/{no}/revoke");
        let (status, body) = app
            .post_json(&revoke, Some(&other), json!({"reason": "证照信息有误"}))
            .await;
        assert_eq!(status, 403, "only the issuing department revokes: {body}");
        let (status, body) = app.post_json(&revoke, Some(&reviewer), json!({})).await;
        assert_eq!(status, 422, "a revocation needs its reason: {body}");
        let (status, body) = app
            .post_json(
                &revoke,
                Some(&reviewer),
                json!({"reason": "出生信息登记有误，已重新核发"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["standing"]["valid"], false, "{body}");
        let (status, body) = app
            .post_json(&revoke, Some(&reviewer), json!({"reason": "再次撤销"}))
            .await;
        assert_eq!((status, body["code"].as_str()), (409, Some("conflict")), "{body}");

        let (_, verdict) = verify(&app, &signed).await;
        assert_eq!(verdict["valid"], false, "{verdict}");
        let reason = verdict["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("撤销") && reason.contains("出生信息登记有误"),
            "{verdict}"
        );
        let (_, page) = app.get_html(&format!("/verify/{no}")).await;
        assert!(
            page.contains("核验未通过") && page.contains("出生信息登记有误"),
            "{page}"
        );

        let (status, body) = app.get_json("/api/v1/certificates/NO-SUCH-CERT").await;
        assert_eq!(status, 404, "{body}");
        let (status, page) = app.get_html("/verify/NO-SUCH-CERT").await;
        assert_eq!(status, 404);
        assert!(page.contains("未找到该证照"), "{page}");
    }
);

both_backends!(
    a_certificate_number_already_issued_cannot_be_issued_again,
    |app| {
        let (no, _, case) = approved_with_certificate(&app).await;
        let Accepted {
            window,
            receipt,
            created,
            ..
        } = case;
        let (_, tag) = detail(&app, &window, &receipt).await;
        let second = &created["sub_cases"][1];
        let dept = second["department"].as_str().expect("department");
        let reviewer = app.staff_token("rev2", Role::Reviewer, Some(dept)).await;
        let id = second["id"].as_i64().expect("id");
        let (status, body, _) = act(
            &app,
            &reviewer,
            &format!("/api/v1/sub-cases/{id}/decide"),
            Some(&tag),
            json!({"decision": "approve", "opinion": "同意", "result": no}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"][0]["code"], "certificate_no_taken", "{body}");
        let (case, _) = detail(&app, &window, &receipt).await;
        let part = case["sub_cases"]
            .as_array()
            .expect("parts")
            .iter()
            .find(|p| p["id"] == id)
            .expect("part");
        assert_ne!(part["status"], "approved", "nothing was saved: {part}");
    }
);

both_backends!(
    a_certificate_altered_in_the_database_shows_as_not_genuine,
    |app| {
        let (no, _, _) = approved_with_certificate(&app).await;
        let mut conn = app.db.get().expect("connection");
        // Swap the holder's name inside the stored payload, as someone with database access might.
        let (status, signed) = app.get_json(&format!("/api/v1/certificates/{no}")).await;
        assert_eq!(status, 200);
        let name = signed["payload"]["holder"]["name"]
            .as_str()
            .expect("name")
            .to_owned();
        let altered = onething::certificate::canonical(&{
            let mut p = signed["payload"].clone();
            p["holder"]["name"] = json!(format!("{name}乙"));
            p
        });
        let update = onething::db::dialect::numbered(
            &conn,
            "UPDATE certificates SET payload = $1 WHERE certificate_no = $2",
        );
        diesel::sql_query(update)
            .bind::<diesel::sql_types::Text, _>(&altered)
            .bind::<diesel::sql_types::Text, _>(&no)
            .execute(&mut *conn)
            .expect("update");
        let (_, page) = app.get_html(&format!("/verify/{no}")).await;
        assert!(
            page.contains("核验未通过") && page.contains("签名与内容不符"),
            "{page}"
        );
    }
);

both_backends!(
    the_cli_verifies_a_certificate_file_offline_and_refuses_a_tampered_one,
    |app| {
        let (no, _, _) = approved_with_certificate(&app).await;
        let (_, signed) = app.get_json(&format!("/api/v1/certificates/{no}")).await;
        let (_, key) = app.get_json("/api/v1/certificates/public-key").await;
        assert_eq!(key["algorithm"], "Ed25519");
        let public = key["public_key"].as_str().expect("key");
        let dir = tempfile::tempdir().expect("dir");
        let good = dir.path().join("certificate.json");
        std::fs::write(&good, serde_json::to_string_pretty(&signed).expect("json")).expect("write");
        let mut bad = signed.clone();
        bad["payload"]["issuer"] = json!("另一机关");
        let tampered = dir.path().join("tampered.json");
        std::fs::write(&tampered, bad.to_string()).expect("write");
        let run = |file: &std::path::Path| {
            std::process::Command::new(env!("CARGO_BIN_EXE_onething"))
                .env_remove("DATABASE_URL")
                .args(["verify-certificate", "--public-key", public])
                .arg(file)
                .output()
                .expect("run")
        };
        let out = run(&good);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("signature valid"),
            "{out:?}"
        );
        let out = run(&tampered);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("NOT valid"),
            "{out:?}"
        );
        // Without --public-key the installation's own key is used: the server's data directory.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_onething"))
            .env_remove("DATABASE_URL")
            .env("ONETHING_DATA_DIR", &app.settings.data_dir)
            .args(["verify-certificate"])
            .arg(&good)
            .output()
            .expect("run");
        assert!(out.status.success(), "{out:?}");
        // A machine without the key cannot vouch for a certificate, and gets no key made up.
        let elsewhere = tempfile::tempdir().expect("dir");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_onething"))
            .env_remove("DATABASE_URL")
            .env_remove("ONETHING_CERTIFICATE_KEY")
            .env("ONETHING_DATA_DIR", elsewhere.path())
            .args(["verify-certificate"])
            .arg(&good)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--public-key"),
            "{out:?}"
        );
        assert!(!elsewhere.path().join("keys").exists(), "no key was created");
    }
);

both_backends!(
    the_archive_package_holds_the_record_materials_and_certificates_with_their_digests,
    |app| {
        use sha2::Digest;
        use std::io::Read;
        let (no, reviewer, case) = approved_with_certificate(&app).await;
        let Accepted { window, receipt, .. } = case;
        let path = format!("/api/v1/cases/{receipt}/archive-package");
        let (status, body) = app.get_auth(&path, &reviewer).await;
        assert_eq!(status, 403, "a department reviewer sees only its part: {body}");
        let resp = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&window)
            .send()
            .await
            .expect("package");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/zip")
        );
        let bytes = resp.bytes().await.expect("bytes");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a ZIP");
        let mut read = |name: &str| {
            let mut f = zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut out = Vec::new();
            f.read_to_end(&mut out).expect("read");
            out
        };
        let manifest: Value = serde_json::from_slice(&read("manifest.json")).expect("manifest");
        assert_eq!(manifest["format"], "onething-archive/1");
        assert_eq!(manifest["receipt_no"], receipt.as_str());
        let files = manifest["files"].as_array().expect("files");
        let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
        assert!(paths.contains(&"case.json"), "{paths:?}");
        assert!(
            paths.iter().any(|p| p.starts_with("materials/")),
            "the materials are in the package: {paths:?}"
        );
        assert!(
            paths.contains(&format!("certificates/{no}.json").as_str()),
            "{paths:?}"
        );
        for f in files {
            let name = f["path"].as_str().expect("path");
            let content = read(name);
            assert_eq!(f["bytes"].as_u64(), Some(content.len() as u64), "{name}");
            assert_eq!(
                f["sha256"].as_str(),
                Some(hex::encode(sha2::Sha256::digest(&content)).as_str()),
                "{name}: the manifest's digest is the file's"
            );
        }
        let record: Value = serde_json::from_slice(&read("case.json")).expect("case");
        assert_eq!(record["case"]["receipt_no"], receipt.as_str());
        assert!(
            record["timeline"].as_array().is_some_and(|t| t.len() >= 3),
            "{record}"
        );
        let certificate: Value =
            serde_json::from_slice(&read(&format!("certificates/{no}.json"))).expect("certificate");
        let (_, verdict) = verify(&app, &certificate["certificate"]).await;
        assert_eq!(
            verdict["valid"], true,
            "the archived certificate still verifies: {verdict}"
        );
    }
);
