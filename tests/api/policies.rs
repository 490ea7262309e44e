//! The policy library: management with roles and versions, search, matching, import and
//! export, pages, and several servers sharing one database.

use onething::clock::Clock;
use std::time::{Duration, Instant};

use onething::auth::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_server, test_settings, Backend, TestApp};

pub fn policy_json(title: &str, body: &str, industries: &[&str]) -> Value {
    json!({
        "title": title,
        "doc_number": "长政〔2026〕9号",
        "issuer": "长乐区人民政府 长乐区财政局",
        "published_on": "2026-01-10",
        "effective_from": "2026-01-10",
        "effective_to": "2099-12-31",
        "summary": format!("{title}的摘要"),
        "body": body,
        "benefits": "按实际发生额的30%给予补助",
        "conditions": [],
        "industries": industries,
        "scales": ["small", "micro"],
        "regions": ["350100"],
        "keywords": ["补助"],
        "interpretation": "政策解读：要点一。",
        "guide": {"who": "辖区企业", "materials": ["申请表"], "where": "长乐区行政服务中心", "how": "网上申报", "deadline": "每年6月", "contact": "0591-12345678"},
        "apply_deadline": "2099-06-30",
        "attachments": [{"name": "申请表.docx"}]
    })
}

pub async fn editor(app: &TestApp) -> String {
    app.staff_token("policyeditor", Role::PolicyEditor, None).await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{}", app.address, path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Creates and publishes a policy; returns its id.
pub async fn publish_new(app: &TestApp, token: &str, policy: Value) -> i64 {
    let (status, body) = app.post_json("/api/v1/policies", Some(token), policy).await;
    assert_eq!(status, 201, "create: {body}");
    let id = body["id"].as_i64().expect("id");
    let (status, body) = app
        .post_json(&format!("/api/v1/policies/{id}/publish"), Some(token), json!({}))
        .await;
    assert_eq!(status, 200, "publish: {body}");
    id
}

fn ids(result: &Value) -> Vec<i64> {
    result["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
        .unwrap_or_default()
}

async fn search(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get_json(&format!("/api/v1/policies/search?{query}")).await;
    assert_eq!(status, 200, "search {query}: {body}");
    body
}

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

both_backends!(policy_management_is_for_editors_and_admins_only, |app| {
    let policy = policy_json("管理权限测试政策", "正文", &["C"]);
    let (status, _) = app.post_json("/api/v1/policies", None, policy.clone()).await;
    assert_eq!(status, 401, "anonymous create");
    app.register_citizen().await;
    let citizen = app
        .login(crate::helpers::CITIZEN_ID, crate::helpers::PASSWORD)
        .await;
    let (status, body) = app
        .post_json("/api/v1/policies", Some(&citizen), policy.clone())
        .await;
    assert_eq!(status, 403, "citizen create: {body}");
    let admin = app.staff_token("policyadmin", Role::Admin, None).await;
    let (status, body) = app
        .post_json("/api/v1/policies", Some(&admin), policy.clone())
        .await;
    assert_eq!(status, 201, "admin create: {body}");
    let token = editor(&app).await;
    let (status, body) = app.post_json("/api/v1/policies", Some(&token), policy).await;
    assert_eq!(status, 201, "editor create: {body}");
    assert_eq!(body["status"], "draft");
    let id = body["id"].as_i64().expect("id");
    let (status, _) = app
        .post_json(
            &format!("/api/v1/policies/{id}/publish"),
            Some(&citizen),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "citizen publish");
});

both_backends!(invalid_policies_get_chinese_errors_per_field, |app| {
    let token = editor(&app).await;
    let mut bad = policy_json("", "正文", &["ZZ"]);
    bad["effective_to"] = json!("2020-01-01");
    bad["scales"] = json!(["huge"]);
    bad["published_on"] = json!("2026/01/10");
    bad["conditions"] = json!([{"kind": "max_employees", "value": "很多", "text": "人数"}]);
    let (status, body) = app.post_json("/api/v1/policies", Some(&token), bad).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in [
        "title",
        "industries",
        "effective_to",
        "scales",
        "published_on",
        "conditions[0]",
    ] {
        assert!(fields.contains(&f), "no error for {f}: {body}");
    }
    let (status, body) = app
        .client
        .post(format!("{}/api/v1/policies", app.address))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .expect("send");
    assert_eq!(status, 400, "{:?}", body.text().await);
});

both_backends!(every_change_is_a_version_compared_with_the_previous_one, |app| {
    let token = editor(&app).await;
    let (status, created) = app
        .post_json(
            "/api/v1/policies",
            Some(&token),
            policy_json("版本测试政策", "第一版正文", &["C"]),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    let (status, _) = app.get_json(&format!("/api/v1/policies/{id}")).await;
    assert_eq!(status, 404, "a draft is hidden from the public");
    let (status, body) = app.get_auth(&format!("/api/v1/policies/{id}"), &token).await;
    assert_eq!(status, 200, "an editor sees the draft: {body}");

    let mut edited = policy_json("版本测试政策（修订）", "第二版正文", &["C"]);
    edited["keywords"] = json!(["补助", "修订"]);
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v1/policies/{id}"),
        &token,
        Some(edited.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v1/policies/{id}"),
        &token,
        Some(edited),
    )
    .await;
    assert_eq!(
        (status, body["version"].clone()),
        (200, json!(2)),
        "an unchanged save adds no version"
    );
    publish_new_existing(&app, &token, id).await;

    let (status, public) = app.get_json(&format!("/api/v1/policies/{id}")).await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["status"], "published");
    assert_eq!(public["in_force"], true);
    let (status, history) = app.get_json(&format!("/api/v1/policies/{id}/versions")).await;
    assert_eq!(status, 200, "{history}");
    let items = history["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{history}");
    assert_eq!(items[0]["action"], "publish");
    assert_eq!(items[0]["status"], "published");
    let edit = &items[1];
    let changed: Vec<&str> = edit["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(changed, vec!["title", "summary", "body", "keywords"], "{edit}");
    assert_eq!(edit["changes"][0]["before"], "版本测试政策");
    assert_eq!(edit["changes"][0]["after"], "版本测试政策（修订）");

    let (status, body) = app
        .post_json(&format!("/api/v1/policies/{id}/revoke"), Some(&token), json!({}))
        .await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("revoked")),
        "{body}"
    );
    assert_eq!(body["in_force"], false);
    let (status, body) = app
        .post_json(&format!("/api/v1/policies/{id}/publish"), Some(&token), json!({}))
        .await;
    assert_eq!(status, 409, "a revoked policy cannot be published again: {body}");
});

async fn publish_new_existing(app: &TestApp, token: &str, id: i64) {
    let (status, body) = app
        .post_json(&format!("/api/v1/policies/{id}/publish"), Some(token), json!({}))
        .await;
    assert_eq!(status, 200, "publish: {body}");
}

both_backends!(
    search_segments_chinese_and_expands_synonyms_and_industry_words,
    |app| {
        let token = editor(&app).await;
        let works = publish_new(
            &app,
            &token,
            policy_json(
                "企业在建工程抵押融资贴息办法",
                "对以在建工程抵押取得贷款的企业给予贴息。",
                &["E"],
            ),
        )
        .await;
        let food = publish_new(
            &app,
            &token,
            policy_json(
                "纾困扶持措施",
                "对辖区内经营困难的经营主体给予房租补助。",
                &["62"],
            ),
        )
        .await;
        let tech = publish_new(
            &app,
            &token,
            policy_json(
                "认定奖励<b>办法</b>",
                "首次认定为高新技术企业的给予一次性奖励。",
                &["M"],
            ),
        )
        .await;
        let draft = app
            .post_json(
                "/api/v1/policies",
                Some(&token),
                policy_json("在建工程草稿", "在建工程", &["E"]),
            )
            .await
            .1["id"]
            .as_i64()
            .expect("draft id");

        let r = search(&app, &format!("q={}", q("工程"))).await;
        assert!(ids(&r).contains(&works), "工程 finds 在建工程: {r}");
        assert!(!ids(&r).contains(&draft), "drafts are not searchable: {r}");
        let hit = r["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == works)
            .expect("hit")
            .clone();
        assert!(
            hit["highlight"].as_str().unwrap_or("").contains("<mark>"),
            "{hit}"
        );
        assert_eq!(hit["in_force"], true);

        let r = search(&app, &format!("q={}", q("饭店"))).await;
        assert!(ids(&r).contains(&food), "饭店 finds a 餐饮 (62) policy: {r}");
        let r = search(&app, &format!("q={}", q("高企"))).await;
        assert!(ids(&r).contains(&tech), "高企 finds 高新技术企业 by synonym: {r}");
        let hit = r["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == tech)
            .expect("hit")
            .clone();
        assert!(
            hit["title_highlight"]
                .as_str()
                .unwrap_or("")
                .contains("&lt;b&gt;"),
            "titles are escaped: {hit}"
        );

        let r = search(&app, &format!("q={}&industry=H", q("补助"))).await;
        assert!(
            ids(&r).contains(&food) && !ids(&r).contains(&works),
            "industry filter: {r}"
        );
        let r = search(
            &app,
            &format!(
                "q={}&region=350112&scale=micro&in_force=true&sort=newest",
                q("补助")
            ),
        )
        .await;
        for id in [works, food, tech] {
            assert!(ids(&r).contains(&id), "a Fuzhou policy applies in 长乐区: {r}");
        }
        let industry_facet = r["facets"]["industry"].as_array().expect("industry facet");
        assert!(
            industry_facet
                .iter()
                .any(|f| f["value"] == "H" && f["count"].as_u64() >= Some(1)),
            "{r}"
        );
        assert!(
            r["facets"]["scale"].is_array()
                && r["facets"]["region"].is_array()
                && r["facets"]["issuer"].is_array(),
            "{r}"
        );
        assert!(
            r["facets"]["issuer"]
                .as_array()
                .expect("issuers")
                .iter()
                .any(|f| f["value"] == "长乐区财政局"),
            "{r}"
        );
        let r = search(
            &app,
            &format!(
                "q={}&issuer={}&per_page=1&page=2&sort=deadline",
                q("补助"),
                q("长乐区财政局")
            ),
        )
        .await;
        assert_eq!(r["items"].as_array().map(Vec::len), Some(1), "pagination: {r}");
        assert!(r["total"].as_u64() >= Some(3), "{r}");
    }
);

both_backends!(bad_search_parameters_get_per_field_errors, |app| {
    let (status, body) = app
        .get_json("/api/v1/policies/search?industry=ZZ&scale=huge&sort=best&page=0&in_force=maybe&region=1")
        .await;
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in ["industry", "scale", "sort", "page", "in_force", "region"] {
        assert!(fields.contains(&f), "no error for {f}: {body}");
    }
});

both_backends!(
    matching_lists_qualified_policies_with_reasons_and_nearly_ones_with_what_is_missing,
    |app| {
        let token = editor(&app).await;
        let mut fits = policy_json("餐饮小微企业房租补助", "房租补助", &["H"]);
        fits["conditions"] = json!([{"kind": "max_employees", "value": 50, "text": "从业人数不超过50人"}]);
        let fits = publish_new(&app, &token, fits).await;
        let mut near = policy_json("高新技术企业奖励", "奖励", &[]);
        near["conditions"] =
            json!([{"kind": "tag", "value": "高新技术企业", "text": "经认定的高新技术企业"}]);
        let near = publish_new(&app, &token, near).await;
        let mut other = policy_json("制造业技改补助", "补助", &["C"]);
        other["scales"] = json!([]);
        let other = publish_new(&app, &token, other).await;

        let profile = json!({"industry": "6210", "scale": "micro", "region": "350112", "founded_on": "2024-03-01",
        "employees": 8, "revenue": 120, "tags": ["小规模纳税人"]});
        let (status, body) = app.post_json("/api/v1/policies/match", None, profile).await;
        assert_eq!(status, 200, "{body}");
        let qualified = body["qualified"].as_array().expect("qualified");
        let hit = qualified
            .iter()
            .find(|p| p["id"] == fits)
            .unwrap_or_else(|| panic!("qualifies for {fits}: {body}"));
        let reasons: Vec<&str> = hit["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .filter_map(|r| r.as_str())
            .collect();
        assert!(reasons.contains(&"从业人数不超过50人"), "{reasons:?}");
        let nearly = body["nearly"].as_array().expect("nearly");
        let hit = nearly
            .iter()
            .find(|p| p["id"] == near)
            .unwrap_or_else(|| panic!("nearly qualifies for {near}: {body}"));
        assert_eq!(hit["missing"], "经认定的高新技术企业");
        assert!(
            !qualified.iter().chain(nearly).any(|p| p["id"] == other),
            "a manufacturing policy is no match: {body}"
        );

        let (status, body) = app
            .post_json(
                "/api/v1/policies/match",
                None,
                json!({"industry": "ZZZ", "employees": -1, "founded_on": "2999-01-01", "tags": ["土豪"]}),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(4), "{body}");
    }
);

fn csv_of(rows: &[[&str; 8]]) -> String {
    let mut out = String::from(
        "key,status,title,issuer,published_on,effective_from,summary,body,benefits,industries\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},补助,{}\n",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], "C"
        ));
    }
    out
}

async fn import(app: &TestApp, token: &str, format: &str, bytes: Vec<u8>) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/policies/import?format={format}", app.address))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("import");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

both_backends!(
    an_import_with_one_bad_row_writes_nothing_and_names_every_error,
    |app| {
        let token = editor(&app).await;
        let count = || {
            let mut c = app.db.get().expect("conn");
            onething::store::policies::count(&mut c).expect("count")
        };
        let before = count();
        let bad = csv_of(&[
            [
                "imp-1",
                "published",
                "导入政策一",
                "长乐区工信局",
                "2026-01-01",
                "2026-01-01",
                "摘要",
                "正文",
            ],
            [
                "imp-2",
                "published",
                "导入政策二",
                "长乐区工信局",
                "2026-13-01",
                "2026-01-01",
                "摘要",
                "正文",
            ],
            [
                "imp-3",
                "bogus",
                "",
                "长乐区工信局",
                "2026-01-01",
                "2026-01-01",
                "摘要",
                "正文",
            ],
        ]);
        let (status, body) = import(&app, &token, "csv", bad.into_bytes()).await;
        assert_eq!(status, 422, "{body}");
        let at: Vec<(i64, &str)> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["row"].as_i64().unwrap_or(0), e["column"].as_str().unwrap_or("")))
            .collect();
        for want in [(3, "published_on"), (4, "status"), (4, "title")] {
            assert!(at.contains(&want), "no error at {want:?}: {body}");
        }
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("第 3 行"),
            "{body}"
        );
        assert_eq!(count(), before, "nothing was written");

        let good = csv_of(&[
            [
                "imp-1",
                "published",
                "导入政策一号",
                "长乐区工信局",
                "2026-01-01",
                "2026-01-01",
                "摘要",
                "机器换工导入测试",
            ],
            [
                "imp-2",
                "draft",
                "导入政策二号",
                "长乐区工信局",
                "2026-01-01",
                "2026-01-01",
                "摘要",
                "正文",
            ],
        ]);
        let (status, body) = import(&app, &token, "csv", good.into_bytes()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["inserted"], 2);
        assert_eq!(count(), before + 2);
        let r = search(&app, &format!("q={}", q("机器换工导入测试"))).await;
        assert_eq!(
            r["items"][0]["title"], "导入政策一号",
            "imported policies are searchable at once: {r}"
        );
    }
);

both_backends!(export_and_import_round_trip_in_csv_and_xlsx, |app| {
    let token = editor(&app).await;
    publish_new(
        &app,
        &token,
        policy_json("导出测试政策", "导出正文，含逗号,和\"引号\"", &["C", "62"]),
    )
    .await;
    for format in ["csv", "xlsx"] {
        let resp = app
            .client
            .get(format!("{}/api/v1/policies/export?format={format}", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .expect("export");
        assert_eq!(resp.status().as_u16(), 200, "{format}");
        let bytes = resp.bytes().await.expect("bytes").to_vec();
        let fmt = onething::policy::table::Format::parse(format).expect("format");
        let rows = onething::policy::table::parse(fmt, &bytes, &|_, _| {}).expect("the export parses");
        let mut c = app.db.get().expect("conn");
        assert_eq!(
            rows.len() as i64,
            onething::store::policies::count(&mut c).expect("count"),
            "{format}"
        );
        drop(c);
        let (status, body) = import(&app, &token, format, bytes).await;
        assert_eq!(status, 200, "{format}: {body}");
        assert_eq!(
            (body["inserted"].clone(), body["updated"].clone()),
            (json!(0), json!(0)),
            "re-importing an export changes nothing ({format}): {body}"
        );
    }
    let (status, _) = app.get_json("/api/v1/policies/export?format=pdf").await;
    assert_eq!(status, 401, "export is for editors");
});

both_backends!(policy_pages_render_in_chinese, |app| {
    let token = editor(&app).await;
    let id = publish_new(
        &app,
        &token,
        policy_json("页面测试政策", "在建工程页面测试正文", &["C"]),
    )
    .await;
    let (status, html) = app.get_html(&format!("/policies?q={}", q("页面测试"))).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("href=\"/policies/{id}\"")) && html.contains("<mark>"),
        "search page lists the hit with highlights"
    );
    assert!(
        html.contains("/policies?") && html.contains("industry="),
        "facet links add filters"
    );
    let (status, html) = app.get_html(&format!("/policies/{id}")).await;
    assert_eq!(status, 200);
    for part in ["申报指南", "政策解读", "版本记录", "长乐区行政服务中心"] {
        assert!(html.contains(part), "policy page lacks {part}");
    }
    assert!(
        html.contains("<div class=\"prose\"><p>") && !html.contains("&lt;br"),
        "the text is in paragraphs, never a literal <br>"
    );
    let (status, html) = app.get_html("/policies/match").await;
    assert_eq!(status, 200);
    assert!(html.contains("为我匹配"));
    let (status, html) = app
        .get_html("/policies/match?industry=6210&scale=micro&region=350112&employees=5")
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("符合条件") || html.contains("暂未找到"),
        "match results render"
    );
    let (status, _) = app.get_html("/policies/999999").await;
    assert_eq!(status, 404);
    let resp = app
        .client
        .get(format!("{}/admin/policies", app.address))
        .header("cookie", format!("onething_session={token}"))
        .send()
        .await
        .expect("admin page");
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.expect("html");
    assert!(
        html.contains("页面测试政策") && html.contains("导入"),
        "admin list"
    );
    let (_, home) = app.get_html("/").await;
    assert!(
        home.contains("href=\"/policies\""),
        "the home page links the policy library"
    );
});

async fn two_servers(backend: Backend) {
    let Some((settings, _db, dir)) = test_settings(backend) else {
        return;
    };
    let app = crate::helpers::spawn_app_from(settings.clone(), dir, _db).await;
    let mut other = settings.clone();
    other.data_dir = settings.data_dir.with_file_name("data-b");
    let (address_b, _db_b) = spawn_server(&other).await;
    let token = editor(&app).await;
    let id = publish_new(
        &app,
        &token,
        policy_json("双机同步测试政策", "跨服务器同步检验词", &["C"]),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = app
            .client
            .get(format!(
                "{address_b}/api/v1/policies/search?q={}",
                q("同步检验词")
            ))
            .send()
            .await
            .expect("search on B")
            .json()
            .await
            .expect("json");
        if ids(&body).contains(&id) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server B did not find policy {id} changed through server A within 10 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _) = app
        .post_json(&format!("/api/v1/policies/{id}/revoke"), Some(&token), json!({}))
        .await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = app
            .client
            .get(format!(
                "{address_b}/api/v1/policies/search?q={}&in_force=true",
                q("同步检验词")
            ))
            .send()
            .await
            .expect("search on B")
            .json()
            .await
            .expect("json");
        if !ids(&body).contains(&id) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server B still lists revoked policy {id} as in force after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

mod a_policy_changed_on_one_server_is_found_through_another {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::two_servers(crate::helpers::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::two_servers(crate::helpers::Backend::Postgres).await;
    }
}

both_backends!(seeding_is_idempotent_and_a_broken_index_is_rebuilt, |app| {
    let entries = onething::policy::seed::shipped().expect("seed");
    let mut c = app.db.get().expect("conn");
    let report = onething::store::policies::seed(&mut c, &entries, app.clock.now_utc()).expect("seed again");
    assert_eq!(
        (report.inserted, report.updated),
        (0, 0),
        "a second start writes nothing: {report:?}"
    );
    assert_eq!(report.unchanged, entries.len());
    let published = entries
        .iter()
        .filter(|e| e.status == onething::policy::Status::Published)
        .count();
    drop(c);
    let dir = tempfile::tempdir().expect("dir");
    let index_dir = onething::search::tantivy_index::index_dir(dir.path());
    std::fs::create_dir_all(&index_dir).expect("mkdir");
    std::fs::write(index_dir.join("meta.json"), "not an index").expect("garbage");
    let search = onething::search::follower::Search::embedded(dir.path(), &app.db).expect("rebuilt");
    let today = app.clock.today();
    let mut query = onething::search::SearchQuery::new("", today);
    query.per_page = 1;
    let result = search.search(query).await.expect("search");
    assert!(
        result.total as usize >= published,
        "the rebuilt index holds the seed library: {}",
        result.total
    );
});

both_backends!(
    an_editor_imports_a_file_on_the_page_and_follows_its_progress_on_any_server,
    |app| {
        let token = editor(&app).await;
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let base: url::Url = app.address.parse().expect("url");
        jar.add_cookie_str(&format!("onething_session={token}"), &base);
        let client = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let html = client
            .get(format!("{}/admin/policies", app.address))
            .send()
            .await
            .expect("admin page")
            .text()
            .await
            .expect("html");
        let csrf = crate::helpers::input_value(&html, "csrf_token");
        let csv = csv_of(&[[
            "page-1",
            "published",
            "页面导入政策",
            "长乐区工信局",
            "2026-01-01",
            "2026-01-01",
            "摘要",
            "页面导入检验词",
        ]]);
        let form = reqwest::multipart::Form::new().text("csrf_token", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("policies.csv"),
        );
        let resp = client
            .post(format!("{}/admin/policies/import", app.address))
            .multipart(form)
            .send()
            .await
            .expect("import");
        assert_eq!(resp.status().as_u16(), 303, "{:?}", resp.text().await);
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location")
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let html = client
                .get(format!("{}{location}", app.address))
                .send()
                .await
                .expect("progress")
                .text()
                .await
                .expect("html");
            if html.contains("导入完成") {
                assert!(html.contains("新增 1 条"), "{html}");
                break;
            }
            assert!(
                html.contains("http-equiv=\"refresh\""),
                "an unfinished import refreshes itself: {html}"
            );
            assert!(Instant::now() < deadline, "the import did not finish within 10 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Another server on the same database (keys shared, as the README requires) reports
        // the same job: it lives in the database, not in the memory of the one that ran it.
        let mut second = app.settings.clone();
        second.data_dir = app.settings.data_dir.with_file_name("second");
        std::fs::create_dir_all(second.data_dir.join("keys")).expect("keys dir");
        for key in ["jwt.key", "data.key"] {
            std::fs::copy(
                app.settings.data_dir.join("keys").join(key),
                second.data_dir.join("keys").join(key),
            )
            .expect("copy a key");
        }
        let (other, _) = crate::helpers::spawn_server(&second).await;
        let html = client
            .get(format!("{other}{location}"))
            .send()
            .await
            .expect("progress on the other server")
            .text()
            .await
            .expect("html");
        assert!(html.contains("导入完成") && html.contains("新增 1 条"), "{html}");
        let r = search(&app, &format!("q={}", q("页面导入检验词"))).await;
        assert_eq!(
            r["items"][0]["title"], "页面导入政策",
            "the imported policy ranks first: {r}"
        );
    }
);

both_backends!(a_search_of_several_words_falls_back_to_fewer_and_says_so, |app| {
    let (status, body) = app
        .get_json("/api/v1/policies/search?q=%E9%A4%90%E9%A5%AE%20%E9%87%8F%E5%AD%90%E7%BA%A0%E7%BC%A0")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["total"].as_u64().unwrap_or(0) > 0,
        "餐饮 alone finds policies: {body}"
    );
    assert_eq!(
        body["relaxed"]["dropped"],
        serde_json::json!(["量子纠缠"]),
        "{body}"
    );
    assert_eq!(body["relaxed"]["kept"], serde_json::json!(["餐饮"]), "{body}");
    let (_, html) = app
        .get_html("/policies?q=%E9%A4%90%E9%A5%AE%20%E9%87%8F%E5%AD%90%E7%BA%A0%E7%BC%A0")
        .await;
    assert!(
        html.contains("没有同时符合全部词语的政策，以下是不含“量子纠缠”的结果"),
        "the page says so"
    );
});

both_backends!(a_policy_that_excludes_an_industry_is_never_offered_to_it, |app| {
    // The shipped 研发费用加计扣除 announcement excludes 住宿和餐饮业 (财税〔2015〕119号).
    let restaurant = json!({"industry": "6210", "scale": "micro", "region": "350112",
        "founded_on": "2020-03-01", "employees": 8, "revenue": 120, "tags": ["有研发投入"]});
    let (status, body) = app.post_json("/api/v1/policies/match", None, restaurant).await;
    assert_eq!(status, 200, "{body}");
    let offered: Vec<&str> = body["qualified"]
        .as_array()
        .expect("qualified")
        .iter()
        .chain(body["nearly"].as_array().expect("nearly"))
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert!(
        !offered.iter().any(|t| t.contains("研发费用税前加计扣除")),
        "offered to a restaurant: {offered:?}"
    );
    let software = json!({"industry": "65", "scale": "small", "region": "350112",
        "founded_on": "2020-03-01", "employees": 30, "revenue": 800, "tags": ["有研发投入"]});
    let (_, body) = app.post_json("/api/v1/policies/match", None, software).await;
    assert!(
        body["qualified"].to_string().contains("研发费用税前加计扣除"),
        "a software firm with R&D qualifies: {body}"
    );
    let q = "/api/v1/policies/search?q=%E7%A0%94%E5%8F%91%E8%B4%B9%E7%94%A8";
    let (_, all) = app.get_json(q).await;
    let (_, for_restaurants) = app.get_json(&format!("{q}&industry=H")).await;
    assert!(all.to_string().contains("研发费用税前加计扣除"), "{all}");
    assert!(
        !for_restaurants.to_string().contains("研发费用税前加计扣除"),
        "filtered to 住宿和餐饮业: {for_restaurants}"
    );
    let page = app
        .get_html(&format!("/policies/{}", {
            let items = all["items"].as_array().expect("items");
            items
                .iter()
                .find(|h| {
                    h["title"]
                        .as_str()
                        .is_some_and(|t| t.contains("研发费用税前加计扣除"))
                })
                .expect("hit")["id"]
                .clone()
        }))
        .await
        .1;
    assert!(
        page.contains("不适用于：烟草制品业"),
        "the policy page names the excluded industries"
    );
});
