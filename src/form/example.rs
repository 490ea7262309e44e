//! Valid example values for any field and any merged form: the fixtures of the property
//! tests, the benchmarks and generated demonstration data.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::{sex_of_id, FormData, MergedForm};
use crate::catalogue::{Catalogue, FieldDef, FieldType, Rule, Sex};
use crate::identity::IdNumber;

/// A valid value of a field, varied by `seed`.
pub fn example_value(f: &FieldDef, seed: u64) -> Value {
    match f.field_type {
        FieldType::Text => {
            let s = format!("示例{}", seed % 1000);
            Value::String(s.chars().take(f.max_len.unwrap_or(500) as usize).collect())
        }
        FieldType::IdNumber => {
            json!(["110101199003071233", "44030419851231002X", "11010519491231002X"][seed as usize % 3])
        }
        FieldType::Uscc => {
            json!(["91350100M000100Y43", "91512081MA62K0260E", "11320000MB151840XJ"][seed as usize % 3])
        }
        FieldType::Mobile => json!(format!("139{:08}", seed % 100_000_000)),
        FieldType::Phone => json!("0591-28921110"),
        FieldType::Date => json!((NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
            + Duration::days((seed % 9000) as i64))
        .to_string()),
        FieldType::Enum => json!(f
            .options
            .as_ref()
            .map(|o| o[seed as usize % o.len()].value.clone())
            .unwrap_or_default()),
        FieldType::Integer => {
            let lo = f.min.unwrap_or(0);
            let hi = f.max.unwrap_or(lo + 100_000);
            json!(lo + (seed as i64).rem_euclid(hi - lo + 1))
        }
        FieldType::Money => {
            let lo = f.min.unwrap_or(0);
            let hi = f.max.unwrap_or(lo + 100_000);
            json!(format!(
                "{}.{:02}",
                lo + (seed as i64).rem_euclid((hi - lo).max(1)),
                seed % 100
            ))
        }
        FieldType::Address => {
            json!({"region": "350112", "detail": format!("吴航街道郑和中路{}号", seed % 500)})
        }
        FieldType::Boolean => json!(f.must_be_true == Some(true) || seed % 2 == 0),
    }
}

/// Fills a merged form: every required field, the optional ones `keep` picks (by position),
/// with values adjusted so that the cross-field rules hold.
pub fn example_data(cat: &Catalogue, form: &MergedForm, seed: u64, keep: impl Fn(usize) -> bool) -> FormData {
    let mut data = FormData::new();
    for (n, f) in form.sections.iter().flat_map(|s| &s.fields).enumerate() {
        if let Some(def) = cat.fields.get(&f.key) {
            if f.required || keep(n) {
                data.insert(
                    f.key.clone(),
                    example_value(def, seed.wrapping_add(n as u64 * 7919)),
                );
            }
        }
    }
    for rule in form
        .items
        .iter()
        .filter_map(|i| cat.items.get(i))
        .flat_map(|i| i.rules.iter())
    {
        match rule {
            Rule::After { field, other } => {
                let later = data
                    .get(other)
                    .and_then(Value::as_str)
                    .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
                    .map(|d| (d + Duration::days(30)).to_string());
                if let (Some(later), true) = (later, data.contains_key(field)) {
                    data.insert(field.clone(), json!(later));
                }
            }
            Rule::RequiredIf {
                field,
                when_field,
                equals,
            } => {
                let triggered = data.get(when_field).and_then(Value::as_str) == Some(equals.as_str());
                if triggered && !data.contains_key(field) {
                    if let Some(def) = cat.fields.get(field) {
                        data.insert(field.clone(), example_value(def, seed));
                    }
                }
            }
            // After the other rules, which may add the ID number.
            Rule::IdMatches { .. } => {}
        }
    }
    for rule in form
        .items
        .iter()
        .filter_map(|i| cat.items.get(i))
        .flat_map(|i| i.rules.iter())
    {
        let Rule::IdMatches {
            id_field,
            birth_date_field,
            sex_field,
        } = rule
        else {
            continue;
        };
        // The birth date and sex given are those the ID number records.
        let Some(id) = data
            .get(id_field)
            .and_then(Value::as_str)
            .and_then(|s| IdNumber::parse(s, NaiveDate::MAX).ok())
        else {
            continue;
        };
        if let (Some(key), Some(birth)) = (birth_date_field, id.birth_date()) {
            if data.contains_key(key) {
                data.insert(key.clone(), json!(birth.to_string()));
            }
        }
        if let Some(key) = sex_field.as_ref().filter(|k| data.contains_key(k.as_str())) {
            let sex = sex_of_id(&id);
            let value = cat
                .fields
                .get(key)
                .and_then(|d| d.options.as_deref())
                .and_then(|o| o.iter().find(|o| Sex::of_option(o) == Some(sex)))
                .map(|o| o.value.clone());
            if let Some(value) = value {
                data.insert(key.clone(), json!(value));
            }
        }
    }
    data
}
