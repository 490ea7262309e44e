//! The OpenAPI document is generated from the registered routes: it is served, it is valid
//! OpenAPI 3, every route in it reaches a handler, and a change to it is a reviewed snapshot.

use serde_json::Value;

use crate::both_backends;

fn generated() -> Value {
    serde_json::from_str(onething::web::openapi::document()).expect("the document is JSON")
}

#[test]
fn openapi_document_is_valid_openapi_3_and_matches_its_snapshot() {
    let text = onething::web::openapi::document();
    let spec = oas3::from_json(text).unwrap_or_else(|e| panic!("not a valid OpenAPI 3.1 document: {e}"));
    assert!(spec.openapi.starts_with("3."), "openapi: {}", spec.openapi);
    insta::assert_json_snapshot!("openapi", generated());
}

#[test]
fn openapi_document_lists_every_route_of_the_api() {
    let doc = generated();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 57, "only {} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents no success response"
            );
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
        }
    }
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

both_backends!(every_documented_operation_reaches_a_handler, |app| {
    let (status, served) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(served, generated(), "the served document is the generated one");
    for (path, item) in served["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let url = format!("{}/api/v1{}", app.address, concrete(path));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let resp = app
                .client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let unrouted = status == 404 && body["message"].as_str().is_some_and(|m| m.starts_with("接口 "));
            assert!(!unrouted, "{method} {path} is documented but not routed: {body}");
            assert!(status < 500, "{method} {path} answered {status}: {body}");
        }
    }
});
