//! Counter registration: the applicant a window clerk is filing for, and the one-time
//! activation codes with which applicants registered at the counter set their password.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{activation_codes, counter_sessions, drafts};
use crate::db::{DbConn, DbError};

/// Starts filing for `applicant`: any earlier counter session of the clerk ends and the
/// clerk's drafts are dropped, so that nothing typed for one applicant reaches another.
pub fn start(conn: &mut DbConn, clerk: i64, applicant: i64, now: NaiveDateTime) -> Result<(), DbError> {
    conn.transaction(|conn| {
        diesel::delete(drafts::table.filter(drafts::account_id.eq(clerk))).execute(conn)?;
        diesel::delete(counter_sessions::table.find(clerk)).execute(conn)?;
        diesel::insert_into(counter_sessions::table)
            .values((
                counter_sessions::clerk_id.eq(clerk),
                counter_sessions::applicant_id.eq(applicant),
                counter_sessions::started_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// The applicant the clerk is filing for, if a counter session is open.
pub fn current(conn: &mut DbConn, clerk: i64) -> Result<Option<i64>, DbError> {
    Ok(counter_sessions::table
        .find(clerk)
        .select(counter_sessions::applicant_id)
        .first(conn)
        .optional()?)
}

/// Ends the clerk's counter session and drops the drafts made during it.
pub fn end(conn: &mut DbConn, clerk: i64) -> Result<(), DbError> {
    conn.transaction(|conn| {
        diesel::delete(drafts::table.filter(drafts::account_id.eq(clerk))).execute(conn)?;
        diesel::delete(counter_sessions::table.find(clerk)).execute(conn)?;
        Ok(())
    })
}

/// Replaces the account's activation code (only the newest one works).
pub fn set_activation(
    conn: &mut DbConn,
    account: i64,
    code_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), DbError> {
    conn.transaction(|conn| {
        diesel::delete(activation_codes::table.find(account)).execute(conn)?;
        diesel::insert_into(activation_codes::table)
            .values((
                activation_codes::account_id.eq(account),
                activation_codes::code_hash.eq(code_hash),
                activation_codes::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Uses the account's activation code: true (and the code is gone) when `code_hash`
/// matches an unexpired code, false otherwise.
pub fn take_activation(
    conn: &mut DbConn,
    account: i64,
    code_hash: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let n = diesel::delete(
        activation_codes::table
            .filter(activation_codes::account_id.eq(account))
            .filter(activation_codes::code_hash.eq(code_hash))
            .filter(activation_codes::expires_at.gt(now)),
    )
    .execute(conn)?;
    Ok(n == 1)
}
