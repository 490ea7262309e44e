//! The local reference registries (records sealed, keys hashed), the audit of every
//! registry lookup, and the rules' decisions on the parts of cases.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::{cases, registry_lookups, registry_records, smart_decisions, sub_cases};
use crate::db::{DbConn, DbError};

/// One sealed record, keyed by the keyed hash of its key.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = registry_records)]
pub struct NewRecord {
    pub registry: String,
    pub key_hash: String,
    pub record_enc: String,
    pub loaded_at: NaiveDateTime,
}

/// Writes records, replacing those with the same key (a reload is the newer data); returns
/// how many were written. One statement per record: SQLite takes no multi-row upsert.
pub fn upsert_records(conn: &mut DbConn, rows: &[NewRecord]) -> Result<usize, DbError> {
    let mut written = 0;
    for row in rows {
        written += each_backend!(conn, |c| diesel::insert_into(registry_records::table)
            .values(row)
            .on_conflict((registry_records::registry, registry_records::key_hash))
            .do_update()
            .set((
                registry_records::record_enc.eq(excluded(registry_records::record_enc)),
                registry_records::loaded_at.eq(excluded(registry_records::loaded_at)),
            ))
            .execute(c))?;
    }
    Ok(written)
}

/// The sealed records of several (registry, key hash) pairs in one query.
pub fn records(
    conn: &mut DbConn,
    wanted: &[(String, String)],
) -> Result<Vec<(String, String, String)>, DbError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let hashes: Vec<&str> = wanted.iter().map(|(_, h)| h.as_str()).collect();
    let rows: Vec<(String, String, String)> = registry_records::table
        .filter(registry_records::key_hash.eq_any(hashes))
        .select((
            registry_records::registry,
            registry_records::key_hash,
            registry_records::record_enc,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(r, h, _)| wanted.iter().any(|(wr, wh)| wr == r && wh == h))
        .collect())
}

/// How many records each registry holds.
pub fn counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(registry_records::table
        .group_by(registry_records::registry)
        .select((registry_records::registry, diesel::dsl::count_star()))
        .order(registry_records::registry)
        .load(conn)?)
}

/// One audited lookup.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = registry_lookups)]
pub struct NewLookup {
    pub at: NaiveDateTime,
    pub account_id: Option<i64>,
    pub receipt_no: String,
    pub registry: String,
    pub adapter: String,
    pub key_digest: String,
    pub answer_digest: String,
    pub outcome: String,
    pub elapsed_ms: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = registry_lookups)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct LookupRow {
    pub id: i64,
    #[serde(with = "crate::clock::rfc3339")]
    pub at: NaiveDateTime,
    pub account_id: Option<i64>,
    pub receipt_no: String,
    pub registry: String,
    pub adapter: String,
    pub key_digest: String,
    pub answer_digest: String,
    pub outcome: String,
    pub elapsed_ms: i64,
}

pub fn record_lookups(conn: &mut DbConn, rows: &[NewLookup]) -> Result<(), DbError> {
    insert_chunks!(conn, registry_lookups::table, rows, 100);
    Ok(())
}

pub fn lookups_of(conn: &mut DbConn, receipt_no: &str) -> Result<Vec<LookupRow>, DbError> {
    Ok(registry_lookups::table
        .filter(registry_lookups::receipt_no.eq(receipt_no))
        .order(registry_lookups::id)
        .select(LookupRow::as_select())
        .load(conn)?)
}

/// The rules' decision on one part.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = smart_decisions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DecisionRow {
    pub sub_case_id: i64,
    pub case_id: i64,
    pub item_code: String,
    pub outcome: String,
    pub rule_no: Option<i32>,
    pub reason: String,
    /// The domain's `rules::Decision` as JSON: every rule tried with its checks.
    pub explanation: String,
    pub evaluated_at: NaiveDateTime,
}

/// Records the decisions of a newly filed case's evaluation, in one statement.
pub fn record_decisions(conn: &mut DbConn, rows: &[DecisionRow]) -> Result<(), DbError> {
    insert_chunks!(conn, smart_decisions::table, rows, 100);
    Ok(())
}

pub fn decisions_of(conn: &mut DbConn, case_id: i64) -> Result<Vec<DecisionRow>, DbError> {
    Ok(smart_decisions::table
        .filter(smart_decisions::case_id.eq(case_id))
        .order(smart_decisions::sub_case_id)
        .select(DecisionRow::as_select())
        .load(conn)?)
}

/// The cases with a decision of the rules (approve or deny) whose part is still pending
/// while the case waits at the window or is in progress: what a crash or a restore left
/// between filing and carrying the decisions out.
pub fn outstanding(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    Ok(smart_decisions::table
        .inner_join(sub_cases::table.on(sub_cases::id.eq(smart_decisions::sub_case_id)))
        .inner_join(cases::table.on(cases::id.eq(smart_decisions::case_id)))
        .filter(smart_decisions::outcome.ne("manual"))
        .filter(sub_cases::status.eq("pending"))
        .filter(cases::status.eq_any(["submitted", "in_progress"]))
        .select(cases::receipt_no)
        .distinct()
        .order(cases::receipt_no)
        .load(conn)?)
}
