//! The service catalogue as plain Rust: definitions read from `forms/`, whole-catalogue
//! checks, and the bundle arithmetic the portal shows (which items apply, the merged
//! materials list, time saved). No web or database code lives here.

pub mod defs;
pub mod load;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use defs::*;
pub use load::{load_catalogue, DefinitionError, DefinitionErrors};

/// A checked catalogue: every reference resolves, every guide is complete.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub departments: Vec<DepartmentDef>,
    pub fields: BTreeMap<String, FieldDef>,
    pub materials: BTreeMap<String, MaterialDef>,
    pub items: BTreeMap<String, ItemDef>,
    /// In display order: by audience, then theme order, then code.
    pub bundles: Vec<BundleDef>,
}

impl Catalogue {
    pub fn new(
        departments: Vec<DepartmentDef>,
        fields: BTreeMap<String, FieldDef>,
        materials: BTreeMap<String, MaterialDef>,
        items: BTreeMap<String, ItemDef>,
        mut bundles: Vec<BundleDef>,
    ) -> Self {
        bundles.sort_by_key(|b| {
            let theme = b
                .audience
                .themes()
                .iter()
                .position(|t| *t == b.theme)
                .unwrap_or(usize::MAX);
            (b.audience, theme, b.code.clone())
        });
        Self {
            departments,
            fields,
            materials,
            items,
            bundles,
        }
    }
}

/// SHA-256 of a definition's canonical JSON: the loader's test for "changed".
pub fn content_hash<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The items of `bundle` that apply for the given situation answers (question code →
/// option value). An item named in some option's `include_items` applies only when such
/// an option is chosen; any other item applies unless a chosen option excludes it.
/// Answers to questions that are not shown (their `show_if` is unmet) are ignored.
pub fn applicable_items<'a>(bundle: &'a BundleDef, answers: &HashMap<String, String>) -> Vec<&'a str> {
    let mut opt_in: BTreeSet<&str> = BTreeSet::new();
    let mut included: BTreeSet<&str> = BTreeSet::new();
    let mut excluded: BTreeSet<&str> = BTreeSet::new();
    let mut shown_answers: HashMap<&str, &str> = HashMap::new();
    for q in &bundle.questions {
        for o in &q.options {
            opt_in.extend(o.include_items.iter().map(String::as_str));
        }
        let shown = q
            .show_if
            .as_ref()
            .is_none_or(|c| shown_answers.get(c.question.as_str()) == Some(&c.value.as_str()));
        if !shown {
            continue;
        }
        let Some(value) = answers.get(&q.code) else {
            continue;
        };
        if let Some(o) = q.options.iter().find(|o| &o.value == value) {
            shown_answers.insert(q.code.as_str(), o.value.as_str());
            included.extend(o.include_items.iter().map(String::as_str));
            excluded.extend(o.exclude_items.iter().map(String::as_str));
        }
    }
    bundle
        .items
        .iter()
        .map(String::as_str)
        .filter(|i| (!opt_in.contains(i) || included.contains(i)) && !excluded.contains(i))
        .collect()
}

/// One row of a bundle's merged materials list: a material asked for once, whatever
/// number of items need it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MergedMaterial {
    pub code: String,
    pub name: String,
    /// Required if any item using it requires it unconditionally.
    pub required: bool,
    /// The strictest form any item asks for (原件 wins over 复印件).
    pub form: String,
    pub copies: u32,
    /// Situations in which an optional material is needed, one per item that says so.
    pub when: Vec<String>,
    pub items: Vec<String>,
    /// Why the applicant need not hand it in (obtained through data sharing, or issued by
    /// another item of the same application); such a material is never required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provided: Option<String>,
}

/// Merges the materials of `items` (in bundle order) so that each material appears once.
pub fn merge_materials(catalogue: &Catalogue, items: &[&str]) -> Vec<MergedMaterial> {
    let mut merged: Vec<MergedMaterial> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for code in items {
        let Some(item) = catalogue.items.get(*code) else {
            continue;
        };
        for m in &item.materials {
            let name = catalogue
                .materials
                .get(&m.code)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| m.code.clone());
            let pos = *index.entry(m.code.as_str()).or_insert_with(|| {
                merged.push(MergedMaterial {
                    code: m.code.clone(),
                    name,
                    required: false,
                    form: m.form.clone(),
                    copies: 0,
                    when: Vec::new(),
                    items: Vec::new(),
                    provided: None,
                });
                merged.len() - 1
            });
            let row = &mut merged[pos];
            row.required |= m.required;
            row.copies = row.copies.max(m.copies);
            if form_rank(&m.form) > form_rank(&row.form) {
                row.form = m.form.clone();
            }
            if let Some(w) = m.when.as_ref().filter(|_| !m.required) {
                if !row.when.contains(w) {
                    row.when.push(w.clone());
                }
            }
            row.items.push(item.code.clone());
        }
    }
    let producer = |material: &str| {
        items
            .iter()
            .filter_map(|c| catalogue.items.get(*c))
            .find(|i| i.produces.materials.iter().any(|m| m == material))
    };
    for row in &mut merged {
        let shared = row.items.iter().all(|code| {
            catalogue.items.get(code).is_some_and(|i| {
                i.materials
                    .iter()
                    .any(|m| m.code == row.code && m.obtained_by_the_department())
            })
        });
        row.provided = match producer(&row.code) {
            Some(item) => Some(format!("由本次一并办理的“{}”出具，无需提交", item.name)),
            None if shared => Some("通过政务数据共享获取，无需提交".into()),
            None => None,
        };
        if row.provided.is_some() {
            row.required = false;
        }
        if row.required || row.provided.is_some() {
            row.when.clear();
        }
    }
    merged
}

fn form_rank(form: &str) -> u8 {
    match form {
        "原件和复印件" => 3,
        "原件" => 2,
        "复印件" => 1,
        _ => 0,
    }
}

/// Figures that show what bundling saves.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BundleSavings {
    pub separate_promised_days: i32,
    pub bundle_promised_days: i32,
    pub separate_materials: usize,
    pub merged_materials: usize,
    pub separate_trips: i32,
    pub bundle_trips: i32,
    pub departments: usize,
}

pub fn savings(catalogue: &Catalogue, bundle: &BundleDef) -> BundleSavings {
    let items: Vec<&ItemDef> = bundle
        .items
        .iter()
        .filter_map(|c| catalogue.items.get(c))
        .collect();
    let codes: Vec<&str> = bundle.items.iter().map(String::as_str).collect();
    BundleSavings {
        separate_promised_days: items.iter().map(|i| i.promised_time_limit_days).sum(),
        bundle_promised_days: bundle.promised_time_limit_days,
        separate_materials: items.iter().map(|i| i.materials.len()).sum(),
        merged_materials: merge_materials(catalogue, &codes).len(),
        separate_trips: items.iter().map(|i| i.trips).sum(),
        bundle_trips: items.iter().map(|i| i.trips).max().unwrap_or(0),
        departments: items
            .iter()
            .map(|i| i.department.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
    }
}
