use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::example::example_data;
use super::*;
use crate::catalogue::{load_catalogue, FieldType};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
}

fn shipped() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| {
        load_catalogue(&Path::new(env!("CARGO_MANIFEST_DIR")).join("forms")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn field(key: &str, t: FieldType) -> FieldDef {
    FieldDef {
        key: key.into(),
        label: key.into(),
        field_type: t,
        sensitivity: Sensitivity::Public,
        max_len: None,
        min: None,
        max: None,
        not_future: None,
        options: None,
        help: None,
        must_be_true: None,
    }
}

#[test]
fn each_type_accepts_good_values_in_canonical_form() {
    let cases: Vec<(FieldType, Value, Value)> = vec![
        (FieldType::Text, json!("  张三 "), json!("张三")),
        (
            FieldType::IdNumber,
            json!("11010519491231002x"),
            json!("11010519491231002X"),
        ),
        (
            FieldType::Uscc,
            json!("91350100m000100y43"),
            json!("91350100M000100Y43"),
        ),
        (FieldType::Mobile, json!("138 0013 8000"), json!("13800138000")),
        (FieldType::Phone, json!("0591-28921110"), json!("0591-28921110")),
        (FieldType::Date, json!("2020-02-29"), json!("2020-02-29")),
        (FieldType::Integer, json!("42"), json!(42)),
        (FieldType::Money, json!("1200.5"), json!("1200.50")),
        (FieldType::Money, json!(30), json!("30.00")),
        (FieldType::Boolean, json!("true"), json!(true)),
        (
            FieldType::Address,
            json!({"region": "350112", "detail": "吴航街道郑和中路99号"}),
            json!({"region": "350112", "detail": "吴航街道郑和中路99号"}),
        ),
    ];
    for (t, input, expected) in cases {
        let f = field("f", t);
        assert_eq!(normalize(&f, &input, today()), Ok(expected), "{t:?} {input}");
    }
}

#[test]
fn each_type_rejects_bad_values_with_a_code() {
    let mut date = field("d", FieldType::Date);
    date.not_future = Some(true);
    let mut n = field("n", FieldType::Integer);
    n.min = Some(0);
    n.max = Some(10);
    let mut e = field("e", FieldType::Enum);
    e.options = Some(vec![
        EnumOption {
            value: "a".into(),
            label: "甲".into(),
        },
        EnumOption {
            value: "b".into(),
            label: "乙".into(),
        },
    ]);
    let mut t = field("t", FieldType::Text);
    t.max_len = Some(3);
    let mut agree = field("ok", FieldType::Boolean);
    agree.must_be_true = Some(true);
    let cases: Vec<(FieldDef, Value, &str)> = vec![
        (
            field("i", FieldType::IdNumber),
            json!("110105194912310021"),
            "invalid_check_digit",
        ),
        (
            field("u", FieldType::Uscc),
            json!("91350100M000100Y42"),
            "invalid_check_digit",
        ),
        (field("m", FieldType::Mobile), json!("12345"), "invalid_mobile"),
        (field("p", FieldType::Phone), json!("28921110"), "invalid_phone"),
        (field("d", FieldType::Date), json!("2021-02-29"), "invalid_date"),
        (date, json!("2099-01-01"), "in_future"),
        (n.clone(), json!(11), "out_of_range"),
        (n, json!("1.5"), "invalid_integer"),
        (field("y", FieldType::Money), json!("1.234"), "invalid_money"),
        (field("y", FieldType::Money), json!("-3"), "invalid_money"),
        (e, json!("c"), "invalid_choice"),
        (t, json!("四个字了"), "too_long"),
        (agree, json!(false), "must_agree"),
        (
            field("a", FieldType::Address),
            json!({"region": "990000", "detail": "x"}),
            "invalid_region",
        ),
        (
            field("a", FieldType::Address),
            json!({"region": "350112", "detail": ""}),
            "invalid_detail",
        ),
        (field("b", FieldType::Boolean), json!("maybe"), "invalid_boolean"),
    ];
    for (f, input, code) in cases {
        let err =
            normalize(&f, &input, today()).expect_err(&format!("{:?} {input} should fail", f.field_type));
        assert_eq!(err.code, code, "{:?} {input}: {}", f.field_type, err.message);
        assert!(
            err.message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "Chinese message: {}",
            err.message
        );
    }
}

#[test]
fn cross_field_rules_apply() {
    let start = field("start_date", FieldType::Date);
    let end = field("end_date", FieldType::Date);
    let mut status = field("marital_status", FieldType::Enum);
    status.options = Some(vec![
        EnumOption {
            value: "married".into(),
            label: "已婚".into(),
        },
        EnumOption {
            value: "single".into(),
            label: "未婚".into(),
        },
    ]);
    let spouse = field("spouse_id_number", FieldType::IdNumber);
    let rules = [
        Rule::After {
            field: "end_date".into(),
            other: "start_date".into(),
        },
        Rule::RequiredIf {
            field: "spouse_id_number".into(),
            when_field: "marital_status".into(),
            equals: "married".into(),
        },
    ];
    let spec = FormSpec {
        fields: vec![(&start, false), (&end, false), (&status, true), (&spouse, false)],
        rules: rules.iter().collect(),
        conditions: HashMap::new(),
    };
    let data = |pairs: &[(&str, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<FormData>()
    };
    let errs = validate(
        &spec,
        &data(&[
            ("start_date", json!("2026-01-02")),
            ("end_date", json!("2026-01-01")),
            ("marital_status", json!("married")),
        ]),
        today(),
    )
    .expect_err("two rule failures");
    let codes: Vec<(&str, &str)> = errs.iter().map(|p| (p.field.as_str(), p.code)).collect();
    assert_eq!(
        codes,
        vec![("end_date", "not_after"), ("spouse_id_number", "required")]
    );
    assert!(errs[1].message.contains("已婚"), "{}", errs[1].message);
    assert!(validate(&spec, &data(&[("marital_status", json!("single"))]), today()).is_ok());
    let unknown = validate(
        &spec,
        &data(&[("marital_status", json!("single")), ("x", json!(1))]),
        today(),
    )
    .expect_err("unknown");
    assert_eq!(unknown[0].code, "unknown_field");
}

/// A person's ID number, birth date and sex, bound by an `id_matches` rule.
fn identity_spec_fields() -> (FieldDef, FieldDef, FieldDef) {
    let mut id = field("id_number", FieldType::IdNumber);
    id.label = "公民身份号码".into();
    let mut birth = field("birth_date", FieldType::Date);
    birth.label = "出生日期".into();
    let mut sex = field("gender", FieldType::Enum);
    sex.label = "性别".into();
    sex.options = Some(vec![
        EnumOption {
            value: "male".into(),
            label: "男".into(),
        },
        EnumOption {
            value: "female".into(),
            label: "女".into(),
        },
    ]);
    (id, birth, sex)
}

fn form_data(pairs: &[(&str, Value)]) -> FormData {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

#[test]
fn an_id_number_must_agree_with_the_birth_date_and_sex_given() {
    let (id, birth, sex) = identity_spec_fields();
    let rules = [Rule::IdMatches {
        id_field: "id_number".into(),
        birth_date_field: Some("birth_date".into()),
        sex_field: Some("gender".into()),
    }];
    let spec = FormSpec {
        fields: vec![(&id, true), (&birth, false), (&sex, false)],
        rules: rules.iter().collect(),
        conditions: HashMap::new(),
    };
    // 110101199003071233: born 1990-03-07, 17th digit 3 (odd): a man.
    let errs = validate(
        &spec,
        &form_data(&[
            ("id_number", json!("110101199003071233")),
            ("birth_date", json!("1990-03-08")),
            ("gender", json!("male")),
        ]),
        today(),
    )
    .expect_err("the birth dates differ");
    let fields: Vec<(&str, &str)> = errs.iter().map(|p| (p.field.as_str(), p.code)).collect();
    assert_eq!(
        fields,
        vec![
            ("id_number", "id_birth_date_mismatch"),
            ("birth_date", "id_birth_date_mismatch")
        ]
    );
    assert_eq!(
        errs[0].message,
        "“公民身份号码”中的出生日期（1990-03-07）与“出生日期”（1990-03-08）不一致"
    );

    let errs = validate(
        &spec,
        &form_data(&[
            ("id_number", json!("110101199003071233")),
            ("birth_date", json!("1990-03-07")),
            ("gender", json!("female")),
        ]),
        today(),
    )
    .expect_err("the sexes differ");
    let fields: Vec<(&str, &str)> = errs.iter().map(|p| (p.field.as_str(), p.code)).collect();
    assert_eq!(
        fields,
        vec![("id_number", "id_sex_mismatch"), ("gender", "id_sex_mismatch")]
    );
    assert_eq!(
        errs[0].message,
        "“公民身份号码”中的性别（男）与“性别”（女）不一致"
    );

    // Agreeing values pass, for a man and (17th digit 2, even) for a woman.
    for (number, born, gender) in [
        ("110101199003071233", "1990-03-07", "male"),
        ("44030419851231002X", "1985-12-31", "female"),
    ] {
        let data = form_data(&[
            ("id_number", json!(number)),
            ("birth_date", json!(born)),
            ("gender", json!(gender)),
        ]);
        assert!(
            validate(&spec, &data, today()).is_ok(),
            "{number} {born} {gender}"
        );
    }
    // Nothing to compare when only the ID number is given, or when it is itself invalid.
    assert!(validate(
        &spec,
        &form_data(&[("id_number", json!("110101199003071233"))]),
        today()
    )
    .is_ok());
    let errs = validate(
        &spec,
        &form_data(&[
            ("id_number", json!("110105194912310021")),
            ("birth_date", json!("1990-03-07")),
        ]),
        today(),
    )
    .expect_err("bad check digit");
    assert_eq!(
        errs.iter().map(|p| p.code).collect::<Vec<_>>(),
        vec!["invalid_check_digit"]
    );
}

#[test]
fn a_merged_form_reports_an_id_mismatch_once_however_many_items_bind_it() {
    let cat = shipped();
    let (bundle, form) = cat
        .bundles
        .iter()
        .find_map(|b| {
            // Every question answered with an option that includes items.
            let answers: HashMap<String, String> = b
                .questions
                .iter()
                .filter_map(|q| {
                    q.options
                        .iter()
                        .find(|o| !o.include_items.is_empty())
                        .map(|o| (q.code.clone(), o.value.clone()))
                })
                .collect();
            let form = merge(cat, b, &answers);
            let binding = form
                .items
                .iter()
                .filter(|i| {
                    cat.items[*i].rules.iter().any(|r| {
                        matches!(r, Rule::IdMatches { birth_date_field: Some(k), .. } if k == "birth_date")
                    })
                })
                .count();
            (binding >= 2).then_some((b, form))
        })
        .expect("a bundle whose items bind id_number to birth_date more than once");
    let mut data = example_data(cat, &form, 1, |_| true);
    assert!(
        validate(&merged_spec(cat, &form), &data, today()).is_ok(),
        "{}: example data agree",
        bundle.code
    );
    let id = data
        .get("id_number")
        .and_then(Value::as_str)
        .and_then(|s| crate::identity::IdNumber::parse(s, today()).ok())
        .expect("an ID number");
    let born = id.birth_date().expect("birth date");
    let other = born.succ_opt().expect("next day");
    data.insert("birth_date".into(), json!(other.to_string()));
    let errs = validate(&merged_spec(cat, &form), &data, today()).expect_err("mismatch");
    let fields: Vec<(&str, &str)> = errs.iter().map(|p| (p.field.as_str(), p.code)).collect();
    assert_eq!(
        fields,
        vec![
            ("id_number", "id_birth_date_mismatch"),
            ("birth_date", "id_birth_date_mismatch")
        ],
        "{}",
        bundle.code
    );
    let id_label = &cat.fields["id_number"].label;
    let birth_label = &cat.fields["birth_date"].label;
    assert!(
        errs[0].message.contains(id_label.as_str())
            && errs[0].message.contains(birth_label.as_str())
            && errs[0].message.contains(&born.to_string())
            && errs[0].message.contains(&other.to_string()),
        "{}",
        errs[0].message
    );
}

#[test]
fn a_merged_form_asks_each_shared_field_once_and_is_deterministic() {
    let cat = shipped();
    for bundle in &cat.bundles {
        let answers = HashMap::new();
        let a = merge(cat, bundle, &answers);
        assert_eq!(
            a,
            merge(cat, bundle, &answers),
            "{}: merge is deterministic",
            bundle.code
        );
        let mut keys: Vec<&str> = a
            .sections
            .iter()
            .flat_map(|s| s.fields.iter().map(|f| f.key.as_str()))
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "{}: a field appears twice", bundle.code);
        for s in &a.sections {
            for f in &s.fields {
                let expected = f
                    .items
                    .iter()
                    .any(|i| cat.items[i].fields.iter().any(|r| r.key == f.key && r.required));
                assert_eq!(
                    f.required, expected,
                    "{} {}: required if any item requires it",
                    bundle.code, f.key
                );
                assert_eq!(
                    s.item.is_none(),
                    f.items.len() > 1,
                    "{} {}: shared fields in the shared section",
                    bundle.code,
                    f.key
                );
            }
        }
    }
}

/// Every answer combination of a bundle's questions (each question answered with each of
/// its options), as far as they are shown.
fn answer_combinations(bundle: &BundleDef) -> Vec<HashMap<String, String>> {
    let mut combos = vec![HashMap::new()];
    for q in &bundle.questions {
        let mut next = Vec::new();
        for c in &combos {
            let shown = visible_questions(bundle, c).iter().any(|v| v.code == q.code);
            if !shown {
                next.push(c.clone());
                continue;
            }
            for o in &q.options {
                let mut c2 = c.clone();
                c2.insert(q.code.clone(), o.value.clone());
                next.push(c2);
            }
        }
        combos = next;
    }
    combos
}

#[test]
fn every_bundle_and_answer_combination_splits_into_valid_sub_applications() {
    let cat = shipped();
    let mut checked = 0;
    for bundle in &cat.bundles {
        for answers in answer_combinations(bundle) {
            let form = merge(cat, bundle, &answers);
            assert!(form.complete, "{}: all shown questions answered", bundle.code);
            let data = example_data(cat, &form, checked, |n| n % 2 == 0);
            if form.items.is_empty() {
                // Answers under which nothing applies are refused, not submitted empty.
                let problems = check_submission(
                    cat,
                    bundle,
                    &form,
                    &answers,
                    &data,
                    &MaterialLinks::new(),
                    today(),
                )
                .expect_err("nothing to apply for");
                assert!(problems.iter().any(|p| p.code == "no_items"), "{problems:?}");
                continue;
            }
            check_split(cat, &form, &data);
            checked += 1;
        }
    }
    assert!(checked >= 60, "combinations checked: {checked}");
}

fn check_split(cat: &Catalogue, form: &MergedForm, data: &FormData) {
    let clean =
        validate(&merged_spec(cat, form), data, today()).unwrap_or_else(|e| panic!("{}: {e:?}", form.bundle));
    let links: MaterialLinks = form
        .materials
        .iter()
        .map(|m| (m.code.clone(), vec![format!("u-{}", m.code)]))
        .collect();
    assert!(check_materials(form, &links).is_empty());
    let parts = split(cat, form, &clean, &links);
    assert_eq!(
        parts.iter().map(|p| p.item.clone()).collect::<Vec<_>>(),
        form.items,
        "one part per item"
    );
    let mut used = BTreeSet::new();
    for p in &parts {
        let item = &cat.items[&p.item];
        // A field another included item issues is not asked of the applicant: the part
        // takes it from that item's result, so it is not required of the part's data here.
        let mut spec = item_spec(cat, item);
        for (def, required) in &mut spec.fields {
            if form.provided_fields.iter().any(|f| f.key == def.key) {
                *required = false;
            }
        }
        validate(&spec, &p.data, today())
            .unwrap_or_else(|e| panic!("{} part {} fails its own form: {e:?}", form.bundle, p.item));
        for (k, v) in &p.data {
            assert!(
                item.fields.iter().any(|f| &f.key == k),
                "{}: {k} sent to {} which does not ask for it",
                form.bundle,
                p.item
            );
            assert_eq!(
                Some(v),
                clean.get(k),
                "{}: {k} changed on its way to {}",
                form.bundle,
                p.item
            );
            used.insert(k.clone());
        }
        for code in p.materials.keys() {
            assert!(
                item.materials.iter().any(|m| &m.code == code),
                "{}: material {code} sent to {}",
                form.bundle,
                p.item
            );
        }
        for m in item.materials.iter().filter(|m| m.required) {
            assert!(
                p.materials.contains_key(&m.code),
                "{}: {} lacks required material {}",
                form.bundle,
                p.item,
                m.code
            );
        }
    }
    let all: BTreeSet<String> = clean.keys().cloned().collect();
    assert_eq!(used, all, "{}: every value reaches some item", form.bundle);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_answers_and_values_split_without_loss(bundle_ix in 0usize..1000, answer_seed in any::<u64>(), value_seed in any::<u64>(), keep_mask in any::<u64>()) {
        let cat = shipped();
        let bundle = &cat.bundles[bundle_ix % cat.bundles.len()];
        let combos = answer_combinations(bundle);
        let answers = &combos[(answer_seed % combos.len() as u64) as usize];
        let form = merge(cat, bundle, answers);
        prop_assume!(!form.items.is_empty());
        let data = example_data(cat, &form, value_seed, |n| keep_mask >> (n % 64) & 1 == 1);
        check_split(cat, &form, &data);
    }
}

#[test]
fn answers_to_unknown_questions_or_options_are_reported() {
    let cat = shipped();
    let bundle = cat
        .bundles
        .iter()
        .find(|b| !b.questions.is_empty())
        .expect("a bundle with questions");
    let q = &bundle.questions[0];
    let answers: HashMap<String, String> = [
        (q.code.clone(), "no-such-option".to_owned()),
        ("nope".to_owned(), "x".to_owned()),
    ]
    .into();
    let problems = check_answers(bundle, &answers);
    let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
    assert!(
        codes.contains(&"invalid_choice") && codes.contains(&"unknown_question"),
        "{problems:?}"
    );
}

#[test]
fn masks_hide_personal_values_only() {
    let mut id = field("id", FieldType::IdNumber);
    id.sensitivity = Sensitivity::Personal;
    assert_eq!(masked(&id, &json!("11010519491231002X")), "110105********002X");
    let mut name = field("n", FieldType::Text);
    name.sensitivity = Sensitivity::Personal;
    assert_eq!(masked(&name, &json!("林晓明")), "林**");
    let public = field("p", FieldType::Text);
    assert_eq!(masked(&public, &json!("经营范围")), "经营范围");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// No typed value panics a field's check, its display or its mask: any Unicode text,
    /// full-width digits and stray multi-byte characters included.
    #[test]
    fn any_text_in_any_field_is_checked_shown_and_masked_without_panicking(
        field_ix in 0usize..10_000,
        text in "\\PC{0,40}|[0-9０-９xX－\\-+ ]{0,24}",
    ) {
        let cat = shipped();
        let fields: Vec<&FieldDef> = cat.fields.values().collect();
        let field = fields[field_ix % fields.len()];
        let value = Value::String(text);
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        let _ = normalize(field, &value, today);
        let _ = display(field, &value);
        let _ = masked(field, &value);
    }

    /// A whole merged form of arbitrary text is answered with problems, never a panic.
    #[test]
    fn a_merged_form_of_arbitrary_text_is_validated_without_panicking(
        bundle_ix in 0usize..1000,
        texts in proptest::collection::vec("\\PC{0,24}", 1..40),
    ) {
        let cat = shipped();
        let bundle = &cat.bundles[bundle_ix % cat.bundles.len()];
        let form = merge(cat, bundle, &HashMap::new());
        let spec = merged_spec(cat, &form);
        let data: FormData = form
            .sections
            .iter()
            .flat_map(|s| s.fields.iter())
            .zip(texts.iter().cycle())
            .map(|(f, t)| (f.key.clone(), Value::String(t.clone())))
            .collect();
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        let _ = validate(&spec, &data, today);
    }
}

fn newborn_with_everything() -> MergedForm {
    let cat = shipped();
    let bundle = cat.bundles.iter().find(|b| b.code == "newborn").expect("newborn");
    let answers: HashMap<String, String> = bundle
        .questions
        .iter()
        .map(|q| (q.code.clone(), "yes".to_owned()))
        .collect();
    merge(cat, bundle, &answers)
}

#[test]
fn what_an_included_item_issues_is_not_asked_of_the_applicant() {
    let form = newborn_with_everything();
    assert!(
        form.items.iter().any(|i| i == "WJ-012"),
        "育儿补贴 is included: {:?}",
        form.items
    );
    let asked: Vec<&str> = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .map(|f| f.key.as_str())
        .collect();
    assert!(
        !asked.contains(&"child_id_number"),
        "the child's ID number comes from the 出生登记: {asked:?}"
    );
    assert!(form
        .provided_fields
        .iter()
        .any(|f| f.key == "child_id_number" && f.by == "出生登记"));
    let certificate = form
        .materials
        .iter()
        .find(|m| m.code == "birth-medical-certificate")
        .expect("the 出生医学证明 is listed");
    assert!(!certificate.required, "issued by this very application");
    assert!(
        certificate
            .provided
            .as_deref()
            .is_some_and(|p| p.contains("出生医学证明办理")),
        "{certificate:?}"
    );
    // Nothing the applicant need not hand in is required of them.
    for m in &form.materials {
        if m.provided.is_some() {
            assert!(!m.required, "{} is provided yet required", m.code);
        }
    }
}

#[test]
fn a_shared_material_is_required_only_when_some_item_needs_the_applicants_copy() {
    let cat = shipped();
    let form = newborn_with_everything();
    for m in &form.materials {
        let every_item_fetches = m.items.iter().all(|i| {
            cat.items[i]
                .materials
                .iter()
                .any(|u| u.code == m.code && u.obtained_by_the_department())
        });
        if every_item_fetches {
            assert!(
                m.provided.is_some() && !m.required,
                "{} is fetched by every item",
                m.code
            );
        }
    }
}

#[test]
fn a_mailing_address_is_asked_only_when_the_result_is_mailed() {
    let cat = shipped();
    let form = newborn_with_everything();
    let address = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| f.key == "mailing_address")
        .expect("asked on a condition");
    assert_eq!(
        address
            .when
            .as_ref()
            .map(|w| (w.field.as_str(), w.equals.clone())),
        Some(("delivery_method", vec!["mail".to_owned()]))
    );
    // The two fields as the merged form asks them, without the rest of the form.
    let mut spec = merged_spec(cat, &form);
    spec.fields
        .retain(|(d, _)| d.key == "delivery_method" || d.key == "mailing_address");
    spec.rules.clear();
    let (required, kept): (Vec<_>, Vec<_>) = ["e_certificate", "mail"]
        .iter()
        .map(|method| {
            let data = form_data(&[
                ("delivery_method", json!(method)),
                (
                    "mailing_address",
                    json!({"region": "350112", "detail": "吴航街道郑和中路99号"}),
                ),
            ]);
            let without: FormData = data
                .iter()
                .filter(|(k, _)| *k != "mailing_address")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let missing = validate(&spec, &without, today())
                .err()
                .unwrap_or_default()
                .iter()
                .any(|p| p.field == "mailing_address");
            let kept = validate(&spec, &data, today())
                .map_or_else(|_| true, |clean| clean.contains_key("mailing_address"));
            (missing, kept)
        })
        .unzip();
    assert_eq!(required, [false, true], "required only with mail");
    assert!(!kept[0], "an address given with 电子证照 is not kept");
}

#[test]
fn an_address_is_a_county_or_township_of_the_table_shown_by_name() {
    let f = field("addr", FieldType::Address);
    for region in ["350112001", "110101"] {
        assert!(
            normalize(&f, &json!({"region": region, "detail": "某路1号"}), today()).is_ok(),
            "{region}"
        );
    }
    for region in ["350100", "350000", "999999", "35011", ""] {
        let e = normalize(&f, &json!({"region": region, "detail": "某路1号"}), today()).expect_err(region);
        assert_eq!(
            (e.field.as_str(), e.code),
            ("addr.region", "invalid_region"),
            "{region}"
        );
    }
    assert_eq!(
        display(&f, &json!({"region": "350112001", "detail": "郑和中路99号"})),
        "福建省福州市长乐区吴航街道郑和中路99号"
    );
}
