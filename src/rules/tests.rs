use super::*;
use proptest::prelude::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

/// The form fields the tests' tables read, with their types.
fn field_type(key: &str) -> Option<ValueType> {
    match key {
        "id_number" | "applicant_name" => Some(ValueType::Text),
        "child_birth_date" => Some(ValueType::Date),
        "monthly_income" => Some(ValueType::Number),
        _ => None,
    }
}

fn no_names(_: &str) -> Option<String> {
    None
}

fn district(code: &str) -> Option<String> {
    (code == "350112").then(|| "长乐区".to_owned())
}

fn table(text: &str) -> DecisionTable {
    toml::from_str(text).expect("a table that parses")
}

const CHILDCARE: &str = r#"
item = "WJ-012"
hit_policy = "first"
legal_basis = "《育儿补贴制度实施方案》"

[[input]]
name = "child_months"
label = "婴幼儿月龄"
source = "field:child_birth_date"
transform = "months_since"

[[input]]
name = "region"
label = "申请人户籍地"
source = "registry:household.region"
key = "id_number"

[[rule]]
when = { region = "missing" }
outcome = "manual"
reason = "未查询到户籍信息"

[[rule]]
when = { child_months = ">= 36" }
outcome = "deny"
reason = "婴幼儿已满 3 周岁"

[[rule]]
when = { region = "starts 350112", child_months = "< 36" }
outcome = "approve"
reason = "户籍在本区，婴幼儿未满 3 周岁"

[[rule]]
outcome = "manual"
reason = "户籍不在本区"
"#;

const ID: &str = "350112199001011234";

fn facts(birth: &str, household: Answer) -> Facts {
    Facts {
        fields: BTreeMap::from([
            ("id_number".to_owned(), ID.to_owned()),
            ("child_birth_date".to_owned(), birth.to_owned()),
        ]),
        account: BTreeMap::new(),
        registries: BTreeMap::from([((Registry::Household, ID.to_owned()), household)]),
    }
}

fn found(region: &str) -> Answer {
    Answer::Found {
        attributes: BTreeMap::from([("region".to_owned(), region.to_owned())]),
    }
}

#[test]
fn the_shipped_style_table_passes_its_checks() {
    assert_eq!(table(CHILDCARE).check(&field_type), Vec::new());
}

#[test]
fn a_resident_with_a_baby_is_approved_by_the_rule_that_says_why() {
    let d = table(CHILDCARE).evaluate(
        &facts("2026-11-02", found("350112")),
        day("2026-12-08"),
        &field_type,
        &district,
    );
    assert_eq!(d.outcome, Outcome::Approve, "{d:#?}");
    assert_eq!(d.rule, Some(3));
    assert_eq!(d.reason, "户籍在本区，婴幼儿未满 3 周岁");
    let last = d.trials.last().expect("a trial");
    assert!(last.matched);
    assert_eq!(
        last.checks,
        vec![
            Check {
                input: "婴幼儿月龄".into(),
                value: "1".into(),
                condition: "小于 36".into(),
                holds: true
            },
            Check {
                input: "申请人户籍地".into(),
                value: "长乐区".into(),
                condition: "在「长乐区」范围内".into(),
                holds: true
            },
        ]
    );
}

#[test]
fn the_published_rules_read_in_words() {
    let text = table(CHILDCARE).describe(&district);
    assert_eq!(text.registries, vec!["户籍人口信息"]);
    assert_eq!(
        text.rules[2].conditions,
        vec!["婴幼儿月龄小于 36", "申请人户籍地在「长乐区」范围内"]
    );
    assert_eq!(
        text.rules[1].outcome, "转人工审核",
        "a deny the table may not give alone"
    );
    assert!(text.rules[3].conditions.is_empty());
}

#[test]
fn a_deny_the_table_may_not_give_alone_goes_to_a_person_naming_the_rule() {
    let d = table(CHILDCARE).evaluate(
        &facts("2022-01-01", found("350112")),
        day("2026-12-08"),
        &field_type,
        &no_names,
    );
    assert_eq!(d.outcome, Outcome::Manual);
    assert_eq!(d.rule, Some(2));
    assert!(d.reason.contains("第 2 条规则"), "{}", d.reason);
}

#[test]
fn a_deny_is_automatic_where_the_table_allows_it() {
    let mut t = table(CHILDCARE);
    t.automatic_deny = true;
    let d = t.evaluate(
        &facts("2022-01-01", found("350112")),
        day("2026-12-08"),
        &field_type,
        &no_names,
    );
    assert_eq!((d.outcome, d.rule), (Outcome::Deny, Some(2)));
}

#[test]
fn a_registry_that_does_not_answer_sends_the_part_to_manual_review_with_the_reason() {
    let d = table(CHILDCARE).evaluate(
        &facts(
            "2026-11-02",
            Answer::Unavailable {
                reason: "数据共享平台查询超时".into(),
            },
        ),
        day("2026-12-08"),
        &field_type,
        &no_names,
    );
    assert_eq!(d.outcome, Outcome::Manual);
    assert_eq!(d.rule, None);
    assert_eq!(
        d.unavailable,
        vec!["户籍人口信息：数据共享平台查询超时".to_owned()]
    );
    assert!(d.trials.is_empty(), "no rule may be tried on a guess");
}

#[test]
fn no_record_in_the_registry_is_missing_not_a_guess() {
    let d = table(CHILDCARE).evaluate(
        &facts("2026-11-02", Answer::NotFound),
        day("2026-12-08"),
        &field_type,
        &no_names,
    );
    assert_eq!((d.outcome, d.rule), (Outcome::Manual, Some(1)));
}

#[test]
fn whole_months_and_years_count_as_birthdays_do() {
    assert_eq!(
        elapsed(Transform::MonthsSince, day("2024-12-09"), day("2026-12-08")),
        23
    );
    assert_eq!(
        elapsed(Transform::MonthsSince, day("2023-12-08"), day("2026-12-08")),
        36
    );
    assert_eq!(
        elapsed(Transform::YearsSince, day("1946-12-09"), day("2026-12-08")),
        79
    );
    assert_eq!(
        elapsed(Transform::YearsSince, day("1946-12-08"), day("2026-12-08")),
        80
    );
    assert_eq!(
        elapsed(Transform::DaysSince, day("2026-12-01"), day("2026-12-08")),
        7
    );
}

fn problems(text: &str) -> Vec<String> {
    table(text)
        .check(&field_type)
        .into_iter()
        .map(|p| p.message)
        .collect()
}

#[test]
fn a_table_that_can_fall_through_is_refused() {
    let text = CHILDCARE.replace("[[rule]]\noutcome = \"manual\"\nreason = \"户籍不在本区\"\n", "");
    let found = problems(&text);
    assert!(found.iter().any(|m| m.contains("fall through")), "{found:?}");
}

#[test]
fn an_unknown_field_registry_or_attribute_is_refused() {
    let found = problems(&CHILDCARE.replace("field:child_birth_date", "field:child_birthday"));
    assert!(
        found
            .iter()
            .any(|m| m.contains("unknown field \"child_birthday\"")),
        "{found:?}"
    );
    let found = problems(&CHILDCARE.replace("registry:household.region", "registry:hukou.region"));
    assert!(
        found.iter().any(|m| m.contains("unknown registry \"hukou\"")),
        "{found:?}"
    );
    let found = problems(&CHILDCARE.replace("registry:household.region", "registry:household.zone"));
    assert!(
        found.iter().any(|m| m.contains("no attribute \"zone\"")),
        "{found:?}"
    );
}

#[test]
fn a_rule_without_a_reason_or_with_a_condition_that_does_not_fit_is_refused() {
    let found = problems(&CHILDCARE.replace("reason = \"婴幼儿已满 3 周岁\"", "reason = \" \""));
    assert!(found.iter().any(|m| m == "rule 2 has no reason"), "{found:?}");
    let found = problems(&CHILDCARE.replace("child_months = \">= 36\"", "child_months = \"starts 3\""));
    assert!(
        found
            .iter()
            .any(|m| m.contains("does not apply to input \"child_months\"")),
        "{found:?}"
    );
    let found = problems(&CHILDCARE.replace("child_months = \">= 36\"", "child_months = \">= three\""));
    assert!(found.iter().any(|m| m.contains("not a number")), "{found:?}");
    let found = problems(&CHILDCARE.replace("key = \"id_number\"\n", ""));
    assert!(
        found.iter().any(|m| m.contains("names no key field")),
        "{found:?}"
    );
}

#[test]
fn a_catch_all_before_the_last_rule_is_refused() {
    let text = CHILDCARE.replace("when = { region = \"missing\" }\n", "");
    let found = problems(&text);
    assert!(
        found.iter().any(|m| m.contains("rule 1 matches anything")),
        "{found:?}"
    );
}

fn any_test() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_owned()),
        Just("missing".to_owned()),
        Just("present".to_owned()),
        (0i32..60).prop_map(|n| format!("< {n}")),
        (0i32..60).prop_map(|n| format!(">= {n}")),
    ]
}

fn any_region_test() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-".to_owned()),
        Just("missing".to_owned()),
        Just("starts 350112".to_owned()),
        Just("in 350112, 350102".to_owned()),
        Just("!= 350112".to_owned()),
    ]
}

fn any_outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![Just(Outcome::Approve), Just(Outcome::Deny), Just(Outcome::Manual)]
}

/// Tables of 0–5 random rules over the two inputs, closed by a catch-all.
fn any_table() -> impl Strategy<Value = DecisionTable> {
    (
        proptest::collection::vec((any_test(), any_region_test(), any_outcome()), 0..5),
        any_outcome(),
        any::<bool>(),
    )
        .prop_map(|(rows, last, automatic_deny)| {
            let mut t = table(CHILDCARE);
            t.automatic_deny = automatic_deny;
            t.rules = rows
                .into_iter()
                .enumerate()
                .map(|(i, (months, region, outcome))| RuleRow {
                    when: BTreeMap::from([
                        ("child_months".to_owned(), months),
                        ("region".to_owned(), region),
                    ]),
                    outcome,
                    reason: format!("规则 {}", i + 1),
                    basis: String::new(),
                })
                .filter(|r| !r.when.values().all(|c| c == "-"))
                .collect();
            t.rules.push(RuleRow {
                when: BTreeMap::new(),
                outcome: last,
                reason: "其他情形".into(),
                basis: String::new(),
            });
            t
        })
}

fn any_answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        Just(found("350112")),
        Just(found("350102")),
        Just(Answer::NotFound),
        Just(Answer::Unavailable {
            reason: "超时".into()
        }),
    ]
}

proptest! {
    #[test]
    fn every_checked_table_decides_every_application_by_the_first_matching_rule(
        t in any_table(),
        months_ago in 0u32..80,
        answer in any_answer(),
    ) {
        prop_assert_eq!(t.check(&field_type), Vec::new());
        let today = day("2026-12-08");
        let birth = today.checked_sub_months(chrono::Months::new(months_ago)).expect("a date");
        let f = facts(&birth.to_string(), answer.clone());
        let d = t.evaluate(&f, today, &field_type, &no_names);
        if matches!(answer, Answer::Unavailable { .. }) {
            prop_assert_eq!(d.outcome, Outcome::Manual);
            prop_assert!(d.rule.is_none() && d.trials.is_empty());
            return Ok(());
        }
        let rule = d.rule.expect("a closed table always has a matching rule");
        // Every rule before the deciding one failed on a check it shows, the deciding
        // one passed every check it shows.
        prop_assert_eq!(d.trials.len(), rule);
        for trial in &d.trials[..rule - 1] {
            prop_assert!(!trial.matched);
            prop_assert!(trial.checks.last().is_some_and(|c| !c.holds));
        }
        prop_assert!(d.trials[rule - 1].checks.iter().all(|c| c.holds));
        let declared = t.rules[rule - 1].outcome;
        let expected = if declared == Outcome::Deny && !t.automatic_deny { Outcome::Manual } else { declared };
        prop_assert_eq!(d.outcome, expected);
        prop_assert!(!d.reason.trim().is_empty());
    }

    #[test]
    fn a_deny_is_never_automatic_unless_the_table_allows_it(
        t in any_table(),
        months_ago in 0u32..80,
        answer in any_answer(),
    ) {
        let today = day("2026-12-08");
        let birth = today.checked_sub_months(chrono::Months::new(months_ago)).expect("a date");
        let d = t.evaluate(&facts(&birth.to_string(), answer), today, &field_type, &no_names);
        prop_assert!(t.automatic_deny || d.outcome != Outcome::Deny);
    }

    #[test]
    fn any_condition_text_parses_or_is_refused_without_panicking(cell in ".{0,20}") {
        let _ = Test::parse(&cell);
    }
}
