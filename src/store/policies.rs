//! The policy library's storage: the current state of each policy (its content as JSON
//! beside the columns lists and filters need), every version, and the change log that the
//! search indexes of all servers follow. Every write is one transaction that also appends
//! to the change log.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{Page, Paging};
use crate::db::schema::{policies, policy_changes, policy_versions};
use crate::db::{DbConn, DbError};
use crate::policy::{content_hash, in_force, shown_status, PolicyContent, ShownStatus, Status};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = policies)]
struct PolicyRow {
    id: i64,
    key: String,
    status: String,
    version: i32,
    content: String,
    content_hash: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A policy as stored now.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRecord {
    pub id: i64,
    pub key: String,
    pub status: Status,
    pub version: i32,
    pub content: PolicyContent,
    pub content_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PolicyRecord {
    pub fn shown_status(&self, today: NaiveDate) -> ShownStatus {
        shown_status(self.status, self.content.effective_to, today)
    }

    pub fn in_force(&self, today: NaiveDate) -> bool {
        in_force(
            self.status,
            self.content.effective_from,
            self.content.effective_to,
            today,
        )
    }
}

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

fn record(row: PolicyRow) -> Result<PolicyRecord, DbError> {
    Ok(PolicyRecord {
        id: row.id,
        key: row.key,
        status: Status::parse(&row.status).ok_or_else(|| corrupt(format!("policy status {}", row.status)))?,
        version: row.version,
        content: serde_json::from_str(&row.content).map_err(corrupt)?,
        content_hash: row.content_hash,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn log_change(conn: &mut DbConn, policy_id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::insert_into(policy_changes::table)
        .values((policy_changes::policy_id.eq(policy_id), policy_changes::at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// One row of the version history.
struct NewVersion<'a> {
    version: i32,
    status: Status,
    action: &'a str,
    actor: &'a str,
    content_json: &'a str,
    at: NaiveDateTime,
}

fn add_version(conn: &mut DbConn, id: i64, v: NewVersion<'_>) -> Result<(), DbError> {
    diesel::insert_into(policy_versions::table)
        .values((
            policy_versions::policy_id.eq(id),
            policy_versions::version.eq(v.version),
            policy_versions::status.eq(v.status.as_str()),
            policy_versions::action.eq(v.action),
            policy_versions::actor.eq(v.actor),
            policy_versions::content.eq(v.content_json),
            policy_versions::at.eq(v.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A new random key for policies created without one.
pub fn new_key() -> String {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    format!("p-{}", hex::encode(bytes))
}

/// Who writes, and when (from the application's clock).
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    pub actor: &'a str,
    pub at: NaiveDateTime,
}

/// Inserts a policy with its first version, without a transaction of its own (callers
/// batch several).
pub fn insert(
    conn: &mut DbConn,
    key: &str,
    status: Status,
    content: &PolicyContent,
    by: By<'_>,
) -> Result<i64, DbError> {
    let (actor, now) = (by.actor, by.at);
    let json = serde_json::to_string(content).map_err(corrupt)?;
    diesel::insert_into(policies::table)
        .values((
            policies::key.eq(key),
            policies::title.eq(&content.title),
            policies::doc_number.eq(&content.doc_number),
            policies::issuer.eq(&content.issuer),
            policies::published_on.eq(content.published_on.to_string()),
            policies::effective_from.eq(content.effective_from.to_string()),
            policies::effective_to.eq(date(content.effective_to)),
            policies::apply_deadline.eq(date(content.apply_deadline)),
            policies::status.eq(status.as_str()),
            policies::version.eq(1),
            policies::content.eq(&json),
            policies::content_hash.eq(content_hash(content)),
            policies::created_at.eq(now),
            policies::updated_at.eq(now),
        ))
        .execute(conn)?;
    let id = policies::table
        .filter(policies::key.eq(key))
        .select(policies::id)
        .first::<i64>(conn)?;
    add_version(
        conn,
        id,
        NewVersion {
            version: 1,
            status,
            action: "create",
            actor,
            content_json: &json,
            at: now,
        },
    )?;
    log_change(conn, id, now)?;
    Ok(id)
}

pub fn create(
    conn: &mut DbConn,
    key: &str,
    status: Status,
    content: &PolicyContent,
    by: By<'_>,
) -> Result<i64, DbError> {
    conn.transaction(|conn| insert(conn, key, status, content, by))
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    Inserted,
    Updated,
    Unchanged,
}

fn write_version(
    conn: &mut DbConn,
    row: &PolicyRecord,
    status: Status,
    content: &PolicyContent,
    action: &str,
    by: By<'_>,
) -> Result<Written, DbError> {
    let hash = content_hash(content);
    if hash == row.content_hash && status == row.status {
        return Ok(Written::Unchanged);
    }
    let (actor, now) = (by.actor, by.at);
    let json = serde_json::to_string(content).map_err(corrupt)?;
    let version = row.version + 1;
    diesel::update(policies::table.find(row.id))
        .set((
            policies::title.eq(&content.title),
            policies::doc_number.eq(&content.doc_number),
            policies::issuer.eq(&content.issuer),
            policies::published_on.eq(content.published_on.to_string()),
            policies::effective_from.eq(content.effective_from.to_string()),
            policies::effective_to.eq(date(content.effective_to)),
            policies::apply_deadline.eq(date(content.apply_deadline)),
            policies::status.eq(status.as_str()),
            policies::version.eq(version),
            policies::content.eq(&json),
            policies::content_hash.eq(hash),
            policies::updated_at.eq(now),
        ))
        .execute(conn)?;
    add_version(
        conn,
        row.id,
        NewVersion {
            version,
            status,
            action,
            actor,
            content_json: &json,
            at: now,
        },
    )?;
    log_change(conn, row.id, now)?;
    Ok(Written::Updated)
}

/// Makes the policy with `key` hold `content` and `status` (seed and import): inserted
/// when new, a new version when different, no write at all when equal.
pub fn upsert_by_key(
    conn: &mut DbConn,
    key: &str,
    status: Status,
    content: &PolicyContent,
    by: By<'_>,
) -> Result<(i64, Written), DbError> {
    match get_by_key(conn, key)? {
        None => Ok((insert(conn, key, status, content, by)?, Written::Inserted)),
        Some(row) => Ok((row.id, write_version(conn, &row, status, content, "update", by)?)),
    }
}

/// Replaces the content (a new version unless nothing changed); `None` if no such policy.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    content: &PolicyContent,
    by: By<'_>,
) -> Result<Option<Written>, DbError> {
    crate::db::retry_on_conflict(conn, |conn| {
        conn.transaction(|conn| match get(conn, id)? {
            None => Ok(None),
            Some(row) => write_version(conn, &row, row.status, content, "update", by).map(Some),
        })
    })
}

/// Publishes or revokes (a new version recording the status change).
pub fn set_status(
    conn: &mut DbConn,
    id: i64,
    status: Status,
    by: By<'_>,
) -> Result<Option<Written>, DbError> {
    let action = match status {
        Status::Published => "publish",
        Status::Revoked => "revoke",
        Status::Draft => "unpublish",
    };
    crate::db::retry_on_conflict(conn, |conn| {
        conn.transaction(|conn| match get(conn, id)? {
            None => Ok(None),
            Some(row) => write_version(conn, &row, status, &row.content.clone(), action, by).map(Some),
        })
    })
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<Option<PolicyRecord>, DbError> {
    policies::table
        .find(id)
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?
        .map(record)
        .transpose()
}

pub fn get_by_key(conn: &mut DbConn, key: &str) -> Result<Option<PolicyRecord>, DbError> {
    policies::table
        .filter(policies::key.eq(key))
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?
        .map(record)
        .transpose()
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRecord {
    pub version: i32,
    pub status: Status,
    pub action: String,
    pub actor: String,
    pub at: NaiveDateTime,
    pub content: PolicyContent,
}

/// Every version, oldest first.
pub fn versions(conn: &mut DbConn, id: i64) -> Result<Vec<VersionRecord>, DbError> {
    let rows: Vec<(i32, String, String, String, NaiveDateTime, String)> = policy_versions::table
        .filter(policy_versions::policy_id.eq(id))
        .order(policy_versions::version.asc())
        .select((
            policy_versions::version,
            policy_versions::status,
            policy_versions::action,
            policy_versions::actor,
            policy_versions::at,
            policy_versions::content,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(version, status, action, actor, at, content)| {
            Ok(VersionRecord {
                version,
                status: Status::parse(&status).ok_or_else(|| corrupt(&status))?,
                action,
                actor,
                at,
                content: serde_json::from_str(&content).map_err(corrupt)?,
            })
        })
        .collect()
}

/// One line of the editors' list.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct PolicyLine {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub published_on: String,
    pub effective_to: Option<String>,
    pub status: String,
    pub version: i32,
}

/// The editors' list, newest first, optionally narrowed by a title fragment and status.
pub fn list(
    conn: &mut DbConn,
    title: Option<&str>,
    status: Option<Status>,
    paging: Paging,
) -> Result<Page<PolicyLine>, DbError> {
    let query = || {
        let mut q = policies::table.into_boxed();
        if let Some(t) = title {
            q = q.filter(policies::title.like(format!("%{}%", t.replace(['%', '_'], ""))));
        }
        if let Some(s) = status {
            q = q.filter(policies::status.eq(s.as_str()));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order((policies::published_on.desc(), policies::id.desc()))
        .limit(paging.per_page)
        .offset(paging.offset())
        .select((
            policies::id,
            policies::key,
            policies::title,
            policies::doc_number,
            policies::issuer,
            policies::published_on,
            policies::effective_to,
            policies::status,
            policies::version,
        ))
        .load(conn)?;
    Ok(Page {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    })
}

/// Policies with id above `after`, in id order, at most `limit` (for exports and rebuilds).
pub fn batch_after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<PolicyRecord>, DbError> {
    policies::table
        .filter(policies::id.gt(after))
        .order(policies::id.asc())
        .limit(limit)
        .select(PolicyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(record)
        .collect()
}

/// Published policies that are in force on `today` (for matching).
pub fn in_force_on(conn: &mut DbConn, today: NaiveDate) -> Result<Vec<PolicyRecord>, DbError> {
    let day = today.to_string();
    policies::table
        .filter(policies::status.eq(Status::Published.as_str()))
        .filter(policies::effective_from.le(day.clone()))
        .filter(
            policies::effective_to
                .is_null()
                .or(policies::effective_to.ge(day)),
        )
        .order(policies::id.asc())
        .select(PolicyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(record)
        .collect()
}

pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(policies::table.count().get_result(conn)?)
}

/// The newest change-log id (0 when empty).
pub fn last_change(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(policy_changes::table
        .select(diesel::dsl::max(policy_changes::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Change-log entries (id, policy id) with id above `after`, oldest first.
pub fn changes_after(conn: &mut DbConn, after: i64, limit: i64) -> Result<Vec<(i64, i64)>, DbError> {
    Ok(policy_changes::table
        .filter(policy_changes::id.gt(after))
        .order(policy_changes::id.asc())
        .limit(limit)
        .select((policy_changes::id, policy_changes::policy_id))
        .load(conn)?)
}

/// The current records of some policies (unknown ids are left out).
pub fn records(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<PolicyRecord>, DbError> {
    policies::table
        .filter(policies::id.eq_any(ids))
        .select(PolicyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(record)
        .collect()
}

/// The first `limit` ids, newest first, and the number of all policies whose title or text
/// contains `needle`: the SQL baseline the search benchmark compares against (a page and
/// its total, as the search returns, without segmentation, synonyms or facets).
pub fn like_search(conn: &mut DbConn, needle: &str, limit: i64) -> Result<(Vec<i64>, i64), DbError> {
    let pattern = format!("%{}%", needle.replace(['%', '_'], ""));
    let matching = || {
        policies::table
            .filter(policies::status.ne(Status::Draft.as_str()))
            .filter(
                policies::title
                    .like(pattern.clone())
                    .or(policies::content.like(pattern.clone())),
            )
    };
    let ids = matching()
        .order(policies::published_on.desc())
        .limit(limit)
        .select(policies::id)
        .load(conn)?;
    let total = matching().count().get_result(conn)?;
    Ok((ids, total))
}

/// What seeding wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Loads the seed library in one transaction, by key. A seed policy whose text was already
/// loaded once is left alone, so that editors' later changes survive restarts; a changed
/// seed text becomes a new version.
pub fn seed(
    conn: &mut DbConn,
    entries: &[crate::policy::seed::SeedEntry],
    at: NaiveDateTime,
) -> Result<SeedReport, DbError> {
    const ACTOR: &str = "seed";
    let by = By { actor: ACTOR, at };
    crate::db::retry_on_conflict(conn, |conn| {
        conn.transaction(|conn| {
            let mut report = SeedReport::default();
            for e in entries {
                let json = serde_json::to_string(&e.content).map_err(corrupt)?;
                match get_by_key(conn, &e.key)? {
                    None => {
                        insert(conn, &e.key, e.status, &e.content, by)?;
                        report.inserted += 1;
                    }
                    Some(row) => {
                        let seeded: i64 = policy_versions::table
                            .filter(policy_versions::policy_id.eq(row.id))
                            .filter(policy_versions::actor.eq(ACTOR))
                            .filter(policy_versions::content.eq(&json))
                            .filter(policy_versions::status.eq(e.status.as_str()))
                            .count()
                            .get_result(conn)?;
                        if seeded > 0 {
                            report.unchanged += 1;
                        } else {
                            match write_version(conn, &row, e.status, &e.content, "update", by)? {
                                Written::Unchanged => report.unchanged += 1,
                                _ => report.updated += 1,
                            }
                        }
                    }
                }
            }
            Ok(report)
        })
    })
}

/// What an import wrote.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub ids: Vec<i64>,
}

/// Writes checked import rows in one transaction (all or nothing): rows with a known key
/// update that policy, others create new ones. Reports progress as (done, total).
pub fn import(
    conn: &mut DbConn,
    rows: &[crate::policy::table::Row],
    by: By<'_>,
    progress: &dyn Fn(usize, usize),
) -> Result<ImportReport, DbError> {
    conn.transaction(|conn| {
        let mut report = ImportReport::default();
        for (i, r) in rows.iter().enumerate() {
            let key = r.key.clone().unwrap_or_else(new_key);
            let (id, written) = upsert_by_key(conn, &key, r.status, &r.content, by)?;
            match written {
                Written::Inserted => report.inserted += 1,
                Written::Updated => report.updated += 1,
                Written::Unchanged => report.unchanged += 1,
            }
            if written != Written::Unchanged {
                report.ids.push(id);
            }
            if i % 200 == 0 {
                progress(i, rows.len());
            }
        }
        progress(rows.len(), rows.len());
        Ok(report)
    })
}
