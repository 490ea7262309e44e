//! The definition loader on the real catalogue and on broken copies of it: each problem
//! is reported with the file and what is wrong.

use std::path::{Path, PathBuf};

use onething::catalogue::{load_catalogue, Audience, FieldType, Rule};
use tempfile::TempDir;

use crate::helpers::repo_forms;

/// A private copy of forms/ that a test may break.
pub fn copy_forms() -> TempDir {
    let dir = tempfile::tempdir().expect("dir");
    copy_dir(&repo_forms(), dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").filter_map(Result::ok) {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn files(dir: &Path, sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join(sub))
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    v
}

/// Applies `edit` to the file and returns the loader's complaint.
fn break_file(forms: &TempDir, file: &Path, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(file).expect("read");
    let broken = edit(&text);
    assert_ne!(text, broken, "the edit changed nothing in {}", file.display());
    std::fs::write(file, broken).expect("write");
    match load_catalogue(forms.path()) {
        Ok(_) => panic!("{} was broken but loaded", file.display()),
        Err(e) => e.to_string(),
    }
}

fn name(p: &Path) -> String {
    p.file_name().and_then(|n| n.to_str()).expect("name").to_owned()
}

#[test]
fn the_shipped_catalogue_meets_the_plan_targets() {
    let cat = load_catalogue(&repo_forms()).unwrap_or_else(|e| panic!("{e}"));
    let personal = cat
        .bundles
        .iter()
        .filter(|b| b.audience == Audience::Personal)
        .count();
    let enterprise = cat.bundles.len() - personal;
    assert!(cat.bundles.len() >= 45, "bundles: {}", cat.bundles.len());
    assert!(
        personal >= 20 && enterprise >= 20,
        "personal {personal}, enterprise {enterprise}"
    );
    assert!(cat.items.len() >= 150, "items: {}", cat.items.len());
    let hf = cat.items.values().filter(|i| i.high_frequency).count();
    assert!(hf >= 60, "high-frequency items: {hf}");
    let departments: std::collections::BTreeSet<_> =
        cat.items.values().map(|i| i.department.as_str()).collect();
    assert!(
        departments.len() >= 15,
        "departments with items: {}",
        departments.len()
    );
    for b in &cat.bundles {
        assert!(b.items.len() >= 2, "{}", b.code);
        assert!(
            b.items.iter().all(|i| cat.items.contains_key(i)),
            "{} resolves",
            b.code
        );
        let sum: i32 = b
            .items
            .iter()
            .map(|i| cat.items[i].promised_time_limit_days)
            .sum();
        assert!(
            b.promised_time_limit_days <= sum,
            "{}: the bundle promises more days than its items",
            b.code
        );
    }
    for item in cat.items.values() {
        assert!(
            !item.materials.is_empty() && !item.legal_basis.is_empty() && item.process.len() >= 2,
            "{}",
            item.code
        );
    }
}

#[test]
fn an_unknown_field_key_names_the_item_file() {
    let forms = copy_forms();
    let file = files(forms.path(), "items")
        .into_iter()
        .find(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("[[field]]")))
        .expect("an item with fields");
    let msg = break_file(&forms, &file, |t| {
        t.replacen("[[field]]\nkey = \"", "[[field]]\nkey = \"no_such_", 1)
    });
    assert!(
        msg.contains(&name(&file)) && msg.contains("unknown field key"),
        "{msg}"
    );
}

#[test]
fn a_type_conflict_with_the_dictionary_is_reported() {
    let cat = load_catalogue(&repo_forms()).unwrap_or_else(|e| panic!("{e}"));
    let item = cat
        .items
        .values()
        .find(|i| {
            i.fields
                .first()
                .is_some_and(|f| cat.fields[&f.key].field_type != FieldType::Boolean)
        })
        .expect("an item whose first field is not boolean");
    let forms = copy_forms();
    let file = forms.path().join("items").join(format!("{}.toml", item.code));
    let msg = break_file(&forms, &file, |t| {
        t.replacen("[[field]]\n", "[[field]]\ntype = \"boolean\"\n", 1)
    });
    assert!(
        msg.contains(&name(&file)) && msg.contains("type conflict"),
        "{msg}"
    );
}

#[test]
fn a_duplicate_item_code_is_reported() {
    let forms = copy_forms();
    let items = files(forms.path(), "items");
    let (a, b) = (&items[0], &items[1]);
    let code_a = a.file_stem().and_then(|s| s.to_str()).expect("stem").to_owned();
    let code_b = b.file_stem().and_then(|s| s.to_str()).expect("stem").to_owned();
    let msg = break_file(&forms, b, |t| {
        t.replacen(
            &format!("code = \"{code_b}\""),
            &format!("code = \"{code_a}\""),
            1,
        )
    });
    assert!(
        msg.contains("duplicate item code") && msg.contains(&name(b)),
        "{msg}"
    );
}

#[test]
fn a_bundle_naming_a_missing_item_is_reported() {
    let forms = copy_forms();
    let file = files(forms.path(), "bundles").remove(0);
    let msg = break_file(&forms, &file, |t| {
        t.replacen("items = [\"", "items = [\"ZZ-404\", \"", 1)
    });
    assert!(
        msg.contains(&name(&file)) && msg.contains("ZZ-404") && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn a_bundle_with_one_item_is_reported() {
    let forms = copy_forms();
    let file = files(forms.path(), "bundles").remove(0);
    let msg = break_file(&forms, &file, |t| {
        let start = t.find("items = [").expect("items");
        let end = start + t[start..].find(']').expect("]");
        let first = t[start..end].split('"').nth(1).expect("an item").to_owned();
        // Keep the bundle's questions valid by dropping them too.
        let head = format!("{}items = [\"{first}\"]", &t[..start]);
        let rest = &t[end + 1..];
        let rest = rest.find("[[question]]").map_or(rest, |q| &rest[..q]);
        format!("{head}{rest}")
    });
    assert!(
        msg.contains(&name(&file)) && msg.contains("at least 2 items"),
        "{msg}"
    );
}

#[test]
fn a_missing_guide_element_is_reported() {
    let forms = copy_forms();
    let file = files(forms.path(), "items").remove(0);
    let msg = break_file(&forms, &file, |t| {
        t.lines()
            .filter(|l| !l.starts_with("place = "))
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert!(msg.contains(&name(&file)) && msg.contains("place"), "{msg}");
    let file = files(forms.path(), "items").remove(1);
    let msg = break_file(&forms, &file, |t| {
        t.replacen("legal_basis = [", "legal_basis = [], old_basis = [", 1)
    });
    assert!(msg.contains(&name(&file)), "{msg}");
}

#[test]
fn an_unknown_key_and_a_syntax_error_point_at_the_line() {
    let forms = copy_forms();
    let file = files(forms.path(), "items").remove(0);
    let msg = break_file(&forms, &file, |t| t.replacen("summary = ", "sumary = ", 1));
    assert!(
        msg.contains(&format!("{}:", name(&file))) && msg.contains("sumary"),
        "{msg}"
    );
    let file = files(forms.path(), "bundles").remove(0);
    let msg = break_file(&forms, &file, |t| format!("{t}\nthis is not toml\n"));
    let line = std::fs::read_to_string(&file).expect("read").lines().count();
    assert!(msg.contains(&format!("{}:{line}", name(&file))), "{msg}");
}

#[test]
fn a_bundle_promising_fewer_days_than_one_of_its_items_is_refused() {
    let cat = load_catalogue(&repo_forms()).unwrap_or_else(|e| panic!("{e}"));
    let items = &cat.items;
    let (bundle, item) = cat
        .bundles
        .iter()
        .flat_map(|b| b.items.iter().map(move |i| (b, &items[i])))
        .max_by_key(|(_, i)| i.promised_time_limit_days)
        .expect("a bundle item");
    let long = item.promised_time_limit_days;
    assert!(long >= 1, "some item promises at least a day");
    let short = long - 1;
    let forms = copy_forms();
    let file = forms.path().join("bundles").join(format!("{}.toml", bundle.code));
    let msg = break_file(&forms, &file, |t| {
        t.replacen(
            &format!("promised_time_limit_days = {}\n", bundle.promised_time_limit_days),
            &format!("promised_time_limit_days = {short}\n"),
            1,
        )
    });
    assert!(
        msg.contains(&name(&file))
            && msg.contains(&format!("bundle {}", bundle.code))
            && msg.contains(&format!("promises {short} working day(s)"))
            && msg.contains(&format!("the {long} promised by its item {}", item.code)),
        "{msg}"
    );
}

#[test]
fn an_id_matches_rule_naming_a_missing_or_mistyped_field_is_refused() {
    let cat = load_catalogue(&repo_forms()).unwrap_or_else(|e| panic!("{e}"));
    let (code, id, birth, sex) = cat
        .items
        .values()
        .find_map(|i| {
            i.rules.iter().find_map(|r| match r {
                Rule::IdMatches {
                    id_field,
                    birth_date_field: Some(b),
                    sex_field: Some(s),
                } => Some((i.code.clone(), id_field.clone(), b.clone(), s.clone())),
                _ => None,
            })
        })
        .expect("an item whose ID number is bound to a birth date and a sex");
    let item_file = |forms: &TempDir| forms.path().join("items").join(format!("{code}.toml"));

    let forms = copy_forms();
    let file = item_file(&forms);
    let msg = break_file(&forms, &file, |t| {
        t.replacen(
            &format!("birth_date_field = \"{birth}\""),
            "birth_date_field = \"no_such_field\"",
            1,
        )
    });
    assert!(
        msg.contains(&name(&file))
            && msg.contains("no_such_field")
            && msg.contains("not a field of this item"),
        "{msg}"
    );

    let forms = copy_forms();
    let file = item_file(&forms);
    let msg = break_file(&forms, &file, |t| {
        t.replacen(
            &format!("id_field = \"{id}\""),
            &format!("id_field = \"{birth}\""),
            1,
        )
    });
    assert!(
        msg.contains(&name(&file))
            && msg.contains(&format!("reads an ID number, but {birth} is of type date")),
        "{msg}"
    );

    let forms = copy_forms();
    let file = item_file(&forms);
    let msg = break_file(&forms, &file, |t| {
        t.replacen(
            &format!("sex_field = \"{sex}\""),
            &format!("sex_field = \"{birth}\""),
            1,
        )
    });
    assert!(
        msg.contains(&name(&file)) && msg.contains(&format!("compares sex, but {birth} is not an enum")),
        "{msg}"
    );
}

#[test]
fn a_condition_on_a_value_the_field_does_not_offer_is_a_start_up_error() {
    let forms = copy_forms();
    let file = forms.path().join("items").join("RS-001.toml");
    let msg = break_file(&forms, &file, |t| {
        t.replacen("equals = [\"mail\"]", "equals = [\"courier\"]", 1)
    });
    assert!(
        msg.contains("RS-001.toml") && msg.contains("\"courier\", which is not one of its options"),
        "{msg}"
    );
    let msg = break_file(&forms, &file, |t| {
        t.replacen("field = \"delivery_method\"", "field = \"no_such_field\"", 1)
    });
    assert!(msg.contains("which is not a field of this item"), "{msg}");
}

#[test]
fn an_item_that_produces_an_unknown_material_is_a_start_up_error() {
    let forms = copy_forms();
    let file = forms.path().join("items").join("WJ-001.toml");
    let msg = break_file(&forms, &file, |t| {
        t.replacen(
            "materials = [\"birth-medical-certificate\"]",
            "materials = [\"no-such-paper\"]",
            1,
        )
    });
    assert!(
        msg.contains("WJ-001.toml") && msg.contains("produces unknown material \"no-such-paper\""),
        "{msg}"
    );
}

#[test]
fn a_decision_table_reading_an_unknown_field_is_refused_at_its_line() {
    let forms = copy_forms();
    let file = forms.path().join("rules").join("WJ-012.toml");
    let msg = break_file(&forms, &file, |t| {
        t.replace("field:child_birth_date", "field:child_birthday")
    });
    let text = std::fs::read_to_string(&file).expect("read");
    let line = text
        .lines()
        .position(|l| l.contains("child_birthday"))
        .expect("the broken line")
        + 1;
    assert!(
        msg.contains(&format!("WJ-012.toml:{line}")) && msg.contains("unknown field \"child_birthday\""),
        "{msg}"
    );
}

#[test]
fn a_decision_table_that_can_fall_through_or_names_an_unknown_registry_is_refused() {
    let forms = copy_forms();
    let file = forms.path().join("rules").join("MZ-009.toml");
    let msg = break_file(&forms, &file, |t| {
        let last = t.rfind("[[rule]]").expect("a rule");
        t[..last].replace("registry:household.", "registry:hukou.")
    });
    assert!(
        msg.contains("MZ-009.toml") && msg.contains("can fall through"),
        "{msg}"
    );
    assert!(msg.contains("unknown registry \"hukou\""), "{msg}");
}

#[test]
fn a_rule_without_a_reason_is_refused_at_its_rule() {
    let forms = copy_forms();
    let file = forms.path().join("rules").join("GJ-005.toml");
    let msg = break_file(&forms, &file, |t| {
        let at = t.find("reason = \"").expect("a reason");
        let end = at + t[at..].find('\n').expect("end of line");
        format!("{}reason = \"\"{}", &t[..at], &t[end..])
    });
    let text = std::fs::read_to_string(&file).expect("read");
    let header = text.lines().position(|l| l.trim() == "[[rule]]").expect("a rule") + 1;
    assert!(msg.contains("rule 1 has no reason"), "{msg}");
    let line: usize = msg
        .split("GJ-005.toml:")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("a line number");
    assert!(
        line >= header && line < header + 6,
        "line {line} is in the first rule at {header}: {msg}"
    );
}
