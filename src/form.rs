//! The merged form (一表申请) as plain Rust: field values checked against the dictionary,
//! a bundle and its situation answers merged into one form and one materials list, and a
//! merged submission split back into one sub-application per item.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::catalogue::{
    applicable_items, merge_materials, BundleDef, Catalogue, EnumOption, FieldDef, FieldType, FieldWhen,
    ItemDef, MergedMaterial, Question, Rule, Sensitivity, Sex,
};
use crate::identity::{mask_id_number, mask_middle, mask_phone, IdNumber, Mobile, Uscc};

/// Field key → value, as submitted and as stored.
pub type FormData = BTreeMap<String, Value>;
/// Material code → upload ids.
pub type MaterialLinks = BTreeMap<String, Vec<String>>;

/// One problem with one field (or question, or material), in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

const TEXT_DEFAULT_MAX: u32 = 500;

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        // An address whose street is not written yet is not given, whatever region the
        // picker shows.
        Value::Object(o) => o.get("detail").map_or_else(|| o.values().all(is_empty), is_empty),
        _ => false,
    }
}

/// Checks one value against its field definition and returns it in canonical form.
pub fn normalize(field: &FieldDef, raw: &Value, today: NaiveDate) -> Result<Value, Problem> {
    let key = field.key.as_str();
    let label = field.label.as_str();
    let bad = |code, message: String| Err(Problem::new(key, code, message));
    match field.field_type {
        FieldType::Text => {
            let Some(s) = as_text(raw) else {
                return bad("invalid_type", format!("{label}应为文字"));
            };
            let max = field.max_len.unwrap_or(TEXT_DEFAULT_MAX);
            if s.chars().count() > max as usize {
                return bad("too_long", format!("{label}不能超过 {max} 个字"));
            }
            Ok(Value::String(s))
        }
        FieldType::IdNumber => match as_text(raw).map(|s| IdNumber::parse(&s, today)) {
            Some(Ok(id)) => Ok(Value::String(id.as_str().to_owned())),
            Some(Err(e)) => bad(e.code, format!("{label}：{}", e.message)),
            None => bad("invalid_type", format!("{label}应为 18 位身份证号码")),
        },
        FieldType::Uscc => match as_text(raw).map(|s| Uscc::parse(&s)) {
            Some(Ok(u)) => Ok(Value::String(u.as_str().to_owned())),
            Some(Err(e)) => bad(e.code, format!("{label}：{}", e.message)),
            None => bad("invalid_type", format!("{label}应为 18 位统一社会信用代码")),
        },
        FieldType::Mobile => match as_text(raw).map(|s| Mobile::parse(&s)) {
            Some(Ok(m)) => Ok(Value::String(m.as_str().to_owned())),
            _ => bad("invalid_mobile", format!("{label}应为 11 位手机号码")),
        },
        FieldType::Phone => {
            let s = as_text(raw).unwrap_or_default();
            if let Ok(m) = Mobile::parse(&s) {
                return Ok(Value::String(m.as_str().to_owned()));
            }
            let digits: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
            let landline = s.starts_with('0')
                && digits.chars().all(|c| c.is_ascii_digit())
                && (10..=12).contains(&digits.len());
            if landline {
                Ok(Value::String(s))
            } else {
                bad(
                    "invalid_phone",
                    format!("{label}应为固定电话（如 0591-28921110）或手机号码"),
                )
            }
        }
        FieldType::Date => {
            let s = as_text(raw).unwrap_or_default();
            let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") else {
                return bad("invalid_date", format!("{label}应为有效日期（年-月-日）"));
            };
            if field.not_future == Some(true) && d > today {
                return bad("in_future", format!("{label}不能晚于今天"));
            }
            Ok(Value::String(d.format("%Y-%m-%d").to_string()))
        }
        FieldType::Enum => {
            let s = as_text(raw).unwrap_or_default();
            let options = field.options.as_deref().unwrap_or(&[]);
            if options.iter().any(|o| o.value == s) {
                Ok(Value::String(s))
            } else {
                let labels: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
                bad(
                    "invalid_choice",
                    format!("{label}只能选择：{}", labels.join("、")),
                )
            }
        }
        FieldType::Integer => {
            let n = match raw {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                return bad("invalid_integer", format!("{label}应为整数"));
            };
            if field.min.is_some_and(|m| n < m) || field.max.is_some_and(|m| n > m) {
                return bad("out_of_range", range_message(label, field.min, field.max, ""));
            }
            Ok(Value::from(n))
        }
        FieldType::Money => {
            let s = as_text(raw).unwrap_or_default();
            let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
            let ok = !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && frac.len() <= 2
                && frac.chars().all(|c| c.is_ascii_digit());
            let cents = whole
                .parse::<i64>()
                .ok()
                .filter(|_| ok)
                .and_then(|w| w.checked_mul(100))
                .and_then(|w| w.checked_add(format!("{frac:0<2}").parse::<i64>().unwrap_or(0)));
            let Some(cents) = cents else {
                return bad("invalid_money", format!("{label}应为金额，最多两位小数"));
            };
            if field.min.is_some_and(|m| cents < m * 100) || field.max.is_some_and(|m| cents > m * 100) {
                return bad("out_of_range", range_message(label, field.min, field.max, ""));
            }
            Ok(Value::String(format!("{}.{:02}", cents / 100, cents % 100)))
        }
        FieldType::Address => {
            let (region, detail) = match raw {
                Value::Object(o) => (
                    o.get("region").and_then(as_text).unwrap_or_default(),
                    o.get("detail").and_then(as_text).unwrap_or_default(),
                ),
                _ => return bad("invalid_address", format!("{label}应包括所在地区和详细地址")),
            };
            if !regions::is_address_region(&region) {
                return Err(Problem::new(
                    format!("{key}.region"),
                    "invalid_region",
                    format!("请选择{label}所在的省、市和区县"),
                ));
            }
            if detail.is_empty() || detail.chars().count() > 120 {
                return Err(Problem::new(
                    format!("{key}.detail"),
                    "invalid_detail",
                    format!("请填写{label}的详细地址（不超过 120 字）"),
                ));
            }
            Ok(serde_json::json!({"region": region, "detail": detail}))
        }
        FieldType::Boolean => {
            let b = match raw {
                Value::Bool(b) => Some(*b),
                Value::String(s) => match s.trim() {
                    "true" | "on" | "1" | "是" => Some(true),
                    "false" | "off" | "0" | "否" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            match b {
                Some(false) if field.must_be_true == Some(true) => {
                    bad("must_agree", format!("请确认：{label}"))
                }
                Some(b) => Ok(Value::Bool(b)),
                None => bad("invalid_boolean", format!("{label}应选择“是”或“否”")),
            }
        }
    }
}

fn range_message(label: &str, min: Option<i64>, max: Option<i64>, unit: &str) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{label}应在 {a}{unit} 到 {b}{unit} 之间"),
        (Some(a), None) => format!("{label}不能小于 {a}{unit}"),
        (None, Some(b)) => format!("{label}不能大于 {b}{unit}"),
        (None, None) => format!("{label}超出范围"),
    }
}

/// The sex an ID number records (GB 11643): its 17th digit is odd for a man, even for a
/// woman.
pub fn sex_of_id(id: &IdNumber) -> Sex {
    // The digit's parity is the parity of its ASCII code, b'0' being even.
    if id.as_str().as_bytes().get(16).is_some_and(|d| d % 2 == 1) {
        Sex::Male
    } else {
        Sex::Female
    }
}

/// A field of a form: its definition, whether it is required, and the rules that apply.
pub struct FormSpec<'a> {
    pub fields: Vec<(&'a FieldDef, bool)>,
    pub rules: Vec<&'a Rule>,
    /// Fields asked only when another field has one of some values.
    pub conditions: HashMap<String, FieldWhen>,
}

/// Whether a conditional field is asked for this data: its condition's field holds one of
/// the values (compared as submitted text).
fn condition_met(when: &FieldWhen, data: &FormData) -> bool {
    data.get(&when.field)
        .and_then(Value::as_str)
        .is_some_and(|v| when.equals.iter().any(|e| e == v.trim()))
}

/// Checks `data` against a form: unknown keys, required fields, each value, cross-field
/// rules. Returns the canonical data, with empty values dropped.
pub fn validate(spec: &FormSpec<'_>, data: &FormData, today: NaiveDate) -> Result<FormData, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut clean = FormData::new();
    let known: HashMap<&str, (&FieldDef, bool)> = spec
        .fields
        .iter()
        .map(|(f, r)| (f.key.as_str(), (*f, *r)))
        .collect();
    for key in data.keys() {
        if !known.contains_key(key.as_str()) {
            problems.push(Problem::new(
                key.clone(),
                "unknown_field",
                format!("表单中没有“{key}”这一项"),
            ));
        }
    }
    for (field, required) in &spec.fields {
        // A field whose condition is not met is not asked: neither required nor kept.
        if spec
            .conditions
            .get(&field.key)
            .is_some_and(|w| !condition_met(w, data))
        {
            continue;
        }
        match data.get(&field.key).filter(|v| !is_empty(v)) {
            None if *required => problems.push(Problem::new(
                field.key.clone(),
                "required",
                match field.field_type {
                    // A choice is chosen, not written.
                    FieldType::Enum | FieldType::Boolean => format!("请选择{}", field.label),
                    _ => format!("请填写{}", field.label),
                },
            )),
            None => {}
            Some(v) => match normalize(field, v, today) {
                Ok(v) => {
                    clean.insert(field.key.clone(), v);
                }
                Err(p) => problems.push(p),
            },
        }
    }
    let label = |k: &str| {
        known
            .get(k)
            .map(|(f, _)| f.label.clone())
            .unwrap_or_else(|| k.to_owned())
    };
    for rule in &spec.rules {
        match rule {
            Rule::After { field, other } => {
                let (Some(Value::String(a)), Some(Value::String(b))) = (clean.get(field), clean.get(other))
                else {
                    continue;
                };
                // Canonical dates compare correctly as text.
                if a <= b {
                    problems.push(Problem::new(
                        field.clone(),
                        "not_after",
                        format!("{}应晚于{}", label(field), label(other)),
                    ));
                }
            }
            Rule::RequiredIf {
                field,
                when_field,
                equals,
            } => {
                let trigger = clean
                    .get(when_field)
                    .is_some_and(|v| as_text(v).as_deref() == Some(equals.as_str()));
                if trigger && !clean.contains_key(field) && !problems.iter().any(|p| &p.field == field) {
                    let (label, when_label, option) =
                        match (known.get(field.as_str()), known.get(when_field.as_str())) {
                            (Some((f, _)), Some((w, _))) => {
                                let option = w
                                    .options
                                    .as_deref()
                                    .and_then(|o| o.iter().find(|o| &o.value == equals))
                                    .map(|o| o.label.clone())
                                    .unwrap_or_else(|| equals.clone());
                                (f.label.clone(), w.label.clone(), option)
                            }
                            _ => (field.clone(), when_field.clone(), equals.clone()),
                        };
                    problems.push(Problem::new(
                        field.clone(),
                        "required",
                        format!("{when_label}为“{option}”时，须填写{label}"),
                    ));
                }
            }
            Rule::IdMatches {
                id_field,
                birth_date_field,
                sex_field,
            } => {
                // Only values that passed their own checks are compared.
                let Some(id) = clean
                    .get(id_field)
                    .and_then(Value::as_str)
                    .and_then(|s| IdNumber::parse(s, today).ok())
                else {
                    continue;
                };
                let id_label = label(id_field);
                let mut found = Vec::new();
                if let Some(key) = birth_date_field {
                    let given = clean
                        .get(key)
                        .and_then(Value::as_str)
                        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
                    if let (Some(given), Some(encoded)) = (given, id.birth_date()) {
                        if given != encoded {
                            let message = format!(
                                "“{id_label}”中的出生日期（{}）与“{}”（{}）不一致",
                                encoded.format("%Y-%m-%d"),
                                label(key),
                                given.format("%Y-%m-%d")
                            );
                            for f in [id_field, key] {
                                found.push(Problem::new(
                                    f.clone(),
                                    "id_birth_date_mismatch",
                                    message.clone(),
                                ));
                            }
                        }
                    }
                }
                if let Some(key) = sex_field {
                    let chosen = clean.get(key).and_then(Value::as_str).and_then(|v| {
                        known
                            .get(key.as_str())
                            .and_then(|(f, _)| f.options.as_deref())
                            .and_then(|options| options.iter().find(|o| o.value == v))
                    });
                    if let Some(option) = chosen {
                        let encoded = sex_of_id(&id);
                        if Sex::of_option(option).is_some_and(|s| s != encoded) {
                            let message = format!(
                                "“{id_label}”中的性别（{}）与“{}”（{}）不一致",
                                encoded.label(),
                                label(key),
                                option.label
                            );
                            for f in [id_field, key] {
                                found.push(Problem::new(f.clone(), "id_sex_mismatch", message.clone()));
                            }
                        }
                    }
                }
                // Several items of a merged form may bind the same person's fields.
                for p in found {
                    if !problems.contains(&p) {
                        problems.push(p);
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(clean)
    } else {
        Err(problems)
    }
}

/// An item's own form, for checking a sub-application on its own.
pub fn item_spec<'a>(cat: &'a Catalogue, item: &'a ItemDef) -> FormSpec<'a> {
    FormSpec {
        fields: item
            .fields
            .iter()
            .filter_map(|f| cat.fields.get(&f.key).map(|d| (d, f.required)))
            .collect(),
        rules: item.rules.iter().collect(),
        conditions: item
            .fields
            .iter()
            .filter_map(|f| f.when.clone().map(|w| (f.key.clone(), w)))
            .collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Basis {
    pub item: String,
    pub legal_basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MergedField {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<EnumOption>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Bounds a client may check as the applicant types; the server checks them again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_future: Option<bool>,
    pub sensitivity: Sensitivity,
    /// Asked only when another field of the form has one of these values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<FieldWhen>,
    /// The items this field feeds, and the legal basis of each.
    pub items: Vec<String>,
    pub basis: Vec<Basis>,
}

/// A field the applicant is not asked for because an item of the same application issues it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProvidedField {
    pub key: String,
    pub label: String,
    /// The name of the item that issues it.
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Section {
    pub title: String,
    /// The item whose own fields these are; none for the shared section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub fields: Vec<MergedField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuestionView {
    pub code: String,
    pub text: String,
    pub options: Vec<OptionView>,
    pub answer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OptionView {
    pub value: String,
    pub label: String,
}

/// The one form of a bundle for given situation answers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MergedForm {
    pub bundle: String,
    pub items: Vec<String>,
    pub sections: Vec<Section>,
    pub materials: Vec<MergedMaterial>,
    pub questions: Vec<QuestionView>,
    /// Fields not asked because an included item issues them.
    pub provided_fields: Vec<ProvidedField>,
    /// Whether every shown question has an answer.
    pub complete: bool,
}

/// The questions shown for these answers: those without a condition, and those whose
/// condition an earlier shown answer meets.
pub fn visible_questions<'a>(bundle: &'a BundleDef, answers: &HashMap<String, String>) -> Vec<&'a Question> {
    let mut shown: Vec<&Question> = Vec::new();
    for q in &bundle.questions {
        let visible = q.show_if.as_ref().is_none_or(|c| {
            shown.iter().any(|s| s.code == c.question) && answers.get(&c.question) == Some(&c.value)
        });
        if visible {
            shown.push(q);
        }
    }
    shown
}

/// Answers that name no question, or an option a question does not have.
pub fn check_answers(bundle: &BundleDef, answers: &HashMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut keys: Vec<&String> = answers.keys().collect();
    keys.sort();
    for k in keys {
        match bundle.questions.iter().find(|q| &q.code == k) {
            None => problems.push(Problem::new(
                format!("answers.{k}"),
                "unknown_question",
                format!("没有编码为“{k}”的情形问题"),
            )),
            Some(q) if !q.options.iter().any(|o| Some(&o.value) == answers.get(k)) => {
                problems.push(Problem::new(
                    format!("answers.{k}"),
                    "invalid_choice",
                    format!("“{}”的回答不在可选项中", q.text),
                ))
            }
            Some(_) => {}
        }
    }
    problems
}

pub fn merge(cat: &Catalogue, bundle: &BundleDef, answers: &HashMap<String, String>) -> MergedForm {
    let items = applicable_items(bundle, answers);
    // Values an included item issues are taken from it, not asked of the applicant.
    let mut produced: Vec<(&str, &ItemDef)> = Vec::new();
    for item in items.iter().filter_map(|c| cat.items.get(*c)) {
        for key in &item.produces.fields {
            if !produced.iter().any(|(k, _)| k == key) {
                produced.push((key.as_str(), item));
            }
        }
    }
    // Which included items use each field, in first-use order.
    let mut order: Vec<&str> = Vec::new();
    let mut users: HashMap<&str, Vec<&ItemDef>> = HashMap::new();
    let mut required: HashMap<&str, bool> = HashMap::new();
    let mut conditions: HashMap<&str, Vec<Option<&FieldWhen>>> = HashMap::new();
    for code in &items {
        let Some(item) = cat.items.get(*code) else {
            continue;
        };
        for f in &item.fields {
            if produced.iter().any(|(k, _)| *k == f.key) {
                continue;
            }
            let e = users.entry(f.key.as_str()).or_default();
            if e.is_empty() {
                order.push(f.key.as_str());
            }
            e.push(item);
            *required.entry(f.key.as_str()).or_default() |= f.required;
            conditions
                .entry(f.key.as_str())
                .or_default()
                .push(f.when.as_ref());
        }
    }
    // A field stays conditional only if every item asks for it on a condition of the same
    // field; the values add up. One unconditional use makes it unconditional.
    let merged_when = |key: &str| -> Option<FieldWhen> {
        let all = conditions.get(key)?;
        let first = (*all.first()?)?;
        let mut equals: Vec<String> = Vec::new();
        for w in all {
            let w = (*w)?;
            if w.field != first.field {
                return None;
            }
            for v in &w.equals {
                if !equals.contains(v) {
                    equals.push(v.clone());
                }
            }
        }
        Some(FieldWhen {
            field: first.field.clone(),
            equals,
        })
    };
    let merged_field = |key: &str| -> Option<MergedField> {
        let def = cat.fields.get(key)?;
        let used_by = users.get(key)?;
        Some(MergedField {
            key: key.to_owned(),
            label: def.label.clone(),
            field_type: def.field_type,
            required: required.get(key).copied().unwrap_or(false),
            options: def.options.clone(),
            help: def.help.clone(),
            min: def.min,
            max: def.max,
            max_len: def.max_len,
            not_future: def.not_future,
            sensitivity: def.sensitivity,
            when: merged_when(key),
            items: used_by.iter().map(|i| i.code.clone()).collect(),
            basis: used_by
                .iter()
                .map(|i| Basis {
                    item: i.code.clone(),
                    legal_basis: i.legal_basis.first().cloned().unwrap_or_default(),
                })
                .collect(),
        })
    };
    let mut sections = Vec::new();
    let shared: Vec<MergedField> = order
        .iter()
        .filter(|k| users.get(*k).is_some_and(|u| u.len() > 1))
        .filter_map(|k| merged_field(k))
        .collect();
    if !shared.is_empty() {
        sections.push(Section {
            title: "共同信息（多个事项共用，只需填写一次）".into(),
            item: None,
            fields: shared,
        });
    }
    for code in &items {
        let Some(item) = cat.items.get(*code) else {
            continue;
        };
        let own: Vec<MergedField> = item
            .fields
            .iter()
            .filter(|f| users.get(f.key.as_str()).is_some_and(|u| u.len() == 1))
            .filter_map(|f| merged_field(&f.key))
            .collect();
        if !own.is_empty() {
            sections.push(Section {
                title: item.name.clone(),
                item: Some(item.code.clone()),
                fields: own,
            });
        }
    }
    let visible = visible_questions(bundle, answers);
    let questions: Vec<QuestionView> = visible
        .iter()
        .map(|q| QuestionView {
            code: q.code.clone(),
            text: q.text.clone(),
            options: q
                .options
                .iter()
                .map(|o| OptionView {
                    value: o.value.clone(),
                    label: o.label.clone(),
                })
                .collect(),
            answer: answers
                .get(&q.code)
                .filter(|a| q.options.iter().any(|o| &o.value == *a))
                .cloned(),
        })
        .collect();
    MergedForm {
        bundle: bundle.code.clone(),
        complete: questions.iter().all(|q| q.answer.is_some()),
        items: items.iter().map(|s| (*s).to_owned()).collect(),
        sections,
        materials: merge_materials(cat, &items),
        questions,
        provided_fields: produced
            .iter()
            .map(|(key, item)| ProvidedField {
                key: (*key).to_owned(),
                label: cat
                    .fields
                    .get(*key)
                    .map_or_else(|| (*key).to_owned(), |d| d.label.clone()),
                by: item.name.clone(),
            })
            .collect(),
    }
}

/// The merged form as a checkable spec: every field once, every included item's rules.
pub fn merged_spec<'a>(cat: &'a Catalogue, form: &MergedForm) -> FormSpec<'a> {
    let mut fields = Vec::new();
    let mut conditions = HashMap::new();
    for s in &form.sections {
        for f in &s.fields {
            if let Some(def) = cat.fields.get(&f.key) {
                fields.push((def, f.required));
            }
            if let Some(w) = &f.when {
                conditions.insert(f.key.clone(), w.clone());
            }
        }
    }
    // A rule that several items share is checked once; a rule about a field the form does
    // not ask (one an included item issues) is not checked here.
    let asked: BTreeSet<&str> = fields.iter().map(|(d, _)| d.key.as_str()).collect();
    let mut rules: Vec<&Rule> = Vec::new();
    for rule in form
        .items
        .iter()
        .filter_map(|c| cat.items.get(c))
        .flat_map(|i| i.rules.iter())
    {
        if !rules.contains(&rule) && rule.fields().iter().all(|k| asked.contains(k)) {
            rules.push(rule);
        }
    }
    FormSpec {
        fields,
        rules,
        conditions,
    }
}

/// Checks the material links: known codes, required ones present, each list without repeats.
pub fn check_materials(form: &MergedForm, links: &MaterialLinks) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (code, ids) in links {
        if !form.materials.iter().any(|m| &m.code == code) {
            problems.push(Problem::new(
                format!("materials.{code}"),
                "unknown_material",
                format!("本次申请不需要材料“{code}”"),
            ));
        }
        if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
            problems.push(Problem::new(
                format!("materials.{code}"),
                "duplicate_upload",
                "同一文件重复添加".to_owned(),
            ));
        }
    }
    for m in &form.materials {
        if m.required && links.get(&m.code).is_none_or(Vec::is_empty) {
            problems.push(Problem::new(
                format!("materials.{}", m.code),
                "required",
                format!("请上传{}", m.name),
            ));
        }
    }
    problems
}

/// Everything checked before a merged application is accepted: the answers, that some item
/// applies, the form data and the material links. Returns the canonical data.
pub fn check_submission(
    cat: &Catalogue,
    bundle: &BundleDef,
    form: &MergedForm,
    answers: &HashMap<String, String>,
    data: &FormData,
    links: &MaterialLinks,
    today: NaiveDate,
) -> Result<FormData, Vec<Problem>> {
    let mut problems = check_answers(bundle, answers);
    for q in form.questions.iter().filter(|q| q.answer.is_none()) {
        problems.push(Problem::new(
            format!("answers.{}", q.code),
            "required",
            format!("请回答：{}", q.text),
        ));
    }
    if form.items.is_empty() {
        problems.push(Problem::new(
            "answers",
            "no_items",
            "根据您的回答，本套餐没有需要办理的事项，请检查情形选择",
        ));
    }
    let clean = match validate(&merged_spec(cat, form), data, today) {
        Ok(clean) => Some(clean),
        Err(p) => {
            problems.extend(p);
            None
        }
    };
    problems.extend(check_materials(form, links));
    match clean {
        Some(clean) if problems.is_empty() => Ok(clean),
        _ => Err(problems),
    }
}

/// One department's part of a merged application: exactly the item's fields and materials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubApplication {
    pub item: String,
    pub department: String,
    pub data: FormData,
    pub materials: MaterialLinks,
}

pub fn split(
    cat: &Catalogue,
    form: &MergedForm,
    data: &FormData,
    links: &MaterialLinks,
) -> Vec<SubApplication> {
    form.items
        .iter()
        .filter_map(|code| cat.items.get(code))
        .map(|item| SubApplication {
            item: item.code.clone(),
            department: item.department.clone(),
            data: item
                .fields
                .iter()
                .filter_map(|f| data.get(&f.key).map(|v| (f.key.clone(), v.clone())))
                .collect(),
            materials: item
                .materials
                .iter()
                .filter_map(|m| links.get(&m.code).map(|ids| (m.code.clone(), ids.clone())))
                .filter(|(_, ids)| !ids.is_empty())
                .collect(),
        })
        .collect()
}

/// A value as someone without the right to see it whole sees it.
pub fn masked(field: &FieldDef, value: &Value) -> String {
    let text = match value {
        Value::Object(o) => format!(
            "{} {}",
            o.get("region").and_then(Value::as_str).unwrap_or(""),
            o.get("detail").and_then(Value::as_str).unwrap_or("")
        ),
        Value::Bool(b) => (if *b { "是" } else { "否" }).to_owned(),
        other => as_text(other).unwrap_or_default(),
    };
    if field.sensitivity != Sensitivity::Personal {
        return text;
    }
    match field.field_type {
        FieldType::IdNumber => mask_id_number(&text),
        FieldType::Mobile | FieldType::Phone => mask_phone(&text),
        FieldType::Address => match value {
            Value::Object(o) => format!(
                "{} ****",
                region_name(o.get("region").and_then(Value::as_str).unwrap_or(""))
            ),
            _ => "****".into(),
        },
        _ => mask_middle(&text, 1, 0),
    }
}

/// An address's region in words; a code the table does not know is shown as it is.
fn region_name(code: &str) -> String {
    regions::full_name(code).unwrap_or_else(|| code.to_owned())
}

/// A value as text for display to someone allowed to see it.
pub fn display(field: &FieldDef, value: &Value) -> String {
    match (field.field_type, value) {
        (FieldType::Enum, Value::String(s)) => field
            .options
            .as_deref()
            .and_then(|o| o.iter().find(|o| &o.value == s))
            .map(|o| o.label.clone())
            .unwrap_or_else(|| s.clone()),
        (_, Value::Object(o)) => format!(
            "{}{}",
            region_name(o.get("region").and_then(Value::as_str).unwrap_or("")),
            o.get("detail").and_then(Value::as_str).unwrap_or("")
        ),
        (_, Value::Bool(b)) => (if *b { "是" } else { "否" }).to_owned(),
        (_, v) => as_text(v).unwrap_or_default(),
    }
}

pub mod example;
pub mod filing;
pub mod regions;

#[cfg(test)]
mod tests;
