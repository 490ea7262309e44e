//! Official holiday years entered by administrators (from the State Council's notice), kept
//! append-only in `calendar_years`, and the calendar every server counts with: the shipped
//! years and `ONETHING_HOLIDAYS_DIR`, overlaid with the newest version of each entered year.
//!
//! Entering a year recomputes, in the same transaction, the due dates of the open cases
//! whose clock runs through it, each change recorded in the case's timeline; every server
//! notices the new row by its id on its next calendar read, so the change takes effect on
//! every instance at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::applications::{CaseRow, SubCaseRow};
use crate::calendar::Calendar;
use crate::db::schema::{calendar_years, cases, sub_cases};
use crate::db::{DbConn, DbError};
use crate::deadlines;
use crate::workflow::{self, Actor, Command};

/// One stored version of an entered year.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = calendar_years)]
pub struct YearRow {
    pub id: i64,
    pub year: i32,
    pub version: i32,
    pub data: String,
    pub source_note: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub at: NaiveDateTime,
    pub recomputed: i32,
}

/// The newest id of `calendar_years`: it changes with every entered year.
pub fn generation(conn: &mut DbConn) -> Result<i64, DbError> {
    let max: Option<i64> = calendar_years::table
        .select(diesel::dsl::max(calendar_years::id))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}

/// Every stored version, newest first.
pub fn history(conn: &mut DbConn) -> Result<Vec<YearRow>, DbError> {
    Ok(calendar_years::table
        .order(calendar_years::id.desc())
        .select(YearRow::as_select())
        .load(conn)?)
}

/// The newest version of each entered year.
pub fn current_years(conn: &mut DbConn) -> Result<Vec<YearRow>, DbError> {
    let mut newest: HashMap<i32, YearRow> = HashMap::new();
    for row in history(conn)? {
        newest.entry(row.year).or_insert(row);
    }
    let mut rows: Vec<YearRow> = newest.into_values().collect();
    rows.sort_by_key(|r| r.year);
    Ok(rows)
}

/// `base` overlaid with the entered years.
pub fn build(conn: &mut DbConn, base: &Calendar) -> Result<(i64, Calendar), DbError> {
    conn.transaction(|conn| {
        let generation = generation(conn)?;
        let mut calendar = base.clone();
        for row in current_years(conn)? {
            calendar.add_year_json(&row.data)?;
        }
        Ok((generation, calendar))
    })
}

/// The calendar of a server: rebuilt when the database holds a newer entered year than the
/// one it was built from (one indexed `MAX(id)` per read), otherwise shared.
pub struct CalendarCache {
    base: Calendar,
    current: RwLock<(i64, Arc<Calendar>)>,
}

impl CalendarCache {
    /// `base`: the shipped years plus any holiday folder.
    pub fn new(base: Calendar) -> Self {
        let first = Arc::new(base.clone());
        Self {
            base,
            current: RwLock::new((-1, first)),
        }
    }

    /// The calendar as of the database's newest entered year.
    pub fn current(&self, conn: &mut DbConn) -> Result<Arc<Calendar>, DbError> {
        let seen = generation(conn)?;
        {
            let guard = self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if guard.0 == seen {
                return Ok(guard.1.clone());
            }
        }
        let (generation, calendar) = build(conn, &self.base)?;
        let calendar = Arc::new(calendar);
        let mut guard = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if generation >= guard.0 {
            *guard = (generation, calendar.clone());
        }
        Ok(calendar)
    }

    /// The years that do not come from the database.
    pub fn base(&self) -> &Calendar {
        &self.base
    }
}

/// Who enters a year, and from which notice.
pub struct YearEntry<'a> {
    pub data: &'a str,
    pub source_note: &'a str,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub at: NaiveDateTime,
}

/// What entering a year did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entered {
    pub year: i32,
    pub version: i32,
    /// Open cases whose due date moved.
    pub recomputed: usize,
}

/// Stores a new version of a year (checked against the calendar it joins) and recomputes
/// the due dates that depend on it, all in one transaction.
pub fn enter_year(conn: &mut DbConn, base: &Calendar, entry: &YearEntry<'_>) -> Result<Entered, DbError> {
    conn.transaction(|conn| {
        let (_, before) = build(conn, base)?;
        let (year, after) = before.with_year_json(entry.data)?;
        let version: Option<i32> = calendar_years::table
            .filter(calendar_years::year.eq(year))
            .select(diesel::dsl::max(calendar_years::version))
            .first(conn)?;
        let version = version.unwrap_or(0) + 1;
        let reason = format!("{year} 年节假日安排已按国务院办公厅通知录入");
        let recomputed = recompute_due_dates(conn, &after, year, &reason, entry.at)?;
        diesel::insert_into(calendar_years::table)
            .values((
                calendar_years::year.eq(year),
                calendar_years::version.eq(version),
                calendar_years::data.eq(entry.data),
                calendar_years::source_note.eq(entry.source_note),
                calendar_years::actor_id.eq(entry.actor_id),
                calendar_years::actor.eq(entry.actor),
                calendar_years::at.eq(entry.at),
                calendar_years::recomputed.eq(i32::try_from(recomputed).unwrap_or(i32::MAX)),
            ))
            .execute(conn)?;
        Ok(Entered {
            year,
            version,
            recomputed,
        })
    })
}

/// Recounts the due date of every accepted, open case whose clock may run through `year`
/// (a notice for `year` may also change the end of December before it) with `calendar`,
/// and saves each one that moved as a versioned transition with a timeline entry.
/// Returns how many moved.
pub fn recompute_due_dates(
    conn: &mut DbConn,
    calendar: &Calendar,
    year: i32,
    reason: &str,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    let since = format!("{}-12-01", year - 1);
    let rows: Vec<CaseRow> = cases::table
        .filter(cases::status.eq_any(["accepted", "in_progress", "supplement_requested"]))
        .filter(cases::due_date.ge(since))
        .order(cases::id)
        .select(CaseRow::as_select())
        .load(conn)?;
    let mut moved = 0;
    for row in rows {
        let subs: Vec<SubCaseRow> = sub_cases::table
            .filter(sub_cases::case_id.eq(row.id))
            .order(sub_cases::id)
            .select(SubCaseRow::as_select())
            .load(conn)?;
        let wf = super::cases::workflow_of(&row, &subs)?;
        let promised = super::cases::promised_days(conn, row.id)?;
        let Some(due) = deadlines::case_due(calendar, &wf, &promised)? else {
            continue;
        };
        let new_due = due.due.date.to_string();
        if row.due_date.as_deref() == Some(new_due.as_str()) {
            continue;
        }
        let old = row
            .due_date
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let cmd = Command::RecordDueChange {
            from: old,
            to: due.due.date,
            reason: reason.to_owned(),
        };
        // The event's time may not precede the case's last event.
        let when = wf.events.last().map_or(at, |e| e.at.max(at));
        let next = workflow::apply(&wf, &Actor::System, cmd, when, wf.version)
            .map_err(|e| DbError::Corrupt(format!("case {}: {}", row.receipt_no, e.message())))?;
        let message = format!(
            "您的申请 {} 的办结时限已按 {} 年国务院公布的节假日安排调整为 {}。",
            row.receipt_no, year, new_due
        );
        let saved = super::cases::save_transition(
            conn,
            &super::cases::Transition {
                row: &row,
                seen_version: wf.version,
                new: &next,
                due_date: Some(new_due),
                message: Some(message),
                now: when,
                certificate: None,
            },
            calendar,
        )?;
        if saved {
            moved += 1;
        }
    }
    Ok(moved)
}
