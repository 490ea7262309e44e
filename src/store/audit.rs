//! The append-only audit log of security events. There is no update or delete here, and
//! the database refuses both (a trigger in the migrations).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, Paging};
use crate::db::schema::audit_log;
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    #[serde(with = "crate::clock::rfc3339")]
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub address: String,
    pub outcome: String,
    pub detail: String,
}

/// One security event. `actor` and `target` are labels safe to show (no personal data in
/// the clear).
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// When it happened, from the application's clock.
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub address: &'a str,
    pub outcome: &'a str,
    pub detail: &'a str,
}

pub fn record(conn: &mut DbConn, e: &AuditEvent<'_>) -> Result<(), DbError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(e.at),
            audit_log::actor_id.eq(e.actor_id),
            audit_log::actor.eq(e.actor),
            audit_log::action.eq(e.action),
            audit_log::target.eq(e.target),
            audit_log::address.eq(e.address),
            audit_log::outcome.eq(e.outcome),
            audit_log::detail.eq(e.detail),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

pub fn list(conn: &mut DbConn, f: &AuditFilter, paging: Paging) -> Result<Page<AuditRow>, DbError> {
    let query = || {
        let mut q = audit_log::table.into_boxed();
        if let Some(a) = &f.action {
            q = q.filter(audit_log::action.eq(a.clone()));
        }
        if let Some(a) = &f.actor {
            q = q.filter(audit_log::actor.like(format!("%{}%", a.replace('%', ""))));
        }
        if let Some(o) = &f.outcome {
            q = q.filter(audit_log::outcome.eq(o.clone()));
        }
        if let Some(t) = f.from {
            q = q.filter(audit_log::at.ge(t));
        }
        if let Some(t) = f.to {
            q = q.filter(audit_log::at.lt(t));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .order(audit_log::id.desc())
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(AuditRow::as_select())
        .load(conn)?;
    Ok(Page {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    })
}
