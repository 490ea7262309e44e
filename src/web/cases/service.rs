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
        crate::workflow::event_part(&e.action, &e.detail, e.sub_case_id)
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
        certificate: None,
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
    /// The e-certificate an approval issues, written in the same transaction.
    pub certificate: Option<crate::store::certificates::CertificateRow>,
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
                certificate: save.certificate.as_ref(),
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
    mut cmd: Command,
) -> Result<(CaseRow, workflow::Case, Option<String>), ApiError> {
    let (row, wf) = load_current(state, receipt)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件")))?;
    let actor = actor_for(user, &row)?;
    if let Command::RequestSupplement { items } = &mut cmd {
        super::supplement::check_notice(state, &row, items).await?;
    }
    let message = message_for(&cmd, &row.receipt_no);
    let (next, due) = run_command(state, &row, &wf, &actor, seen_version, cmd, message).await?;
    Ok((row, next, due))
}

/// Runs one command of the system on a case, on the version stored now: the decisions of
/// an item's declared rules (smart approval).
pub async fn by_system(
    state: &AppState,
    receipt: &str,
    cmd: Command,
    message: Option<String>,
) -> Result<workflow::Case, ApiError> {
    let (row, wf) = load_current(state, receipt)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件")))?;
    let version = wf.version;
    Ok(
        run_command(state, &row, &wf, &Actor::System, version, cmd, message)
            .await?
            .0,
    )
}

/// Applies `cmd` by `actor` to `wf` (seen at `seen_version`), issues the certificate an
/// approval carries, and saves it all in one transaction.
async fn run_command(
    state: &AppState,
    row: &CaseRow,
    wf: &workflow::Case,
    actor: &Actor,
    seen_version: u32,
    cmd: Command,
    message: Option<String>,
) -> Result<(workflow::Case, Option<String>), ApiError> {
    let row = row.clone();
    let now = state.now();
    // An approval with a certificate number issues the signed e-certificate.
    let issues = match &cmd {
        Command::Decide {
            sub_case,
            approve: true,
            result: Some(no),
            ..
        } => Some((*sub_case, no.trim().to_owned())),
        _ => None,
    };
    let next =
        workflow::apply(wf, actor, cmd, now, seen_version).map_err(|e| transition_error(e, wf.version))?;
    let certificate = match issues {
        Some((part, no)) => {
            Some(crate::web::certificates::service::issue(state, &row, &next, part, &no).await?)
        }
        None => None,
    };
    let done = Save {
        message,
        now,
        corrections: None,
        certificate,
    };
    let number = done.certificate.as_ref().map(|c| c.certificate_no.clone());
    let (ok, due) = save(state, &row, seen_version, &next, done)
        .await
        .map_err(|e| match (e, number) {
            // Two approvals racing for one certificate number: the later one is told so.
            (e, Some(no)) if e.is_unique_violation() => crate::web::certificates::service::number_taken(&no),
            (e, _) => e,
        })?;
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
    Ok((next, due))
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
        match crate::web::smart::service::apply_outstanding(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(parts = n, "outstanding smart-approval decisions carried out"),
            Err(e) => tracing::warn!(error = %e, "smart-approval sweep failed"),
        }
        if let Err(e) = crate::web::smart::benefits::run(&state).await {
            tracing::warn!(error = %e, "免申即享 run failed");
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

/// Which cases a queue shows: what waits for the viewer (the default of the console), what
/// waits for applicants' 补正, or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueView {
    /// Window clerks: to accept, in progress, to deliver. Reviewers: cases where their
    /// department still has a part to decide.
    Todo,
    /// Waiting for the applicant's 补正.
    Supplement,
    #[default]
    All,
}

impl QueueView {
    pub const ALL: [Self; 3] = [Self::Todo, Self::Supplement, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::Supplement => "supplement",
            Self::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Todo => "待办",
            Self::Supplement => "待申请人补正",
            Self::All => "全部",
        }
    }
}

/// The sort orders a queue offers, by the names the API and the page use.
const ORDERS: [(&str, store::QueueOrder); 3] = [
    ("urgent", store::QueueOrder::Urgent),
    ("newest", store::QueueOrder::Newest),
    ("oldest", store::QueueOrder::Oldest),
];

pub fn parse_order(s: &str) -> Option<store::QueueOrder> {
    ORDERS.iter().find(|(name, _)| *name == s).map(|(_, o)| *o)
}

/// The name of a sort order, as `parse_order` reads it.
pub fn order_name(order: store::QueueOrder) -> &'static str {
    ORDERS
        .iter()
        .find(|(_, o)| *o == order)
        .map_or("urgent", |(name, _)| name)
}

/// What a queue is asked for, already checked.
#[derive(Debug, Clone, Default)]
pub struct QueueParams {
    pub view: QueueView,
    pub status: Option<String>,
    pub light: Option<String>,
    pub bundle: Option<String>,
    pub channel: Option<String>,
    /// Only cases waiting at least this many calendar days since submission.
    pub age_days: Option<i64>,
    pub order: store::QueueOrder,
}

/// One queue tab and how many cases it holds under the other filters.
#[derive(Debug, Clone, Serialize)]
pub struct QueueTab {
    pub view: &'static str,
    pub label: &'static str,
    pub count: i64,
}

/// The console's tabs and the alert counts of the current view (empty for the API).
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueTabs {
    pub tabs: Vec<QueueTab>,
    pub overdue: i64,
    pub due_soon: i64,
}

fn queue_filter(
    state: &AppState,
    user: &CurrentUser,
    p: &QueueParams,
    view: QueueView,
    (today, soon): (chrono::NaiveDate, chrono::NaiveDate),
) -> store::QueueFilter {
    let reviewer = user.reviewer_department().map(str::to_owned);
    let statuses: Vec<String> = match (&p.status, view) {
        (Some(s), _) => vec![s.clone()],
        (None, QueueView::Todo) if reviewer.is_some() => vec!["in_progress".into()],
        (None, QueueView::Todo) => ["submitted", "accepted", "in_progress", "completed"]
            .map(String::from)
            .to_vec(),
        (None, QueueView::Supplement) => vec!["supplement_requested".into()],
        (None, QueueView::All) => Vec::new(),
    };
    let day = |d: chrono::NaiveDate| Some(d.to_string());
    let due = p.light.as_deref().map(|l| match l {
        "red" => store::DueRange {
            from: None,
            before: day(today),
        },
        "yellow" => store::DueRange {
            from: day(today),
            before: day(soon),
        },
        _ => store::DueRange {
            from: day(soon),
            before: None,
        },
    });
    store::QueueFilter {
        pending_part_only: reviewer.is_some() && view == QueueView::Todo && p.status.is_none(),
        department: reviewer,
        statuses,
        bundle: p.bundle.clone(),
        channel: p.channel.clone(),
        submitted_before: p.age_days.map(|d| state.now() - chrono::Duration::days(d)),
        due,
    }
}

/// One page of the queue in the asked order with its true total, and (for the console)
/// the count of each tab under the same filters.
pub async fn queue(
    state: &AppState,
    user: &CurrentUser,
    p: &QueueParams,
    paging: crate::store::Paging,
    with_tabs: bool,
) -> Result<(crate::store::Page<CaseSummary>, QueueTabs), ApiError> {
    let calendar = state.calendar().await?;
    let today = state.today();
    let soon = deadlines::soon_before(&calendar, today)?;
    let filter = queue_filter(state, user, p, p.view, (today, soon));
    // Each tab under the other filters, then the overdue and due-soon cases of this view
    // for the alert above the queue.
    let tab_filters: Vec<store::QueueFilter> = if with_tabs {
        let unfiltered = QueueParams {
            status: None,
            ..p.clone()
        };
        let lit = |light: &str| QueueParams {
            light: Some(light.into()),
            ..p.clone()
        };
        QueueView::ALL
            .into_iter()
            .map(|v| queue_filter(state, user, &unfiltered, v, (today, soon)))
            .chain(["red", "yellow"].map(|l| queue_filter(state, user, &lit(l), p.view, (today, soon))))
            .collect()
    } else {
        Vec::new()
    };
    let order = p.order;
    let (rows, counts) = state
        .db
        .run(move |c| {
            let rows = store::queue(c, &filter, order, (&today.to_string(), &soon.to_string()), paging)?;
            let counts = tab_filters
                .iter()
                .map(|f| store::queue_count(c, f))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, crate::db::DbError>((rows, counts))
        })
        .await?;
    let items = rows
        .items
        .iter()
        .map(|r| summary(&calendar, r, today))
        .collect::<Result<Vec<_>, _>>()?;
    let tabs = QueueView::ALL
        .into_iter()
        .zip(&counts)
        .map(|(v, count)| QueueTab {
            view: v.as_str(),
            label: v.label(),
            count: *count,
        })
        .collect();
    let alerts = match counts.get(QueueView::ALL.len()..) {
        Some([overdue, due_soon]) => (*overdue, *due_soon),
        _ => (0, 0),
    };
    Ok((
        crate::store::Page {
            items,
            total: rows.total,
            page: rows.page,
            per_page: rows.per_page,
        },
        QueueTabs {
            tabs,
            overdue: alerts.0,
            due_soon: alerts.1,
        },
    ))
}

/// The queue's query parameters as sent (text, so that a bad value gets a Chinese error
/// naming the parameter).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `todo` (what waits for the viewer), `supplement` (waiting for the applicant's 补正)
    /// or `all`; the API's default is `all`, the console's `todo`.
    #[param(value_type = Option<QueueView>, inline)]
    pub view: Option<String>,
    /// Only cases in this state (overrides `view`).
    #[param(value_type = Option<workflow::CaseStatus>, inline)]
    pub status: Option<String>,
    /// Only cases with this SLA light: `green`, `yellow` or `red`.
    pub light: Option<String>,
    /// Only this bundle's code.
    pub bundle: Option<String>,
    /// Only this channel: `online` or `window`.
    pub channel: Option<String>,
    /// Only cases waiting at least this many calendar days since submission.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub age: Option<String>,
    /// `urgent` (overdue, then due soon, then waiting for acceptance; the default),
    /// `newest` or `oldest`.
    pub sort: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub page: Option<String>,
    /// Page size, at most 200 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub per_page: Option<String>,
}

impl QueueQuery {
    /// The checked parameters, or every bad one named.
    pub fn parse(
        &self,
        default_view: QueueView,
    ) -> Result<(QueueParams, crate::store::Paging), Vec<FieldError>> {
        let non_empty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut errors = Vec::new();
        let paging = crate::web::extract::parse_paging(&self.page, &self.per_page, &mut errors);
        let mut invalid = |field: &'static str, message: &str| {
            errors.push(FieldError::new(field, "invalid_choice", message));
        };
        let view = match non_empty(&self.view) {
            None => default_view,
            Some(v) => QueueView::ALL
                .into_iter()
                .find(|x| x.as_str() == v)
                .unwrap_or_else(|| {
                    invalid("view", "view 只能是 todo、supplement 或 all");
                    default_view
                }),
        };
        let status = non_empty(&self.status);
        if status
            .as_deref()
            .is_some_and(|s| workflow::CaseStatus::parse(s).is_none())
        {
            invalid("status", "status 不是有效的办件状态");
        }
        let light = non_empty(&self.light);
        if light
            .as_deref()
            .is_some_and(|l| !["green", "yellow", "red"].contains(&l))
        {
            invalid("light", "light 只能是 green、yellow 或 red");
        }
        let channel = non_empty(&self.channel);
        if channel.as_deref().is_some_and(|c| c != "online" && c != "window") {
            invalid("channel", "channel 只能是 online 或 window");
        }
        let order = match non_empty(&self.sort) {
            None => store::QueueOrder::Urgent,
            Some(s) => parse_order(&s).unwrap_or_else(|| {
                invalid("sort", "sort 只能是 urgent、newest 或 oldest");
                store::QueueOrder::Urgent
            }),
        };
        let age_days = match non_empty(&self.age) {
            None => None,
            Some(a) => match a.parse::<i64>() {
                Ok(n) if (1..=3650).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "age",
                        "out_of_range",
                        "age 应为 1 到 3650 之间的天数",
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((
            QueueParams {
                view,
                status,
                light,
                bundle: non_empty(&self.bundle),
                channel,
                age_days,
                order,
            },
            paging,
        ))
    }
}
