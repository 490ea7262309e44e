//! Reading `forms/` and checking it as a whole. Every problem found is reported with the
//! file, the entry and (where it can be found) the line; nothing is written when any is found.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::defs::*;
use super::Catalogue;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub entry: String,
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.entry.is_empty() {
            write!(f, ": {}", self.entry)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in one load, in file order.
#[derive(Debug, Clone)]
pub struct DefinitionErrors(pub Vec<DefinitionError>);

impl fmt::Display for DefinitionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the catalogue definitions:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DefinitionErrors {}

struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    /// The first line that mentions `needle` as a quoted TOML value, to point at the entry.
    fn line_of(&self, needle: &str) -> Option<usize> {
        let quoted = format!("\"{needle}\"");
        self.text.lines().position(|l| l.contains(&quoted)).map(|i| i + 1)
    }

    /// The line of `needle` inside the `rule`-th `[[rule]]` of a decision table (from 1), or
    /// anywhere when no rule is given; the rule's header when the needle is not in it.
    fn line_in_rule(&self, rule: Option<usize>, needle: &str) -> Option<usize> {
        let Some(n) = rule else {
            return self.line_of(needle).or_else(|| self.line_of_bare(needle));
        };
        let lines: Vec<&str> = self.text.lines().collect();
        let header = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == "[[rule]]")
            .nth(n.checked_sub(1)?)?
            .0;
        let end = lines[header + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with("[["))
            .map_or(lines.len(), |i| header + 1 + i);
        let found = lines[header..end]
            .iter()
            .position(|l| l.contains(needle))
            .map_or(header, |i| header + i);
        Some(found + 1)
    }

    /// The first line that mentions `needle` at all.
    fn line_of_bare(&self, needle: &str) -> Option<usize> {
        self.text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
    }
}

struct Checker {
    errors: Vec<DefinitionError>,
}

impl Checker {
    fn err(&mut self, src: &Source, entry: &str, needle: Option<&str>, message: impl Into<String>) {
        self.errors.push(DefinitionError {
            file: src.path.clone(),
            line: needle.and_then(|n| src.line_of(n)),
            entry: entry.to_owned(),
            message: message.into(),
        });
    }

    fn parse<T: DeserializeOwned>(&mut self, src: &Source) -> Option<T> {
        match toml::from_str::<T>(&src.text) {
            Ok(v) => Some(v),
            Err(e) => {
                let line = e
                    .span()
                    .map(|s| src.text[..s.start.min(src.text.len())].lines().count().max(1));
                self.errors.push(DefinitionError {
                    file: src.path.clone(),
                    line,
                    entry: String::new(),
                    message: e.message().to_owned(),
                });
                None
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentsFile {
    department: Vec<DepartmentDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DictionaryFile {
    #[serde(default)]
    field: Vec<FieldDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaterialsFile {
    #[serde(default)]
    material: Vec<MaterialDef>,
}

fn read_dir_sources(dir: &Path, errors: &mut Vec<DefinitionError>) -> Vec<Source> {
    let mut paths = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect::<Vec<_>>(),
        Err(e) => {
            errors.push(DefinitionError {
                file: dir.to_path_buf(),
                line: None,
                entry: String::new(),
                message: format!("cannot read the directory: {e}"),
            });
            return Vec::new();
        }
    };
    paths.sort();
    paths.into_iter().filter_map(|p| read_source(p, errors)).collect()
}

fn read_source(path: PathBuf, errors: &mut Vec<DefinitionError>) -> Option<Source> {
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(Source { path, text }),
        Err(e) => {
            errors.push(DefinitionError {
                file: path,
                line: None,
                entry: String::new(),
                message: format!("cannot read the file: {e}"),
            });
            None
        }
    }
}

fn file_stem(src: &Source) -> String {
    src.path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Loads and checks the whole catalogue under `dir`.
pub fn load_catalogue(dir: &Path) -> Result<Catalogue, DefinitionErrors> {
    let mut c = Checker { errors: Vec::new() };

    // Departments.
    let mut departments: Vec<DepartmentDef> = Vec::new();
    if let Some(src) = read_source(dir.join("departments.toml"), &mut c.errors) {
        if let Some(file) = c.parse::<DepartmentsFile>(&src) {
            let mut codes = BTreeSet::new();
            let mut prefixes = BTreeSet::new();
            for d in file.department {
                let entry = format!("department {}", d.code);
                if !codes.insert(d.code.clone()) {
                    c.err(&src, &entry, Some(&d.code), "duplicate department code");
                }
                if !prefixes.insert(d.prefix.clone()) {
                    c.err(&src, &entry, Some(&d.prefix), "duplicate item-code prefix");
                }
                for (name, value) in [
                    ("name", &d.name),
                    ("short_name", &d.short_name),
                    ("window", &d.window),
                    ("phone", &d.phone),
                ] {
                    if is_blank(value) {
                        c.err(&src, &entry, Some(&d.code), format!("missing {name}"));
                    }
                }
                departments.push(d);
            }
        }
    }
    let department_prefix: HashMap<String, String> = departments
        .iter()
        .map(|d| (d.code.clone(), d.prefix.clone()))
        .collect();

    // Field dictionary.
    let mut fields: BTreeMap<String, FieldDef> = BTreeMap::new();
    for src in read_dir_sources(&dir.join("dictionary"), &mut c.errors) {
        let Some(file) = c.parse::<DictionaryFile>(&src) else {
            continue;
        };
        for f in file.field {
            let entry = format!("field {}", f.key);
            check_field(&mut c, &src, &entry, &f);
            if fields.contains_key(&f.key) {
                c.err(
                    &src,
                    &entry,
                    Some(&f.key),
                    "field key defined more than once in forms/dictionary/",
                );
            } else {
                fields.insert(f.key.clone(), f);
            }
        }
    }

    // Materials.
    let mut materials: BTreeMap<String, MaterialDef> = BTreeMap::new();
    for src in read_dir_sources(&dir.join("materials"), &mut c.errors) {
        let Some(file) = c.parse::<MaterialsFile>(&src) else {
            continue;
        };
        for m in file.material {
            let entry = format!("material {}", m.code);
            if is_blank(&m.name) {
                c.err(&src, &entry, Some(&m.code), "missing name");
            }
            if materials.contains_key(&m.code) {
                c.err(
                    &src,
                    &entry,
                    Some(&m.code),
                    "material code defined more than once in forms/materials/",
                );
            } else {
                materials.insert(m.code.clone(), m);
            }
        }
    }

    // Items.
    let mut items: BTreeMap<String, ItemDef> = BTreeMap::new();
    for src in read_dir_sources(&dir.join("items"), &mut c.errors) {
        let Some(item) = c.parse::<ItemDef>(&src) else {
            continue;
        };
        let entry = format!("item {}", item.code);
        if item.code != file_stem(&src) {
            c.err(
                &src,
                &entry,
                Some(&item.code),
                "the item code must equal the file name",
            );
        }
        match department_prefix.get(&item.department) {
            None => c.err(
                &src,
                &entry,
                Some(&item.department),
                format!("unknown department {:?}", item.department),
            ),
            Some(prefix) if !item.code.starts_with(&format!("{prefix}-")) => c.err(
                &src,
                &entry,
                Some(&item.code),
                format!("the code of a {} item starts with {prefix}-", item.department),
            ),
            Some(_) => {}
        }
        check_item(&mut c, &src, &entry, &item, &fields, &materials);
        if item.decision.is_some() {
            c.err(
                &src,
                &entry,
                Some("decision"),
                "a decision table is declared in forms/rules/<code>.toml, not in the item",
            );
        }
        if items.contains_key(&item.code) {
            c.err(&src, &entry, Some(&item.code), "duplicate item code");
        } else {
            items.insert(item.code.clone(), item);
        }
    }

    // Decision tables of the smart-approval items, beside the guides they belong to.
    for src in read_dir_sources(&dir.join("rules"), &mut c.errors) {
        let Some(table) = c.parse::<crate::rules::DecisionTable>(&src) else {
            continue;
        };
        let entry = format!("rules {}", table.item);
        if table.item != file_stem(&src) {
            c.err(
                &src,
                &entry,
                Some(&table.item),
                "the table's item must equal the file name",
            );
        }
        let Some(item) = items.get_mut(&table.item) else {
            c.err(
                &src,
                &entry,
                Some(&table.item),
                format!("unknown item {:?}", table.item),
            );
            continue;
        };
        // A table reads only its own item's fields: a part's data holds nothing else.
        let field_type = |key: &str| {
            item.fields
                .iter()
                .any(|f| f.key == key)
                .then(|| fields.get(key).map(|f| value_type(f.field_type)))
                .flatten()
        };
        for problem in table.check(&field_type) {
            c.errors.push(DefinitionError {
                file: src.path.clone(),
                line: src.line_in_rule(problem.rule, &problem.needle),
                entry: entry.clone(),
                message: problem.message,
            });
        }
        item.decision = Some(table);
    }

    // Bundles.
    let mut bundles: Vec<BundleDef> = Vec::new();
    let mut bundle_codes = BTreeSet::new();
    for src in read_dir_sources(&dir.join("bundles"), &mut c.errors) {
        let Some(bundle) = c.parse::<BundleDef>(&src) else {
            continue;
        };
        let entry = format!("bundle {}", bundle.code);
        if bundle.code != file_stem(&src) {
            c.err(
                &src,
                &entry,
                Some(&bundle.code),
                "the bundle code must equal the file name",
            );
        }
        if !bundle_codes.insert(bundle.code.clone()) {
            c.err(&src, &entry, Some(&bundle.code), "duplicate bundle code");
        }
        if !department_prefix.contains_key(&bundle.lead_department) {
            c.err(
                &src,
                &entry,
                Some(&bundle.lead_department),
                format!("unknown lead department {:?}", bundle.lead_department),
            );
        }
        check_bundle(&mut c, &src, &entry, &bundle, &items);
        bundles.push(bundle);
    }

    if departments.is_empty() && c.errors.is_empty() {
        c.errors.push(DefinitionError {
            file: dir.join("departments.toml"),
            line: None,
            entry: String::new(),
            message: "no departments defined".into(),
        });
    }

    if !c.errors.is_empty() {
        return Err(DefinitionErrors(c.errors));
    }
    Ok(Catalogue::new(departments, fields, materials, items, bundles))
}

/// How a decision table reads a form field's value.
pub fn value_type(t: FieldType) -> crate::rules::ValueType {
    use crate::rules::ValueType;
    match t {
        FieldType::Date => ValueType::Date,
        FieldType::Integer | FieldType::Money => ValueType::Number,
        FieldType::Boolean => ValueType::Bool,
        _ => ValueType::Text,
    }
}

fn check_field(c: &mut Checker, src: &Source, entry: &str, f: &FieldDef) {
    let key_ok = !f.key.is_empty()
        && f.key
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
    if !key_ok {
        c.err(src, entry, Some(&f.key), "a field key is snake_case ASCII");
    }
    if is_blank(&f.label) {
        c.err(src, entry, Some(&f.key), "missing label");
    }
    match (f.field_type, &f.options) {
        (FieldType::Enum, None) => c.err(src, entry, Some(&f.key), "an enum field needs options"),
        (FieldType::Enum, Some(opts)) => {
            let mut seen = BTreeSet::new();
            if opts.len() < 2 {
                c.err(
                    src,
                    entry,
                    Some(&f.key),
                    "an enum field needs at least two options",
                );
            }
            for o in opts {
                if !seen.insert(&o.value) {
                    c.err(
                        src,
                        entry,
                        Some(&o.value),
                        format!("duplicate option value {:?}", o.value),
                    );
                }
            }
        }
        (_, Some(_)) => c.err(src, entry, Some(&f.key), "only enum fields take options"),
        _ => {}
    }
    if let (Some(min), Some(max)) = (f.min, f.max) {
        if min > max {
            c.err(src, entry, Some(&f.key), "min is greater than max");
        }
    }
    if (f.min.is_some() || f.max.is_some()) && !matches!(f.field_type, FieldType::Integer | FieldType::Money)
    {
        c.err(
            src,
            entry,
            Some(&f.key),
            "min/max apply only to integer and money fields",
        );
    }
    if f.max_len.is_some() && f.field_type != FieldType::Text {
        c.err(src, entry, Some(&f.key), "max_len applies only to text fields");
    }
    if f.must_be_true.is_some() && f.field_type != FieldType::Boolean {
        c.err(
            src,
            entry,
            Some(&f.key),
            "must_be_true applies only to boolean fields",
        );
    }
    if f.not_future.is_some() && f.field_type != FieldType::Date {
        c.err(src, entry, Some(&f.key), "not_future applies only to date fields");
    }
}

fn check_item(
    c: &mut Checker,
    src: &Source,
    entry: &str,
    item: &ItemDef,
    fields: &BTreeMap<String, FieldDef>,
    materials: &BTreeMap<String, MaterialDef>,
) {
    let code = Some(item.code.as_str());
    // Guide elements that every published guide must carry.
    for (name, value) in [
        ("name", &item.name),
        ("summary", &item.summary),
        ("result", &item.result),
        ("place", &item.place),
        ("hours", &item.hours),
        ("consult_phone", &item.consult_phone),
        ("complaint_phone", &item.complaint_phone),
        ("fee", &item.fee),
    ] {
        if is_blank(value) {
            c.err(src, entry, code, format!("missing guide element {name}"));
        }
    }
    for (name, list) in [
        ("legal_basis", &item.legal_basis),
        ("conditions", &item.conditions),
        ("keywords", &item.keywords),
    ] {
        if list.iter().all(|s| is_blank(s)) {
            c.err(src, entry, code, format!("missing guide element {name}"));
        }
    }
    if item.audience.is_empty() {
        c.err(src, entry, code, "missing guide element audience");
    }
    if item.delivery.is_empty() {
        c.err(src, entry, code, "missing guide element delivery");
    }
    if item.process.len() < 2 {
        c.err(src, entry, code, "the process needs at least two steps");
    }
    if item.materials.is_empty() {
        c.err(src, entry, code, "missing guide element material (申请材料)");
    }
    for (name, value, allowed) in [
        ("kind", &item.kind, ITEM_KINDS),
        ("service_type", &item.service_type, SERVICE_TYPES),
        ("result_type", &item.result_type, RESULT_TYPES),
    ] {
        if !allowed.contains(&value.as_str()) {
            c.err(
                src,
                entry,
                Some(value.as_str()),
                format!("{name} {value:?} is not one of {}", allowed.join(" / ")),
            );
        }
    }
    if item.fee.trim() != NO_FEE && is_blank(&item.fee_basis) {
        c.err(src, entry, code, "a charged item needs fee_basis (收费依据)");
    }
    if item.legal_time_limit_days < 1 {
        c.err(src, entry, code, "legal_time_limit_days must be at least 1");
    }
    if item.promised_time_limit_days < 0 || item.promised_time_limit_days > item.legal_time_limit_days {
        c.err(
            src,
            entry,
            code,
            "promised_time_limit_days must lie between 0 and legal_time_limit_days",
        );
    }
    if !(1..=4).contains(&item.online_depth) {
        c.err(src, entry, code, "online_depth must be 1, 2, 3 or 4");
    }
    if !(0..=5).contains(&item.trips) {
        c.err(src, entry, code, "trips must be between 0 and 5");
    }
    if item.trips == 0 {
        if item.online_depth != 4 {
            c.err(
                src,
                entry,
                code,
                "an item with trips = 0 must be fully online (online_depth = 4)",
            );
        }
        if item.delivery.iter().all(|d| *d == Delivery::Window) {
            c.err(
                src,
                entry,
                code,
                "an item with trips = 0 needs a delivery other than window",
            );
        }
    }
    let mut seen = BTreeSet::new();
    for f in &item.fields {
        if !seen.insert(&f.key) {
            c.err(src, entry, Some(&f.key), format!("field {} listed twice", f.key));
        }
        match fields.get(&f.key) {
            None => c.err(
                src,
                entry,
                Some(&f.key),
                format!("unknown field key {:?} (not in forms/dictionary/)", f.key),
            ),
            Some(def) => {
                if let Some(t) = f.field_type {
                    if t != def.field_type {
                        c.err(
                            src,
                            entry,
                            Some(&f.key),
                            format!(
                                "type conflict for field {}: the item says {}, the dictionary says {}",
                                f.key,
                                t.as_str(),
                                def.field_type.as_str()
                            ),
                        );
                    }
                }
            }
        }
    }
    for f in &item.fields {
        let Some(when) = &f.when else { continue };
        let problem = match item.fields.iter().find(|o| o.key == when.field) {
            _ if when.field == f.key => Some(format!("field {} cannot depend on itself", f.key)),
            None => Some(format!(
                "field {} depends on {}, which is not a field of this item",
                f.key, when.field
            )),
            Some(_) => match fields.get(&when.field).and_then(|d| d.options.as_ref()) {
                None => Some(format!(
                    "field {} depends on {}, which is not a choice (enum) field",
                    f.key, when.field
                )),
                Some(options) => when
                    .equals
                    .iter()
                    .find(|v| !options.iter().any(|o| &&o.value == v))
                    .map(|v| {
                        format!(
                            "field {} depends on {} = {v:?}, which is not one of its options",
                            f.key, when.field
                        )
                    })
                    .or_else(|| {
                        when.equals
                            .is_empty()
                            .then(|| format!("field {} depends on {} but names no value", f.key, when.field))
                    }),
            },
        };
        if let Some(p) = problem {
            c.err(src, entry, Some(&f.key), p);
        }
    }
    for key in &item.produces.fields {
        if !fields.contains_key(key) {
            c.err(
                src,
                entry,
                Some(key),
                format!("produces unknown field key {key:?} (not in forms/dictionary/)"),
            );
        }
    }
    for code in &item.produces.materials {
        if !materials.contains_key(code) {
            c.err(
                src,
                entry,
                Some(code),
                format!("produces unknown material {code:?} (not in forms/materials/)"),
            );
        }
    }
    for rule in &item.rules {
        for key in rule.fields() {
            if !item.fields.iter().any(|f| f.key == key) {
                c.err(
                    src,
                    entry,
                    Some(key),
                    format!("rule names field {key}, which is not a field of this item"),
                );
            }
        }
        match rule {
            Rule::After { field, other } => {
                for key in [field, other] {
                    if fields.get(key).is_some_and(|d| d.field_type != FieldType::Date) {
                        c.err(
                            src,
                            entry,
                            Some(key),
                            format!("an `after` rule compares dates, but {key} is not a date"),
                        );
                    }
                }
            }
            Rule::RequiredIf {
                when_field, equals, ..
            } => {
                if let Some(def) = fields.get(when_field) {
                    let ok = match (&def.field_type, &def.options) {
                        (FieldType::Enum, Some(opts)) => opts.iter().any(|o| &o.value == equals),
                        (FieldType::Boolean, _) => equals == "true" || equals == "false",
                        _ => false,
                    };
                    if !ok {
                        c.err(
                            src,
                            entry,
                            Some(equals),
                            format!("rule value {equals:?} is not an option of {when_field}"),
                        );
                    }
                }
            }
            Rule::IdMatches {
                id_field,
                birth_date_field,
                sex_field,
            } => {
                if birth_date_field.is_none() && sex_field.is_none() {
                    c.err(
                        src,
                        entry,
                        Some(id_field),
                        "an `id_matches` rule needs birth_date_field, sex_field or both",
                    );
                }
                if let Some(def) = fields.get(id_field) {
                    if def.field_type != FieldType::IdNumber {
                        c.err(
                            src,
                            entry,
                            Some(id_field),
                            format!(
                                "an `id_matches` rule reads an ID number, but {id_field} is of type {}",
                                def.field_type.as_str()
                            ),
                        );
                    }
                }
                if let Some(key) = birth_date_field {
                    if let Some(def) = fields.get(key) {
                        if def.field_type != FieldType::Date {
                            c.err(
                                src,
                                entry,
                                Some(key),
                                format!(
                                    "an `id_matches` rule compares birth dates, but {key} is of type {}",
                                    def.field_type.as_str()
                                ),
                            );
                        }
                    }
                }
                if let Some(key) = sex_field {
                    if let Some(def) = fields.get(key) {
                        let options = def.options.as_deref().unwrap_or(&[]);
                        let has = |sex: Sex| options.iter().any(|o| Sex::of_option(o) == Some(sex));
                        if def.field_type != FieldType::Enum || !has(Sex::Male) || !has(Sex::Female) {
                            c.err(
                                src,
                                entry,
                                Some(key),
                                format!(
                                    "an `id_matches` rule compares sex, but {key} is not an enum with a male and a \
                                     female option (value male / female or label 男 / 女)"
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    for m in &item.materials {
        if !seen.insert(&m.code) {
            c.err(
                src,
                entry,
                Some(&m.code),
                format!("material {} listed twice", m.code),
            );
        }
        if !materials.contains_key(&m.code) {
            c.err(
                src,
                entry,
                Some(&m.code),
                format!("unknown material {:?} (not in forms/materials/)", m.code),
            );
        }
        for (name, value, allowed) in [
            ("form", &m.form, MATERIAL_FORMS),
            ("medium", &m.medium, MATERIAL_MEDIA),
            ("source", &m.source, MATERIAL_SOURCES),
        ] {
            if !allowed.contains(&value.as_str()) {
                c.err(
                    src,
                    entry,
                    Some(&m.code),
                    format!(
                        "material {}: {name} {value:?} is not one of {}",
                        m.code,
                        allowed.join(" / ")
                    ),
                );
            }
        }
        if m.copies < 1 {
            c.err(
                src,
                entry,
                Some(&m.code),
                format!("material {}: copies must be at least 1", m.code),
            );
        }
        if !m.required && m.when.as_deref().is_none_or(is_blank) {
            c.err(
                src,
                entry,
                Some(&m.code),
                format!("material {} is not always required: say when in `when`", m.code),
            );
        }
    }
}

fn check_bundle(
    c: &mut Checker,
    src: &Source,
    entry: &str,
    bundle: &BundleDef,
    items: &BTreeMap<String, ItemDef>,
) {
    let code = Some(bundle.code.as_str());
    if is_blank(&bundle.name) || is_blank(&bundle.summary) {
        c.err(src, entry, code, "a bundle needs a name and a summary");
    }
    if !bundle.audience.themes().contains(&bundle.theme.as_str()) {
        c.err(
            src,
            entry,
            Some(&bundle.theme),
            format!(
                "theme {:?} is not a {} theme ({})",
                bundle.theme,
                bundle.audience.as_str(),
                bundle.audience.themes().join(" ")
            ),
        );
    }
    if bundle.items.len() < 2 {
        c.err(src, entry, code, "a bundle needs at least 2 items");
    }
    if bundle.promised_time_limit_days < 0 {
        c.err(src, entry, code, "promised_time_limit_days must not be negative");
    }
    let mut seen = BTreeSet::new();
    for i in &bundle.items {
        if !seen.insert(i) {
            c.err(src, entry, Some(i), format!("item {i} listed twice"));
        }
        // Every item of a bundle applies under some answers (see `applicable_items`: an
        // item named in an option's include_items applies when that option is chosen, any
        // other applies unless a chosen option excludes it), so the bundle's one promise
        // must cover the longest promise among all its items.
        match items.get(i) {
            None => c.err(
                src,
                entry,
                Some(i),
                format!("bundle item {i:?} does not exist in forms/items/"),
            ),
            Some(item) if item.promised_time_limit_days > bundle.promised_time_limit_days => c.err(
                src,
                entry,
                Some(i),
                format!(
                    "the bundle promises {} working day(s), fewer than the {} promised by its item {i} ({}): \
                     promised_time_limit_days of a bundle must be at least the longest promise of any item \
                     the answers can include",
                    bundle.promised_time_limit_days, item.promised_time_limit_days, item.name
                ),
            ),
            Some(_) => {}
        }
    }
    let mut questions: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for q in &bundle.questions {
        let mut values = BTreeSet::new();
        if q.options.len() < 2 {
            c.err(
                src,
                entry,
                Some(&q.code),
                format!("question {} needs at least two options", q.code),
            );
        }
        for o in &q.options {
            if !values.insert(o.value.as_str()) {
                c.err(
                    src,
                    entry,
                    Some(&o.value),
                    format!("question {}: duplicate option {:?}", q.code, o.value),
                );
            }
            for i in o.include_items.iter().chain(&o.exclude_items) {
                if !bundle.items.contains(i) {
                    c.err(
                        src,
                        entry,
                        Some(i),
                        format!(
                            "question {} option {}: {i} is not an item of this bundle",
                            q.code, o.value
                        ),
                    );
                }
            }
        }
        if let Some(cond) = &q.show_if {
            match questions.get(cond.question.as_str()) {
                None => c.err(
                    src,
                    entry,
                    Some(&cond.question),
                    format!("question {}: show_if must name an earlier question", q.code),
                ),
                Some(vals) if !vals.contains(cond.value.as_str()) => c.err(
                    src,
                    entry,
                    Some(&cond.value),
                    format!(
                        "question {}: show_if value {:?} is not an option of {}",
                        q.code, cond.value, cond.question
                    ),
                ),
                Some(_) => {}
            }
        }
        if questions.insert(q.code.as_str(), values).is_some() {
            c.err(
                src,
                entry,
                Some(&q.code),
                format!("duplicate question {}", q.code),
            );
        }
    }
}
