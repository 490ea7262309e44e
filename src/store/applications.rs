//! Uploads, drafts, idempotency records, receipt numbers, and the case rows of submitted
//! applications.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    case_materials, cases, drafts, idempotency_keys, receipt_counters, sub_cases, uploads,
};
use crate::db::{retry_on_conflict, DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: String,
    pub account_id: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub file_name: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_upload(conn: &mut DbConn, row: &UploadRow) -> Result<(), DbError> {
    diesel::insert_into(uploads::table).values(row).execute(conn)?;
    Ok(())
}

pub fn get_upload(conn: &mut DbConn, id: &str) -> Result<Option<UploadRow>, DbError> {
    Ok(uploads::table
        .find(id)
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?)
}

/// Where an upload is used: the cases that link it (with their receipt and applicant), and
/// the departments whose part uses it as a material or as its result document.
#[derive(Debug, Default)]
pub struct UploadUse {
    pub cases: Vec<(String, i64)>,
    pub departments: Vec<String>,
}

pub fn upload_use(conn: &mut DbConn, id: &str) -> Result<UploadUse, DbError> {
    let mut cases: Vec<(String, i64)> = case_materials::table
        .inner_join(cases::table)
        .filter(case_materials::upload_id.eq(id))
        .select((cases::receipt_no, cases::account_id))
        .distinct()
        .load(conn)?;
    // A part's materials are JSON (material → upload ids); the LIKE only narrows, the JSON
    // decides.
    let parts: Vec<(String, String, Option<String>, String, i64)> = sub_cases::table
        .inner_join(cases::table)
        .filter(
            sub_cases::result_upload
                .eq(id)
                .or(sub_cases::materials.like(format!("%\"{id}\"%"))),
        )
        .select((
            sub_cases::department_code,
            sub_cases::materials,
            sub_cases::result_upload,
            cases::receipt_no,
            cases::account_id,
        ))
        .load(conn)?;
    let mut departments = Vec::new();
    for (department, materials, result, receipt, account) in parts {
        let links: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(&materials)
            .map_err(|e| DbError::Corrupt(format!("materials of a part of {receipt}: {e}")))?;
        let used = result.as_deref() == Some(id) || links.values().flatten().any(|u| u == id);
        if used {
            departments.push(department);
            if !cases.iter().any(|(r, _)| *r == receipt) {
                cases.push((receipt, account));
            }
        }
    }
    Ok(UploadUse { cases, departments })
}

/// The uploads among `ids` that belong to `account`.
pub fn uploads_of(conn: &mut DbConn, account: i64, ids: &[String]) -> Result<Vec<UploadRow>, DbError> {
    Ok(uploads::table
        .filter(uploads::account_id.eq(account))
        .filter(uploads::id.eq_any(ids))
        .select(UploadRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = drafts)]
#[diesel(treat_none_as_null = true)]
pub struct DraftRow {
    pub account_id: i64,
    pub bundle_code: String,
    pub answers: String,
    pub data_enc: String,
    pub materials: String,
    pub version: i32,
    pub updated_at: NaiveDateTime,
    /// `self` or `agent` and the relationship, as JSON (the form's 办理方式).
    pub filing: Option<String>,
}

pub fn get_draft(conn: &mut DbConn, account: i64, bundle: &str) -> Result<Option<DraftRow>, DbError> {
    Ok(drafts::table
        .find((account, bundle))
        .select(DraftRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the draft, bumping its version; returns the new version.
pub fn save_draft(conn: &mut DbConn, row: DraftRow) -> Result<i32, DbError> {
    retry_on_conflict(conn, |conn| {
        let mut row = row.clone();
        conn.transaction(|conn| {
            let current: Option<i32> = drafts::table
                .find((row.account_id, &row.bundle_code))
                .select(drafts::version)
                .first(conn)
                .optional()?;
            row.version = current.unwrap_or(0) + 1;
            if current.is_some() {
                diesel::update(drafts::table.find((row.account_id, &row.bundle_code)))
                    .set(&row)
                    .execute(conn)?;
            } else {
                diesel::insert_into(drafts::table).values(&row).execute(conn)?;
            }
            Ok(row.version)
        })
    })
}

pub fn delete_draft(conn: &mut DbConn, account: i64, bundle: &str) -> Result<(), DbError> {
    diesel::delete(drafts::table.find((account, bundle))).execute(conn)?;
    Ok(())
}

/// What a new request with an idempotency key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use (or a crashed request's key taken over): the key is now held for this
    /// request, as of `claim`; only the holder of that claim can complete it.
    New { claim: NaiveDateTime },
    /// Done before with the same body: the original response.
    Replay { status: i32, body: String },
    /// Used before with another body.
    Mismatch,
    /// Another request with this key is being processed.
    InFlight,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct IdempotencyRow {
    request_hash: String,
    state: String,
    response_status: Option<i32>,
    response_body: Option<String>,
    created_at: NaiveDateTime,
}

/// Takes an `Idempotency-Key` for a request. A key held longer than `in_flight` by a
/// request that never completed it is taken to be a crashed request's and taken over;
/// because completing requires the claim (see [`complete_idempotent`]), the crashed
/// request — should it still be running — can no longer file its case.
pub fn begin_idempotent(
    conn: &mut DbConn,
    account: i64,
    key: &str,
    hash: &str,
    now: NaiveDateTime,
    in_flight: Duration,
) -> Result<Begin, DbError> {
    // Claims are compared for equality: microseconds, which both backends store exactly.
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    retry_on_conflict(conn, |conn| begin_once(conn, account, key, hash, now, in_flight))
}

/// Tries to take the key first (a write, so that SQLite holds the write lock from the
/// start instead of upgrading a read lock), then looks at who holds it.
fn begin_once(
    conn: &mut DbConn,
    account: i64,
    key: &str,
    hash: &str,
    now: NaiveDateTime,
    in_flight: Duration,
) -> Result<Begin, DbError> {
    // The usual case, a key never seen, in one statement committed on its own.
    let taken = each_backend!(conn, |c| diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::account_id.eq(account),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::state.eq("in_flight"),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if taken == 1 {
        return Ok(Begin::New { claim: now });
    }
    conn.transaction(|conn| {
        // A savepoint: a failed insert must not abort the PostgreSQL transaction.
        let inserted = conn.transaction(|c| {
            diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::account_id.eq(account),
                    idempotency_keys::key.eq(key),
                    idempotency_keys::request_hash.eq(hash),
                    idempotency_keys::state.eq("in_flight"),
                    idempotency_keys::created_at.eq(now),
                ))
                .execute(c)
        });
        match inserted {
            Ok(_) => return Ok(Begin::New { claim: now }),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(e) => return Err(e.into()),
        }
        let existing: IdempotencyRow = idempotency_keys::table
            .find((account, key))
            .select(IdempotencyRow::as_select())
            .first(conn)?;
        match existing {
            r if r.request_hash != hash => Ok(Begin::Mismatch),
            IdempotencyRow {
                state,
                response_status: Some(status),
                response_body: Some(body),
                ..
            } if state == "done" => Ok(Begin::Replay { status, body }),
            r if now - r.created_at < in_flight => Ok(Begin::InFlight),
            r => {
                // A claim must differ from the one it replaces, even on a clock that has
                // not moved.
                let claim = now.max(r.created_at + Duration::microseconds(1));
                diesel::update(idempotency_keys::table.find((account, key)))
                    .set((
                        idempotency_keys::state.eq("in_flight"),
                        idempotency_keys::created_at.eq(claim),
                    ))
                    .execute(conn)?;
                Ok(Begin::New { claim })
            }
        }
    })
}

/// Whose key a submission holds: called inside the transaction that writes the case, so
/// that the case and the stored response commit together or not at all.
#[derive(Debug, Clone)]
pub struct Claim {
    pub account: i64,
    pub key: String,
    pub at: NaiveDateTime,
}

/// Stores the response under the key, in the caller's transaction. False when the claim is
/// no longer the key's (taken over after `in_flight`, or completed): the caller must then
/// roll back, so that one key never files two cases.
pub fn complete_idempotent(
    conn: &mut DbConn,
    claim: &Claim,
    status: i32,
    body: &str,
) -> Result<bool, DbError> {
    let updated = diesel::update(idempotency_keys::table.find((claim.account, &claim.key)))
        .filter(idempotency_keys::state.eq("in_flight"))
        .filter(idempotency_keys::created_at.eq(claim.at))
        .set((
            idempotency_keys::state.eq("done"),
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_body.eq(Some(body)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Frees a key whose request failed before anything was written, so it may be retried —
/// unless another request has taken it over since.
pub fn release_idempotent(conn: &mut DbConn, claim: &Claim) -> Result<(), DbError> {
    diesel::delete(idempotency_keys::table.find((claim.account, &claim.key)))
        .filter(idempotency_keys::state.eq("in_flight"))
        .filter(idempotency_keys::created_at.eq(claim.at))
        .execute(conn)?;
    Ok(())
}

/// The next number of the day's sequence: one statement (an upsert returning the new
/// value), committed on its own, so the counter row is locked only for that statement and
/// concurrent submissions still get distinct numbers.
pub fn next_receipt_sequence(conn: &mut DbConn, day: &str) -> Result<i64, DbError> {
    use receipt_counters::dsl;
    Ok(each_backend!(conn, |c| diesel::insert_into(
        dsl::receipt_counters
    )
    .values((dsl::day.eq(day), dsl::last_value.eq(1_i64)))
    .on_conflict(dsl::day)
    .do_update()
    .set(dsl::last_value.eq(dsl::last_value + 1))
    .returning(dsl::last_value)
    .get_result(c))?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CaseRow {
    pub id: i64,
    pub receipt_no: String,
    pub account_id: i64,
    pub bundle_code: String,
    pub bundle_version: i32,
    pub status: String,
    pub channel: String,
    pub answers: String,
    pub data_enc: String,
    pub trips: i32,
    pub version: i32,
    pub submitted_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub workflow: String,
    pub due_date: Option<String>,
    /// A 代办: the relationship of the filing account to the applicant in the form (JSON of
    /// `form::filing::Filing`); `None` when the holder filed for themselves.
    pub agency: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase {
    pub receipt_no: String,
    pub account_id: i64,
    pub bundle_code: String,
    pub bundle_version: i32,
    pub status: String,
    pub channel: String,
    pub answers: String,
    pub data_enc: String,
    pub trips: i32,
    pub version: i32,
    pub submitted_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub agency: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sub_cases)]
pub struct SubCaseRow {
    pub id: i64,
    pub case_id: i64,
    pub item_code: String,
    pub department_code: String,
    pub status: String,
    pub data_enc: String,
    pub materials: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The upload holding the result document the department attached, if any.
    pub result_upload: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sub_cases)]
pub struct NewSubCase {
    pub case_id: i64,
    pub item_code: String,
    pub department_code: String,
    pub status: String,
    pub data_enc: String,
    pub materials: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Writes a case, its sub-cases and its material links (inside the caller's transaction).
pub fn insert_case(
    conn: &mut DbConn,
    case: &NewCase,
    subs: Vec<NewSubCase>,
    links: &[(String, String)],
) -> Result<(CaseRow, Vec<SubCaseRow>), DbError> {
    let row: CaseRow = each_backend!(conn, |c| diesel::insert_into(cases::table)
        .values(case)
        .returning(CaseRow::as_returning())
        .get_result(c))?;
    // One statement per table, however many parts and files: each round trip to the
    // database is paid while the submission's transaction is open.
    let subs: Vec<NewSubCase> = subs
        .into_iter()
        .map(|s| NewSubCase { case_id: row.id, ..s })
        .collect();
    let mut written = Vec::with_capacity(subs.len());
    for chunk in subs.chunks(100) {
        written.extend(each_backend!(conn, |c| diesel::insert_into(sub_cases::table)
            .values(chunk)
            .returning(SubCaseRow::as_returning())
            .get_results(c))?);
    }
    // RETURNING promises no order; the parts are numbered in the order they were given.
    written.sort_by_key(|s: &SubCaseRow| s.id);
    let rows: Vec<_> = links
        .iter()
        .map(|(material, upload)| {
            (
                case_materials::case_id.eq(row.id),
                case_materials::material_code.eq(material),
                case_materials::upload_id.eq(upload),
            )
        })
        .collect();
    insert_chunks!(conn, case_materials::table, rows, 100);
    Ok((row, written))
}

pub fn cases_of(conn: &mut DbConn, account: i64) -> Result<Vec<CaseRow>, DbError> {
    Ok(cases::table
        .filter(cases::account_id.eq(account))
        .order((cases::submitted_at.desc(), cases::id.desc()))
        .select(CaseRow::as_select())
        .load(conn)?)
}

pub fn case_by_receipt(
    conn: &mut DbConn,
    receipt: &str,
) -> Result<Option<(CaseRow, Vec<SubCaseRow>)>, DbError> {
    let Some(row) = cases::table
        .filter(cases::receipt_no.eq(receipt))
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let subs = sub_cases::table
        .filter(sub_cases::case_id.eq(row.id))
        .order(sub_cases::id)
        .select(SubCaseRow::as_select())
        .load(conn)?;
    Ok(Some((row, subs)))
}

pub fn case_uploads(conn: &mut DbConn, case_id: i64) -> Result<Vec<(String, UploadRow)>, DbError> {
    Ok(case_materials::table
        .inner_join(uploads::table)
        .filter(case_materials::case_id.eq(case_id))
        .order((case_materials::material_code, uploads::created_at))
        .select((case_materials::material_code, UploadRow::as_select()))
        .load(conn)?)
}
