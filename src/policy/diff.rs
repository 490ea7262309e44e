//! Field-by-field comparison of two versions of a policy.

use serde::Serialize;

use super::PolicyContent;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: &'static str,
    pub label: &'static str,
    pub before: String,
    pub after: String,
}

/// The fields of a policy in display order, with their Chinese labels.
pub const FIELDS: [(&str, &str); 20] = [
    ("title", "政策标题"),
    ("doc_number", "文号"),
    ("issuer", "发文机关"),
    ("published_on", "发布日期"),
    ("effective_from", "生效日期"),
    ("effective_to", "失效日期"),
    ("apply_deadline", "申报截止日期"),
    ("summary", "摘要"),
    ("body", "政策原文"),
    ("benefits", "享受内容"),
    ("conditions", "申报条件"),
    ("guide", "申报指南"),
    ("industries", "适用行业"),
    ("excluded_industries", "不适用行业"),
    ("scales", "企业规模"),
    ("regions", "适用地区"),
    ("keywords", "关键词"),
    ("interpretation", "政策解读"),
    ("attachments", "附件"),
    ("no_application", "免申即享"),
];

fn render(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(true) => "是".into(),
        serde_json::Value::Bool(false) => "否".into(),
        serde_json::Value::Array(items) => items.iter().map(render).collect::<Vec<_>>().join("、"),
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", render(v)))
            .collect::<Vec<_>>()
            .join("；"),
        other => other.to_string(),
    }
}

/// What changed from `before` to `after`; `None` before means everything is new.
pub fn diff(before: Option<&PolicyContent>, after: &PolicyContent) -> Vec<FieldChange> {
    let b = before
        .and_then(|p| serde_json::to_value(p).ok())
        .unwrap_or(serde_json::Value::Null);
    let a = serde_json::to_value(after).unwrap_or(serde_json::Value::Null);
    FIELDS
        .iter()
        .filter_map(|(field, label)| {
            let (bv, av) = (&b[*field], &a[*field]);
            (bv != av).then(|| FieldChange {
                field,
                label,
                before: render(bv),
                after: render(av),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{validate, PolicyInput};

    fn base() -> PolicyContent {
        validate(&PolicyInput {
            title: "标题".into(),
            issuer: "发文机关".into(),
            published_on: "2026-01-01".into(),
            effective_from: "2026-01-01".into(),
            summary: "摘要".into(),
            body: "原文".into(),
            benefits: "补贴".into(),
            keywords: vec!["稳岗".into()],
            ..Default::default()
        })
        .expect("valid")
    }

    #[test]
    fn only_changed_fields_are_listed_with_before_and_after() {
        let a = base();
        let mut b = a.clone();
        b.title = "新标题".into();
        b.keywords.push("补贴".into());
        let changes = diff(Some(&a), &b);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].field, "title");
        assert_eq!(
            (changes[0].before.as_str(), changes[0].after.as_str()),
            ("标题", "新标题")
        );
        assert_eq!(changes[1].after, "稳岗、补贴");
        assert!(diff(Some(&a), &a).is_empty());
    }

    #[test]
    fn the_first_version_shows_every_filled_field_as_new() {
        let changes = diff(None, &base());
        assert!(changes.iter().any(|c| c.field == "title" && c.before.is_empty()));
    }
}
