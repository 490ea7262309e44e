//! The enterprise benefit-policy library (惠企政策库): the policy model, its validation,
//! derived status, version diffs, eligibility matching, seed data, spreadsheet import and
//! export, and the synthetic-library generator. Plain Rust without I/O except where named.

pub mod demo;
pub mod diff;
pub mod matching;
pub mod regions;
pub mod seed;
pub mod table;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::field_error::FieldError;
use crate::identity::{self, Scale};

/// The stored lifecycle state; "expired" is not stored but derived from the dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Published,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "draft" | "草稿" => Some(Self::Draft),
            "published" | "已发布" => Some(Self::Published),
            "revoked" | "已废止" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// The status people see: the stored one, with a published policy past its expiry date
/// shown as expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShownStatus {
    Draft,
    Published,
    Expired,
    Revoked,
}

impl ShownStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::Published => "已发布",
            Self::Expired => "已失效",
            Self::Revoked => "已废止",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Expired, Self::Revoked]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

pub fn shown_status(status: Status, effective_to: Option<NaiveDate>, today: NaiveDate) -> ShownStatus {
    match status {
        Status::Draft => ShownStatus::Draft,
        Status::Revoked => ShownStatus::Revoked,
        Status::Published if effective_to.is_some_and(|d| d < today) => ShownStatus::Expired,
        Status::Published => ShownStatus::Published,
    }
}

/// In force: published, already effective, and not past its expiry date.
pub fn in_force(
    status: Status,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == Status::Published && effective_from <= today && effective_to.is_none_or(|d| d >= today)
}

/// The standardized application guide (申报指南).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Guide {
    pub who: String,
    pub materials: Vec<String>,
    #[serde(rename = "where")]
    pub place: String,
    pub how: String,
    pub deadline: String,
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionKind {
    MaxEmployees,
    MinEmployees,
    MaxRevenue,
    MinRevenue,
    MaxYearsEstablished,
    MinYearsEstablished,
    Tag,
    Note,
}

impl ConditionKind {
    pub const ALL: [ConditionKind; 8] = [
        Self::MaxEmployees,
        Self::MinEmployees,
        Self::MaxRevenue,
        Self::MinRevenue,
        Self::MaxYearsEstablished,
        Self::MinYearsEstablished,
        Self::Tag,
        Self::Note,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxEmployees => "max_employees",
            Self::MinEmployees => "min_employees",
            Self::MaxRevenue => "max_revenue",
            Self::MinRevenue => "min_revenue",
            Self::MaxYearsEstablished => "max_years_established",
            Self::MinYearsEstablished => "min_years_established",
            Self::Tag => "tag",
            Self::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_numeric(self) -> bool {
        !matches!(self, Self::Tag | Self::Note)
    }
}

/// The enterprise tags a `tag` condition may ask for.
pub const TAGS: [&str; 12] = [
    "高新技术企业",
    "科技型中小企业",
    "专精特新中小企业",
    "个体工商户",
    "进出口企业",
    "一般纳税人",
    "小规模纳税人",
    "吸纳重点群体就业",
    "参加失业保险",
    "有研发投入",
    "首次创业",
    "制造业企业",
];

/// A condition value: a number for the numeric kinds, a tag for `tag`, none for `note`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ConditionValue {
    Number(f64),
    Text(String),
}

/// One structured eligibility condition beyond industries, scales and regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Condition {
    pub kind: ConditionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ConditionValue>,
    pub text: String,
}

/// Everything an editor writes about a policy; each change of it is a new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyContent {
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub published_on: NaiveDate,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub apply_deadline: Option<NaiveDate>,
    pub summary: String,
    pub body: String,
    pub benefits: String,
    pub conditions: Vec<Condition>,
    pub guide: Guide,
    pub industries: Vec<String>,
    /// Industries the policy excludes (研发费用加计扣除 excludes 住宿和餐饮业 and others):
    /// never matched, never found by an industry filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_industries: Vec<String>,
    pub scales: Vec<Scale>,
    pub regions: Vec<String>,
    pub keywords: Vec<String>,
    pub interpretation: String,
    pub attachments: Vec<Attachment>,
    /// 免申即享: enterprises that qualify get the benefit without applying; the platform
    /// decides from the enterprise registry. Only a policy every condition of which the
    /// registry can decide may say so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_application: bool,
}

impl PolicyContent {
    /// The issuing bodies (several are separated by spaces).
    pub fn issuers(&self) -> Vec<String> {
        self.issuer.split_whitespace().map(str::to_owned).collect()
    }
}

/// A condition as submitted, before its kind and value are checked.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ConditionInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    #[serde(default)]
    pub text: String,
}

/// A policy as submitted through the API, a form, a spreadsheet row or the seed file:
/// text everywhere, so that every problem becomes a field error rather than a rejection.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PolicyInput {
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub published_on: String,
    pub effective_from: String,
    pub effective_to: String,
    pub apply_deadline: String,
    pub summary: String,
    pub body: String,
    pub benefits: String,
    pub conditions: Vec<ConditionInput>,
    pub guide: Guide,
    pub industries: Vec<String>,
    pub excluded_industries: Vec<String>,
    pub scales: Vec<String>,
    pub regions: Vec<String>,
    pub keywords: Vec<String>,
    pub interpretation: String,
    pub attachments: Vec<Attachment>,
    /// 免申即享.
    pub no_application: bool,
}

impl From<&PolicyContent> for PolicyInput {
    fn from(p: &PolicyContent) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        Self {
            title: p.title.clone(),
            doc_number: p.doc_number.clone(),
            issuer: p.issuer.clone(),
            published_on: p.published_on.to_string(),
            effective_from: p.effective_from.to_string(),
            effective_to: date(p.effective_to),
            apply_deadline: date(p.apply_deadline),
            summary: p.summary.clone(),
            body: p.body.clone(),
            benefits: p.benefits.clone(),
            conditions: p
                .conditions
                .iter()
                .map(|c| ConditionInput {
                    kind: c.kind.as_str().into(),
                    value: c.value.as_ref().map(|v| match v {
                        ConditionValue::Number(n) => serde_json::json!(n),
                        ConditionValue::Text(t) => serde_json::json!(t),
                    }),
                    text: c.text.clone(),
                })
                .collect(),
            guide: p.guide.clone(),
            industries: p.industries.clone(),
            excluded_industries: p.excluded_industries.clone(),
            scales: p.scales.iter().map(|s| s.as_str().to_owned()).collect(),
            regions: p.regions.clone(),
            keywords: p.keywords.clone(),
            interpretation: p.interpretation.clone(),
            attachments: p.attachments.clone(),
            no_application: p.no_application,
        }
    }
}

fn parse_date(field: &str, label: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_date",
                format!("{label}应为 YYYY-MM-DD 格式的日期，如 2026-01-01"),
            ));
            None
        }
    }
}

fn required_text(field: &str, label: &str, raw: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let s = raw.trim();
    if s.is_empty() {
        errors.push(FieldError::new(field, "required", format!("请填写{label}")));
    } else if s.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("{label}不能超过 {max} 个字"),
        ));
    }
    s.to_owned()
}

fn optional_text(field: &str, label: &str, raw: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let s = raw.trim();
    if s.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("{label}不能超过 {max} 个字"),
        ));
    }
    s.to_owned()
}

fn clean_list(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

fn condition(i: usize, c: &ConditionInput, errors: &mut Vec<FieldError>) -> Option<Condition> {
    let field = format!("conditions[{i}]");
    let Some(kind) = ConditionKind::parse(c.kind.trim()) else {
        errors.push(FieldError::new(
            &field,
            "invalid_condition_kind",
            format!(
                "第 {} 个条件的类型“{}”无效，应为 max_employees、min_employees、max_revenue、min_revenue、max_years_established、min_years_established、tag 或 note",
                i + 1,
                c.kind
            ),
        ));
        return None;
    };
    let text = c.text.trim().to_owned();
    if text.is_empty() {
        errors.push(FieldError::new(
            &field,
            "required",
            format!("第 {} 个条件缺少向企业展示的文字说明", i + 1),
        ));
    }
    let value = match (kind, &c.value) {
        (ConditionKind::Note, _) => None,
        (ConditionKind::Tag, Some(serde_json::Value::String(t))) if TAGS.contains(&t.trim()) => {
            Some(ConditionValue::Text(t.trim().to_owned()))
        }
        (ConditionKind::Tag, _) => {
            errors.push(FieldError::new(
                &field,
                "invalid_tag",
                format!("第 {} 个条件的标签应为：{}", i + 1, TAGS.join("、")),
            ));
            None
        }
        (_, Some(v)) => match v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(n) if n >= 0.0 && n.is_finite() => Some(ConditionValue::Number(n)),
            _ => {
                errors.push(FieldError::new(
                    &field,
                    "invalid_number",
                    format!("第 {} 个条件的数值应为不小于 0 的数字", i + 1),
                ));
                None
            }
        },
        (_, None) => {
            errors.push(FieldError::new(
                &field,
                "invalid_number",
                format!("第 {} 个条件缺少数值", i + 1),
            ));
            None
        }
    };
    Some(Condition { kind, value, text })
}

/// Checks a submitted policy; every problem is reported at once, per field, in Chinese.
pub fn validate(input: &PolicyInput) -> Result<PolicyContent, Vec<FieldError>> {
    let mut e = Vec::new();
    let title = required_text("title", "政策标题", &input.title, 200, &mut e);
    let doc_number = optional_text("doc_number", "文号", &input.doc_number, 100, &mut e);
    let issuer = required_text("issuer", "发文机关", &input.issuer, 100, &mut e);
    let issuer = issuer.split_whitespace().collect::<Vec<_>>().join(" ");
    let published_on = parse_date("published_on", "发布日期", &input.published_on, &mut e);
    if published_on.is_none() && input.published_on.trim().is_empty() {
        e.push(FieldError::new("published_on", "required", "请填写发布日期"));
    }
    let effective_from = parse_date("effective_from", "生效日期", &input.effective_from, &mut e);
    let effective_to = parse_date("effective_to", "失效日期", &input.effective_to, &mut e);
    let apply_deadline = parse_date("apply_deadline", "申报截止日期", &input.apply_deadline, &mut e);
    if let (Some(f), Some(t)) = (effective_from, effective_to) {
        if t < f {
            e.push(FieldError::new(
                "effective_to",
                "before_effective_from",
                "失效日期不能早于生效日期",
            ));
        }
    }
    let summary = required_text("summary", "政策摘要", &input.summary, 500, &mut e);
    let body = required_text("body", "政策原文", &input.body, 30_000, &mut e);
    let benefits = required_text("benefits", "享受内容", &input.benefits, 5_000, &mut e);
    let interpretation = optional_text(
        "interpretation",
        "政策解读",
        &input.interpretation,
        30_000,
        &mut e,
    );
    let industries = clean_list(&input.industries)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .collect::<Vec<_>>();
    for code in &industries {
        match identity::industries().get(code) {
            Some(i) if i.level <= 2 => {}
            _ => e.push(FieldError::new(
                "industries",
                "unknown_industry",
                format!("行业“{code}”应为 GB/T 4754-2017 的门类字母或两位大类代码"),
            )),
        }
    }
    let excluded_industries = clean_list(&input.excluded_industries)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .collect::<Vec<_>>();
    for code in &excluded_industries {
        if identity::industries().get(code).is_none_or(|i| i.level > 2) {
            e.push(FieldError::new(
                "excluded_industries",
                "unknown_industry",
                format!("不适用行业“{code}”应为 GB/T 4754-2017 的门类字母或两位大类代码"),
            ));
        } else if industries.contains(code) {
            e.push(FieldError::new(
                "excluded_industries",
                "conflict",
                format!("行业“{code}”不能既适用又不适用"),
            ));
        }
    }
    let mut scales = Vec::new();
    for s in clean_list(&input.scales) {
        match Scale::parse(&s) {
            Ok(v) if !scales.contains(&v) => scales.push(v),
            Ok(_) => {}
            Err(err) => e.push(FieldError::new("scales", err.code, err.message)),
        }
    }
    let regions = clean_list(&input.regions);
    for r in &regions {
        if regions::name(r).is_none() {
            e.push(FieldError::new(
                "regions",
                "unknown_region",
                format!("地区代码“{r}”不在地区表中（全国为 100000）"),
            ));
        }
    }
    let keywords = clean_list(&input.keywords);
    if keywords.len() > 30 {
        e.push(FieldError::new("keywords", "too_many", "关键词不能超过 30 个"));
    }
    let conditions: Vec<Condition> = input
        .conditions
        .iter()
        .enumerate()
        .filter_map(|(i, c)| condition(i, c, &mut e))
        .collect();
    let attachments: Vec<Attachment> = input
        .attachments
        .iter()
        .map(|a| Attachment {
            name: a.name.trim().to_owned(),
        })
        .filter(|a| !a.name.is_empty())
        .collect();
    let guide = Guide {
        who: input.guide.who.trim().to_owned(),
        materials: clean_list(&input.guide.materials),
        place: input.guide.place.trim().to_owned(),
        how: input.guide.how.trim().to_owned(),
        deadline: input.guide.deadline.trim().to_owned(),
        contact: input.guide.contact.trim().to_owned(),
    };
    if input.effective_from.trim().is_empty() {
        e.push(FieldError::new("effective_from", "required", "请填写生效日期"));
    }
    if input.no_application {
        for c in &conditions {
            if !matching::decidable_from_registry(c) {
                e.push(FieldError::new(
                    "no_application",
                    "not_decidable",
                    format!(
                        "免申即享政策的每项条件都须能由市场主体登记信息判定（从业人数、成立年限）；“{}”需要企业自行提供，请改写条件或取消免申即享",
                        c.text
                    ),
                ));
            }
        }
    }
    match (published_on, effective_from) {
        (Some(published_on), Some(effective_from)) if e.is_empty() => Ok(PolicyContent {
            title,
            doc_number,
            issuer,
            published_on,
            effective_from,
            effective_to,
            apply_deadline,
            summary,
            body,
            benefits,
            conditions,
            guide,
            industries,
            excluded_industries,
            scales,
            regions,
            keywords,
            interpretation,
            attachments,
            no_application: input.no_application,
        }),
        _ => Err(e),
    }
}

/// A stable fingerprint of the content: equal content, equal hash.
pub fn content_hash(content: &PolicyContent) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_string(content).unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    pub fn sample_input() -> PolicyInput {
        PolicyInput {
            title: "关于支持餐饮业纾困发展的若干措施".into(),
            doc_number: "榕政办〔2026〕1号".into(),
            issuer: "福州市人民政府办公厅".into(),
            published_on: "2026-01-05".into(),
            effective_from: "2026-01-05".into(),
            effective_to: "2027-12-31".into(),
            summary: "对餐饮企业给予房租补贴".into(),
            body: "为支持餐饮业发展，制定以下措施。".into(),
            benefits: "按月房租的30%给予补贴".into(),
            industries: vec!["H".into(), "62".into()],
            scales: vec!["small".into(), "micro".into()],
            regions: vec!["350100".into()],
            conditions: vec![ConditionInput {
                kind: "max_employees".into(),
                value: Some(serde_json::json!(100)),
                text: "从业人数不超过100人".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_policy_validates() {
        let p = validate(&sample_input()).expect("valid");
        assert_eq!(p.industries, vec!["H", "62"]);
        assert_eq!(p.scales, vec![Scale::Small, Scale::Micro]);
        assert_eq!(p.conditions[0].value, Some(ConditionValue::Number(100.0)));
    }

    #[test]
    fn every_bad_field_is_reported_in_chinese() {
        let mut i = sample_input();
        i.title = " ".into();
        i.effective_to = "2025-01-01".into();
        i.industries = vec!["ZZ".into()];
        i.scales = vec!["huge".into()];
        i.regions = vec!["999999".into()];
        i.published_on = "2026/01/05".into();
        i.conditions[0].kind = "max_age".into();
        let errs = validate(&i).expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "title",
            "effective_to",
            "industries",
            "scales",
            "regions",
            "published_on",
            "conditions[0]",
        ] {
            assert!(fields.contains(&f), "no error for {f}: {fields:?}");
        }
        assert!(errs
            .iter()
            .all(|e| e.message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
    }

    #[test]
    fn in_force_follows_the_dates_and_the_status() {
        let today = d("2026-06-01");
        assert!(in_force(Status::Published, d("2026-01-01"), None, today));
        assert!(in_force(Status::Published, d("2026-01-01"), Some(today), today));
        assert!(!in_force(Status::Published, d("2026-07-01"), None, today));
        assert!(!in_force(
            Status::Published,
            d("2025-01-01"),
            Some(d("2026-05-31")),
            today
        ));
        assert!(!in_force(Status::Revoked, d("2026-01-01"), None, today));
        assert!(!in_force(Status::Draft, d("2026-01-01"), None, today));
        assert_eq!(
            shown_status(Status::Published, Some(d("2026-05-31")), today),
            ShownStatus::Expired
        );
        assert_eq!(
            shown_status(Status::Published, Some(today), today),
            ShownStatus::Published
        );
    }

    #[test]
    fn input_round_trips_through_content() {
        let p = validate(&sample_input()).expect("valid");
        let again = validate(&PolicyInput::from(&p)).expect("valid again");
        assert_eq!(p, again);
        assert_eq!(content_hash(&p), content_hash(&again));
    }
}
