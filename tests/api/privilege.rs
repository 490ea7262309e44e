//! Least privilege: a reviewer sees and reads only their own department's part of a case,
//! and every staff read of an uploaded document is audited.

use std::collections::BTreeSet;

use onething::auth::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::cases::{act, detail, submitted_case};

async fn read_upload(app: &crate::helpers::TestApp, token: &str, id: &str) -> u16 {
    app.client
        .get(format!("{}/api/v1/uploads/{id}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

both_backends!(a_reviewer_sees_and_reads_only_their_departments_part, |app| {
    let (citizen, receipt, created) = submitted_case(&app).await;
    let subs = created["sub_cases"].as_array().expect("sub_cases").clone();
    let departments: BTreeSet<String> = subs
        .iter()
        .map(|s| s["department"].as_str().expect("department").to_owned())
        .collect();
    assert!(
        departments.len() >= 2,
        "the journey's case spans departments: {created}"
    );
    let (mine, other) = {
        let mut it = departments.iter();
        (it.next().expect("one").clone(), it.next().expect("two").clone())
    };

    // Which upload each department's parts use, as the applicant sees the case.
    let (_, view) = app
        .get_auth(&format!("/api/v1/applications/{receipt}"), &citizen)
        .await;
    let upload_of = |code: &str| -> Option<String> {
        view["materials"]
            .as_array()?
            .iter()
            .find(|m| m["code"] == code)
            .and_then(|m| m["upload_id"].as_str())
            .map(str::to_owned)
    };
    let uploads_of = |dept: &str| -> BTreeSet<String> {
        view["sub_cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["department"] == dept)
            .flat_map(|p| p["materials"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| upload_of(m.as_str().unwrap_or("")))
            .collect()
    };
    let (own, others) = (uploads_of(&mine), uploads_of(&other));
    let foreign: Vec<&String> = others.difference(&own).collect();
    assert!(
        !own.is_empty() && !foreign.is_empty(),
        "each department uses a material of its own: {own:?} / {others:?}"
    );

    let window = app.staff_token("clerk", Role::Window, None).await;
    let reviewer = app.staff_token("rev_mine", Role::Reviewer, Some(&mine)).await;
    let outsider = app.staff_token("rev_other", Role::Reviewer, Some(&other)).await;
    for id in &own {
        assert_eq!(
            read_upload(&app, &reviewer, id).await,
            200,
            "own department's material {id}"
        );
    }
    for id in &foreign {
        assert_eq!(
            read_upload(&app, &reviewer, id).await,
            404,
            "another department's material {id} is not the reviewer's to read"
        );
    }
    let any = own.iter().chain(others.iter()).next().expect("an upload");
    assert_eq!(
        read_upload(&app, &window, any).await,
        200,
        "the window reads a case's material"
    );

    // The other department decides with an opinion and a certificate number.
    let (_, tag) = detail(&app, &window, &receipt).await;
    let (status, _, _) = act(
        &app,
        &window,
        &format!("/api/v1/cases/{receipt}/accept"),
        Some(&tag),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, tag) = detail(&app, &outsider, &receipt).await;
    let theirs = subs
        .iter()
        .find(|s| s["department"] == other.as_str())
        .and_then(|s| s["id"].as_i64())
        .expect("a part of the other department");
    let (status, body, _) = act(
        &app,
        &outsider,
        &format!("/api/v1/sub-cases/{theirs}/decide"),
        Some(&tag),
        json!({"decision": "approve", "opinion": "另部门的审批意见", "result": "证OTHER2026"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (seen, _) = detail(&app, &reviewer, &receipt).await;
    let text = seen.to_string();
    assert!(
        !text.contains("另部门的审批意见") && !text.contains("证OTHER2026"),
        "a reviewer sees no other department's opinion or certificate: {text}"
    );
    assert!(
        seen["sub_cases"]
            .as_array()
            .expect("sub_cases")
            .iter()
            .all(|s| s["department"] == mine.as_str()),
        "{}",
        seen["sub_cases"]
    );
    let (seen, _) = detail(&app, &window, &receipt).await;
    assert!(
        seen.to_string().contains("另部门的审批意见"),
        "the window sees every part"
    );

    let admin = app.staff_token("chief", Role::Admin, None).await;
    let (_, audit) = app
        .get_auth("/api/v1/admin/audit?action=upload_read", &admin)
        .await;
    let entries: Vec<&Value> = audit["items"].as_array().expect("items").iter().collect();
    assert!(
        entries
            .iter()
            .any(|e| e["actor"].as_str().is_some_and(|a| a.starts_with("window#"))
                && e["target"].as_str().is_some_and(|t| t.contains(&receipt))
                && e["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("applicant=account:"))),
        "the window's read is audited with the case and the applicant: {audit}"
    );
});
