//! The shipped seed library (`assets/policies/seed.toml`), parsed into submissions that go
//! through the same validation as any other.

use serde::Deserialize;
use toml::value::Datetime;

use super::{Attachment, ConditionInput, Guide, PolicyContent, PolicyInput, Status};

pub const SEED_TOML: &str = include_str!("../../assets/policies/seed.toml");

#[derive(Deserialize)]
struct SeedFile {
    #[serde(default)]
    policy: Vec<SeedPolicy>,
}

#[derive(Deserialize)]
struct SeedCondition {
    kind: String,
    #[serde(default)]
    value: Option<toml::Value>,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct SeedPolicy {
    key: String,
    title: String,
    #[serde(default)]
    doc_number: String,
    issuer: String,
    published_on: Datetime,
    effective_from: Datetime,
    #[serde(default)]
    effective_to: Option<Datetime>,
    #[serde(default)]
    apply_deadline: Option<Datetime>,
    status: String,
    summary: String,
    body: String,
    benefits: String,
    #[serde(default)]
    industries: Vec<String>,
    #[serde(default)]
    excluded_industries: Vec<String>,
    #[serde(default)]
    scales: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    interpretation: String,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    no_application: bool,
    #[serde(default)]
    guide: Guide,
    #[serde(default)]
    conditions: Vec<SeedCondition>,
}

/// One checked seed policy.
#[derive(Debug, Clone)]
pub struct SeedEntry {
    pub key: String,
    pub status: Status,
    pub content: PolicyContent,
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Integer(i) => serde_json::json!(i),
        toml::Value::Float(f) => serde_json::json!(f),
        toml::Value::String(s) => serde_json::json!(s),
        toml::Value::Boolean(b) => serde_json::json!(b),
        other => serde_json::json!(other.to_string()),
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parses and checks a seed file; any problem names the policy key and field.
pub fn parse(text: &str) -> Result<Vec<SeedEntry>, String> {
    let file: SeedFile = toml::from_str(text).map_err(|e| format!("seed file: {e}"))?;
    let mut out: Vec<SeedEntry> = Vec::new();
    for p in file.policy {
        if !valid_key(&p.key) {
            return Err(format!(
                "seed key {:?}: use lowercase ascii letters, digits and dashes",
                p.key
            ));
        }
        if out.iter().any(|e| e.key == p.key) {
            return Err(format!("seed key {} appears twice", p.key));
        }
        let status = Status::parse(&p.status)
            .ok_or_else(|| format!("seed {}: unknown status {:?}", p.key, p.status))?;
        let date = |d: Option<Datetime>| d.map(|d| d.to_string()).unwrap_or_default();
        let input = PolicyInput {
            title: p.title,
            doc_number: p.doc_number,
            issuer: p.issuer,
            published_on: p.published_on.to_string(),
            effective_from: p.effective_from.to_string(),
            effective_to: date(p.effective_to),
            apply_deadline: date(p.apply_deadline),
            summary: p.summary,
            body: p.body,
            benefits: p.benefits,
            conditions: p
                .conditions
                .into_iter()
                .map(|c| ConditionInput {
                    kind: c.kind,
                    value: c.value.map(toml_to_json),
                    text: c.text,
                })
                .collect(),
            guide: p.guide,
            industries: p.industries,
            excluded_industries: p.excluded_industries,
            scales: p.scales,
            regions: p.regions,
            keywords: p.keywords,
            interpretation: p.interpretation,
            attachments: p.attachments,
            no_application: p.no_application,
        };
        let content = super::validate(&input).map_err(|errs| {
            let list: Vec<String> = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            format!("seed {}: {}", p.key, list.join("; "))
        })?;
        out.push(SeedEntry {
            key: p.key,
            status,
            content,
        });
    }
    Ok(out)
}

/// The shipped seed library.
pub fn shipped() -> Result<Vec<SeedEntry>, String> {
    parse(SEED_TOML)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[policy]]
key = "t-1"
title = "测试政策"
doc_number = "测试〔2026〕1号"
issuer = "福州市 长乐区人民政府"
published_on = 2026-01-01
effective_from = 2026-01-01
status = "published"
summary = "摘要"
body = "原文"
benefits = "补贴"
industries = ["H"]
scales = ["micro"]
regions = ["350112"]
[policy.guide]
who = "餐饮企业"
materials = ["申请表"]
where = "长乐区行政服务中心"
[[policy.conditions]]
kind = "max_employees"
value = 10
text = "从业人数不超过10人"
"#;

    #[test]
    fn a_seed_policy_parses_with_dates_guide_and_conditions() {
        let entries = parse(ONE).expect("parses");
        assert_eq!(entries.len(), 1);
        let p = &entries[0].content;
        assert_eq!(p.published_on.to_string(), "2026-01-01");
        assert_eq!(p.guide.place, "长乐区行政服务中心");
        assert_eq!(
            p.conditions[0].value,
            Some(super::super::ConditionValue::Number(10.0))
        );
        assert_eq!(p.issuers(), vec!["福州市", "长乐区人民政府"]);
    }

    #[test]
    fn a_bad_seed_policy_is_named() {
        let err = parse(&ONE.replace("\"H\"", "\"QQ\"")).expect_err("bad industry");
        assert!(err.contains("t-1") && err.contains("industries"), "{err}");
    }

    #[test]
    fn the_shipped_seed_library_is_valid() {
        let entries = shipped().expect("the shipped seed file is valid");
        assert!(!entries.is_empty());
    }
}
