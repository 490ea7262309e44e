//! 免申即享 grants: which enterprise got which policy's benefit without applying, and why.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{accounts, benefit_grants, policies};
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = benefit_grants)]
pub struct NewGrant {
    pub policy_id: i64,
    pub account_id: i64,
    pub policy_version: i32,
    /// The reasons it qualified, as a JSON list of Chinese sentences.
    pub reasons: String,
    pub granted_at: NaiveDateTime,
}

/// Records grants; one already made stays as it was. Returns how many are new.
pub fn grant(conn: &mut DbConn, rows: &[NewGrant]) -> Result<usize, DbError> {
    let mut new = 0;
    for row in rows {
        new += each_backend!(conn, |c| diesel::insert_into(benefit_grants::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(new)
}

/// The enterprise accounts in use, with their credit codes: those the registry can answer for.
pub fn enterprises(conn: &mut DbConn) -> Result<Vec<(i64, String)>, DbError> {
    let rows: Vec<(i64, Option<String>)> = accounts::table
        .filter(accounts::kind.eq("enterprise"))
        .filter(accounts::disabled.eq(false))
        .filter(accounts::uscc.is_not_null())
        .order(accounts::id)
        .select((accounts::id, accounts::uscc))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, u)| u.map(|u| (id, u)))
        .collect())
}

/// One grant as its enterprise reads it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub policy_id: i64,
    pub policy_key: String,
    pub policy_title: String,
    pub reasons: Vec<String>,
    #[serde(with = "crate::clock::rfc3339")]
    pub granted_at: NaiveDateTime,
}

/// The grants of an enterprise, newest first.
pub fn grants_of(conn: &mut DbConn, account: i64) -> Result<Vec<GrantView>, DbError> {
    let rows: Vec<(i64, String, String, String, NaiveDateTime)> = benefit_grants::table
        .inner_join(policies::table)
        .filter(benefit_grants::account_id.eq(account))
        .order((benefit_grants::granted_at.desc(), policies::key))
        .select((
            policies::id,
            policies::key,
            policies::title,
            benefit_grants::reasons,
            benefit_grants::granted_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(policy_id, policy_key, policy_title, reasons, granted_at)| {
            Ok(GrantView {
                policy_id,
                policy_key,
                policy_title,
                reasons: serde_json::from_str(&reasons)
                    .map_err(|e| DbError::Corrupt(format!("grant reasons: {e}")))?,
                granted_at,
            })
        })
        .collect()
}

/// How many enterprises a policy reached without an application.
pub fn reached(conn: &mut DbConn, policy_id: i64) -> Result<i64, DbError> {
    Ok(benefit_grants::table
        .filter(benefit_grants::policy_id.eq(policy_id))
        .count()
        .get_result(conn)?)
}
