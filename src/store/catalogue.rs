//! The catalogue's runtime copy: idempotent synchronisation from the checked definitions,
//! and the read queries behind the portal and the API.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rows::*;
use super::{Page, Paging};
use crate::catalogue::{self, content_hash, BundleDef, Catalogue, ItemDef};
use crate::db::schema::*;
use crate::db::{DbConn, DbError};

/// What one synchronisation wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub inserted: usize,
    pub updated: usize,
    pub retired: usize,
    pub unchanged: usize,
}

impl SyncReport {
    pub fn writes(&self) -> usize {
        self.inserted + self.updated + self.retired
    }
}

enum Change {
    Insert,
    Update(i32),
    Unchanged,
}

struct Known {
    hash: String,
    version: i32,
    active: bool,
}

fn classify(known: &HashMap<String, Known>, code: &str, hash: &str) -> Change {
    match known.get(code) {
        None => Change::Insert,
        Some(k) if k.hash == hash && k.active => Change::Unchanged,
        Some(k) => Change::Update(k.version + 1),
    }
}

fn known_of(rows: Vec<(String, String, i32, bool)>) -> HashMap<String, Known> {
    rows.into_iter()
        .map(|(code, hash, version, active)| {
            (
                code,
                Known {
                    hash,
                    version,
                    active,
                },
            )
        })
        .collect()
}

/// Codes that are active in the database but gone from the definitions.
fn to_retire<'a>(known: &'a HashMap<String, Known>, present: &dyn Fn(&str) -> bool) -> Vec<(&'a str, i32)> {
    let mut v: Vec<(&str, i32)> = known
        .iter()
        .filter(|(code, k)| k.active && !present(code))
        .map(|(code, k)| (code.as_str(), k.version + 1))
        .collect();
    v.sort();
    v
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// Makes the database's catalogue equal to `cat` in one transaction. Unchanged definitions
/// cause no writes; a changed one is rewritten with its version bumped; one that vanished
/// from the files is retired (kept, inactive) so that references to it stay valid.
/// `now` stamps what changes.
pub fn sync(conn: &mut DbConn, cat: &Catalogue, now: NaiveDateTime) -> Result<SyncReport, DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        let mut report = SyncReport::default();

        // Departments.
        let known = known_of(
            departments::table
                .select((
                    departments::code,
                    departments::content_hash,
                    departments::version,
                    departments::active,
                ))
                .load(conn)?,
        );
        for (pos, d) in cat.departments.iter().enumerate() {
            let hash = content_hash(&(d, pos));
            let row = |version| DepartmentRow {
                code: d.code.clone(),
                prefix: d.prefix.clone(),
                name: d.name.clone(),
                short_name: d.short_name.clone(),
                service_window: d.window.clone(),
                phone: d.phone.clone(),
                position: pos as i32,
                content_hash: hash.clone(),
                version,
                active: true,
                updated_at: now,
            };
            match classify(&known, &d.code, &hash) {
                Change::Insert => {
                    diesel::insert_into(departments::table)
                        .values(row(1))
                        .execute(conn)?;
                    report.inserted += 1;
                }
                Change::Update(v) => {
                    diesel::update(departments::table.find(&d.code))
                        .set(row(v))
                        .execute(conn)?;
                    report.updated += 1;
                }
                Change::Unchanged => report.unchanged += 1,
            }
        }
        let present = |c: &str| cat.departments.iter().any(|d| d.code == c);
        for (code, v) in to_retire(&known, &present) {
            diesel::update(departments::table.find(code))
                .set((
                    departments::active.eq(false),
                    departments::version.eq(v),
                    departments::updated_at.eq(now),
                ))
                .execute(conn)?;
            report.retired += 1;
        }

        // Field dictionary.
        let known = known_of(
            field_definitions::table
                .select((
                    field_definitions::key,
                    field_definitions::content_hash,
                    field_definitions::version,
                    field_definitions::active,
                ))
                .load(conn)?,
        );
        for f in cat.fields.values() {
            let hash = content_hash(f);
            let row = |version| -> Result<FieldRow, DbError> {
                Ok(FieldRow {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    field_type: f.field_type.as_str().into(),
                    sensitivity: f.sensitivity.as_str().into(),
                    definition: json(f)?,
                    content_hash: hash.clone(),
                    version,
                    active: true,
                    updated_at: now,
                })
            };
            match classify(&known, &f.key, &hash) {
                Change::Insert => {
                    diesel::insert_into(field_definitions::table)
                        .values(row(1)?)
                        .execute(conn)?;
                    report.inserted += 1;
                }
                Change::Update(v) => {
                    diesel::update(field_definitions::table.find(&f.key))
                        .set(row(v)?)
                        .execute(conn)?;
                    report.updated += 1;
                }
                Change::Unchanged => report.unchanged += 1,
            }
        }
        for (key, v) in to_retire(&known, &|k| cat.fields.contains_key(k)) {
            diesel::update(field_definitions::table.find(key))
                .set((
                    field_definitions::active.eq(false),
                    field_definitions::version.eq(v),
                    field_definitions::updated_at.eq(now),
                ))
                .execute(conn)?;
            report.retired += 1;
        }

        // Materials.
        let known = known_of(
            materials::table
                .select((
                    materials::code,
                    materials::content_hash,
                    materials::version,
                    materials::active,
                ))
                .load(conn)?,
        );
        for m in cat.materials.values() {
            let hash = content_hash(m);
            let row = |version| MaterialRow {
                code: m.code.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                content_hash: hash.clone(),
                version,
                active: true,
                updated_at: now,
            };
            match classify(&known, &m.code, &hash) {
                Change::Insert => {
                    diesel::insert_into(materials::table)
                        .values(row(1))
                        .execute(conn)?;
                    report.inserted += 1;
                }
                Change::Update(v) => {
                    diesel::update(materials::table.find(&m.code))
                        .set(row(v))
                        .execute(conn)?;
                    report.updated += 1;
                }
                Change::Unchanged => report.unchanged += 1,
            }
        }
        for (code, v) in to_retire(&known, &|c| cat.materials.contains_key(c)) {
            diesel::update(materials::table.find(code))
                .set((
                    materials::active.eq(false),
                    materials::version.eq(v),
                    materials::updated_at.eq(now),
                ))
                .execute(conn)?;
            report.retired += 1;
        }

        // Items, with their field and material links.
        let known = known_of(
            items::table
                .select((items::code, items::content_hash, items::version, items::active))
                .load(conn)?,
        );
        for item in cat.items.values() {
            let hash = content_hash(item);
            let version = match classify(&known, &item.code, &hash) {
                Change::Unchanged => {
                    report.unchanged += 1;
                    continue;
                }
                Change::Insert => {
                    diesel::insert_into(items::table)
                        .values(item_row(item, &hash, 1, now)?)
                        .execute(conn)?;
                    report.inserted += 1;
                    continue_links(conn, item)?;
                    continue;
                }
                Change::Update(v) => v,
            };
            diesel::update(items::table.find(&item.code))
                .set(item_row(item, &hash, version, now)?)
                .execute(conn)?;
            diesel::delete(item_fields::table.filter(item_fields::item_code.eq(&item.code))).execute(conn)?;
            diesel::delete(item_materials::table.filter(item_materials::item_code.eq(&item.code)))
                .execute(conn)?;
            continue_links(conn, item)?;
            report.updated += 1;
        }
        for (code, v) in to_retire(&known, &|c| cat.items.contains_key(c)) {
            diesel::update(items::table.find(code))
                .set((
                    items::active.eq(false),
                    items::version.eq(v),
                    items::updated_at.eq(now),
                ))
                .execute(conn)?;
            report.retired += 1;
        }

        // Bundles, with their item links.
        let known = known_of(
            bundles::table
                .select((
                    bundles::code,
                    bundles::content_hash,
                    bundles::version,
                    bundles::active,
                ))
                .load(conn)?,
        );
        for b in &cat.bundles {
            let hash = content_hash(b);
            let pos = theme_rank(b);
            let version = match classify(&known, &b.code, &hash) {
                Change::Unchanged => {
                    report.unchanged += 1;
                    continue;
                }
                Change::Insert => {
                    diesel::insert_into(bundles::table)
                        .values(bundle_row(b, pos, &hash, 1, now)?)
                        .execute(conn)?;
                    report.inserted += 1;
                    bundle_links(conn, b)?;
                    continue;
                }
                Change::Update(v) => v,
            };
            diesel::update(bundles::table.find(&b.code))
                .set(bundle_row(b, pos, &hash, version, now)?)
                .execute(conn)?;
            diesel::delete(bundle_items::table.filter(bundle_items::bundle_code.eq(&b.code)))
                .execute(conn)?;
            bundle_links(conn, b)?;
            report.updated += 1;
        }
        let present = |c: &str| cat.bundles.iter().any(|b| b.code == c);
        for (code, v) in to_retire(&known, &present) {
            diesel::update(bundles::table.find(code))
                .set((
                    bundles::active.eq(false),
                    bundles::version.eq(v),
                    bundles::updated_at.eq(now),
                ))
                .execute(conn)?;
            report.retired += 1;
        }
        Ok(report)
    })
}

fn item_row(
    item: &ItemDef,
    hash: &str,
    version: i32,
    now: chrono::NaiveDateTime,
) -> Result<ItemRow, DbError> {
    Ok(ItemRow {
        code: item.code.clone(),
        name: item.name.clone(),
        department_code: item.department.clone(),
        kind: item.kind.clone(),
        audience: item
            .audience
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(","),
        high_frequency: item.high_frequency,
        trips: item.trips,
        online_depth: item.online_depth,
        legal_time_limit_days: item.legal_time_limit_days,
        promised_time_limit_days: item.promised_time_limit_days,
        keywords: item.keywords.join(" "),
        guide: json(item)?,
        content_hash: hash.to_owned(),
        version,
        active: true,
        updated_at: now,
        smart_approval: item.smart_approval(),
    })
}

fn continue_links(conn: &mut DbConn, item: &ItemDef) -> Result<(), DbError> {
    for (pos, f) in item.fields.iter().enumerate() {
        diesel::insert_into(item_fields::table)
            .values(ItemFieldRow {
                item_code: item.code.clone(),
                field_key: f.key.clone(),
                position: pos as i32,
                required: f.required,
            })
            .execute(conn)?;
    }
    for (pos, m) in item.materials.iter().enumerate() {
        diesel::insert_into(item_materials::table)
            .values(ItemMaterialRow {
                item_code: item.code.clone(),
                material_code: m.code.clone(),
                position: pos as i32,
                required: m.required,
                detail: json(m)?,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Bundles are listed by audience, then in the official order of their themes, then by
/// code; the rank depends on the bundle alone so that removing one moves no other.
fn theme_rank(b: &BundleDef) -> usize {
    b.audience
        .themes()
        .iter()
        .position(|t| *t == b.theme)
        .unwrap_or(usize::MAX >> 1)
}

fn bundle_row(
    b: &BundleDef,
    pos: usize,
    hash: &str,
    version: i32,
    now: chrono::NaiveDateTime,
) -> Result<BundleRow, DbError> {
    Ok(BundleRow {
        code: b.code.clone(),
        name: b.name.clone(),
        audience: b.audience.as_str().into(),
        theme: b.theme.clone(),
        lead_department_code: b.lead_department.clone(),
        promised_time_limit_days: b.promised_time_limit_days,
        keywords: b.keywords.join(" "),
        definition: json(b)?,
        position: pos as i32,
        content_hash: hash.to_owned(),
        version,
        active: true,
        updated_at: now,
    })
}

fn bundle_links(conn: &mut DbConn, b: &BundleDef) -> Result<(), DbError> {
    for (pos, code) in b.items.iter().enumerate() {
        diesel::insert_into(bundle_items::table)
            .values(BundleItemRow {
                bundle_code: b.code.clone(),
                item_code: code.clone(),
                position: pos as i32,
            })
            .execute(conn)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reads.

fn parse_item(row: &ItemRow) -> Result<ItemDef, DbError> {
    serde_json::from_str(&row.guide).map_err(|e| DbError::Corrupt(format!("item {}: {e}", row.code)))
}

fn parse_bundle(row: &BundleRow) -> Result<BundleDef, DbError> {
    serde_json::from_str(&row.definition).map_err(|e| DbError::Corrupt(format!("bundle {}: {e}", row.code)))
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[derive(Debug, Clone, Default)]
pub struct BundleFilter {
    pub audience: Option<String>,
    pub theme: Option<String>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub department: Option<String>,
    pub high_frequency: Option<bool>,
    pub smart_approval: Option<bool>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DepartmentView {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub window: String,
    pub phone: String,
    pub item_count: i64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemSummary {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub department: String,
    pub department_name: String,
    pub high_frequency: bool,
    /// Decided by declared rules (智慧审批): see the item's `decision_table`.
    pub smart_approval: bool,
    pub trips: i32,
    pub online_depth: i32,
    pub legal_time_limit_days: i32,
    pub promised_time_limit_days: i32,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BundleSummary {
    pub code: String,
    pub name: String,
    pub audience: String,
    pub theme: String,
    pub lead_department: String,
    pub summary: String,
    pub promised_time_limit_days: i32,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CodeName {
    pub code: String,
    pub name: String,
}

/// A material as an item uses it, with the material's name. The use's fields are spelled
/// out rather than flattened: the definition refuses unknown keys when it is loaded, and a
/// flattened schema would inherit that refusal and forbid `name` in the answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MaterialView {
    pub code: String,
    pub name: String,
    pub form: String,
    pub copies: u32,
    pub medium: String,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

impl MaterialView {
    fn new(name: String, usage: catalogue::MaterialUse) -> Self {
        Self {
            code: usage.code,
            name,
            form: usage.form,
            copies: usage.copies,
            medium: usage.medium,
            required: usage.required,
            when: usage.when,
            source: usage.source,
            notes: usage.notes,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FieldView {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub required: bool,
}

/// An item with its complete guide, as the API and the guide page show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemDetail {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub department: String,
    pub department_name: String,
    pub audience: Vec<catalogue::Audience>,
    pub summary: String,
    pub keywords: Vec<String>,
    pub legal_basis: Vec<String>,
    pub conditions: Vec<String>,
    pub service_type: String,
    pub legal_time_limit_days: i32,
    pub promised_time_limit_days: i32,
    pub fee: String,
    pub fee_basis: String,
    pub result: String,
    pub result_type: String,
    pub place: String,
    pub hours: String,
    pub consult_phone: String,
    pub complaint_phone: String,
    pub online_depth: i32,
    pub online_depth_label: String,
    pub trips: i32,
    pub high_frequency: bool,
    /// Decided by declared rules (智慧审批): `decision_table` holds them.
    pub smart_approval: bool,
    /// The rules applications are decided by, published with the guide.
    #[schema(value_type = Option<Object>)]
    pub decision_table: Option<crate::rules::DecisionTable>,
    pub delivery: Vec<catalogue::Delivery>,
    pub process: Vec<catalogue::ProcessStep>,
    pub fields: Vec<FieldView>,
    pub materials: Vec<MaterialView>,
    pub bundles: Vec<CodeName>,
    pub version: i32,
    #[serde(with = "crate::clock::rfc3339")]
    pub updated_at: chrono::NaiveDateTime,
}

/// A bundle with what it merges, as the API and the bundle page show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BundleDetail {
    pub code: String,
    pub name: String,
    pub audience: String,
    pub theme: String,
    pub lead_department: CodeName,
    pub summary: String,
    pub keywords: Vec<String>,
    pub promised_time_limit_days: i32,
    pub trips: i32,
    pub items: Vec<ItemSummary>,
    pub departments: Vec<CodeName>,
    pub questions: Vec<catalogue::Question>,
    pub materials: Vec<catalogue::MergedMaterial>,
    pub savings: catalogue::BundleSavings,
    pub version: i32,
    #[serde(with = "crate::clock::rfc3339")]
    pub updated_at: chrono::NaiveDateTime,
}

fn department_names(conn: &mut DbConn) -> Result<HashMap<String, String>, DbError> {
    Ok(departments::table
        .select((departments::code, departments::short_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

fn summary_of(row: &ItemRow, names: &HashMap<String, String>) -> ItemSummary {
    ItemSummary {
        code: row.code.clone(),
        name: row.name.clone(),
        kind: row.kind.clone(),
        department: row.department_code.clone(),
        department_name: names.get(&row.department_code).cloned().unwrap_or_default(),
        high_frequency: row.high_frequency,
        smart_approval: row.smart_approval,
        trips: row.trips,
        online_depth: row.online_depth,
        legal_time_limit_days: row.legal_time_limit_days,
        promised_time_limit_days: row.promised_time_limit_days,
    }
}

pub fn list_departments(conn: &mut DbConn) -> Result<Vec<DepartmentView>, DbError> {
    let counts: HashMap<String, i64> = items::table
        .filter(items::active.eq(true))
        .group_by(items::department_code)
        .select((items::department_code, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let rows: Vec<DepartmentRow> = departments::table
        .filter(departments::active.eq(true))
        .order(departments::position)
        .select(DepartmentRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|d| DepartmentView {
            item_count: counts.get(&d.code).copied().unwrap_or(0),
            code: d.code,
            name: d.name,
            short_name: d.short_name,
            window: d.service_window,
            phone: d.phone,
        })
        .collect())
}

pub fn department_exists(conn: &mut DbConn, code: &str) -> Result<bool, DbError> {
    Ok(departments::table
        .find(code)
        .select(departments::code)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

pub fn list_bundles(
    conn: &mut DbConn,
    filter: &BundleFilter,
    paging: Paging,
) -> Result<Page<BundleSummary>, DbError> {
    let query = || {
        let mut q = bundles::table.filter(bundles::active.eq(true)).into_boxed();
        if let Some(a) = &filter.audience {
            q = q.filter(bundles::audience.eq(a.clone()));
        }
        if let Some(t) = &filter.theme {
            q = q.filter(bundles::theme.eq(t.clone()));
        }
        if let Some(text) = filter.q.as_deref().filter(|s| !s.trim().is_empty()) {
            let p = like_pattern(text);
            q = q.filter(
                bundles::name
                    .like(p.clone())
                    .escape('\\')
                    .or(bundles::keywords.like(p.clone()).escape('\\'))
                    .or(bundles::theme.like(p).escape('\\')),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<BundleRow> = query()
        .order((bundles::audience.desc(), bundles::position, bundles::code))
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(BundleRow::as_select())
        .load(conn)?;
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    for (b, i) in bundle_items::table
        .filter(bundle_items::bundle_code.eq_any(&codes))
        .order((bundle_items::bundle_code, bundle_items::position))
        .select((bundle_items::bundle_code, bundle_items::item_code))
        .load::<(String, String)>(conn)?
    {
        links.entry(b).or_default().push(i);
    }
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let def = parse_bundle(&row)?;
        items.push(BundleSummary {
            items: links.remove(&row.code).unwrap_or_default(),
            code: row.code,
            name: row.name,
            audience: row.audience,
            theme: row.theme,
            lead_department: row.lead_department_code,
            summary: def.summary,
            promised_time_limit_days: row.promised_time_limit_days,
        });
    }
    Ok(Page {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    })
}

pub fn list_items(
    conn: &mut DbConn,
    filter: &ItemFilter,
    paging: Paging,
) -> Result<Page<ItemSummary>, DbError> {
    let query = || {
        let mut q = items::table.filter(items::active.eq(true)).into_boxed();
        if let Some(d) = &filter.department {
            q = q.filter(items::department_code.eq(d.clone()));
        }
        if let Some(h) = filter.high_frequency {
            q = q.filter(items::high_frequency.eq(h));
        }
        if let Some(smart) = filter.smart_approval {
            q = q.filter(items::smart_approval.eq(smart));
        }
        if let Some(text) = filter.q.as_deref().filter(|s| !s.trim().is_empty()) {
            let p = like_pattern(text);
            q = q.filter(
                items::name
                    .like(p.clone())
                    .escape('\\')
                    .or(items::keywords.like(p).escape('\\')),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<ItemRow> = query()
        .order(items::code)
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(ItemRow::as_select())
        .load(conn)?;
    let names = department_names(conn)?;
    Ok(Page {
        items: rows.iter().map(|r| summary_of(r, &names)).collect(),
        total,
        page: paging.page,
        per_page: paging.per_page,
    })
}

pub fn get_item(conn: &mut DbConn, code: &str) -> Result<Option<ItemDetail>, DbError> {
    let Some(row) = items::table
        .find(code)
        .filter(items::active.eq(true))
        .select(ItemRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let def = parse_item(&row)?;
    let department_name: String = departments::table
        .find(&row.department_code)
        .select(departments::name)
        .first(conn)?;
    let material_names: HashMap<String, String> = materials::table
        .filter(materials::code.eq_any(def.materials.iter().map(|m| m.code.as_str())))
        .select((materials::code, materials::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let field_defs: HashMap<String, (String, String)> = field_definitions::table
        .filter(field_definitions::key.eq_any(def.fields.iter().map(|f| f.key.as_str())))
        .select((
            field_definitions::key,
            field_definitions::label,
            field_definitions::field_type,
        ))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(k, l, t)| (k, (l, t)))
        .collect();
    let bundles: Vec<CodeName> = bundle_items::table
        .inner_join(bundles::table)
        .filter(bundle_items::item_code.eq(code))
        .filter(bundles::active.eq(true))
        .order((bundles::audience.desc(), bundles::position, bundles::code))
        .select((bundles::code, bundles::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(code, name)| CodeName { code, name })
        .collect();
    let smart_approval = def.smart_approval();
    Ok(Some(ItemDetail {
        code: def.code,
        name: def.name,
        kind: def.kind,
        department: def.department,
        department_name,
        audience: def.audience,
        summary: def.summary,
        keywords: def.keywords,
        legal_basis: def.legal_basis,
        conditions: def.conditions,
        service_type: def.service_type,
        legal_time_limit_days: def.legal_time_limit_days,
        promised_time_limit_days: def.promised_time_limit_days,
        fee: def.fee,
        fee_basis: def.fee_basis,
        result: def.result,
        result_type: def.result_type,
        place: def.place,
        hours: def.hours,
        consult_phone: def.consult_phone,
        complaint_phone: def.complaint_phone,
        online_depth: def.online_depth,
        online_depth_label: catalogue::online_depth_label(def.online_depth).to_owned(),
        trips: def.trips,
        high_frequency: def.high_frequency,
        smart_approval,
        decision_table: def.decision,
        delivery: def.delivery,
        process: def.process,
        fields: def
            .fields
            .into_iter()
            .map(|f| {
                let (label, field_type) = field_defs.get(&f.key).cloned().unwrap_or_default();
                FieldView {
                    key: f.key,
                    label,
                    field_type,
                    required: f.required,
                }
            })
            .collect(),
        materials: def
            .materials
            .into_iter()
            .map(|m| MaterialView::new(material_names.get(&m.code).cloned().unwrap_or_default(), m))
            .collect(),
        bundles,
        version: row.version,
        updated_at: row.updated_at,
    }))
}

/// Loads a bundle with just the part of the catalogue it refers to, so that the domain's
/// bundle arithmetic runs on the runtime copy.
pub fn load_bundle(
    conn: &mut DbConn,
    code: &str,
) -> Result<Option<(BundleRow, BundleDef, Catalogue)>, DbError> {
    let Some(row) = bundles::table
        .find(code)
        .filter(bundles::active.eq(true))
        .select(BundleRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let def = parse_bundle(&row)?;
    let item_rows: Vec<ItemRow> = items::table
        .filter(items::code.eq_any(&def.items))
        .select(ItemRow::as_select())
        .load(conn)?;
    let mut items = BTreeMap::new();
    for r in &item_rows {
        items.insert(r.code.clone(), parse_item(r)?);
    }
    let material_codes: Vec<String> = items
        .values()
        .flat_map(|i: &ItemDef| i.materials.iter().map(|m| m.code.clone()))
        .collect();
    let materials = materials::table
        .filter(materials::code.eq_any(&material_codes))
        .select(MaterialRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|m| {
            (
                m.code.clone(),
                catalogue::MaterialDef {
                    code: m.code,
                    name: m.name,
                    description: m.description,
                },
            )
        })
        .collect();
    let departments = departments::table
        .select(DepartmentRow::as_select())
        .order(departments::position)
        .load(conn)?
        .into_iter()
        .map(|d| catalogue::DepartmentDef {
            code: d.code,
            prefix: d.prefix,
            name: d.name,
            short_name: d.short_name,
            window: d.service_window,
            phone: d.phone,
        })
        .collect();
    let field_keys: Vec<String> = items
        .values()
        .flat_map(|i: &ItemDef| i.fields.iter().map(|f| f.key.clone()))
        .collect();
    let mut fields = BTreeMap::new();
    for (key, definition) in field_definitions::table
        .filter(field_definitions::key.eq_any(&field_keys))
        .select((field_definitions::key, field_definitions::definition))
        .load::<(String, String)>(conn)?
    {
        let def: catalogue::FieldDef =
            serde_json::from_str(&definition).map_err(|e| DbError::Corrupt(format!("field {key}: {e}")))?;
        fields.insert(key, def);
    }
    let partial = Catalogue::new(departments, fields, materials, items, vec![def.clone()]);
    Ok(Some((row, def, partial)))
}

pub fn get_bundle(conn: &mut DbConn, code: &str) -> Result<Option<BundleDetail>, DbError> {
    Ok(load_bundle(conn, code)?.map(|(row, def, cat)| bundle_detail(&row, def, &cat)))
}

/// What the portal shows of a bundle loaded by [`load_bundle`].
pub fn bundle_detail(row: &BundleRow, def: BundleDef, cat: &Catalogue) -> BundleDetail {
    let short: HashMap<&str, &str> = cat
        .departments
        .iter()
        .map(|d| (d.code.as_str(), d.short_name.as_str()))
        .collect();
    let full: HashMap<&str, &str> = cat
        .departments
        .iter()
        .map(|d| (d.code.as_str(), d.name.as_str()))
        .collect();
    let mut items = Vec::new();
    let mut departments: Vec<CodeName> = Vec::new();
    for code in &def.items {
        let Some(i) = cat.items.get(code) else {
            continue;
        };
        items.push(ItemSummary {
            code: i.code.clone(),
            name: i.name.clone(),
            kind: i.kind.clone(),
            department: i.department.clone(),
            department_name: short
                .get(i.department.as_str())
                .copied()
                .unwrap_or_default()
                .to_owned(),
            high_frequency: i.high_frequency,
            smart_approval: i.smart_approval(),
            trips: i.trips,
            online_depth: i.online_depth,
            legal_time_limit_days: i.legal_time_limit_days,
            promised_time_limit_days: i.promised_time_limit_days,
        });
        if !departments.iter().any(|d| d.code == i.department) {
            departments.push(CodeName {
                code: i.department.clone(),
                name: full
                    .get(i.department.as_str())
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
    }
    let codes: Vec<&str> = def.items.iter().map(String::as_str).collect();
    let savings = catalogue::savings(cat, &def);
    BundleDetail {
        lead_department: CodeName {
            code: def.lead_department.clone(),
            name: full
                .get(def.lead_department.as_str())
                .copied()
                .unwrap_or_default()
                .to_owned(),
        },
        materials: catalogue::merge_materials(cat, &codes),
        trips: savings.bundle_trips,
        savings,
        items,
        departments,
        code: def.code,
        name: def.name,
        audience: row.audience.clone(),
        theme: def.theme,
        summary: def.summary,
        keywords: def.keywords,
        promised_time_limit_days: def.promised_time_limit_days,
        questions: def.questions,
        version: row.version,
        updated_at: row.updated_at,
    }
}

/// Active bundle and item codes, in catalogue order.
pub fn active_codes(conn: &mut DbConn) -> Result<(Vec<String>, Vec<String>), DbError> {
    let bundle_codes = bundles::table
        .filter(bundles::active.eq(true))
        .order((bundles::position.asc(), bundles::code.asc()))
        .select(bundles::code)
        .load(conn)?;
    let item_codes = items::table
        .filter(items::active.eq(true))
        .order(items::code.asc())
        .select(items::code)
        .load(conn)?;
    Ok((bundle_codes, item_codes))
}

/// A value that changes whenever anything in the catalogue does: each sync bumps the
/// version of every row it rewrites or retires, so the row counts and version sums of
/// the catalogue tables say whether a copy is current. Cheap enough to ask every second.
pub fn fingerprint(conn: &mut DbConn) -> Result<String, DbError> {
    use diesel::dsl::{count_star, sum};
    let d: (i64, Option<i64>) = departments::table
        .select((count_star(), sum(departments::version)))
        .first(conn)?;
    let f: (i64, Option<i64>) = field_definitions::table
        .select((count_star(), sum(field_definitions::version)))
        .first(conn)?;
    let m: (i64, Option<i64>) = materials::table
        .select((count_star(), sum(materials::version)))
        .first(conn)?;
    let i: (i64, Option<i64>) = items::table
        .select((count_star(), sum(items::version)))
        .first(conn)?;
    let b: (i64, Option<i64>) = bundles::table
        .select((count_star(), sum(bundles::version)))
        .first(conn)?;
    Ok([d, f, m, i, b]
        .iter()
        .map(|(n, v)| format!("{n}.{}", v.unwrap_or(0)))
        .collect::<Vec<_>>()
        .join("-"))
}

/// Headline counts of the catalogue, for the portal's home page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CatalogueStats {
    pub bundles: i64,
    pub personal_bundles: i64,
    pub enterprise_bundles: i64,
    pub items: i64,
    pub high_frequency_items: i64,
    pub zero_trip_items: i64,
    pub departments: i64,
}

pub fn stats(conn: &mut DbConn) -> Result<CatalogueStats, DbError> {
    let audience: Vec<(String, i64)> = bundles::table
        .filter(bundles::active.eq(true))
        .group_by(bundles::audience)
        .select((bundles::audience, diesel::dsl::count_star()))
        .load(conn)?;
    let count_of = |a: &str| {
        audience
            .iter()
            .find(|(x, _)| x == a)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let active_items = || items::table.filter(items::active.eq(true));
    Ok(CatalogueStats {
        bundles: audience.iter().map(|(_, n)| n).sum(),
        personal_bundles: count_of("personal"),
        enterprise_bundles: count_of("enterprise"),
        items: active_items().count().get_result(conn)?,
        high_frequency_items: active_items()
            .filter(items::high_frequency.eq(true))
            .count()
            .get_result(conn)?,
        zero_trip_items: active_items()
            .filter(items::trips.eq(0))
            .count()
            .get_result(conn)?,
        departments: departments::table
            .filter(departments::active.eq(true))
            .count()
            .get_result(conn)?,
    })
}
