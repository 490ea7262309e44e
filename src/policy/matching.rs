//! 为我匹配: which policies an enterprise qualifies for, with the reasons, and which it
//! nearly qualifies for (exactly one checkable condition unmet), with what is missing.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{regions, Condition, ConditionKind, ConditionValue, PolicyContent};
use crate::identity::{self, Scale};

/// What an enterprise tells about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// GB/T 4754-2017 code at any level (section, division, group or class).
    pub industry: Option<String>,
    pub scale: Option<Scale>,
    /// Region code of the place of registration.
    pub region: Option<String>,
    pub founded_on: Option<NaiveDate>,
    pub employees: Option<u32>,
    /// Annual revenue in 万元.
    pub revenue: Option<f64>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Outcome {
    Qualified {
        reasons: Vec<String>,
        to_confirm: Vec<String>,
    },
    Nearly {
        missing: String,
        reasons: Vec<String>,
        to_confirm: Vec<String>,
    },
    No,
}

/// Whole years from `founded` to `today`.
pub fn years_between(founded: NaiveDate, today: NaiveDate) -> i64 {
    let mut years = i64::from(today.year() - founded.year());
    if (today.month(), today.day()) < (founded.month(), founded.day()) {
        years -= 1;
    }
    years
}

/// The industry code and its ancestors (class → group → division → section).
pub fn industry_chain(code: &str) -> Vec<String> {
    let code = code.trim().to_ascii_uppercase();
    let Some(entry) = identity::industries().get(&code) else {
        return vec![code];
    };
    let mut chain = vec![code.clone()];
    if code.len() >= 3 {
        chain.push(code[..2].to_owned());
    }
    if code.len() >= 4 {
        chain.push(code[..3].to_owned());
    }
    if !chain.contains(&entry.section) {
        chain.push(entry.section.clone());
    }
    chain
}

enum Check {
    Met(String),
    Unmet(String),
    /// The profile lacks the figure to decide; treated as unmet, worded as a question.
    Unknown(String),
    Note(String),
}

fn number(c: &Condition) -> f64 {
    match c.value {
        Some(ConditionValue::Number(n)) => n,
        _ => 0.0,
    }
}

fn check_condition(c: &Condition, p: &Profile, today: NaiveDate) -> Check {
    let n = number(c);
    let verdict = |have: Option<f64>, ok: &dyn Fn(f64) -> bool| match have {
        None => Check::Unknown(c.text.clone()),
        Some(v) if ok(v) => Check::Met(c.text.clone()),
        Some(_) => Check::Unmet(c.text.clone()),
    };
    let years = p.founded_on.map(|f| years_between(f, today) as f64);
    match c.kind {
        ConditionKind::MaxEmployees => verdict(p.employees.map(f64::from), &|v| v <= n),
        ConditionKind::MinEmployees => verdict(p.employees.map(f64::from), &|v| v >= n),
        ConditionKind::MaxRevenue => verdict(p.revenue, &|v| v <= n),
        ConditionKind::MinRevenue => verdict(p.revenue, &|v| v >= n),
        ConditionKind::MaxYearsEstablished => verdict(years, &|v| v <= n),
        ConditionKind::MinYearsEstablished => verdict(years, &|v| v >= n),
        ConditionKind::Tag => {
            let tag = match &c.value {
                Some(ConditionValue::Text(t)) => t.as_str(),
                _ => "",
            };
            if p.tags.iter().any(|t| t == tag) {
                Check::Met(c.text.clone())
            } else {
                Check::Unmet(c.text.clone())
            }
        }
        ConditionKind::Note => Check::Note(c.text.clone()),
    }
}

/// Whether the enterprise registry can decide a condition (从业人数、成立年限); revenue, tags
/// and notes need the enterprise's own word.
pub fn decidable_from_registry(c: &Condition) -> bool {
    matches!(
        c.kind,
        ConditionKind::MaxEmployees
            | ConditionKind::MinEmployees
            | ConditionKind::MaxYearsEstablished
            | ConditionKind::MinYearsEstablished
    )
}

/// An enterprise's profile from its registration record (the enterprise registry's
/// attributes: `status`, `industry`, `scale`, `region`, `founded_on`, `employees`); none for
/// an enterprise no longer in business (登记状态 not 存续).
pub fn profile_from_registry(attributes: &std::collections::BTreeMap<String, String>) -> Option<Profile> {
    let get = |k: &str| attributes.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if get("status") != Some("存续") {
        return None;
    }
    Some(Profile {
        industry: get("industry").map(str::to_owned),
        scale: get("scale").and_then(|s| Scale::parse(s).ok()),
        region: get("region").map(str::to_owned),
        founded_on: get("founded_on").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        employees: get("employees").and_then(|n| n.parse().ok()),
        revenue: None,
        tags: Vec::new(),
    })
}

/// 免申即享: the reasons an enterprise gets a policy without applying, when the policy is
/// designated so and the registry's profile meets every condition with nothing left to
/// confirm; none otherwise.
pub fn granted_without_application(
    policy: &PolicyContent,
    p: &Profile,
    today: NaiveDate,
) -> Option<Vec<String>> {
    if !policy.no_application || !policy.conditions.iter().all(decidable_from_registry) {
        return None;
    }
    match evaluate(policy, p, today) {
        Outcome::Qualified { reasons, to_confirm } if to_confirm.is_empty() => Some(reasons),
        _ => None,
    }
}

/// Evaluates one policy against a profile (the policy is assumed published and in force).
pub fn evaluate(policy: &PolicyContent, p: &Profile, today: NaiveDate) -> Outcome {
    let mut reasons = Vec::new();
    let mut unmet: Vec<String> = Vec::new();
    let mut to_confirm = Vec::new();

    // An industry the policy excludes is never offered, not even as "nearly".
    let chain = p.industry.as_deref().map(industry_chain).unwrap_or_default();
    if policy.excluded_industries.iter().any(|c| chain.contains(c)) {
        return Outcome::No;
    }
    if policy.industries.is_empty() {
        reasons.push("不限行业".to_owned());
    } else {
        let chain = p.industry.as_deref().map(industry_chain).unwrap_or_default();
        match policy.industries.iter().find(|c| chain.contains(c)) {
            Some(code) => reasons.push(format!(
                "所属行业符合（{}）",
                identity::industries()
                    .get(code)
                    .map(|i| i.name.as_str())
                    .unwrap_or(code)
            )),
            None => return Outcome::No,
        }
    }
    if policy.scales.is_empty() {
        reasons.push("不限企业规模".to_owned());
    } else {
        match p.scale {
            Some(s) if policy.scales.contains(&s) => {
                reasons.push(format!("企业规模符合（{}企业）", s.label()))
            }
            Some(_) => return Outcome::No,
            None => unmet.push(format!(
                "企业规模为{}",
                policy
                    .scales
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }
    if !policy.regions.is_empty() {
        let place = p.region.as_deref().unwrap_or("");
        match policy.regions.iter().find(|r| regions::covers(r, place)) {
            Some(r) => reasons.push(format!("适用地区覆盖（{}）", regions::name(r).unwrap_or(r))),
            None if p.region.is_none() => unmet.push("注册地在政策适用地区内".to_owned()),
            None => return Outcome::No,
        }
    }
    for c in &policy.conditions {
        match check_condition(c, p, today) {
            Check::Met(t) => reasons.push(t),
            Check::Unmet(t) => unmet.push(t),
            Check::Unknown(t) => unmet.push(format!("{t}（请补充企业信息后确认）")),
            Check::Note(t) => to_confirm.push(format!("{t}（需自行确认）")),
        }
    }
    match unmet.len() {
        0 => Outcome::Qualified { reasons, to_confirm },
        1 => Outcome::Nearly {
            missing: unmet.remove(0),
            reasons,
            to_confirm,
        },
        _ => Outcome::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{validate, ConditionInput, PolicyInput};
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).expect("date")
    }

    fn policy(
        industries: &[&str],
        scales: &[&str],
        regions: &[&str],
        conds: Vec<ConditionInput>,
    ) -> PolicyContent {
        validate(&PolicyInput {
            title: "政策".into(),
            issuer: "机关".into(),
            published_on: "2026-01-01".into(),
            effective_from: "2026-01-01".into(),
            summary: "摘要".into(),
            body: "原文".into(),
            benefits: "补贴".into(),
            industries: industries.iter().map(|s| s.to_string()).collect(),
            scales: scales.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            conditions: conds,
            ..Default::default()
        })
        .expect("valid policy")
    }

    fn cond(kind: &str, value: serde_json::Value, text: &str) -> ConditionInput {
        ConditionInput {
            kind: kind.into(),
            value: Some(value),
            text: text.into(),
        }
    }

    fn restaurant() -> Profile {
        Profile {
            industry: Some("6210".into()),
            scale: Some(Scale::Micro),
            region: Some("350112".into()),
            founded_on: NaiveDate::from_ymd_opt(2024, 3, 1),
            employees: Some(8),
            revenue: Some(120.0),
            tags: vec!["小规模纳税人".into()],
        }
    }

    #[test]
    fn a_designated_policy_is_granted_from_the_registry_with_nothing_to_confirm() {
        let mut p = policy(
            &["H"],
            &["micro"],
            &["350112"],
            vec![cond("max_employees", serde_json::json!(10), "从业人员不超过10人")],
        );
        let registered = std::collections::BTreeMap::from(
            [
                ("status", "存续"),
                ("industry", "6210"),
                ("scale", "微型"),
                ("region", "350112"),
                ("founded_on", "2024-07-01"),
                ("employees", "3"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let profile = profile_from_registry(&registered).expect("in business");
        assert_eq!(
            granted_without_application(&p, &profile, today()),
            None,
            "not designated"
        );
        p.no_application = true;
        let reasons = granted_without_application(&p, &profile, today()).expect("granted");
        assert!(reasons.contains(&"从业人员不超过10人".to_owned()), "{reasons:?}");
        let mut bigger = profile.clone();
        bigger.employees = Some(12);
        assert_eq!(granted_without_application(&p, &bigger, today()), None);
        let mut unknown = profile;
        unknown.employees = None;
        assert_eq!(
            granted_without_application(&p, &unknown, today()),
            None,
            "a figure the registry lacks is never assumed"
        );
        let mut closed = registered;
        closed.insert("status".into(), "注销".into());
        assert_eq!(profile_from_registry(&closed), None);
    }

    #[test]
    fn only_conditions_the_registry_decides_may_make_a_policy_free_of_application() {
        let mut input = PolicyInput::from(&policy(
            &[],
            &["micro"],
            &[],
            vec![cond(
                "min_revenue",
                serde_json::json!(100),
                "年营业收入不少于100万元",
            )],
        ));
        input.no_application = true;
        let errors = validate(&input).expect_err("revenue is the enterprise's to tell");
        assert!(
            errors
                .iter()
                .any(|e| e.field == "no_application" && e.code == "not_decidable"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_restaurant_in_changle_qualifies_for_a_fuzhou_catering_policy_with_reasons() {
        let p = policy(
            &["H"],
            &["small", "micro"],
            &["350100"],
            vec![cond("max_employees", serde_json::json!(50), "从业人数不超过50人")],
        );
        match evaluate(&p, &restaurant(), today()) {
            Outcome::Qualified { reasons, .. } => {
                assert!(reasons.iter().any(|r| r.contains("住宿和餐饮业")), "{reasons:?}");
                assert!(reasons.iter().any(|r| r.contains("福州市")), "{reasons:?}");
                assert!(reasons.contains(&"从业人数不超过50人".to_owned()));
            }
            other => panic!("expected qualified, got {other:?}"),
        }
    }

    #[test]
    fn one_unmet_condition_is_nearly_with_that_condition_and_two_are_no() {
        let one = policy(
            &[],
            &[],
            &["100000"],
            vec![cond(
                "tag",
                serde_json::json!("高新技术企业"),
                "经认定的高新技术企业",
            )],
        );
        assert_eq!(
            evaluate(&one, &restaurant(), today()),
            Outcome::Nearly {
                missing: "经认定的高新技术企业".into(),
                reasons: vec![
                    "不限行业".into(),
                    "不限企业规模".into(),
                    "适用地区覆盖（全国）".into()
                ],
                to_confirm: vec![]
            }
        );
        let two = policy(
            &[],
            &[],
            &[],
            vec![
                cond("tag", serde_json::json!("高新技术企业"), "高新"),
                cond("min_employees", serde_json::json!(100), "100人以上"),
            ],
        );
        assert_eq!(evaluate(&two, &restaurant(), today()), Outcome::No);
    }

    #[test]
    fn wrong_industry_scale_or_region_never_matches() {
        let profile = restaurant();
        assert_eq!(
            evaluate(&policy(&["C"], &[], &[], vec![]), &profile, today()),
            Outcome::No
        );
        assert_eq!(
            evaluate(&policy(&[], &["large"], &[], vec![]), &profile, today()),
            Outcome::No
        );
        assert_eq!(
            evaluate(&policy(&[], &[], &["350200"], vec![]), &profile, today()),
            Outcome::No
        );
    }

    #[test]
    fn notes_are_listed_to_confirm_and_years_count_whole_years() {
        let p = policy(
            &[],
            &[],
            &[],
            vec![
                ConditionInput {
                    kind: "note".into(),
                    value: None,
                    text: "资产总额不超过5000万元".into(),
                },
                cond("max_years_established", serde_json::json!(3), "成立不满3年"),
            ],
        );
        match evaluate(&p, &restaurant(), today()) {
            Outcome::Qualified { to_confirm, .. } => {
                assert_eq!(
                    to_confirm,
                    vec!["资产总额不超过5000万元（需自行确认）".to_owned()]
                )
            }
            other => panic!("expected qualified, got {other:?}"),
        }
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        assert_eq!(years_between(d(2023, 6, 2), today()), 2);
        assert_eq!(years_between(d(2023, 6, 1), today()), 3);
    }

    proptest! {
        #[test]
        fn max_employees_is_met_exactly_up_to_the_limit(limit in 0u32..1000, have in 0u32..1000) {
            let p = policy(&[], &[], &[], vec![cond("max_employees", serde_json::json!(limit), "人数")]);
            let profile = Profile { employees: Some(have), ..Default::default() };
            let qualified = matches!(evaluate(&p, &profile, today()), Outcome::Qualified { .. });
            prop_assert_eq!(qualified, have <= limit);
        }

        #[test]
        fn adding_a_condition_never_turns_no_into_qualified(employees in 0u32..500, revenue in 0f64..10000.0, limit in 0f64..1000.0) {
            let profile = Profile { employees: Some(employees), revenue: Some(revenue), ..Default::default() };
            let base = policy(&[], &[], &[], vec![cond("max_employees", serde_json::json!(100), "人数"), cond("min_revenue", serde_json::json!(500), "收入")]);
            let mut stricter = base.clone();
            stricter.conditions.push(crate::policy::Condition { kind: ConditionKind::MaxRevenue, value: Some(ConditionValue::Number(limit)), text: "上限".into() });
            let rank = |o: Outcome| match o { Outcome::Qualified { .. } => 2, Outcome::Nearly { .. } => 1, Outcome::No => 0 };
            prop_assert!(rank(evaluate(&stricter, &profile, today())) <= rank(evaluate(&base, &profile, today())));
        }
    }
}
