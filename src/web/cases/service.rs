//! One-window intake and department handling over the case workflow: every transition
//! names the case version its actor saw (`If-Match` with the case's ETag), runs through
//! the pure state machine, and is saved only if nobody changed the case meanwhile.

use serde::Serialize;

use crate::auth::Role;
use crate::calendar::Calendar;
use crate::clock::beijing_date;
use crate::deadlines;
use crate::store::applications::CaseRow;
use crate::store::cases as store;
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;
use crate::workflow::{self, Actor, Command, TransitionError};

fn actor_for(user: &CurrentUser, row: &CaseRow) -> Result<Actor, ApiError> {
    match user.role {
        Role::Window => Ok(Actor::Window),
        Role::Admin => Ok(Actor::Admin),
        Role::Reviewer => Ok(Actor::Reviewer {
            department: user.department.clone().unwrap_or_default(),
        }),
        Role::Citizen | Role::Enterprise if row.account_id == user.id => Ok(Actor::Applicant),
        _ => Err(ApiError::NotFound(format!(
            "未找到受理编号为 {} 的办件",
            row.receipt_no
        ))),
    }
}

pub(super) fn transition_error(e: TransitionError, current: u32) -> ApiError {
    match e.code() {
        "stale_version" => ApiError::PreconditionFailed {
            current: Some(current),
        },
        "forbidden" => ApiError::Forbidden(e.message()),
        "invalid" => ApiError::Validation(vec![FieldError::new(
            e.field().unwrap_or("body"),
            "invalid",
            e.message(),
        )]),
        _ => ApiError::Conflict(vec![FieldError::new("status", e.code(), e.message())]),
    }
}

/// The due dates of a case and of its parts (None before acceptance), counted with the
/// calendar as of now.
pub async fn case_due(
    state: &AppState,
    calendar: &Calendar,
    row: &CaseRow,
    wf: &workflow::Case,
) -> Result<Option<deadlines::CaseDue>, ApiError> {
    let case_id = row.id;
    let promised = state.db.run(move |c| store::promised_days(c, case_id)).await?;
    Ok(deadlines::case_due(calendar, wf, &promised)?)
}

/// The due date stored beside a case (the latest part's).
pub(super) fn stored_due(due: Option<&deadlines::CaseDue>) -> Option<String> {
    due.map(|d| d.due.date.to_string())
}

/// Each part's due date and SLA light, for the consoles and the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartDue {
    pub id: i64,
    pub due_date: String,
    /// Counted through a year whose holidays are not yet officially published (预计).
    pub due_date_provisional: bool,
    pub light: Option<&'static str>,
}

/// What a reviewer may see of a case: their department's parts only — not another
/// department's opinion, certificate number, decision events or 补正 items. Nothing changes
/// for anyone else.
pub fn scope_to_reviewer(
    user: &CurrentUser,
    wf: &mut crate::workflow::Case,
    part_dues: &mut Vec<PartDue>,
    timeline: &mut Vec<crate::store::cases::EventRow>,
) {
    let Some(department) = user.reviewer_department() else {
        return;
    };
    wf.sub_cases.retain(|s| s.department == department);
    let own: Vec<i64> = wf.sub_cases.iter().map(|s| s.id).collect();
    part_dues.retain(|d| own.contains(&d.id));
    timeline.retain(|e| {
        crate::workflow::event_part(&e.action, &e.detail)
            .is_none_or(|part| part.is_some_and(|p| own.contains(&p)))
    });
    if let Some(items) = wf.open_notice.as_mut() {
        items.retain(|i| i.department.as_deref().is_none_or(|d| d == department));
    }
}

/// The case's due date and its parts', as the case views show them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseDues {
    pub due_date: Option<String>,
    pub due_date_provisional: bool,
    pub part_dues: Vec<PartDue>,
}

pub async fn case_dues(
    state: &AppState,
    calendar: &Calendar,
    row: &CaseRow,
    wf: &workflow::Case,
) -> Result<CaseDues, ApiError> {
    let today = state.today();
    let Some(due) = case_due(state, calendar, row, wf).await? else {
        return Ok(CaseDues::default());
    };
    let mut part_dues = Vec::with_capacity(wf.sub_cases.len());
    for s in &wf.sub_cases {
        let Some(d) = due.parts.get(&s.id) else {
            continue;
        };
        // A decided part has nothing left to be late for.
        let running = s.status == workflow::SubStatus::Pending
            && workflow::CaseStatus::parse(&row.status).is_some_and(deadlines::clock_runs);
        let light = deadlines::sla_light(calendar, today, d.date, running)?;
        part_dues.push(PartDue {
            id: s.id,
            due_date: d.date.to_string(),
            due_date_provisional: d.provisional,
            light: light.map(deadlines::light_name),
        });
    }
    Ok(CaseDues {
        due_date: Some(due.due.date.to_string()),
        due_date_provisional: due.due.provisional,
        part_dues,
    })
}

fn message_for(cmd: &Command, receipt: &str) -> Option<String> {
    Some(match cmd {
        Command::Accept => format!("您的申请 {receipt} 已受理，各部门正在并联办理。"),
        Command::RequestSupplement { items } => format!(
            "您的申请 {receipt} 需要补正以下 {} 项内容：{}。请在“我的办件”中一次性补正后重新提交。",
            items.len(),
            items
                .iter()
                .map(|i| format!("{}（{}）", i.target, i.reason))
                .collect::<Vec<_>>()
                .join("；")
        ),
        Command::Refuse { reason } => format!("您的申请 {receipt} 不予受理，理由：{reason}"),
        Command::Deliver { .. } => format!("您的申请 {receipt} 办理结果已送达。"),
        Command::Extend { working_days, reason } => {
            format!("您的申请 {receipt} 办理时限延长 {working_days} 个工作日，理由：{reason}")
        }
        _ => return None,
    })
}

/// The case behind a receipt number, brought up to date first: a case the window left for
/// more than 5 working days with neither acceptance nor a 补正 notice is deemed accepted
/// (行政许可法 Art. 32), recorded by the system as of its receipt.
pub async fn load_current(
    state: &AppState,
    receipt: &str,
) -> Result<Option<(CaseRow, workflow::Case)>, ApiError> {
    let lookup = receipt.to_owned();
    let Some((row, _, wf)) = state.db.run(move |c| store::load(c, &lookup)).await? else {
        return Ok(None);
    };
    if wf.status != workflow::CaseStatus::Submitted {
        return Ok(Some((row, wf)));
    }
    let calendar = state.calendar().await?;
    let today = state.today();
    let deadline = deadlines::acceptance_deadline(&calendar, beijing_date(row.submitted_at))?.date;
    if !workflow::deemed_accepted(&wf, today, deadline) {
        return Ok(Some((row, wf)));
    }
    let now = state.now();
    let next = workflow::apply(
        &wf,
        &Actor::System,
        Command::DeemAccept { deadline },
        now,
        wf.version,
    )
    .map_err(|e| transition_error(e, wf.version))?;
    let message = Some(format!(
        "您的申请 {} 已依法视为受理，各部门正在并联办理。",
        row.receipt_no
    ));
    let done = Save {
        message,
        now,
        corrections: None,
    };
    save(state, &row, wf.version, &next, done).await?;
    // Whether this request or a concurrent one recorded it, the stored case is current.
    let lookup = receipt.to_owned();
    Ok(state
        .db
        .run(move |c| store::load(c, &lookup))
        .await?
        .map(|(r, _, w)| (r, w)))
}

/// What a transition saves beside the new state.
pub(super) struct Save {
    pub message: Option<String>,
    pub now: chrono::NaiveDateTime,
    /// A resubmission's corrected data, written in the same transaction.
    pub corrections: Option<store::Corrections>,
}

/// Saves `next` over the version the actor saw, with its due date counted on the calendar
/// as of now; returns whether it was saved (false: someone acted first) and the due date.
pub(super) async fn save(
    state: &AppState,
    row: &CaseRow,
    seen_version: u32,
    next: &workflow::Case,
    save: Save,
) -> Result<(bool, Option<String>), ApiError> {
    let calendar = state.calendar().await?;
    let due = stored_due(case_due(state, &calendar, row, next).await?.as_ref());
    let (row, next, due_date) = (row.clone(), next.clone(), due.clone());
    let saved = state
        .db
        .run(move |c| {
            let t = store::Transition {
                row: &row,
                seen_version,
                new: &next,
                due_date,
                message: save.message,
                now: save.now,
            };
            match &save.corrections {
                Some(corrections) => store::save_resubmission(c, &t, corrections, &calendar),
                None => store::save_transition(c, &t, &calendar),
            }
        })
        .await?;
    Ok((saved, due))
}

/// Runs one command on a case as `user`, who saw `seen_version`.
pub async fn transition(
    state: &AppState,
    user: &CurrentUser,
    receipt: &str,
    seen_version: u32,
    cmd: Command,
) -> Result<(CaseRow, workflow::Case, Option<String>), ApiError> {
    let (row, wf) = load_current(state, receipt)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件")))?;
    let actor = actor_for(user, &row)?;
    if let Command::RequestSupplement { items } = &cmd {
        super::supplement::check_notice(state, &row, items).await?;
    }
    let now = state.now();
    let message = message_for(&cmd, &row.receipt_no);
    let next =
        workflow::apply(&wf, &actor, cmd, now, seen_version).map_err(|e| transition_error(e, wf.version))?;
    let done = Save {
        message,
        now,
        corrections: None,
    };
    let (ok, due) = save(state, &row, seen_version, &next, done).await?;
    if !ok {
        let current = state
            .db
            .run({
                let r = row.receipt_no.clone();
                move |c| store::load(c, &r)
            })
            .await?
            .map(|(_, _, w)| w.version);
        return Err(ApiError::PreconditionFailed { current });
    }
    Ok((row, next, due))
}

/// A department's decision on its part, with an optional result document: an upload of
/// the deciding reviewer, linked to the part once the decision is saved.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    state: &AppState,
    user: &CurrentUser,
    receipt: &str,
    seen_version: u32,
    sub_case: i64,
    approve: bool,
    opinion: String,
    result: Option<String>,
    document: Option<String>,
) -> Result<(CaseRow, workflow::Case, Option<String>), ApiError> {
    if let Some(doc) = document.clone() {
        let owner = user.id;
        let found = state
            .db
            .run(move |c| crate::store::applications::uploads_of(c, owner, std::slice::from_ref(&doc)))
            .await?;
        if found.is_empty() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "result_upload",
                "unknown_upload",
                "结果文件不存在，或不是您上传的文件",
            )]));
        }
    }
    let cmd = Command::Decide {
        sub_case,
        approve,
        opinion,
        result,
    };
    let outcome = transition(state, user, receipt, seen_version, cmd).await?;
    if let Some(doc) = document {
        state
            .db
            .run(move |c| store::set_result_upload(c, sub_case, &doc))
            .await?;
    }
    Ok(outcome)
}

/// Applies deemed acceptance to every case the window left untouched past the legal
/// window, so that queues, clocks and the applicant's messages are right even for cases
/// nobody opens. Returns how many cases it accepted.
pub async fn sweep_deemed_acceptance(state: &AppState) -> Result<usize, ApiError> {
    // Five working days are at least five calendar days: older cases are the candidates.
    let cutoff = state.now() - chrono::Duration::days(5);
    let receipts = state.db.run(move |c| store::submitted_before(c, cutoff)).await?;
    let mut accepted = 0;
    for receipt in receipts {
        if let Some((row, _)) = load_current(state, &receipt).await? {
            if row.status != "submitted" {
                accepted += 1;
            }
        }
    }
    Ok(accepted)
}

/// Runs [`sweep_deemed_acceptance`] every `every` until the server stops.
pub async fn sweep_loop(state: actix_web::web::Data<AppState>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match sweep_deemed_acceptance(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(cases = n, "deemed acceptance applied"),
            Err(e) => tracing::warn!(error = %e, "deemed-acceptance sweep failed"),
        }
    }
}

/// A case as the staff console and its API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub receipt_no: String,
    pub bundle: String,
    pub status: String,
    pub status_label: &'static str,
    pub channel: String,
    pub trips: i32,
    pub version: i32,
    #[serde(with = "crate::clock::rfc3339")]
    pub submitted_at: chrono::NaiveDateTime,
    pub due_date: Option<String>,
    /// Counted through a year whose holidays are not yet officially published (预计).
    pub due_date_provisional: bool,
    pub light: Option<&'static str>,
}

/// The summary of a stored case on `today`, with its light and whether its stored due
/// date was counted through a provisional year.
pub fn summary(
    calendar: &Calendar,
    row: &CaseRow,
    today: chrono::NaiveDate,
) -> Result<CaseSummary, ApiError> {
    let due = row
        .due_date
        .as_deref()
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ApiError::Internal(crate::db::DbError::Corrupt(format!(
                    "case {}: due date {d:?} is not a date",
                    row.receipt_no
                )))
            })
        })
        .transpose()?;
    let running = workflow::CaseStatus::parse(&row.status).is_some_and(deadlines::clock_runs);
    let light = match due {
        Some(due) => deadlines::sla_light(calendar, today, due, running)?,
        None => None,
    };
    Ok(CaseSummary {
        receipt_no: row.receipt_no.clone(),
        bundle: row.bundle_code.clone(),
        status_label: workflow::status_label(&row.status),
        status: row.status.clone(),
        channel: row.channel.clone(),
        trips: row.trips,
        version: row.version,
        submitted_at: row.submitted_at,
        light: light.map(deadlines::light_name),
        due_date_provisional: due
            .is_some_and(|d| calendar.provisional_span(beijing_date(row.submitted_at), d)),
        due_date: row.due_date.clone(),
    })
}
