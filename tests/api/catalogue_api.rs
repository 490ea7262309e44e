use serde_json::Value;

use crate::both_backends;

both_backends!(healthz_reports_ok_and_the_backend, |app| {
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    let expected = if app
        .settings
        .database_url
        .as_ref()
        .is_some_and(|u| u.expose().starts_with("postgres"))
    {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], expected);
});

both_backends!(bundle_list_pages_and_filters_by_audience_and_theme, |app| {
    let (status, all) = app.get_json("/api/v1/bundles?per_page=200").await;
    assert_eq!(status, 200, "{all}");
    let total = all["total"].as_i64().expect("total");
    assert!(total >= 45, "expected at least 45 bundles, got {total}");
    assert_eq!(all["items"].as_array().map(Vec::len), Some(total as usize));
    assert_eq!(all["page"], 1);
    assert_eq!(all["per_page"], 200);

    let (_, first) = app.get_json("/api/v1/bundles").await;
    assert_eq!(first["per_page"], 20, "default page size");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(20));
    let (_, second) = app.get_json("/api/v1/bundles?page=2&per_page=20").await;
    assert_ne!(
        first["items"][0]["code"], second["items"][0]["code"],
        "page 2 differs from page 1"
    );

    let (_, personal) = app
        .get_json("/api/v1/bundles?audience=personal&per_page=200")
        .await;
    let (_, enterprise) = app
        .get_json("/api/v1/bundles?audience=enterprise&per_page=200")
        .await;
    let p = personal["total"].as_i64().unwrap_or(0);
    let e = enterprise["total"].as_i64().unwrap_or(0);
    assert!(
        p >= 20 && e >= 20,
        "personal {p}, enterprise {e}: both need at least 20"
    );
    assert_eq!(p + e, total);
    for b in personal["items"].as_array().into_iter().flatten() {
        assert_eq!(b["audience"], "personal", "{b}");
        assert!(b["items"]
            .as_array()
            .is_some_and(|i| i.len() >= 2 && i.iter().all(Value::is_string)));
    }

    let theme = personal["items"][0]["theme"].as_str().expect("theme").to_owned();
    let (_, themed) = app
        .get_json(&format!(
            "/api/v1/bundles?audience=personal&theme={}&per_page=200",
            urlencode(&theme)
        ))
        .await;
    assert!(themed["total"].as_i64().unwrap_or(0) >= 1);
    assert!(themed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|b| b["theme"] == theme.as_str()));
});

both_backends!(
    bad_list_parameters_are_rejected_with_chinese_field_errors,
    |app| {
        for (query, field) in [
            ("per_page=201", "per_page"),
            ("per_page=0", "per_page"),
            ("page=abc", "page"),
            ("audience=martian", "audience"),
        ] {
            let (status, body) = app.get_json(&format!("/api/v1/bundles?{query}")).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert_eq!(body["code"], "invalid_query", "{query}: {body}");
            let errors = body["errors"].as_array().expect("errors array");
            assert!(
                errors.iter().any(|e| e["field"] == field),
                "{query}: no error for {field}: {body}"
            );
            assert!(
                errors
                    .iter()
                    .all(|e| e["message"].as_str().is_some_and(has_chinese)),
                "{body}"
            );
        }
        let (status, body) = app.get_json("/api/v1/items?high_frequency=maybe").await;
        assert_eq!(status, 400);
        assert_eq!(body["errors"][0]["field"], "high_frequency");
    }
);

both_backends!(bundle_detail_lists_item_objects_and_merged_materials, |app| {
    let (_, list) = app.get_json("/api/v1/bundles?per_page=200").await;
    for summary in list["items"].as_array().into_iter().flatten() {
        let code = summary["code"].as_str().expect("code");
        let (status, b) = app.get_json(&format!("/api/v1/bundles/{code}")).await;
        assert_eq!(status, 200, "{code}: {b}");
        let items = b["items"].as_array().expect("items");
        assert_eq!(
            items.len(),
            summary["items"].as_array().map_or(0, Vec::len),
            "{code}"
        );
        assert!(
            items
                .iter()
                .all(|i| i["code"].is_string() && i["name"].is_string()),
            "{code}"
        );
        for key in [
            "name",
            "audience",
            "theme",
            "promised_time_limit_days",
            "trips",
            "materials",
            "questions",
            "departments",
        ] {
            assert!(!b[key].is_null(), "{code}: missing {key}");
        }
        let materials = b["materials"].as_array().expect("materials");
        let mut codes: Vec<&str> = materials.iter().filter_map(|m| m["code"].as_str()).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(
            codes.len(),
            n,
            "{code}: a material appears twice in the merged list"
        );
        assert!(materials
            .iter()
            .all(|m| m["items"].as_array().is_some_and(|i| !i.is_empty())));
    }
});

both_backends!(unknown_codes_and_paths_are_json_404s, |app| {
    for path in [
        "/api/v1/bundles/no-such-bundle",
        "/api/v1/items/XX-999",
        "/api/v1/nothing-here",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["code"], "not_found", "{path}");
        assert!(
            body["message"].as_str().is_some_and(has_chinese),
            "{path}: {body}"
        );
    }
});

both_backends!(item_list_filters_by_department_and_high_frequency, |app| {
    let (_, all) = app.get_json("/api/v1/items?per_page=200").await;
    assert!(
        all["total"].as_i64().unwrap_or(0) >= 150,
        "at least 150 items: {}",
        all["total"]
    );
    let (_, hf) = app
        .get_json("/api/v1/items?high_frequency=true&per_page=200")
        .await;
    assert!(
        hf["total"].as_i64().unwrap_or(0) >= 60,
        "at least 60 high-frequency items"
    );
    assert!(hf["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|i| i["high_frequency"] == true));
    let (_, police) = app.get_json("/api/v1/items?department=police&per_page=200").await;
    assert!(police["total"].as_i64().unwrap_or(0) >= 1);
    assert!(police["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|i| i["department"] == "police"));
    let (_, none) = app.get_json("/api/v1/items?department=nowhere").await;
    assert_eq!(none["total"], 0);
});

both_backends!(item_detail_carries_every_guide_element, |app| {
    let (_, list) = app.get_json("/api/v1/items?per_page=5").await;
    let code = list["items"][0]["code"].as_str().expect("an item").to_owned();
    let (status, item) = app.get_json(&format!("/api/v1/items/{code}")).await;
    assert_eq!(status, 200);
    for key in [
        "code",
        "name",
        "kind",
        "department",
        "department_name",
        "high_frequency",
        "trips",
        "legal_time_limit_days",
        "promised_time_limit_days",
        "legal_basis",
        "conditions",
        "materials",
        "process",
        "fee",
        "place",
        "hours",
        "consult_phone",
        "complaint_phone",
        "online_depth",
        "delivery",
        "result",
        "service_type",
    ] {
        assert!(!item[key].is_null(), "item {code} lacks {key}: {item}");
    }
    let material = &item["materials"][0];
    for key in ["code", "name", "form", "copies", "medium", "required", "source"] {
        assert!(!material[key].is_null(), "material lacks {key}: {material}");
    }
});

both_backends!(departments_are_listed_with_item_counts, |app| {
    let (status, body) = app.get_json("/api/v1/departments").await;
    assert_eq!(status, 200);
    let with_items = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["item_count"].as_i64().unwrap_or(0) > 0)
        .count();
    assert!(with_items >= 15, "departments with items: {with_items}");
});

pub fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

both_backends!(the_public_calendar_adds_working_days_over_holidays, |app| {
    // 2025-09-30 + 1 working day: National Day and Mid-Autumn run 10-01..10-08; 10-09 works.
    let (status, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2025-09-30&days=1")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["date"], "2025-10-09");
    // 2026-02-13 (Friday) + 1: Spring Festival 02-15..02-23, make-up Saturday 02-14 is a working day.
    let (_, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2026-02-13&days=1")
        .await;
    assert_eq!(
        (body["date"].as_str(), body["provisional"].as_bool()),
        (Some("2026-02-14"), Some(false))
    );
    // Past the published years the count goes on, provisionally: Thu 12-31 (1); 元旦 Fri
    // 2027-01-01; weekend; 1-04 … 1-07 (5).
    let (status, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2026-12-30&days=5")
        .await;
    assert_eq!(
        (status, body["date"].as_str(), body["provisional"].as_bool()),
        (200, Some("2027-01-07"), Some(true)),
        "{body}"
    );
    let (status, body) = app
        .get_json("/api/v1/calendar/add-working-days?from=2026-13-01&days=x")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
});

/// GET `path` with `If-None-Match: etag`, returning status, ETag and body.
async fn revalidate(app: &crate::helpers::TestApp, path: &str, etag: Option<&str>) -> (u16, String, String) {
    let mut req = app.client.get(format!("{}{}", app.address, path));
    if let Some(t) = etag {
        req = req.header("If-None-Match", t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let tag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, tag, resp.text().await.expect("body"))
}

both_backends!(
    catalogue_responses_are_tagged_and_follow_a_catalogue_change,
    |app| {
        let paths = [
            "/api/v1/bundles/newborn",
            "/api/v1/items/WJ-001",
            "/api/v1/bundles?audience=personal",
            "/api/v1/departments",
            "/bundles/newborn",
            "/items/WJ-001",
            "/",
        ];
        let mut tags = Vec::new();
        for path in paths {
            let (status, tag, _) = revalidate(&app, path, None).await;
            assert_eq!(status, 200, "{path}");
            assert!(tag.starts_with("W/\""), "{path} carries an ETag: {tag:?}");
            let (status, again, body) = revalidate(&app, path, Some(&tag)).await;
            assert_eq!(
                (status, body.as_str()),
                (304, ""),
                "{path} answers a current copy with 304 Not Modified"
            );
            assert_eq!(again, tag, "{path}");
            let (status, _, _) = revalidate(&app, path, Some("W/\"0000000000000000\"")).await;
            assert_eq!(status, 200, "{path}: a stale copy gets the page");
            tags.push(tag);
        }
        let (_, bundle_tag, before) = revalidate(&app, "/api/v1/bundles/newborn", None).await;
        assert!(!before.contains("新生儿出生一件事（更名测试）"));

        // Another server (or a restart with new forms) changes the catalogue in the database.
        let mut cat = onething::catalogue::load_catalogue(&crate::helpers::repo_forms()).expect("forms");
        let b = cat
            .bundles
            .iter_mut()
            .find(|b| b.code == "newborn")
            .expect("newborn bundle");
        b.name = "新生儿出生一件事（更名测试）".into();
        {
            let mut c = app.db.get().expect("conn");
            onething::store::catalogue::sync(&mut c, &cat, crate::helpers::fixed_now()).expect("sync");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, tag, body) = revalidate(&app, "/api/v1/bundles/newborn", Some(&bundle_tag)).await;
            if status == 200 && body.contains("新生儿出生一件事（更名测试）") {
                assert_ne!(tag, bundle_tag, "a new catalogue version gets a new tag");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server still serves the old catalogue 10 s after the change: {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let (_, _, page) = revalidate(&app, "/bundles/newborn", Some(&tags[4])).await;
        assert!(
            page.contains("新生儿出生一件事（更名测试）"),
            "the page follows the change too"
        );
    }
);
