//! Row types: what a table holds (Queryable) and what is written to it (Insertable).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = departments)]
pub struct DepartmentRow {
    pub code: String,
    pub prefix: String,
    pub name: String,
    pub short_name: String,
    pub service_window: String,
    pub phone: String,
    pub position: i32,
    pub content_hash: String,
    pub version: i32,
    pub active: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = field_definitions)]
pub struct FieldRow {
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub sensitivity: String,
    pub definition: String,
    pub content_hash: String,
    pub version: i32,
    pub active: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = materials)]
pub struct MaterialRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub content_hash: String,
    pub version: i32,
    pub active: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = items)]
pub struct ItemRow {
    pub code: String,
    pub name: String,
    pub department_code: String,
    pub kind: String,
    pub audience: String,
    pub high_frequency: bool,
    pub trips: i32,
    pub online_depth: i32,
    pub legal_time_limit_days: i32,
    pub promised_time_limit_days: i32,
    pub keywords: String,
    pub guide: String,
    pub content_hash: String,
    pub version: i32,
    pub active: bool,
    pub updated_at: NaiveDateTime,
    pub smart_approval: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = item_fields)]
pub struct ItemFieldRow {
    pub item_code: String,
    pub field_key: String,
    pub position: i32,
    pub required: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = item_materials)]
pub struct ItemMaterialRow {
    pub item_code: String,
    pub material_code: String,
    pub position: i32,
    pub required: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bundles)]
pub struct BundleRow {
    pub code: String,
    pub name: String,
    pub audience: String,
    pub theme: String,
    pub lead_department_code: String,
    pub promised_time_limit_days: i32,
    pub keywords: String,
    pub definition: String,
    pub position: i32,
    pub content_hash: String,
    pub version: i32,
    pub active: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bundle_items)]
pub struct BundleItemRow {
    pub bundle_code: String,
    pub item_code: String,
    pub position: i32,
}
