use crate::both_backends;
use crate::catalogue_api::{has_chinese, urlencode};

both_backends!(home_page_offers_search_and_both_entrances, |app| {
    let resp = app.get("/").await;
    assert_eq!(resp.status().as_u16(), 200);
    let headers = resp.headers().clone();
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "CSP: {csp}"
    );
    assert_eq!(
        headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    let html = resp.text().await.expect("body");
    for needle in [
        "个人办事",
        "企业办事",
        "action=\"/search\"",
        "name=\"viewport\"",
        "lang=\"zh-CN\"",
    ] {
        assert!(html.contains(needle), "home page lacks {needle}");
    }
    assert!(!html.contains("<script"), "the portal works without JavaScript");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external resources"
    );
});

both_backends!(bundle_pages_list_by_audience_and_theme, |app| {
    let (status, html) = app.get_html("/bundles?audience=enterprise").await;
    assert_eq!(status, 200);
    let (_, list) = app
        .get_json("/api/v1/bundles?audience=enterprise&per_page=200")
        .await;
    for b in list["items"].as_array().into_iter().flatten() {
        let name = b["name"].as_str().expect("name");
        assert!(html.contains(name), "enterprise page lacks {name}");
    }
    let (status, _) = app
        .get_html("/bundles?audience=personal&theme=%E5%87%BA%E7%94%9F")
        .await;
    assert_eq!(status, 200);
});

both_backends!(bundle_page_shows_merged_materials_once_with_their_items, |app| {
    let (_, list) = app.get_json("/api/v1/bundles?per_page=200").await;
    // Find a bundle where some material is shared by several items.
    let mut checked = false;
    for b in list["items"].as_array().into_iter().flatten() {
        let code = b["code"].as_str().expect("code");
        let (_, detail) = app.get_json(&format!("/api/v1/bundles/{code}")).await;
        let Some(shared) = detail["materials"].as_array().and_then(|m| {
            m.iter()
                .find(|m| m["items"].as_array().is_some_and(|i| i.len() > 1))
        }) else {
            continue;
        };
        let (status, html) = app.get_html(&format!("/bundles/{code}")).await;
        assert_eq!(status, 200);
        let name = shared["name"].as_str().expect("name");
        let row = format!("<td>{name}</td>");
        assert_eq!(
            html.matches(&row).count(),
            1,
            "{code}: material {name} should appear once"
        );
        assert!(html.contains("共用"), "{code}: shared materials are marked");
        for key in ["承诺办结", "分别办理合计", "情形引导", "办理部门", "一套材料"] {
            if key == "情形引导" && detail["questions"].as_array().is_none_or(Vec::is_empty) {
                continue;
            }
            assert!(html.contains(key), "{code}: bundle page lacks {key}");
        }
        checked = true;
        break;
    }
    assert!(checked, "no bundle shares a material between items");
});

both_backends!(item_guide_page_shows_every_element_and_prints, |app| {
    let (_, list) = app.get_json("/api/v1/items?per_page=1").await;
    let code = list["items"][0]["code"].as_str().expect("code").to_owned();
    let (status, html) = app.get_html(&format!("/items/{code}")).await;
    assert_eq!(status, 200);
    for heading in [
        "事项类型",
        "实施主体",
        "法定办结时限",
        "承诺办结时限",
        "到办事现场次数",
        "网上办理深度",
        "设定依据",
        "受理条件",
        "申请材料",
        "办理流程",
        "收费标准",
        "办理地点",
        "办理时间",
        "咨询电话",
        "监督投诉",
    ] {
        assert!(html.contains(heading), "guide page of {code} lacks {heading}");
    }
    let (_, css) = (200, app.get("/static/site.css").await.text().await.expect("css"));
    assert!(css.contains("@media print"), "a print layout exists");
    assert!(
        html.contains("print-head") && html.contains("打印日期") && html.contains("<svg"),
        "the printed guide carries the letterhead, the print time and a QR code of the page"
    );
});

both_backends!(item_list_page_filters_by_department, |app| {
    let (status, html) = app.get_html("/items?department=police").await;
    assert_eq!(status, 200);
    assert!(html.contains("/items/GA-"), "police items listed");
    assert!(
        !html.contains("/items/SJ-"),
        "other departments' items not listed"
    );
});

both_backends!(search_finds_bundles_and_items_by_keyword, |app| {
    let (_, list) = app.get_json("/api/v1/bundles?per_page=1").await;
    let name = list["items"][0]["name"].as_str().expect("name").to_owned();
    let word: String = name.chars().take(2).collect();
    let (status, html) = app.get_html(&format!("/search?q={}", urlencode(&word))).await;
    assert_eq!(status, 200);
    assert!(html.contains(&name), "searching {word} finds {name}");
    let (status, html) = app
        .get_html("/search?q=%E6%B2%A1%E6%9C%89%E8%BF%99%E4%B8%AA%E4%BA%8B%E9%A1%B9xyz")
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("没有名称或关键词包含"),
        "empty results are explained"
    );
});

both_backends!(unknown_pages_are_chinese_404_pages, |app| {
    for path in ["/bundles/no-such-bundle", "/items/XX-999", "/no/such/page"] {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(has_chinese(&html) && html.contains("返回首页"), "{path}");
    }
});

both_backends!(head_is_answered_on_every_page_and_api_route, |app| {
    for (path, want) in [
        ("/", 200),
        ("/bundles/newborn", 200),
        ("/api/v1/bundles", 200),
        ("/dashboard", 200),
        ("/no-such-page", 404),
    ] {
        let resp = app
            .client
            .head(format!("{}{path}", app.address))
            .send()
            .await
            .expect("HEAD");
        assert_eq!(resp.status().as_u16(), want, "HEAD {path}");
        assert!(
            resp.bytes().await.expect("body").is_empty(),
            "HEAD {path} has no body"
        );
    }
});

both_backends!(regions_list_each_level_of_the_address_picker, |app| {
    let (status, provinces) = app.get_json("/api/v1/regions").await;
    assert_eq!(status, 200);
    assert!(
        provinces
            .as_array()
            .expect("list")
            .iter()
            .any(|p| p["name"] == "福建省"),
        "{provinces}"
    );
    let (_, towns) = app.get_json("/api/v1/regions?parent=350112").await;
    assert!(
        towns
            .as_array()
            .expect("list")
            .iter()
            .any(|t| t["code"] == "350112001" && t["name"] == "吴航街道"),
        "{towns}"
    );
    let (status, body) = app.get_json("/api/v1/regions?parent=999999").await;
    assert_eq!(status, 404, "{body}");
});

both_backends!(
    static_files_are_named_by_content_and_pages_are_compressed,
    |app| {
        let (_, home) = app.get_html("/").await;
        let css = home
            .split("href=\"/static/site.")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|rest| format!("/static/site.{rest}"))
            .expect("the style sheet is linked by a hashed name");
        assert!(
            css.ends_with(".css") && css.len() > "/static/site..css".len(),
            "{css}"
        );
        let resp = app.get(&css).await;
        assert_eq!(resp.status().as_u16(), 200);
        let cache = resp.headers()["cache-control"].to_str().unwrap_or("").to_owned();
        assert!(
            cache.contains("immutable") && cache.contains("31536000"),
            "{cache}"
        );
        let plain = app.get("/static/site.css").await;
        assert_eq!(plain.status().as_u16(), 200, "the plain name still answers");
        assert_eq!(plain.headers()["cache-control"], "public, max-age=300");
        assert_eq!(app.get("/static/site.0000.css").await.status().as_u16(), 404);
        for encoding in ["br", "gzip"] {
            let resp = app
                .client
                .get(format!("{}/", app.address))
                .header("accept-encoding", encoding)
                .send()
                .await
                .expect("home");
            assert_eq!(
                resp.headers()
                    .get("content-encoding")
                    .and_then(|v| v.to_str().ok()),
                Some(encoding),
                "the page is sent {encoding}-compressed"
            );
        }
    }
);
