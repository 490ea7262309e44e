//! The adapter for a provincial data-exchange platform: JSON over HTTPS.
//!
//! The contract: `POST {base}/v1/lookup` with `{"registry": "<code>", "key": "<key>"}` and
//! the API key as a bearer token; the answer is `200 {"found": true, "attributes": {...}}` or
//! `200 {"found": false}`. The key travels in the body, never in the address, so that it
//! stays out of access logs. A request that times out, fails to connect or gets a 5xx is
//! tried again up to the configured number of times; any other answer is final. Whatever
//! does not end in one of the two 200 answers is `Answer::Unavailable` with the reason.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::rules::{Answer, Registry};

#[derive(Clone)]
pub struct HttpRegistries {
    client: reqwest012::Client,
    endpoint: String,
    api_key: Option<String>,
    retries: u32,
}

#[derive(Deserialize)]
struct Reply {
    found: bool,
    #[serde(default)]
    attributes: BTreeMap<String, serde_json::Value>,
}

impl HttpRegistries {
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, String> {
        let base =
            url::Url::parse(base_url).map_err(|e| format!("ONETHING_REGISTRY_URL {base_url:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!(
                "ONETHING_REGISTRY_URL {base_url:?} must be an http(s) address"
            ));
        }
        let client = reqwest012::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("registry HTTP client: {e}"))?;
        Ok(Self {
            client,
            endpoint: format!("{}/v1/lookup", base_url.trim_end_matches('/')),
            api_key,
            retries,
        })
    }

    pub async fn lookup(&self, registry: Registry, key: &str) -> Answer {
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                // A short pause before trying again; the whole lookup stays within a second
                // at the default timeout and one retry.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut request = self
                .client
                .post(&self.endpoint)
                .json(&serde_json::json!({ "registry": registry.code(), "key": key }));
            if let Some(k) = &self.api_key {
                request = request.bearer_auth(k);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return match response.json::<Reply>().await {
                        Ok(Reply { found: false, .. }) => Answer::NotFound,
                        Ok(Reply { attributes, .. }) => Answer::Found {
                            attributes: attributes
                                .into_iter()
                                .filter_map(|(k, v)| text(v).map(|v| (k, v)))
                                .collect(),
                        },
                        Err(e) => Answer::Unavailable {
                            reason: format!("数据共享平台的答复无法识别：{e}"),
                        },
                    };
                }
                Ok(response) if response.status().is_server_error() => {
                    last = format!("数据共享平台返回错误 {}", response.status().as_u16());
                }
                Ok(response) => {
                    return Answer::Unavailable {
                        reason: format!("数据共享平台拒绝了查询（{}）", response.status().as_u16()),
                    }
                }
                Err(e) if e.is_timeout() => last = "数据共享平台查询超时".into(),
                Err(e) if e.is_connect() => last = "无法连接数据共享平台".into(),
                Err(e) => last = format!("数据共享平台查询失败：{e}"),
            }
        }
        Answer::Unavailable { reason: last }
    }
}

/// An attribute as text: strings as they are, numbers and booleans written out; null is
/// no value.
fn text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}
