//! The workflow state of cases: loading a case with its state machine, saving a transition
//! under optimistic concurrency (the version the actor saw), the timeline and messages.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::applications::{CaseRow, SubCaseRow};
use crate::calendar::Calendar;
use crate::db::schema::{case_events, cases, items, messages, sub_cases};
use crate::db::{DbConn, DbError};
use crate::workflow;

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

/// The state machine's view of a stored case.
pub fn workflow_of(row: &CaseRow, subs: &[SubCaseRow]) -> Result<workflow::Case, DbError> {
    if !row.workflow.is_empty() {
        return serde_json::from_str(&row.workflow).map_err(corrupt);
    }
    let channel = workflow::Channel::parse(&row.channel).unwrap_or(workflow::Channel::Online);
    workflow::Case::new(
        subs.iter().map(|s| (s.id, s.department_code.clone())).collect(),
        channel,
        workflow::DeadlineKind::JointLicensing,
        row.submitted_at,
    )
    .map_err(corrupt)
}

/// Stores a new case's workflow and its first events (the submission), so the timeline
/// shows them before anyone acts on the case.
pub fn set_workflow(conn: &mut DbConn, case_id: i64, wf: &workflow::Case) -> Result<(), DbError> {
    diesel::update(cases::table.find(case_id))
        .set(cases::workflow.eq(serde_json::to_string(wf).map_err(corrupt)?))
        .execute(conn)?;
    append_events(conn, case_id, &wf.events)
}

/// Saves the workflow of a case just written, whose events table is still empty.
pub fn start_workflow(conn: &mut DbConn, case_id: i64, wf: &workflow::Case) -> Result<(), DbError> {
    diesel::update(cases::table.find(case_id))
        .set(cases::workflow.eq(serde_json::to_string(wf).map_err(corrupt)?))
        .execute(conn)?;
    insert_events(conn, case_id, &wf.events)
}

/// Writes the events of the log that the events table does not hold yet.
fn append_events(conn: &mut DbConn, case_id: i64, events: &[workflow::Event]) -> Result<(), DbError> {
    let known: i64 = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .count()
        .get_result(conn)?;
    insert_events(
        conn,
        case_id,
        &events[usize::try_from(known).unwrap_or(usize::MAX).min(events.len())..],
    )
}

/// Writes `events` with one statement per hundred.
fn insert_events(conn: &mut DbConn, case_id: i64, events: &[workflow::Event]) -> Result<(), DbError> {
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            (
                case_events::case_id.eq(case_id),
                case_events::at.eq(e.at),
                case_events::actor_role.eq(&e.actor_label),
                case_events::action.eq(&e.action),
                case_events::from_status.eq(e.from.as_str()),
                case_events::to_status.eq(e.to.as_str()),
                case_events::detail.eq(&e.detail),
                case_events::sub_case_id.eq(e.part),
            )
        })
        .collect();
    insert_chunks!(conn, case_events::table, rows, 100);
    Ok(())
}

pub fn load(
    conn: &mut DbConn,
    receipt: &str,
) -> Result<Option<(CaseRow, Vec<SubCaseRow>, workflow::Case)>, DbError> {
    let Some((row, subs)) = super::applications::case_by_receipt(conn, receipt)? else {
        return Ok(None);
    };
    let wf = workflow_of(&row, &subs)?;
    Ok(Some((row, subs, wf)))
}

pub fn receipt_of_sub_case(conn: &mut DbConn, sub_case: i64) -> Result<Option<String>, DbError> {
    Ok(sub_cases::table
        .inner_join(cases::table)
        .filter(sub_cases::id.eq(sub_case))
        .select(cases::receipt_no)
        .first(conn)
        .optional()?)
}

/// One transition to save: the case as the actor saw it, its new state, and what goes
/// with it.
pub struct Transition<'a> {
    pub row: &'a CaseRow,
    pub seen_version: u32,
    pub new: &'a workflow::Case,
    /// The due date of the new state (None before acceptance).
    pub due_date: Option<String>,
    /// A message to the applicant.
    pub message: Option<String>,
    pub now: NaiveDateTime,
    /// The signed e-certificate the transition issues, written with it.
    pub certificate: Option<&'a super::certificates::CertificateRow>,
}

/// Saves a transition if the case still has the version the actor saw; returns false when
/// another actor changed it first. The new events go to the append-only timeline and the
/// messages to the applicant, in the same transaction.
pub fn save_transition(conn: &mut DbConn, t: &Transition<'_>, calendar: &Calendar) -> Result<bool, DbError> {
    let Transition {
        row,
        seen_version,
        new,
        ref due_date,
        ref message,
        now,
        certificate,
    } = *t;
    let json = serde_json::to_string(new).map_err(corrupt)?;
    conn.transaction(|conn| {
        let updated = diesel::update(
            cases::table
                .filter(cases::id.eq(row.id))
                .filter(cases::version.eq(seen_version as i32)),
        )
        .set((
            cases::status.eq(new.status.as_str()),
            cases::version.eq(new.version as i32),
            cases::trips.eq(new.trips as i32),
            cases::workflow.eq(&json),
            cases::due_date.eq(due_date),
            cases::updated_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Ok(false);
        }
        for s in &new.sub_cases {
            diesel::update(sub_cases::table.find(s.id))
                .set((
                    sub_cases::status.eq(s.status.as_str()),
                    sub_cases::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        append_events(conn, row.id, &new.events)?;
        if let Some(c) = certificate {
            super::certificates::insert(conn, c)?;
        }
        super::metrics::record_case(conn, row, new, due_date.as_deref(), calendar)?;
        if let Some(body) = message {
            diesel::insert_into(messages::table)
                .values((
                    messages::account_id.eq(row.account_id),
                    messages::case_id.eq(row.id),
                    messages::at.eq(now),
                    messages::body.eq(body),
                    messages::read.eq(false),
                ))
                .execute(conn)?;
        }
        Ok(true)
    })
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = case_events)]
pub struct EventRow {
    pub id: i64,
    pub case_id: i64,
    #[serde(with = "crate::clock::rfc3339")]
    pub at: NaiveDateTime,
    pub actor_role: String,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub detail: String,
    /// The part a decision or certificate event is about.
    pub sub_case_id: Option<i64>,
}

pub fn timeline(conn: &mut DbConn, case_id: i64) -> Result<Vec<EventRow>, DbError> {
    Ok(case_events::table
        .filter(case_events::case_id.eq(case_id))
        .order(case_events::id)
        .select(EventRow::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub account_id: i64,
    pub case_id: i64,
    #[serde(with = "crate::clock::rfc3339")]
    pub at: NaiveDateTime,
    pub body: String,
    pub read: bool,
}

pub fn messages_of(conn: &mut DbConn, account: i64) -> Result<Vec<MessageRow>, DbError> {
    Ok(messages::table
        .filter(messages::account_id.eq(account))
        .order(messages::id.desc())
        .limit(200)
        .select(MessageRow::as_select())
        .load(conn)?)
}

/// The applicant's messages, newest first, each with its case's receipt number.
pub fn inbox(conn: &mut DbConn, account: i64) -> Result<Vec<(MessageRow, String)>, DbError> {
    Ok(messages::table
        .inner_join(cases::table)
        .filter(messages::account_id.eq(account))
        .order(messages::id.desc())
        .limit(200)
        .select((MessageRow::as_select(), cases::receipt_no))
        .load(conn)?)
}

pub fn unread_count(conn: &mut DbConn, account: i64) -> Result<i64, DbError> {
    Ok(messages::table
        .filter(messages::account_id.eq(account))
        .filter(messages::read.eq(false))
        .count()
        .get_result(conn)?)
}

pub fn mark_read(conn: &mut DbConn, account: i64) -> Result<(), DbError> {
    diesel::update(
        messages::table
            .filter(messages::account_id.eq(account))
            .filter(messages::read.eq(false)),
    )
    .set(messages::read.eq(true))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only cases with a part for this department (a reviewer's queue).
    pub department: Option<String>,
    /// With `department`: only cases where that department still has a part to decide.
    pub pending_part_only: bool,
    /// Only cases in one of these states; empty for every state.
    pub statuses: Vec<String>,
    pub bundle: Option<String>,
    pub channel: Option<String>,
    /// Only cases submitted before this time (waiting at least so long).
    pub submitted_before: Option<NaiveDateTime>,
    /// Only cases whose clock runs and whose due date is in `[from, before)`.
    pub due: Option<DueRange>,
}

/// A span of due dates (`YYYY-MM-DD`, either end open).
#[derive(Debug, Clone, Default)]
pub struct DueRange {
    pub from: Option<String>,
    pub before: Option<String>,
}

/// How the queue is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueOrder {
    /// What needs action first: overdue, then due within the warning days (`soon_before`),
    /// then waiting for acceptance, then the rest; the earliest due date and then the newest
    /// submission first within each.
    #[default]
    Urgent,
    Newest,
    Oldest,
}

/// The states in which a case's time limit runs (the SLA lights apply to these).
const RUNNING: [&str; 4] = ["submitted", "accepted", "in_progress", "supplement_requested"];

/// One page of the queue and the number of cases the filter matches. `today` and
/// `soon_before` (the first day that is no longer "due soon") rank the urgent order.
pub fn queue(
    conn: &mut DbConn,
    f: &QueueFilter,
    order: QueueOrder,
    (today, soon_before): (&str, &str),
    paging: super::Paging,
) -> Result<super::Page<CaseRow>, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Integer, Text};
    let total = queue_count(conn, f)?;
    let q = filtered(f);
    let q = match order {
        QueueOrder::Urgent => {
            let running = "status IN ('submitted', 'accepted', 'in_progress', 'supplement_requested')";
            let rank = sql::<Integer>(&format!("CASE WHEN {running} AND due_date < "))
                .bind::<Text, _>(today.to_owned())
                .sql(&format!(" THEN 0 WHEN {running} AND due_date < "))
                .bind::<Text, _>(soon_before.to_owned())
                .sql(" THEN 1 WHEN status = 'submitted' THEN 2 WHEN status = 'completed' THEN 3 ELSE 4 END");
            q.order((
                rank.asc(),
                sql::<Text>("COALESCE(due_date, '9999-12-31')").asc(),
                cases::submitted_at.desc(),
                cases::id.desc(),
            ))
        }
        QueueOrder::Newest => q.order((cases::submitted_at.desc(), cases::id.desc())),
        QueueOrder::Oldest => q.order((cases::submitted_at.asc(), cases::id.asc())),
    };
    let items = q
        .limit(paging.per_page)
        .offset(paging.offset())
        .select(CaseRow::as_select())
        .load(conn)?;
    Ok(super::Page {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    })
}

/// How many cases the filter matches (the counts on the queue's tabs).
pub fn queue_count(conn: &mut DbConn, f: &QueueFilter) -> Result<i64, DbError> {
    Ok(filtered(f).count().get_result(conn)?)
}

fn filtered(f: &QueueFilter) -> cases::BoxedQuery<'static, <DbConn as diesel::Connection>::Backend> {
    let mut q = cases::table.into_boxed();
    if !f.statuses.is_empty() {
        q = q.filter(cases::status.eq_any(f.statuses.clone()));
    }
    if let Some(b) = &f.bundle {
        q = q.filter(cases::bundle_code.eq(b.clone()));
    }
    if let Some(c) = &f.channel {
        q = q.filter(cases::channel.eq(c.clone()));
    }
    if let Some(t) = f.submitted_before {
        q = q.filter(cases::submitted_at.lt(t));
    }
    if let Some(r) = &f.due {
        q = q
            .filter(cases::status.eq_any(RUNNING))
            .filter(cases::due_date.is_not_null());
        if let Some(from) = &r.from {
            q = q.filter(cases::due_date.ge(from.clone()));
        }
        if let Some(before) = &r.before {
            q = q.filter(cases::due_date.lt(before.clone()));
        }
    }
    if let Some(d) = &f.department {
        let parts = sub_cases::table.filter(sub_cases::department_code.eq(d.clone()));
        q = if f.pending_part_only {
            q.filter(
                cases::id.eq_any(
                    parts
                        .filter(sub_cases::status.eq("pending"))
                        .select(sub_cases::case_id),
                ),
            )
        } else {
            q.filter(cases::id.eq_any(parts.select(sub_cases::case_id)))
        };
    }
    q
}

/// The corrected parts of a resubmitted case: the whole form data (encrypted), each
/// sub-case's data and material links, and the replaced material links of the case.
pub struct Corrections {
    pub data_enc: String,
    pub sub_cases: Vec<(i64, String, String)>,
    pub materials: Vec<(String, Vec<String>)>,
}

/// Saves a resubmission: the transition and the corrected data in one transaction; false
/// when the case changed since `seen_version`.
pub fn save_resubmission(
    conn: &mut DbConn,
    t: &Transition<'_>,
    corrections: &Corrections,
    calendar: &Calendar,
) -> Result<bool, DbError> {
    use crate::db::schema::case_materials;
    let row = t.row;
    conn.transaction(|conn| {
        if !save_transition(conn, t, calendar)? {
            return Ok(false);
        }
        diesel::update(cases::table.find(row.id))
            .set(cases::data_enc.eq(&corrections.data_enc))
            .execute(conn)?;
        for (id, data_enc, materials) in &corrections.sub_cases {
            diesel::update(sub_cases::table.find(id))
                .set((
                    sub_cases::data_enc.eq(data_enc),
                    sub_cases::materials.eq(materials),
                ))
                .execute(conn)?;
        }
        for (material, uploads) in &corrections.materials {
            diesel::delete(
                case_materials::table
                    .filter(case_materials::case_id.eq(row.id))
                    .filter(case_materials::material_code.eq(material)),
            )
            .execute(conn)?;
            for upload in uploads {
                diesel::insert_into(case_materials::table)
                    .values((
                        case_materials::case_id.eq(row.id),
                        case_materials::material_code.eq(material),
                        case_materials::upload_id.eq(upload),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(true)
    })
}

/// Links the result document a department attached to its decision on a sub-case.
pub fn set_result_upload(conn: &mut DbConn, sub_case: i64, upload: &str) -> Result<(), DbError> {
    diesel::update(sub_cases::table.find(sub_case))
        .set(sub_cases::result_upload.eq(Some(upload)))
        .execute(conn)?;
    Ok(())
}

/// The case a sub-case belongs to, with the sub-case.
pub fn sub_case_with_case(
    conn: &mut DbConn,
    sub_case: i64,
) -> Result<Option<(CaseRow, SubCaseRow)>, DbError> {
    Ok(sub_cases::table
        .find(sub_case)
        .inner_join(cases::table)
        .select((CaseRow::as_select(), SubCaseRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Receipt numbers of cases still waiting for the window that were submitted before `cutoff`.
pub fn submitted_before(conn: &mut DbConn, cutoff: NaiveDateTime) -> Result<Vec<String>, DbError> {
    Ok(cases::table
        .filter(cases::status.eq("submitted"))
        .filter(cases::submitted_at.lt(cutoff))
        .order(cases::id)
        .limit(1000)
        .select(cases::receipt_no)
        .load(conn)?)
}

/// The parts of a case: (sub-case id, item code).
pub fn parts_of(conn: &mut DbConn, case_id: i64) -> Result<Vec<(i64, String)>, DbError> {
    Ok(sub_cases::table
        .filter(sub_cases::case_id.eq(case_id))
        .order(sub_cases::id)
        .select((sub_cases::id, sub_cases::item_code))
        .load(conn)?)
}

/// The promised working days of each part of a case, from its item.
pub fn promised_days(conn: &mut DbConn, case_id: i64) -> Result<HashMap<i64, u32>, DbError> {
    let rows: Vec<(i64, i32)> = sub_cases::table
        .inner_join(items::table.on(items::code.eq(sub_cases::item_code)))
        .filter(sub_cases::case_id.eq(case_id))
        .select((sub_cases::id, items::promised_time_limit_days))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, days)| (id, u32::try_from(days).unwrap_or(0)))
        .collect())
}
