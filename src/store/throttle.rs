//! Failed-login throttling kept in the database, so that every instance behind a load
//! balancer sees the same counters.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_throttle;
use crate::db::{retry_on_conflict, DbConn, DbError};

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i32,
    pub window: Duration,
    pub lockout: Duration,
}

/// Per account: 5 failures in 15 minutes lock it for 15 minutes.
pub const PER_ACCOUNT: Limit = Limit {
    max_failures: 5,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};

/// Per client address: 20 failures in 15 minutes.
pub const PER_ADDRESS: Limit = Limit {
    max_failures: 20,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};

/// Seconds until `key` may try again, if it is locked now.
pub fn locked_for(conn: &mut DbConn, key: &str, now: NaiveDateTime) -> Result<Option<i64>, DbError> {
    let until: Option<Option<NaiveDateTime>> = login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until
        .flatten()
        .filter(|u| *u > now)
        .map(|u| (u - now).num_seconds().max(1)))
}

/// Counts one failure; returns the lockout in seconds if this failure reached the limit.
pub fn record_failure(
    conn: &mut DbConn,
    key: &str,
    limit: Limit,
    now: NaiveDateTime,
) -> Result<Option<i64>, DbError> {
    retry_on_conflict(conn, |conn| record_failure_once(conn, key, limit, now))
}

fn record_failure_once(
    conn: &mut DbConn,
    key: &str,
    limit: Limit,
    now: NaiveDateTime,
) -> Result<Option<i64>, DbError> {
    conn.transaction(|conn| {
        let row: Option<(i32, NaiveDateTime)> = login_throttle::table
            .find(key)
            .select((login_throttle::failures, login_throttle::window_start))
            .first(conn)
            .optional()?;
        let (failures, start) = match row {
            Some((n, start)) if now - start < limit.window => (n + 1, start),
            _ => (1, now),
        };
        let locked_until = (failures >= limit.max_failures).then(|| now + limit.lockout);
        if row.is_some() {
            diesel::update(login_throttle::table.find(key))
                .set((
                    login_throttle::failures.eq(failures),
                    login_throttle::window_start.eq(start),
                    login_throttle::locked_until.eq(locked_until),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::key.eq(key),
                    login_throttle::failures.eq(failures),
                    login_throttle::window_start.eq(start),
                    login_throttle::locked_until.eq(locked_until),
                ))
                .execute(conn)?;
        }
        Ok(locked_until.map(|_| limit.lockout.num_seconds()))
    })
}

pub fn reset(conn: &mut DbConn, key: &str) -> Result<(), DbError> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
