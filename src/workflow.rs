//! The case workflow (办件流转) as a pure state machine.
//!
//! A submitted application becomes a [`Case`] with one [`SubCase`] per service item. Every
//! change goes through [`apply`], which checks the expected version (optimistic
//! concurrency), who acts, whether the transition is legal from the current status and
//! whether the command carries what the law asks for (reasons, opinions, one consolidated
//! 补正 notice, one extension within the statutory cap), and returns the new case with an
//! event appended to its log. Nothing here reads a clock, a database or the web: every time
//! is passed in.
//!
//! Statutory rules modelled here (see `law-and-security.md` §5):
//! - 行政许可法 Art. 32(4): incomplete materials are told **all at once** (one notice listing
//!   every item); if no notice is given within 5 (working) days of receipt the application
//!   is deemed accepted **as of receipt** ([`deemed_accepted`], [`Command::DeemAccept`]).
//! - 补正 pauses the clock until the applicant resubmits ([`Case::pauses`]).
//! - Art. 42 / Art. 26: the decision period may be extended **once**, within a cap (10
//!   working days; 15 for 统一/联合/集中办理; 20 for 依申请公开), with the reason told to the
//!   applicant ([`Command::Extend`], [`DeadlineKind`]).
//!
//! The working-day calendar lives elsewhere: callers compute deadlines and pass them in.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// The status of a case (办件).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Submitted,
    Accepted,
    SupplementRequested,
    Refused,
    InProgress,
    Completed,
    Delivered,
    Archived,
    Withdrawn,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 9] = [
        CaseStatus::Submitted,
        CaseStatus::Accepted,
        CaseStatus::SupplementRequested,
        CaseStatus::Refused,
        CaseStatus::InProgress,
        CaseStatus::Completed,
        CaseStatus::Delivered,
        CaseStatus::Archived,
        CaseStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::SupplementRequested => "supplement_requested",
            Self::Refused => "refused",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Delivered => "delivered",
            Self::Archived => "archived",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "已提交待受理",
            Self::Accepted => "已受理",
            Self::SupplementRequested => "待补正",
            Self::Refused => "不予受理",
            Self::InProgress => "办理中",
            Self::Completed => "已办结",
            Self::Delivered => "已送达",
            Self::Archived => "已归档",
            Self::Withdrawn => "已撤回",
        }
    }

    /// Refused, Archived and Withdrawn: nothing changes them, except that a refused case
    /// may be archived.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Refused | Self::Archived | Self::Withdrawn)
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Chinese name of a stored case or part status, from the one place each is named;
/// an unknown value reads as 处理中.
pub fn status_label(status: &str) -> &'static str {
    CaseStatus::parse(status)
        .map(CaseStatus::label)
        .or_else(|| SubStatus::parse(status).map(SubStatus::label))
        .unwrap_or("处理中")
}

/// The status of one department's part of a case (子件).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubStatus {
    Pending,
    Approved,
    Denied,
    Issued,
}

impl SubStatus {
    pub const ALL: [SubStatus; 4] = [
        SubStatus::Pending,
        SubStatus::Approved,
        SubStatus::Denied,
        SubStatus::Issued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待审批",
            Self::Approved => "已同意",
            Self::Denied => "不予批准",
            Self::Issued => "已出证",
        }
    }

    /// Approved, denied or issued: the department has made its decision.
    pub fn is_decided(self) -> bool {
        !matches!(self, Self::Pending)
    }
}

impl fmt::Display for SubStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the application reached the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Window,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Window => "window",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Online, Self::Window].into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Online => "网上申报",
            Self::Window => "窗口现场申报",
        }
    }
}

/// Which statutory decision period applies; it fixes the extension cap (working days).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// 行政许可法 Art. 42: 20 working days, + 10 with the agency head's approval.
    Licensing,
    /// 行政许可法 Art. 42 with Art. 26 (统一办理、联合办理、集中办理): 45, + 15.
    JointLicensing,
    /// 政府信息公开条例 Art. 33: 20, + 20.
    Disclosure,
    /// A matter-specific statutory period.
    Custom { time_limit: u32, extension_cap: u32 },
}

impl DeadlineKind {
    /// The decision period in working days.
    pub fn time_limit(self) -> u32 {
        match self {
            Self::Licensing | Self::Disclosure => 20,
            Self::JointLicensing => 45,
            Self::Custom { time_limit, .. } => time_limit,
        }
    }

    /// The longest single extension in working days.
    pub fn extension_cap(self) -> u32 {
        match self {
            Self::Licensing => 10,
            Self::JointLicensing => 15,
            Self::Disclosure => 20,
            Self::Custom { extension_cap, .. } => extension_cap,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Licensing => "行政许可",
            Self::JointLicensing => "联合办理",
            Self::Disclosure => "依申请公开",
            Self::Custom { .. } => "专项法定时限",
        }
    }
}

/// Who acts, as far as the machine cares: a role, and a reviewer's department.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Applicant,
    Window,
    Reviewer { department: String },
    Admin,
    System,
}

impl Actor {
    /// The role label written to the event log (never a person's name).
    pub fn label(&self) -> String {
        match self {
            Self::Applicant => "申请人".into(),
            Self::Window => "综窗人员".into(),
            Self::Reviewer { department } => format!("部门审批人员（{department}）"),
            Self::Admin => "管理员".into(),
            Self::System => "系统".into(),
        }
    }
}

/// One item of a 补正 notice.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SupplementItem {
    /// A form field key, or `materials.<code>` for a material.
    pub target: String,
    pub reason: String,
    /// The department that asks for it (required once the case is in progress).
    pub department: Option<String>,
}

/// How the result reaches the applicant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Mail { tracking_no: String },
    ECertificate,
    Pickup,
}

impl DeliveryMethod {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Mail { .. } => "邮寄送达",
            Self::ECertificate => "电子证照送达",
            Self::Pickup => "窗口领取",
        }
    }
}

/// Why the applicant came to the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitReason {
    CounterSubmission,
    SupplementInPerson,
    Pickup,
}

impl VisitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CounterSubmission => "counter_submission",
            Self::SupplementInPerson => "supplement_in_person",
            Self::Pickup => "pickup",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::CounterSubmission => "窗口现场递交",
            Self::SupplementInPerson => "现场补正",
            Self::Pickup => "现场领取",
        }
    }
}

/// What someone asks the machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Window: Submitted → Accepted → (dispatch) InProgress.
    Accept,
    /// Window: Submitted or InProgress → SupplementRequested; one notice listing every item.
    RequestSupplement { items: Vec<SupplementItem> },
    /// Applicant: SupplementRequested → the status before the notice.
    Resubmit { corrected: Vec<String>, in_person: bool },
    /// Window: Submitted (or SupplementRequested before acceptance) → Refused.
    Refuse { reason: String },
    /// Reviewer of the sub-case's department, or Admin: a pending sub-case is decided.
    Decide {
        sub_case: i64,
        approve: bool,
        opinion: String,
        result: Option<String>,
    },
    /// Reviewer of the sub-case's department: Approved → Issued.
    IssueResult { sub_case: i64 },
    /// Window: Completed → Delivered.
    Deliver { method: DeliveryMethod },
    /// Window or Admin: Delivered or Refused → Archived.
    Archive,
    /// Applicant: any status before Completed that is not terminal → Withdrawn.
    Withdraw,
    /// Admin: once, while in progress, within the case's statutory cap.
    Extend { working_days: u32, reason: String },
    /// Window: the applicant came to the centre.
    RecordVisit { reason: VisitReason },
    /// System: 行政许可法 Art. 32 — no acceptance and no notice by `deadline` (the fifth
    /// working day after receipt, computed by the caller) → accepted as of receipt.
    DeemAccept { deadline: NaiveDate },
    /// System: the working-day calendar changed (an official holiday year was entered) and
    /// moved the open case's due date; recorded in the timeline with the old and new date.
    RecordDueChange {
        from: Option<NaiveDate>,
        to: NaiveDate,
        reason: String,
    },
}

impl Command {
    /// The machine name of the action (also the event's `action`, except for Decide
    /// whose events are `approve` or `deny`).
    pub fn action(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::RequestSupplement { .. } => "request_supplement",
            Self::Resubmit { .. } => "resubmit",
            Self::Refuse { .. } => "refuse",
            Self::Decide { .. } => "decide",
            Self::IssueResult { .. } => "issue_result",
            Self::Deliver { .. } => "deliver",
            Self::Archive => "archive",
            Self::Withdraw => "withdraw",
            Self::Extend { .. } => "extend",
            Self::RecordVisit { .. } => "record_visit",
            Self::DeemAccept { .. } => "deemed_accept",
            Self::RecordDueChange { .. } => "due_date_changed",
        }
    }

    /// The Chinese name of the action.
    pub fn label(&self) -> &'static str {
        action_label(self.action())
    }
}

/// The Chinese name of an action or event name.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "submit" => "提交申请",
        "accept" => "受理",
        "dispatch" => "分送部门",
        "request_supplement" => "一次性告知补正",
        "resubmit" => "提交补正材料",
        "refuse" => "不予受理",
        "decide" => "审批",
        "approve" => "审批同意",
        "deny" => "审批不予批准",
        "complete" => "办结",
        "issue_result" => "出证",
        "deliver" => "送达",
        "archive" => "归档",
        "withdraw" => "撤回申请",
        "extend" => "延长办理期限",
        "record_visit" => "登记到场",
        "deemed_accept" => "视为受理",
        "due_date_changed" => "办结时限调整",
        _ => "办理",
    }
}

/// One department's part of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubCase {
    pub id: i64,
    pub department: String,
    pub status: SubStatus,
    pub opinion: Option<String>,
    /// The certificate number, if one was issued.
    pub result: Option<String>,
}

/// One entry of the append-only case log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: NaiveDateTime,
    /// A role label such as "综窗人员", never a person's name.
    pub actor_label: String,
    pub action: String,
    pub from: CaseStatus,
    pub to: CaseStatus,
    /// Chinese text shown in the case timeline (reasons, opinions, counts).
    pub detail: String,
}

/// A case (办件) and everything the workflow needs to decide its next step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub status: CaseStatus,
    /// Starts at 1; +1 on every successful [`apply`].
    pub version: u32,
    /// Visits to the centre (跑动次数).
    pub trips: u32,
    pub channel: Channel,
    pub deadline_kind: DeadlineKind,
    pub sub_cases: Vec<SubCase>,
    /// The 补正 notice waiting for the applicant (only while SupplementRequested).
    pub open_notice: Option<Vec<SupplementItem>>,
    /// Where a resubmission returns to (only while SupplementRequested).
    pub resume_to: Option<CaseStatus>,
    /// Clock pauses for 补正: (start, end); only the last may be open, and it is open
    /// exactly while the case is SupplementRequested.
    pub pauses: Vec<(NaiveDateTime, Option<NaiveDateTime>)>,
    /// The one extension: working days and the reason told to the applicant.
    pub extension: Option<(u32, String)>,
    pub submitted_at: NaiveDateTime,
    /// When the decision clock starts (for a deemed acceptance: the receipt time).
    pub accepted_at: Option<NaiveDateTime>,
    pub events: Vec<Event>,
}

impl Case {
    /// A freshly submitted case: status Submitted, version 1, every sub-case pending, one
    /// `submit` event. A counter submission (Channel::Window) counts as one trip.
    /// `sub_cases` are (sub-case id, department); there must be at least one, with
    /// distinct ids and non-empty departments.
    pub fn new(
        sub_cases: Vec<(i64, String)>,
        channel: Channel,
        deadline_kind: DeadlineKind,
        submitted_at: NaiveDateTime,
    ) -> Result<Self, TransitionError> {
        let invalid = |field, message: &str| TransitionError::Invalid {
            action: "submit",
            status: CaseStatus::Submitted,
            field,
            message: message.into(),
        };
        if sub_cases.is_empty() {
            return Err(invalid("sub_cases", "办件至少应包含一个子件"));
        }
        let mut ids = BTreeSet::new();
        for (id, department) in &sub_cases {
            if !ids.insert(*id) {
                return Err(invalid("sub_cases", &format!("子件编号 {id} 重复")));
            }
            if department.trim().is_empty() {
                return Err(invalid("sub_cases", &format!("子件 {id} 未指定办理部门")));
            }
        }
        let (trips, actor) = match channel {
            Channel::Online => (0, Actor::Applicant),
            Channel::Window => (1, Actor::Window),
        };
        let detail = match channel {
            Channel::Online => format!("网上申报，共 {} 个子件", sub_cases.len()),
            Channel::Window => format!("窗口现场申报，共 {} 个子件，计跑动 1 次", sub_cases.len()),
        };
        Ok(Self {
            status: CaseStatus::Submitted,
            version: 1,
            trips,
            channel,
            deadline_kind,
            sub_cases: sub_cases
                .into_iter()
                .map(|(id, department)| SubCase {
                    id,
                    department: department.trim().to_owned(),
                    status: SubStatus::Pending,
                    opinion: None,
                    result: None,
                })
                .collect(),
            open_notice: None,
            resume_to: None,
            pauses: Vec::new(),
            extension: None,
            submitted_at,
            accepted_at: None,
            events: vec![Event {
                at: submitted_at,
                actor_label: actor.label(),
                action: "submit".into(),
                from: CaseStatus::Submitted,
                to: CaseStatus::Submitted,
                detail,
            }],
        })
    }

    /// Whether the statutory clock is paused for 补正.
    pub fn is_paused(&self) -> bool {
        matches!(self.pauses.last(), Some((_, None)))
    }

    pub fn sub_case(&self, id: i64) -> Option<&SubCase> {
        self.sub_cases.iter().find(|s| s.id == id)
    }

    /// Whether every sub-case has been decided.
    pub fn all_decided(&self) -> bool {
        self.sub_cases.iter().all(|s| s.status.is_decided())
    }

    /// Checks the invariants every case produced by [`Case::new`] and [`apply`] keeps; a
    /// case loaded from storage can be checked the same way. Returns the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        let Some(last) = self.events.last() else {
            return Err("事件记录为空".into());
        };
        if last.to != self.status {
            return Err(format!(
                "最后一条事件的状态 {} 与办件状态 {} 不符",
                last.to, self.status
            ));
        }
        for pair in self.events.windows(2) {
            if pair[1].from != pair[0].to {
                return Err(format!("事件「{}」的起始状态与上一条事件不衔接", pair[1].action));
            }
            if pair[1].at < pair[0].at {
                return Err(format!("事件「{}」的时间早于上一条事件", pair[1].action));
            }
        }
        if self.sub_cases.is_empty() {
            return Err("办件没有子件".into());
        }
        let ids: BTreeSet<i64> = self.sub_cases.iter().map(|s| s.id).collect();
        if ids.len() != self.sub_cases.len() {
            return Err("子件编号重复".into());
        }
        if let Some((_, earlier)) = self.pauses.split_last() {
            if earlier.iter().any(|(_, end)| end.is_none()) {
                return Err("除最后一次外仍有未结束的计时暂停".into());
            }
        }
        if self
            .pauses
            .iter()
            .any(|(start, end)| end.is_some_and(|e| e < *start))
        {
            return Err("暂停结束时间早于开始时间".into());
        }
        if self.pauses.windows(2).any(|p| p[1].0 < p[0].1.unwrap_or(p[0].0)) {
            return Err("计时暂停的时间段重叠".into());
        }
        let supplement = self.status == CaseStatus::SupplementRequested;
        if supplement != self.is_paused() {
            return Err("待补正状态与计时暂停不一致".into());
        }
        if supplement != self.open_notice.is_some() || supplement != self.resume_to.is_some() {
            return Err("待补正状态与补正告知不一致".into());
        }
        if let Some(to) = self.resume_to {
            if !matches!(to, CaseStatus::Submitted | CaseStatus::InProgress) {
                return Err(format!("补正后应回到的状态 {to} 不合法"));
            }
        }
        if matches!(self.status, CaseStatus::Completed | CaseStatus::Delivered) && !self.all_decided() {
            return Err("已办结的办件仍有未审批的子件".into());
        }
        let accepted = matches!(
            self.status,
            CaseStatus::Accepted | CaseStatus::InProgress | CaseStatus::Completed | CaseStatus::Delivered
        ) || self.resume_to == Some(CaseStatus::InProgress);
        if accepted && self.accepted_at.is_none() {
            return Err("已受理的办件缺少受理时间".into());
        }
        let unaccepted = matches!(self.status, CaseStatus::Submitted | CaseStatus::Refused)
            || self.resume_to == Some(CaseStatus::Submitted);
        if unaccepted && self.accepted_at.is_some() {
            return Err("未受理的办件不应有受理时间".into());
        }
        if self.accepted_at.is_none() && self.sub_cases.iter().any(|s| s.status.is_decided()) {
            return Err("未受理的办件不应有已审批的子件".into());
        }
        if self.extension.is_some() && self.accepted_at.is_none() {
            return Err("未受理的办件不应延长办理期限".into());
        }
        if self.channel == Channel::Window && self.trips == 0 {
            return Err("窗口申报的办件跑动次数至少为 1".into());
        }
        Ok(())
    }
}

/// Why a transition was refused. Each has a machine code and a Chinese message naming the
/// action and the current status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransitionError {
    /// The action is not possible from the current status.
    NotAllowed { action: &'static str, from: CaseStatus },
    /// The sub-case is not in a status the action applies to (e.g. already decided).
    SubNotAllowed {
        action: &'static str,
        status: CaseStatus,
        sub_case: i64,
        from: SubStatus,
    },
    /// The actor's role (or department) may not do this.
    Forbidden {
        action: &'static str,
        status: CaseStatus,
        actor: String,
    },
    /// Someone else changed the case since the caller read it.
    StaleVersion {
        action: &'static str,
        status: CaseStatus,
        expected: u32,
        actual: u32,
    },
    /// The command lacks something the law or the workflow requires.
    Invalid {
        action: &'static str,
        status: CaseStatus,
        field: &'static str,
        message: String,
    },
}

impl TransitionError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAllowed { .. } | Self::SubNotAllowed { .. } => "illegal_transition",
            Self::Forbidden { .. } => "forbidden",
            Self::StaleVersion { .. } => "stale_version",
            Self::Invalid { .. } => "invalid",
        }
    }

    /// The machine name of the refused action.
    pub fn action(&self) -> &'static str {
        match self {
            Self::NotAllowed { action, .. }
            | Self::SubNotAllowed { action, .. }
            | Self::Forbidden { action, .. }
            | Self::StaleVersion { action, .. }
            | Self::Invalid { action, .. } => action,
        }
    }

    /// The case status when the action was refused.
    pub fn status(&self) -> CaseStatus {
        match self {
            Self::NotAllowed { from, .. } => *from,
            Self::SubNotAllowed { status, .. }
            | Self::Forbidden { status, .. }
            | Self::StaleVersion { status, .. }
            | Self::Invalid { status, .. } => *status,
        }
    }

    pub fn message(&self) -> String {
        let action = action_label(self.action());
        let status = self.status().label();
        match self {
            Self::NotAllowed { .. } => {
                format!("办件当前状态为「{status}」，不能执行「{action}」")
            }
            Self::SubNotAllowed { sub_case, from, .. } => format!(
                "子件 {sub_case} 当前为「{}」，不能执行「{action}」（办件状态：{status}）",
                from.label()
            ),
            Self::Forbidden { actor, .. } => {
                format!("{actor}无权对「{status}」的办件执行「{action}」")
            }
            Self::StaleVersion { expected, actual, .. } => format!(
                "办件已被他人更新（当前版本 {actual}，提交的版本 {expected}，当前状态「{status}」），\
                 请刷新后重新执行「{action}」"
            ),
            Self::Invalid { message, .. } => {
                format!("不能执行「{action}」（办件状态：{status}）：{message}")
            }
        }
    }

    /// The offending input field, for per-field error display.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for TransitionError {}

/// 行政许可法 Art. 32(4): the case is deemed accepted when it is still waiting for
/// acceptance, no 补正 notice was ever issued, and `today` is after `deadline` (the last
/// day to accept or notify, computed by the caller from the working-day calendar).
pub fn deemed_accepted(case: &Case, today: NaiveDate, deadline: NaiveDate) -> bool {
    case.status == CaseStatus::Submitted
        && case.accepted_at.is_none()
        && case.open_notice.is_none()
        && case.pauses.is_empty()
        && today > deadline
}

/// Applies `cmd` by `actor` at `at` to the case the caller read at `expected_version`, and
/// returns the new case (version + 1, events appended); `case` itself is never changed.
///
/// Checks, in order: the version; the actor's role; the current status; that `at` is not
/// earlier than the last event; the sub-case and the reviewer's department; the command's
/// contents.
pub fn apply(
    case: &Case,
    actor: &Actor,
    cmd: Command,
    at: NaiveDateTime,
    expected_version: u32,
) -> Result<Case, TransitionError> {
    let action = cmd.action();
    let from = case.status;
    if expected_version != case.version {
        return Err(TransitionError::StaleVersion {
            action,
            status: from,
            expected: expected_version,
            actual: case.version,
        });
    }
    if !role_may(&cmd, actor) {
        return Err(forbidden(action, from, actor));
    }
    if !allowed_from(&cmd, case) {
        return Err(TransitionError::NotAllowed { action, from });
    }
    let invalid = |field: &'static str, message: String| TransitionError::Invalid {
        action,
        status: from,
        field,
        message,
    };
    if let Some(last) = case.events.last() {
        if at < last.at {
            return Err(invalid(
                "at",
                format!("操作时间 {at} 早于上一次记录的时间 {}", last.at),
            ));
        }
    }
    let mut next = case.clone();
    next.version = case
        .version
        .checked_add(1)
        .ok_or_else(|| invalid("version", "版本号已达上限".into()))?;
    let label = actor.label();

    match cmd {
        Command::Accept => {
            next.accepted_at = Some(at);
            push(
                &mut next,
                at,
                &label,
                "accept",
                CaseStatus::Accepted,
                "材料齐全、符合法定形式，予以受理".into(),
            );
            for s in &mut next.sub_cases {
                s.status = SubStatus::Pending;
            }
            let detail = format!("分送 {} 个子件：{}", next.sub_cases.len(), list_sub_cases(&next));
            push(&mut next, at, &label, "dispatch", CaseStatus::InProgress, detail);
        }
        Command::RequestSupplement { items } => {
            let items = check_notice(case, items).map_err(|m| invalid("items", m))?;
            let summary = items
                .iter()
                .map(|i| match &i.department {
                    Some(d) => format!("{}（{}；{}）", i.target, i.reason, d),
                    None => format!("{}（{}）", i.target, i.reason),
                })
                .collect::<Vec<_>>()
                .join("；");
            let nth = case.pauses.len() + 1;
            let detail = format!(
                "一次性告知补正 {} 项（第 {nth} 次告知）：{summary}；办理时限暂停计算",
                items.len()
            );
            next.open_notice = Some(items);
            next.resume_to = Some(from);
            next.pauses.push((at, None));
            push(
                &mut next,
                at,
                &label,
                "request_supplement",
                CaseStatus::SupplementRequested,
                detail,
            );
        }
        Command::Resubmit { corrected, in_person } => {
            let notice = case
                .open_notice
                .as_ref()
                .ok_or_else(|| invalid("open_notice", "没有待补正的告知".into()))?;
            let resume = case
                .resume_to
                .ok_or_else(|| invalid("resume_to", "缺少补正前的办件状态".into()))?;
            let listed: BTreeSet<&str> = notice.iter().map(|i| i.target.as_str()).collect();
            let given: BTreeSet<&str> = corrected.iter().map(|t| t.trim()).collect();
            let unknown: Vec<&str> = given.difference(&listed).copied().collect();
            let missing: Vec<&str> = listed.difference(&given).copied().collect();
            let mut problems = Vec::new();
            if !unknown.is_empty() {
                problems.push(format!("以下事项不在补正告知中：{}", unknown.join("、")));
            }
            if !missing.is_empty() {
                problems.push(format!("以下补正事项尚未补正：{}", missing.join("、")));
            }
            if !problems.is_empty() {
                return Err(invalid("corrected", problems.join("；")));
            }
            close_pause(&mut next, at);
            let mut detail = format!(
                "已补正 {} 项：{}；办理时限恢复计算",
                listed.len(),
                listed.iter().copied().collect::<Vec<_>>().join("、")
            );
            if in_person {
                next.trips = next.trips.saturating_add(1);
                detail.push_str(&format!("；现场递交，累计跑动 {} 次", next.trips));
            }
            push(&mut next, at, &label, "resubmit", resume, detail);
        }
        Command::Refuse { reason } => {
            let reason =
                required(&reason).ok_or_else(|| invalid("reason", "不予受理必须写明法定理由".into()))?;
            close_pause(&mut next, at);
            push(
                &mut next,
                at,
                &label,
                "refuse",
                CaseStatus::Refused,
                format!("不予受理：{reason}"),
            );
        }
        Command::Decide {
            sub_case,
            approve,
            opinion,
            result,
        } => {
            let idx = find_sub_case(case, sub_case).map_err(|m| invalid("sub_case", m))?;
            let sub = &case.sub_cases[idx];
            check_department(actor, sub, action, from)?;
            if sub.status != SubStatus::Pending {
                return Err(TransitionError::SubNotAllowed {
                    action,
                    status: from,
                    sub_case,
                    from: sub.status,
                });
            }
            let opinion = required(&opinion);
            if !approve && opinion.is_none() {
                return Err(invalid("opinion", "不予批准必须填写审批意见（理由）".into()));
            }
            let result = match result {
                None => None,
                Some(r) if !approve => {
                    return Err(invalid(
                        "result",
                        format!("不予批准的子件不能填写证照编号 {}", r.trim()),
                    ));
                }
                Some(r) => Some(required(&r).ok_or_else(|| invalid("result", "证照编号不能为空白".into()))?),
            };
            let mut detail = format!(
                "子件 {sub_case}（{}）{}",
                sub.department,
                if approve { "同意" } else { "不予批准" }
            );
            if let Some(r) = &result {
                detail.push_str(&format!("，证照编号 {r}"));
            }
            if let Some(o) = &opinion {
                detail.push_str(&format!("；审批意见：{o}"));
            }
            let s = &mut next.sub_cases[idx];
            s.status = if approve {
                SubStatus::Approved
            } else {
                SubStatus::Denied
            };
            s.opinion = opinion;
            s.result = result;
            let event = if approve { "approve" } else { "deny" };
            push(&mut next, at, &label, event, CaseStatus::InProgress, detail);
            if next.all_decided() {
                let denied = next
                    .sub_cases
                    .iter()
                    .filter(|s| s.status == SubStatus::Denied)
                    .count();
                let detail = format!(
                    "全部 {} 个子件已审批（同意 {}，不予批准 {}），办结",
                    next.sub_cases.len(),
                    next.sub_cases.len() - denied,
                    denied
                );
                push(
                    &mut next,
                    at,
                    &Actor::System.label(),
                    "complete",
                    CaseStatus::Completed,
                    detail,
                );
            }
        }
        Command::IssueResult { sub_case } => {
            let idx = find_sub_case(case, sub_case).map_err(|m| invalid("sub_case", m))?;
            let sub = &case.sub_cases[idx];
            check_department(actor, sub, action, from)?;
            if sub.status != SubStatus::Approved {
                return Err(TransitionError::SubNotAllowed {
                    action,
                    status: from,
                    sub_case,
                    from: sub.status,
                });
            }
            let mut detail = format!("子件 {sub_case}（{}）已出证", sub.department);
            if let Some(r) = &sub.result {
                detail.push_str(&format!("，证照编号 {r}"));
            }
            next.sub_cases[idx].status = SubStatus::Issued;
            push(&mut next, at, &label, "issue_result", from, detail);
        }
        Command::Deliver { method } => {
            let detail = match &method {
                DeliveryMethod::Mail { tracking_no } => {
                    let no = required(tracking_no)
                        .ok_or_else(|| invalid("tracking_no", "邮寄送达必须填写运单号".into()))?;
                    format!("邮寄送达，运单号 {no}")
                }
                DeliveryMethod::ECertificate => "电子证照送达".into(),
                DeliveryMethod::Pickup => {
                    next.trips = next.trips.saturating_add(1);
                    format!("窗口领取，累计跑动 {} 次", next.trips)
                }
            };
            push(&mut next, at, &label, "deliver", CaseStatus::Delivered, detail);
        }
        Command::Archive => {
            push(
                &mut next,
                at,
                &label,
                "archive",
                CaseStatus::Archived,
                "归档".into(),
            );
        }
        Command::Withdraw => {
            close_pause(&mut next, at);
            push(
                &mut next,
                at,
                &label,
                "withdraw",
                CaseStatus::Withdrawn,
                "申请人撤回申请".into(),
            );
        }
        Command::Extend { working_days, reason } => {
            if let Some((days, _)) = &case.extension {
                return Err(invalid(
                    "extension",
                    format!("本件已延长办理期限 {days} 个工作日，依法只能延长一次"),
                ));
            }
            let cap = case.deadline_kind.extension_cap();
            if working_days == 0 || working_days > cap {
                return Err(invalid(
                    "working_days",
                    format!(
                        "延长期限应为 1 至 {cap} 个工作日（{}）",
                        case.deadline_kind.label()
                    ),
                ));
            }
            let reason = required(&reason)
                .ok_or_else(|| invalid("reason", "延长办理期限必须写明理由并告知申请人".into()))?;
            let detail = format!("经批准延长办理期限 {working_days} 个工作日，理由：{reason}");
            next.extension = Some((working_days, reason));
            push(&mut next, at, &label, "extend", from, detail);
        }
        Command::RecordVisit { reason } => {
            next.trips = next.trips.saturating_add(1);
            let detail = format!("{}，累计跑动 {} 次", reason.label(), next.trips);
            push(&mut next, at, &label, "record_visit", from, detail);
        }
        Command::RecordDueChange {
            from: old,
            to,
            reason,
        } => {
            let detail = match old {
                Some(old) => format!("{reason}，办结时限由 {old} 调整为 {to}"),
                None => format!("{reason}，办结时限为 {to}"),
            };
            push(&mut next, at, &label, "due_date_changed", from, detail);
        }
        Command::DeemAccept { deadline } => {
            if !deemed_accepted(case, crate::clock::beijing_date(at), deadline) {
                return Err(invalid(
                    "deadline",
                    format!("受理期限（{deadline}）尚未届满或已告知补正，不能视为受理"),
                ));
            }
            next.accepted_at = Some(case.submitted_at);
            for s in &mut next.sub_cases {
                s.status = SubStatus::Pending;
            }
            let detail = format!(
                "至 {deadline} 未受理也未一次性告知补正，依《行政许可法》第三十二条自收到申请材料之日\
                 （{}）起视为受理，分送 {} 个子件：{}",
                crate::clock::beijing_date(case.submitted_at),
                next.sub_cases.len(),
                list_sub_cases(&next)
            );
            push(
                &mut next,
                at,
                &label,
                "deemed_accept",
                CaseStatus::InProgress,
                detail,
            );
        }
    }
    Ok(next)
}

fn role_may(cmd: &Command, actor: &Actor) -> bool {
    match cmd {
        Command::Accept
        | Command::RequestSupplement { .. }
        | Command::Refuse { .. }
        | Command::Deliver { .. }
        | Command::RecordVisit { .. } => matches!(actor, Actor::Window),
        Command::Resubmit { .. } | Command::Withdraw => matches!(actor, Actor::Applicant),
        Command::Decide { .. } => matches!(actor, Actor::Reviewer { .. } | Actor::Admin),
        Command::IssueResult { .. } => matches!(actor, Actor::Reviewer { .. }),
        Command::Archive => matches!(actor, Actor::Window | Actor::Admin),
        Command::Extend { .. } => matches!(actor, Actor::Admin),
        Command::DeemAccept { .. } | Command::RecordDueChange { .. } => matches!(actor, Actor::System),
    }
}

fn allowed_from(cmd: &Command, case: &Case) -> bool {
    use CaseStatus::*;
    let s = case.status;
    match cmd {
        Command::Accept | Command::DeemAccept { .. } => s == Submitted,
        Command::RequestSupplement { .. } => matches!(s, Submitted | InProgress),
        Command::Resubmit { .. } => s == SupplementRequested,
        // After acceptance a case is decided, not refused.
        Command::Refuse { .. } => {
            s == Submitted || (s == SupplementRequested && case.resume_to == Some(Submitted))
        }
        Command::Decide { .. } | Command::Extend { .. } => s == InProgress,
        Command::IssueResult { .. } => matches!(s, InProgress | Completed),
        Command::Deliver { .. } => s == Completed,
        Command::Archive => matches!(s, Delivered | Refused),
        Command::Withdraw => matches!(s, Submitted | Accepted | SupplementRequested | InProgress),
        Command::RecordVisit { .. } => !s.is_terminal(),
        Command::RecordDueChange { .. } => {
            matches!(s, Submitted | Accepted | SupplementRequested | InProgress)
        }
    }
}

fn forbidden(action: &'static str, status: CaseStatus, actor: &Actor) -> TransitionError {
    TransitionError::Forbidden {
        action,
        status,
        actor: actor.label(),
    }
}

/// A reviewer acts only on their own department's sub-cases; an admin on any.
fn check_department(
    actor: &Actor,
    sub: &SubCase,
    action: &'static str,
    status: CaseStatus,
) -> Result<(), TransitionError> {
    match actor {
        Actor::Reviewer { department } if *department != sub.department => {
            Err(forbidden(action, status, actor))
        }
        _ => Ok(()),
    }
}

fn find_sub_case(case: &Case, id: i64) -> Result<usize, String> {
    case.sub_cases
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| format!("本件没有编号为 {id} 的子件"))
}

/// The notice's items, trimmed; one item per target, every reason given, and (once the
/// case is in progress) each asked for by a department that still has a pending sub-case.
fn check_notice(case: &Case, items: Vec<SupplementItem>) -> Result<Vec<SupplementItem>, String> {
    if items.is_empty() {
        return Err("补正告知必须一次性列明全部需要补正的事项，不能为空".into());
    }
    let in_progress = case.status == CaseStatus::InProgress;
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let n = n + 1;
        let target = item.target.trim().to_owned();
        if target.is_empty()
            || target
                .strip_prefix("materials.")
                .is_some_and(|c| c.trim().is_empty())
        {
            return Err(format!("第 {n} 项未指明需要补正的字段或材料"));
        }
        let Some(reason) = required(&item.reason) else {
            return Err(format!("补正事项 {target} 未说明补正原因"));
        };
        if !seen.insert(target.clone()) {
            return Err(format!("补正事项 {target} 重复列出，请合并为一项"));
        }
        let department = item
            .department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        match department {
            Some(d) if !case.sub_cases.iter().any(|s| s.department == d) => {
                return Err(format!("补正事项 {target} 的提出部门 {d} 不办理本件的任何子件"));
            }
            Some(d)
                if in_progress
                    && !case
                        .sub_cases
                        .iter()
                        .any(|s| s.department == d && s.status == SubStatus::Pending) =>
            {
                return Err(format!("部门 {d} 已审批完毕，不能再要求补正 {target}"));
            }
            None if in_progress => {
                return Err(format!("办理中的补正事项 {target} 必须注明提出补正的部门"));
            }
            _ => {}
        }
        out.push(SupplementItem {
            target,
            reason,
            department: department.map(str::to_owned),
        });
    }
    Ok(out)
}

fn required(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn close_pause(case: &mut Case, at: NaiveDateTime) {
    if let Some(last) = case.pauses.last_mut() {
        if last.1.is_none() {
            last.1 = Some(at);
        }
    }
    case.open_notice = None;
    case.resume_to = None;
}

fn list_sub_cases(case: &Case) -> String {
    case.sub_cases
        .iter()
        .map(|s| format!("{}（{}）", s.id, s.department))
        .collect::<Vec<_>>()
        .join("、")
}

fn push(case: &mut Case, at: NaiveDateTime, actor_label: &str, action: &str, to: CaseStatus, detail: String) {
    case.events.push(Event {
        at,
        actor_label: actor_label.to_owned(),
        action: action.to_owned(),
        from: case.status,
        to,
        detail,
    });
    case.status = to;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 27)
            .expect("date")
            .and_hms_opt(9, 30, 0)
            .expect("time")
    }

    fn later(minutes: i64) -> NaiveDateTime {
        t0() + chrono::Duration::minutes(minutes)
    }

    fn reviewer(department: &str) -> Actor {
        Actor::Reviewer {
            department: department.into(),
        }
    }

    fn new_case(channel: Channel) -> Case {
        Case::new(
            vec![(1, "公安".into()), (2, "民政".into()), (3, "公安".into())],
            channel,
            DeadlineKind::Licensing,
            t0(),
        )
        .expect("case")
    }

    /// Applies with the case's own version and a time one minute after its last event.
    fn step(case: &Case, actor: &Actor, cmd: Command) -> Result<Case, TransitionError> {
        let at = case.events.last().map_or(t0(), |e| e.at) + chrono::Duration::minutes(1);
        let next = apply(case, actor, cmd, at, case.version);
        if let Ok(n) = &next {
            assert_eq!(n.check_invariants(), Ok(()), "{n:#?}");
        }
        next
    }

    fn ok(case: &Case, actor: &Actor, cmd: Command) -> Case {
        match step(case, actor, cmd) {
            Ok(c) => c,
            Err(e) => panic!("expected success, got {e:?}: {}", e.message()),
        }
    }

    fn err(case: &Case, actor: &Actor, cmd: Command) -> TransitionError {
        match step(case, actor, cmd) {
            Ok(c) => panic!("expected an error, got status {}", c.status),
            Err(e) => e,
        }
    }

    fn item(target: &str, reason: &str, department: Option<&str>) -> SupplementItem {
        SupplementItem {
            target: target.into(),
            reason: reason.into(),
            department: department.map(Into::into),
        }
    }

    fn decide(sub_case: i64, approve: bool, opinion: &str) -> Command {
        Command::Decide {
            sub_case,
            approve,
            opinion: opinion.into(),
            result: None,
        }
    }

    fn in_progress() -> Case {
        ok(&new_case(Channel::Online), &Actor::Window, Command::Accept)
    }

    fn completed() -> Case {
        let c = in_progress();
        let c = ok(&c, &reviewer("公安"), decide(1, true, ""));
        let c = ok(&c, &reviewer("民政"), decide(2, true, ""));
        ok(&c, &reviewer("公安"), decide(3, false, "不符合条件"))
    }

    fn supplement_from_submitted() -> Case {
        let items = vec![
            item("materials.household", "户口簿首页缺失", None),
            item("name", "姓名与身份证不一致", Some("公安")),
        ];
        ok(
            &new_case(Channel::Online),
            &Actor::Window,
            Command::RequestSupplement { items },
        )
    }

    fn resubmit(targets: &[&str], in_person: bool) -> Command {
        Command::Resubmit {
            corrected: targets.iter().map(|t| (*t).to_owned()).collect(),
            in_person,
        }
    }

    fn actions(case: &Case) -> Vec<&str> {
        case.events.iter().map(|e| e.action.as_str()).collect()
    }

    #[test]
    fn status_strings_round_trip() {
        let strings = [
            "submitted",
            "accepted",
            "supplement_requested",
            "refused",
            "in_progress",
            "completed",
            "delivered",
            "archived",
            "withdrawn",
        ];
        let labels = [
            "已提交待受理",
            "已受理",
            "待补正",
            "不予受理",
            "办理中",
            "已办结",
            "已送达",
            "已归档",
            "已撤回",
        ];
        for ((s, l), status) in strings.iter().zip(labels).zip(CaseStatus::ALL) {
            assert_eq!(status.as_str(), *s);
            assert_eq!(status.label(), l);
            assert_eq!(CaseStatus::parse(s), Some(status));
        }
        for (s, l) in
            ["pending", "approved", "denied", "issued"]
                .iter()
                .zip(["待审批", "已同意", "不予批准", "已出证"])
        {
            let sub = SubStatus::parse(s).expect("sub status");
            assert_eq!(sub.as_str(), *s);
            assert_eq!(sub.label(), l);
        }
        assert_eq!(CaseStatus::parse("done"), None);
        assert_eq!(SubStatus::parse(""), None);
        assert_eq!(Channel::parse("window"), Some(Channel::Window));
        let terminal: Vec<_> = CaseStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [CaseStatus::Refused, CaseStatus::Archived, CaseStatus::Withdrawn]
        );
    }

    #[test]
    fn a_new_case_is_submitted_with_one_event_and_counts_a_counter_trip() {
        let online = new_case(Channel::Online);
        assert_eq!(online.status, CaseStatus::Submitted);
        assert_eq!(online.version, 1);
        assert_eq!(online.trips, 0);
        assert_eq!(actions(&online), ["submit"]);
        assert_eq!(online.events[0].actor_label, "申请人");
        assert!(online.sub_cases.iter().all(|s| s.status == SubStatus::Pending));
        assert_eq!(online.check_invariants(), Ok(()));
        let counter = new_case(Channel::Window);
        assert_eq!(counter.trips, 1);
        assert_eq!(counter.events[0].actor_label, "综窗人员");
        assert_eq!(counter.check_invariants(), Ok(()));
    }

    #[test]
    fn a_case_needs_distinct_sub_cases_with_departments() {
        let new = |subs: Vec<(i64, String)>| Case::new(subs, Channel::Online, DeadlineKind::Licensing, t0());
        assert_eq!(new(vec![]).map_err(|e| e.code()), Err("invalid"));
        assert!(new(vec![(1, "公安".into()), (1, "民政".into())]).is_err());
        assert!(new(vec![(1, " ".into())]).is_err());
    }

    #[test]
    fn accept_dispatches_at_once() {
        let before = new_case(Channel::Online);
        let snapshot = before.clone();
        let c = ok(&before, &Actor::Window, Command::Accept);
        assert_eq!(before, snapshot, "the input case is untouched");
        assert_eq!(c.status, CaseStatus::InProgress);
        assert_eq!(c.version, 2);
        assert_eq!(actions(&c), ["submit", "accept", "dispatch"]);
        assert_eq!(c.events[1].from, CaseStatus::Submitted);
        assert_eq!(c.events[1].to, CaseStatus::Accepted);
        assert_eq!(c.events[2].from, CaseStatus::Accepted);
        assert_eq!(c.events[2].to, CaseStatus::InProgress);
        assert_eq!(c.events[1].actor_label, "综窗人员");
        assert_eq!(c.accepted_at, Some(c.events[1].at));
        assert!(c.sub_cases.iter().all(|s| s.status == SubStatus::Pending));
    }

    #[test]
    fn only_the_window_accepts_and_only_a_submitted_case() {
        let c = new_case(Channel::Online);
        for actor in [Actor::Applicant, reviewer("公安"), Actor::Admin, Actor::System] {
            assert_eq!(err(&c, &actor, Command::Accept).code(), "forbidden");
        }
        let e = err(&in_progress(), &Actor::Window, Command::Accept);
        assert_eq!(
            e,
            TransitionError::NotAllowed {
                action: "accept",
                from: CaseStatus::InProgress
            }
        );
        assert_eq!(e.code(), "illegal_transition");
        assert!(
            e.message().contains("受理") && e.message().contains("办理中"),
            "{}",
            e.message()
        );
        let e = err(&supplement_from_submitted(), &Actor::Window, Command::Accept);
        assert_eq!(e.code(), "illegal_transition");
    }

    #[test]
    fn a_stale_version_is_refused_with_both_versions() {
        let c = new_case(Channel::Online);
        let e = apply(&c, &Actor::Window, Command::Accept, later(1), 7).expect_err("stale");
        assert_eq!(
            e,
            TransitionError::StaleVersion {
                action: "accept",
                status: CaseStatus::Submitted,
                expected: 7,
                actual: 1
            }
        );
        assert_eq!(e.code(), "stale_version");
        assert!(e.message().contains("受理") && e.message().contains("已提交待受理"));
        // Stale wins over every other problem.
        let e = apply(&c, &Actor::Applicant, Command::Archive, later(1), 0).expect_err("stale");
        assert_eq!(e.code(), "stale_version");
    }

    #[test]
    fn a_time_before_the_last_event_is_refused() {
        let c = new_case(Channel::Online);
        let e = apply(&c, &Actor::Window, Command::Accept, later(-1), 1).expect_err("earlier");
        assert_eq!(e.field(), Some("at"));
        assert!(apply(&c, &Actor::Window, Command::Accept, t0(), 1).is_ok());
    }

    #[test]
    fn a_supplement_notice_lists_everything_at_once_and_pauses_the_clock() {
        let c = supplement_from_submitted();
        assert_eq!(c.status, CaseStatus::SupplementRequested);
        assert_eq!(c.resume_to, Some(CaseStatus::Submitted));
        assert_eq!(c.open_notice.as_ref().map(Vec::len), Some(2));
        assert!(c.is_paused());
        assert_eq!(c.pauses, [(c.events[1].at, None)]);
        let last = c.events.last().expect("event");
        assert_eq!(last.action, "request_supplement");
        assert!(last.detail.contains("materials.household") && last.detail.contains("户口簿首页缺失"));
        assert!(last.detail.contains("name") && last.detail.contains("姓名与身份证不一致"));
    }

    #[test]
    fn a_supplement_notice_needs_items_reasons_and_distinct_targets() {
        let c = new_case(Channel::Online);
        let ask = |items| Command::RequestSupplement { items };
        let e = err(&c, &Actor::Window, ask(vec![]));
        assert_eq!((e.code(), e.field()), ("invalid", Some("items")));
        let e = err(
            &c,
            &Actor::Window,
            ask(vec![item("name", "不一致", None), item("photo", " ", None)]),
        );
        assert!(e.message().contains("photo"), "{}", e.message());
        let e = err(&c, &Actor::Window, ask(vec![item("", "缺", None)]));
        assert_eq!(e.code(), "invalid");
        let e = err(&c, &Actor::Window, ask(vec![item("materials.", "缺", None)]));
        assert_eq!(e.code(), "invalid");
        let e = err(
            &c,
            &Actor::Window,
            ask(vec![item("name", "a", None), item("name", "b", None)]),
        );
        assert!(e.message().contains("重复"), "{}", e.message());
        let e = err(&c, &Actor::Window, ask(vec![item("name", "a", Some("税务"))]));
        assert!(e.message().contains("税务"), "{}", e.message());
        let e = err(&c, &Actor::Applicant, ask(vec![item("name", "a", None)]));
        assert_eq!(e.code(), "forbidden");
    }

    #[test]
    fn a_department_asks_for_supplement_through_the_window_while_in_progress() {
        let c = in_progress();
        let e = err(
            &c,
            &Actor::Window,
            Command::RequestSupplement {
                items: vec![item("name", "a", None)],
            },
        );
        assert!(e.message().contains("部门"), "{}", e.message());
        let s = ok(
            &c,
            &Actor::Window,
            Command::RequestSupplement {
                items: vec![item("materials.marriage", "结婚证复印件不清晰", Some("民政"))],
            },
        );
        assert_eq!(s.resume_to, Some(CaseStatus::InProgress));
        // Deciding waits for the supplement.
        assert_eq!(
            err(&s, &reviewer("公安"), decide(1, true, "")).code(),
            "illegal_transition"
        );
        let back = ok(&s, &Actor::Applicant, resubmit(&["materials.marriage"], false));
        assert_eq!(back.status, CaseStatus::InProgress);
        assert!(!back.is_paused());
        // A department that has decided everything cannot ask any more.
        let d = ok(&back, &reviewer("民政"), decide(2, true, ""));
        let e = err(
            &d,
            &Actor::Window,
            Command::RequestSupplement {
                items: vec![item("name", "a", Some("民政"))],
            },
        );
        assert_eq!(e.code(), "invalid");
        // Not from a completed case.
        let e = err(
            &completed(),
            &Actor::Window,
            Command::RequestSupplement {
                items: vec![item("name", "a", Some("公安"))],
            },
        );
        assert_eq!(e.code(), "illegal_transition");
    }

    #[test]
    fn resubmit_must_correct_exactly_the_listed_items() {
        let c = supplement_from_submitted();
        let e = err(&c, &Actor::Applicant, resubmit(&["name"], false));
        assert_eq!(e.field(), Some("corrected"));
        assert!(e.message().contains("materials.household"), "{}", e.message());
        let e = err(
            &c,
            &Actor::Applicant,
            resubmit(&["name", "materials.household", "photo"], false),
        );
        assert!(e.message().contains("photo"), "{}", e.message());
        let e = err(&c, &Actor::Applicant, resubmit(&[], false));
        assert!(e.message().contains("name") && e.message().contains("materials.household"));
        assert_eq!(
            err(
                &c,
                &Actor::Window,
                resubmit(&["name", "materials.household"], false)
            )
            .code(),
            "forbidden"
        );
        let back = ok(
            &c,
            &Actor::Applicant,
            resubmit(&["materials.household", "name", "name"], false),
        );
        assert_eq!(back.status, CaseStatus::Submitted);
        assert_eq!(back.open_notice, None);
        assert_eq!(back.resume_to, None);
        assert_eq!(back.pauses.len(), 1);
        assert_eq!(back.pauses[0].1, Some(back.events.last().expect("event").at));
        assert_eq!(back.trips, 0);
        let in_person = ok(
            &c,
            &Actor::Applicant,
            resubmit(&["name", "materials.household"], true),
        );
        assert_eq!(in_person.trips, 1);
        assert_eq!(
            err(&back, &Actor::Applicant, resubmit(&["name"], false)).code(),
            "illegal_transition"
        );
    }

    #[test]
    fn refusal_needs_a_reason_and_happens_only_before_acceptance() {
        let c = new_case(Channel::Online);
        let refuse = |r: &str| Command::Refuse { reason: r.into() };
        let e = err(&c, &Actor::Window, refuse("  "));
        assert_eq!((e.code(), e.field()), ("invalid", Some("reason")));
        let r = ok(&c, &Actor::Window, refuse("不属于本机关职权范围"));
        assert_eq!(r.status, CaseStatus::Refused);
        assert!(r
            .events
            .last()
            .expect("event")
            .detail
            .contains("不属于本机关职权范围"));
        // From a pending 补正 before acceptance: the pause closes.
        let r = ok(&supplement_from_submitted(), &Actor::Window, refuse("逾期未补正"));
        assert_eq!(r.status, CaseStatus::Refused);
        assert!(!r.is_paused() && r.open_notice.is_none());
        // After acceptance a case is decided, not refused.
        let p = in_progress();
        assert_eq!(err(&p, &Actor::Window, refuse("x")).code(), "illegal_transition");
        let s = ok(
            &p,
            &Actor::Window,
            Command::RequestSupplement {
                items: vec![item("name", "a", Some("公安"))],
            },
        );
        assert_eq!(err(&s, &Actor::Window, refuse("x")).code(), "illegal_transition");
        assert_eq!(err(&c, &Actor::Admin, refuse("x")).code(), "forbidden");
    }

    #[test]
    fn a_reviewer_decides_only_their_department_and_the_last_decision_completes() {
        let c = in_progress();
        let e = err(&c, &reviewer("民政"), decide(1, true, ""));
        assert_eq!(e.code(), "forbidden");
        assert!(e.message().contains("民政"), "{}", e.message());
        assert_eq!(err(&c, &Actor::Window, decide(1, true, "")).code(), "forbidden");
        assert_eq!(
            err(&c, &reviewer("公安"), decide(9, true, "")).field(),
            Some("sub_case")
        );
        let c = ok(
            &c,
            &reviewer("公安"),
            Command::Decide {
                sub_case: 1,
                approve: true,
                opinion: "同意".into(),
                result: Some("证2026001".into()),
            },
        );
        assert_eq!(c.sub_cases[0].status, SubStatus::Approved);
        assert_eq!(c.sub_cases[0].result.as_deref(), Some("证2026001"));
        assert_eq!(c.status, CaseStatus::InProgress);
        let e = err(&c, &reviewer("公安"), decide(1, false, "改判"));
        assert!(matches!(
            e,
            TransitionError::SubNotAllowed {
                sub_case: 1,
                from: SubStatus::Approved,
                ..
            }
        ));
        assert_eq!(e.code(), "illegal_transition");
        let c = ok(&c, &Actor::Admin, decide(2, true, ""));
        assert_eq!(c.events.last().expect("event").actor_label, "管理员");
        let e = err(&c, &reviewer("公安"), decide(3, false, " "));
        assert_eq!(e.field(), Some("opinion"));
        let e = err(
            &c,
            &reviewer("公安"),
            Command::Decide {
                sub_case: 3,
                approve: false,
                opinion: "不符合".into(),
                result: Some("证1".into()),
            },
        );
        assert_eq!(e.field(), Some("result"));
        let e = err(
            &c,
            &reviewer("公安"),
            Command::Decide {
                sub_case: 3,
                approve: true,
                opinion: String::new(),
                result: Some(" ".into()),
            },
        );
        assert_eq!(e.field(), Some("result"));
        let done = ok(&c, &reviewer("公安"), decide(3, false, "不符合申请条件"));
        assert_eq!(done.status, CaseStatus::Completed);
        assert_eq!(done.sub_cases[2].opinion.as_deref(), Some("不符合申请条件"));
        let tail: Vec<_> = done.events.iter().rev().take(2).collect();
        assert_eq!(tail[1].action, "deny");
        assert_eq!(tail[0].action, "complete");
        assert_eq!(tail[0].actor_label, "系统");
        assert_eq!(
            (tail[0].from, tail[0].to),
            (CaseStatus::InProgress, CaseStatus::Completed)
        );
        assert_eq!(done.version, c.version + 1);
        assert_eq!(
            err(&done, &reviewer("公安"), decide(3, true, "")).code(),
            "illegal_transition"
        );
        assert_eq!(
            err(&new_case(Channel::Online), &reviewer("公安"), decide(1, true, "")).code(),
            "illegal_transition"
        );
    }

    #[test]
    fn issuing_a_result_follows_approval_in_the_same_department() {
        let c = completed();
        let issue = |id| Command::IssueResult { sub_case: id };
        assert_eq!(err(&c, &reviewer("民政"), issue(1)).code(), "forbidden");
        assert_eq!(err(&c, &Actor::Admin, issue(1)).code(), "forbidden");
        let e = err(&c, &reviewer("公安"), issue(3));
        assert!(matches!(
            e,
            TransitionError::SubNotAllowed {
                from: SubStatus::Denied,
                ..
            }
        ));
        let i = ok(&c, &reviewer("公安"), issue(1));
        assert_eq!(i.sub_cases[0].status, SubStatus::Issued);
        assert_eq!(i.status, CaseStatus::Completed);
        assert!(matches!(
            err(&i, &reviewer("公安"), issue(1)),
            TransitionError::SubNotAllowed {
                from: SubStatus::Issued,
                ..
            }
        ));
        // Also while other sub-cases are still pending.
        let p = ok(&in_progress(), &reviewer("民政"), decide(2, true, ""));
        assert_eq!(ok(&p, &reviewer("民政"), issue(2)).status, CaseStatus::InProgress);
        let pending = in_progress();
        assert!(matches!(
            err(&pending, &reviewer("公安"), issue(1)),
            TransitionError::SubNotAllowed {
                from: SubStatus::Pending,
                ..
            }
        ));
    }

    #[test]
    fn delivery_needs_a_completed_case_and_a_tracking_number_for_mail() {
        let c = completed();
        let mail = |no: &str| Command::Deliver {
            method: DeliveryMethod::Mail {
                tracking_no: no.into(),
            },
        };
        assert_eq!(err(&c, &Actor::Window, mail(" ")).field(), Some("tracking_no"));
        let d = ok(&c, &Actor::Window, mail("SF1234567890"));
        assert_eq!(d.status, CaseStatus::Delivered);
        assert_eq!(d.trips, c.trips);
        assert!(d.events.last().expect("event").detail.contains("SF1234567890"));
        let e = ok(
            &c,
            &Actor::Window,
            Command::Deliver {
                method: DeliveryMethod::ECertificate,
            },
        );
        assert_eq!(e.trips, c.trips);
        let p = ok(
            &c,
            &Actor::Window,
            Command::Deliver {
                method: DeliveryMethod::Pickup,
            },
        );
        assert_eq!(p.trips, c.trips + 1);
        assert_eq!(
            err(&in_progress(), &Actor::Window, mail("SF1")).code(),
            "illegal_transition"
        );
        assert_eq!(err(&c, &Actor::Admin, mail("SF1")).code(), "forbidden");
    }

    #[test]
    fn archive_follows_delivery_or_refusal() {
        let delivered = ok(
            &completed(),
            &Actor::Window,
            Command::Deliver {
                method: DeliveryMethod::ECertificate,
            },
        );
        assert_eq!(
            ok(&delivered, &Actor::Window, Command::Archive).status,
            CaseStatus::Archived
        );
        assert_eq!(
            ok(&delivered, &Actor::Admin, Command::Archive).status,
            CaseStatus::Archived
        );
        assert_eq!(
            err(&delivered, &reviewer("公安"), Command::Archive).code(),
            "forbidden"
        );
        let refused = ok(
            &new_case(Channel::Online),
            &Actor::Window,
            Command::Refuse {
                reason: "不属于受理范围".into(),
            },
        );
        let archived = ok(&refused, &Actor::Admin, Command::Archive);
        assert_eq!(archived.status, CaseStatus::Archived);
        assert_eq!(
            err(&archived, &Actor::Admin, Command::Archive).code(),
            "illegal_transition"
        );
        assert_eq!(
            err(&completed(), &Actor::Window, Command::Archive).code(),
            "illegal_transition"
        );
        let withdrawn = ok(&new_case(Channel::Online), &Actor::Applicant, Command::Withdraw);
        assert_eq!(
            err(&withdrawn, &Actor::Window, Command::Archive).code(),
            "illegal_transition"
        );
    }

    #[test]
    fn the_applicant_withdraws_before_completion() {
        let w = ok(&new_case(Channel::Online), &Actor::Applicant, Command::Withdraw);
        assert_eq!(w.status, CaseStatus::Withdrawn);
        let w = ok(&supplement_from_submitted(), &Actor::Applicant, Command::Withdraw);
        assert!(!w.is_paused() && w.open_notice.is_none() && w.resume_to.is_none());
        assert_eq!(
            ok(&in_progress(), &Actor::Applicant, Command::Withdraw).status,
            CaseStatus::Withdrawn
        );
        assert_eq!(
            err(&completed(), &Actor::Applicant, Command::Withdraw).code(),
            "illegal_transition"
        );
        assert_eq!(
            err(&in_progress(), &Actor::Window, Command::Withdraw).code(),
            "forbidden"
        );
    }

    #[test]
    fn one_extension_by_an_admin_within_the_cap_with_a_reason() {
        let c = in_progress();
        let extend = |d: u32, r: &str| Command::Extend {
            working_days: d,
            reason: r.into(),
        };
        assert_eq!(
            err(&c, &Actor::Window, extend(5, "需现场核查")).code(),
            "forbidden"
        );
        assert_eq!(
            err(&c, &reviewer("公安"), extend(5, "需现场核查")).code(),
            "forbidden"
        );
        assert_eq!(
            err(&c, &Actor::Admin, extend(11, "需现场核查")).field(),
            Some("working_days")
        );
        assert_eq!(
            err(&c, &Actor::Admin, extend(0, "需现场核查")).field(),
            Some("working_days")
        );
        assert_eq!(err(&c, &Actor::Admin, extend(5, "")).field(), Some("reason"));
        let x = ok(&c, &Actor::Admin, extend(10, "需现场核查"));
        assert_eq!(x.extension, Some((10, "需现场核查".into())));
        assert_eq!(x.status, CaseStatus::InProgress);
        assert!(x.events.last().expect("event").detail.contains("需现场核查"));
        assert_eq!(
            err(&x, &Actor::Admin, extend(1, "再延")).field(),
            Some("extension")
        );
        assert_eq!(
            err(&new_case(Channel::Online), &Actor::Admin, extend(5, "x")).code(),
            "illegal_transition"
        );
        let joint = Case {
            deadline_kind: DeadlineKind::JointLicensing,
            ..c.clone()
        };
        assert_eq!(
            ok(&joint, &Actor::Admin, extend(15, "联合踏勘"))
                .extension
                .map(|e| e.0),
            Some(15)
        );
        assert!(step(&joint, &Actor::Admin, extend(16, "联合踏勘")).is_err());
    }

    #[test]
    fn visits_count_trips_until_the_case_ends() {
        let c = new_case(Channel::Online);
        let visit = |r| Command::RecordVisit { reason: r };
        let v = ok(&c, &Actor::Window, visit(VisitReason::SupplementInPerson));
        assert_eq!(v.trips, 1);
        assert_eq!(v.status, CaseStatus::Submitted);
        assert_eq!(v.version, 2);
        assert_eq!(actions(&v), ["submit", "record_visit"]);
        assert_eq!(
            err(&c, &Actor::Applicant, visit(VisitReason::Pickup)).code(),
            "forbidden"
        );
        let w = ok(&c, &Actor::Applicant, Command::Withdraw);
        assert_eq!(
            err(&w, &Actor::Window, visit(VisitReason::Pickup)).code(),
            "illegal_transition"
        );
    }

    #[test]
    fn deemed_acceptance_after_the_deadline_without_a_notice() {
        let c = new_case(Channel::Online);
        let deadline = NaiveDate::from_ymd_opt(2026, 12, 4).expect("date");
        let day_after = deadline.succ_opt().expect("date");
        assert!(!deemed_accepted(&c, deadline, deadline));
        assert!(deemed_accepted(&c, day_after, deadline));
        assert!(!deemed_accepted(&in_progress(), day_after, deadline));
        let s = supplement_from_submitted();
        assert!(!deemed_accepted(&s, day_after, deadline));
        let back = ok(
            &s,
            &Actor::Applicant,
            resubmit(&["name", "materials.household"], false),
        );
        assert_eq!(back.status, CaseStatus::Submitted);
        assert!(
            !deemed_accepted(&back, day_after, deadline),
            "a notice was given in time"
        );

        let at = day_after.and_hms_opt(0, 5, 0).expect("time");
        let deem = Command::DeemAccept { deadline };
        let e = apply(&c, &Actor::Window, deem.clone(), at, 1).expect_err("not system");
        assert_eq!(e.code(), "forbidden");
        // 15:00 UTC is 23:00 Beijing time: still the deadline day where the centre is.
        let early = deadline.and_hms_opt(15, 0, 0).expect("time");
        let e = apply(&c, &Actor::System, deem.clone(), early, 1).expect_err("too early");
        assert_eq!(e.field(), Some("deadline"));
        // 16:30 UTC is already 00:30 the next day in Beijing: past the deadline.
        let after_midnight_beijing = deadline.and_hms_opt(16, 30, 0).expect("time");
        assert!(apply(&c, &Actor::System, deem.clone(), after_midnight_beijing, 1).is_ok());
        let e = apply(&c, &Actor::System, deem.clone(), early, 1).expect_err("too early");
        assert_eq!(e.field(), Some("deadline"));
        let d = apply(&c, &Actor::System, deem.clone(), at, 1).expect("deemed");
        assert_eq!(d.check_invariants(), Ok(()));
        assert_eq!(d.status, CaseStatus::InProgress);
        assert_eq!(d.accepted_at, Some(c.submitted_at), "accepted as of receipt");
        let last = d.events.last().expect("event");
        assert_eq!(
            (last.action.as_str(), last.actor_label.as_str()),
            ("deemed_accept", "系统")
        );
        assert_eq!(
            (last.from, last.to),
            (CaseStatus::Submitted, CaseStatus::InProgress)
        );
        assert!(last.detail.contains("第三十二条"));
        let e = apply(&back, &Actor::System, deem, at, back.version).expect_err("notice given");
        assert_eq!(e.code(), "invalid");
    }

    #[test]
    fn terminal_cases_refuse_everything_but_archiving_a_refusal() {
        let withdrawn = ok(&new_case(Channel::Online), &Actor::Applicant, Command::Withdraw);
        let refused = ok(
            &new_case(Channel::Online),
            &Actor::Window,
            Command::Refuse { reason: "x".into() },
        );
        let archived = ok(&refused, &Actor::Window, Command::Archive);
        let commands = [
            Command::Accept,
            Command::RequestSupplement {
                items: vec![item("name", "a", None)],
            },
            resubmit(&["name"], false),
            Command::Refuse { reason: "x".into() },
            decide(1, true, ""),
            Command::IssueResult { sub_case: 1 },
            Command::Deliver {
                method: DeliveryMethod::Pickup,
            },
            Command::Withdraw,
            Command::Extend {
                working_days: 1,
                reason: "x".into(),
            },
            Command::RecordVisit {
                reason: VisitReason::Pickup,
            },
            Command::DeemAccept {
                deadline: NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"),
            },
        ];
        let actors = [
            Actor::Applicant,
            Actor::Window,
            reviewer("公安"),
            Actor::Admin,
            Actor::System,
        ];
        for case in [&withdrawn, &refused, &archived] {
            for cmd in &commands {
                for actor in &actors {
                    assert!(
                        step(case, actor, cmd.clone()).is_err(),
                        "{cmd:?} on {}",
                        case.status
                    );
                }
            }
        }
        for case in [&withdrawn, &archived] {
            for actor in &actors {
                assert!(step(case, actor, Command::Archive).is_err());
            }
        }
    }

    #[test]
    fn messages_are_chinese_and_name_the_action_and_status() {
        let c = completed();
        let errors = [
            err(&c, &Actor::Applicant, Command::Withdraw),
            err(&c, &Actor::Applicant, Command::Archive),
            apply(&c, &Actor::Window, Command::Archive, later(999), 0).expect_err("stale"),
            err(
                &c,
                &Actor::Window,
                Command::Deliver {
                    method: DeliveryMethod::Mail {
                        tracking_no: String::new(),
                    },
                },
            ),
            err(&c, &reviewer("公安"), Command::IssueResult { sub_case: 3 }),
        ];
        let codes: Vec<_> = errors.iter().map(TransitionError::code).collect();
        assert_eq!(
            codes,
            [
                "illegal_transition",
                "forbidden",
                "stale_version",
                "invalid",
                "illegal_transition"
            ]
        );
        for e in &errors {
            let m = e.message();
            assert!(m.contains("已办结"), "{m}");
            assert!(m.contains(action_label(e.action())), "{m}");
            assert_eq!(e.to_string(), m);
        }
    }

    #[test]
    fn a_full_journey_keeps_a_readable_log() {
        let c = new_case(Channel::Window);
        let c = ok(
            &c,
            &Actor::Window,
            Command::RequestSupplement {
                items: vec![item("materials.photo", "照片不符合要求", None)],
            },
        );
        let c = ok(&c, &Actor::Applicant, resubmit(&["materials.photo"], true));
        let c = ok(&c, &Actor::Window, Command::Accept);
        let c = ok(
            &c,
            &Actor::Admin,
            Command::Extend {
                working_days: 5,
                reason: "需部门联合核查".into(),
            },
        );
        let c = ok(&c, &reviewer("公安"), decide(1, true, ""));
        let c = ok(&c, &reviewer("公安"), decide(3, true, ""));
        let c = ok(&c, &reviewer("民政"), decide(2, true, ""));
        let c = ok(&c, &reviewer("民政"), Command::IssueResult { sub_case: 2 });
        let c = ok(
            &c,
            &Actor::Window,
            Command::Deliver {
                method: DeliveryMethod::Pickup,
            },
        );
        let c = ok(&c, &Actor::Window, Command::Archive);
        assert_eq!(c.status, CaseStatus::Archived);
        assert_eq!(c.trips, 3);
        assert_eq!(c.version, 11);
        assert_eq!(
            actions(&c),
            [
                "submit",
                "request_supplement",
                "resubmit",
                "accept",
                "dispatch",
                "extend",
                "approve",
                "approve",
                "approve",
                "complete",
                "issue_result",
                "deliver",
                "archive"
            ]
        );
        assert!(c
            .events
            .iter()
            .all(|e| !e.actor_label.is_empty() && !e.detail.is_empty()));
    }

    // ---- property tests: random command sequences by random actors ----

    const DEPARTMENTS: [&str; 3] = ["公安", "民政", "人社"];
    const TARGETS: [&str; 5] = ["name", "id_number", "materials.household", "materials.photo", ""];

    #[derive(Clone, Debug)]
    enum Op {
        Accept,
        Supplement {
            items: Vec<(usize, bool, Option<usize>)>,
        },
        Resubmit {
            mode: u8,
            in_person: bool,
        },
        Refuse {
            blank: bool,
        },
        Decide {
            idx: usize,
            approve: bool,
            blank_opinion: bool,
            cert: bool,
        },
        Issue {
            idx: usize,
        },
        Deliver {
            kind: u8,
            blank: bool,
        },
        Archive,
        Withdraw,
        Extend {
            days: u32,
            blank: bool,
        },
        Visit {
            kind: u8,
        },
        DeemAccept {
            late: bool,
        },
    }

    #[derive(Clone, Debug)]
    struct Step {
        op: Op,
        /// None: the actor the command needs; Some: any actor.
        actor: Option<usize>,
        /// Some(k): the caller read the case k versions off.
        stale: Option<u32>,
        minutes: i64,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Accept),
            2 => prop::collection::vec((0..TARGETS.len(), prop::bool::weighted(0.1), prop::option::of(0usize..4)), 0..4)
                .prop_map(|items| Op::Supplement { items }),
            3 => (0u8..4, any::<bool>()).prop_map(|(mode, in_person)| Op::Resubmit { mode, in_person }),
            1 => prop::bool::weighted(0.2).prop_map(|blank| Op::Refuse { blank }),
            6 => (0usize..5, prop::bool::weighted(0.7), prop::bool::weighted(0.2), any::<bool>())
                .prop_map(|(idx, approve, blank_opinion, cert)| Op::Decide { idx, approve, blank_opinion, cert }),
            2 => (0usize..5).prop_map(|idx| Op::Issue { idx }),
            2 => (0u8..3, prop::bool::weighted(0.2)).prop_map(|(kind, blank)| Op::Deliver { kind, blank }),
            2 => Just(Op::Archive),
            1 => Just(Op::Withdraw),
            1 => (0u32..18, prop::bool::weighted(0.2)).prop_map(|(days, blank)| Op::Extend { days, blank }),
            1 => (0u8..3).prop_map(|kind| Op::Visit { kind }),
            1 => any::<bool>().prop_map(|late| Op::DeemAccept { late }),
        ]
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = (
            op(),
            prop::option::weighted(0.25, 0usize..6),
            prop::option::weighted(0.1, 1u32..u32::MAX),
            prop_oneof![9 => 0i64..4000, 1 => -120i64..0],
        )
            .prop_map(|(op, actor, stale, minutes)| Step {
                op,
                actor,
                stale,
                minutes,
            });
        prop::collection::vec(step, 1..40)
    }

    fn sub_cases() -> impl Strategy<Value = Vec<(i64, String)>> {
        prop::collection::vec(0..DEPARTMENTS.len(), 1..5).prop_map(|ds| {
            ds.into_iter()
                .enumerate()
                .map(|(i, d)| (i as i64 + 1, DEPARTMENTS[d].to_owned()))
                .collect()
        })
    }

    /// The sub-case an index points at: one of the case's, or (past the end) an unknown id.
    fn pick_sub(case: &Case, idx: usize) -> (i64, String) {
        case.sub_cases
            .get(idx)
            .map_or((99, "公安".to_owned()), |s| (s.id, s.department.clone()))
    }

    /// Turns an abstract step into a command and an actor for the current case.
    fn concretise(case: &Case, step: &Step, at: NaiveDateTime) -> (Actor, Command) {
        let (right, cmd) = match &step.op {
            Op::Accept => (Actor::Window, Command::Accept),
            Op::Supplement { items } => {
                let departments: Vec<&str> = case.sub_cases.iter().map(|s| s.department.as_str()).collect();
                let items = items
                    .iter()
                    .map(|(t, blank, d)| SupplementItem {
                        target: TARGETS[*t].to_owned(),
                        reason: if *blank {
                            String::new()
                        } else {
                            "材料不全".into()
                        },
                        department: d.map(|i| departments.get(i).copied().unwrap_or("税务").to_owned()),
                    })
                    .collect();
                (Actor::Window, Command::RequestSupplement { items })
            }
            Op::Resubmit { mode, in_person } => {
                let mut corrected: Vec<String> = case
                    .open_notice
                    .iter()
                    .flatten()
                    .map(|i| i.target.clone())
                    .collect();
                match mode {
                    2 => {
                        corrected.pop();
                    }
                    3 => corrected.push("unknown_field".into()),
                    _ => {}
                }
                (
                    Actor::Applicant,
                    Command::Resubmit {
                        corrected,
                        in_person: *in_person,
                    },
                )
            }
            Op::Refuse { blank } => (
                Actor::Window,
                Command::Refuse {
                    reason: if *blank {
                        " ".into()
                    } else {
                        "不属于本机关职权范围".into()
                    },
                },
            ),
            Op::Decide {
                idx,
                approve,
                blank_opinion,
                cert,
            } => {
                let (id, department) = pick_sub(case, *idx);
                (
                    Actor::Reviewer { department },
                    Command::Decide {
                        sub_case: id,
                        approve: *approve,
                        opinion: if *blank_opinion {
                            String::new()
                        } else {
                            "经审查".into()
                        },
                        result: cert.then(|| format!("证{id}")),
                    },
                )
            }
            Op::Issue { idx } => {
                let (id, department) = pick_sub(case, *idx);
                (
                    Actor::Reviewer { department },
                    Command::IssueResult { sub_case: id },
                )
            }
            Op::Deliver { kind, blank } => {
                let method = match kind {
                    0 => DeliveryMethod::Mail {
                        tracking_no: if *blank { String::new() } else { "SF1".into() },
                    },
                    1 => DeliveryMethod::ECertificate,
                    _ => DeliveryMethod::Pickup,
                };
                (Actor::Window, Command::Deliver { method })
            }
            Op::Archive => (Actor::Window, Command::Archive),
            Op::Withdraw => (Actor::Applicant, Command::Withdraw),
            Op::Extend { days, blank } => (
                Actor::Admin,
                Command::Extend {
                    working_days: *days,
                    reason: if *blank {
                        String::new()
                    } else {
                        "需现场核查".into()
                    },
                },
            ),
            Op::Visit { kind } => {
                let reason = [
                    VisitReason::CounterSubmission,
                    VisitReason::SupplementInPerson,
                    VisitReason::Pickup,
                ][usize::from(*kind) % 3];
                (Actor::Window, Command::RecordVisit { reason })
            }
            Op::DeemAccept { late } => {
                let today = crate::clock::beijing_date(at);
                let deadline = if *late {
                    today.pred_opt().expect("date")
                } else {
                    today
                };
                (Actor::System, Command::DeemAccept { deadline })
            }
        };
        let actor = match step.actor {
            None => right,
            Some(i) => [
                Actor::Applicant,
                Actor::Window,
                Actor::Admin,
                Actor::System,
                reviewer("公安"),
                reviewer("税务"),
            ][i]
                .clone(),
        };
        (actor, cmd)
    }

    /// The reference transition table: every (event, from, to) the machine may log.
    fn legal_edge(action: &str, from: CaseStatus, to: CaseStatus) -> bool {
        use CaseStatus::*;
        match action {
            "accept" => (from, to) == (Submitted, Accepted),
            "dispatch" => (from, to) == (Accepted, InProgress),
            "request_supplement" => matches!(from, Submitted | InProgress) && to == SupplementRequested,
            "resubmit" => from == SupplementRequested && matches!(to, Submitted | InProgress),
            "refuse" => matches!(from, Submitted | SupplementRequested) && to == Refused,
            "approve" | "deny" => (from, to) == (InProgress, InProgress),
            "complete" => (from, to) == (InProgress, Completed),
            "issue_result" => matches!(from, InProgress | Completed) && to == from,
            "deliver" => (from, to) == (Completed, Delivered),
            "archive" => matches!(from, Delivered | Refused) && to == Archived,
            "withdraw" => {
                matches!(from, Submitted | Accepted | SupplementRequested | InProgress) && to == Withdrawn
            }
            "extend" => (from, to) == (InProgress, InProgress),
            "record_visit" => !from.is_terminal() && to == from,
            "deemed_accept" => (from, to) == (Submitted, InProgress),
            _ => false,
        }
    }

    /// Runs the steps and checks every property after every step; returns the statuses and
    /// event actions seen (for the coverage test).
    fn run(
        subs: Vec<(i64, String)>,
        channel: Channel,
        steps: &[Step],
    ) -> Result<(BTreeSet<CaseStatus>, BTreeSet<String>), TestCaseError> {
        let mut case = Case::new(subs, channel, DeadlineKind::Licensing, t0()).expect("case");
        let mut seen = BTreeSet::from([case.status]);
        let mut done = BTreeSet::new();
        prop_assert_eq!(case.check_invariants(), Ok(()));
        for step in steps {
            let last_at = case.events.last().map_or(t0(), |e| e.at);
            let at = last_at + chrono::Duration::minutes(step.minutes);
            let (actor, cmd) = concretise(&case, step, at);
            let version = match step.stale {
                Some(k) => case.version.wrapping_add(k),
                None => case.version,
            };
            let before = case.clone();
            let result = apply(&case, &actor, cmd.clone(), at, version);
            prop_assert_eq!(&case, &before, "the input case is never changed");
            let next = match result {
                Err(e) => {
                    if step.stale.is_some() {
                        prop_assert_eq!(
                            e,
                            TransitionError::StaleVersion {
                                action: cmd.action(),
                                status: case.status,
                                expected: version,
                                actual: case.version
                            },
                            "stale versions are always refused"
                        );
                    } else {
                        prop_assert!(!e.message().is_empty());
                        prop_assert_eq!(e.status(), case.status);
                    }
                    continue;
                }
                Ok(next) => next,
            };
            prop_assert!(step.stale.is_none(), "a stale version was accepted: {:?}", cmd);
            // Version: exactly one per success.
            prop_assert_eq!(next.version, case.version + 1);
            // Terminal statuses stay, except Refused → Archived.
            if case.status.is_terminal() {
                prop_assert_eq!(
                    (case.status, next.status),
                    (CaseStatus::Refused, CaseStatus::Archived)
                );
            }
            // The log only grows, and its last event's `to` is the status.
            prop_assert!(next.events.len() > case.events.len());
            prop_assert_eq!(&next.events[..case.events.len()], &case.events[..]);
            prop_assert_eq!(next.events.last().map(|e| e.to), Some(next.status));
            for e in &next.events[case.events.len()..] {
                prop_assert!(legal_edge(&e.action, e.from, e.to), "illegal edge {:?}", e);
                prop_assert_eq!(e.at, at);
                prop_assert!(!e.actor_label.is_empty() && !e.detail.is_empty());
                done.insert(e.action.clone());
            }
            // Sub-cases are never lost, duplicated or moved to another department.
            let ids = |c: &Case| -> Vec<(i64, String)> {
                c.sub_cases.iter().map(|s| (s.id, s.department.clone())).collect()
            };
            prop_assert_eq!(ids(&next), ids(&case));
            // A decision is never undone.
            for (old, new) in case.sub_cases.iter().zip(&next.sub_cases) {
                prop_assert!(!old.status.is_decided() || new.status.is_decided());
            }
            // Trips never decrease.
            prop_assert!(next.trips >= case.trips);
            // Completed means every sub-case decided.
            if next.status == CaseStatus::Completed {
                prop_assert!(next.all_decided());
            }
            // Pauses: earlier ones untouched except closing the open one; only the last may
            // be open, and it is open exactly while SupplementRequested.
            prop_assert!(next.pauses.len() >= case.pauses.len());
            for (old, new) in case.pauses.iter().zip(&next.pauses) {
                prop_assert_eq!(old.0, new.0);
                prop_assert!(old.1.is_none() || old.1 == new.1);
            }
            if let Some((_, earlier)) = next.pauses.split_last() {
                prop_assert!(earlier.iter().all(|p| p.1.is_some()));
            }
            prop_assert_eq!(
                next.status == CaseStatus::SupplementRequested,
                matches!(next.pauses.last(), Some((_, None)))
            );
            if case.status == CaseStatus::SupplementRequested
                && next.status != CaseStatus::SupplementRequested
            {
                prop_assert!(
                    next.status == CaseStatus::Withdrawn
                        || next.status == CaseStatus::Refused
                        || Some(next.status) == case.resume_to
                );
            }
            // At most one extension, and never changed once given.
            if case.extension.is_some() {
                prop_assert_eq!(&next.extension, &case.extension);
            }
            if let Some((days, _)) = &next.extension {
                prop_assert!((1..=next.deadline_kind.extension_cap()).contains(days));
            }
            // The whole-case invariants.
            prop_assert_eq!(next.check_invariants(), Ok(()));
            // Replaying the same command on the old version after success is stale.
            let replay = apply(&next, &actor, cmd, at, case.version);
            prop_assert_eq!(replay.map_err(|e| e.code()).err(), Some("stale_version"));
            seen.insert(next.status);
            case = next;
        }
        Ok((seen, done))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn random_command_sequences_keep_every_invariant(
            subs in sub_cases(),
            window in any::<bool>(),
            steps in steps(),
        ) {
            let channel = if window { Channel::Window } else { Channel::Online };
            run(subs, channel, &steps)?;
        }

        #[test]
        fn any_stale_version_is_refused_whatever_the_command(
            subs in sub_cases(),
            steps in steps(),
            probe in op(),
            actor in prop::option::of(0usize..6),
            off in 1u32..u32::MAX,
        ) {
            // Walk to some reachable state with the commands' own actors and versions…
            let mut case = Case::new(subs, Channel::Online, DeadlineKind::Licensing, t0()).expect("case");
            for s in &steps {
                let at = case.events.last().map_or(t0(), |e| e.at) + chrono::Duration::minutes(s.minutes.abs());
                let (a, c) = concretise(&case, &Step { actor: None, ..s.clone() }, at);
                if let Ok(next) = apply(&case, &a, c, at, case.version) {
                    case = next;
                }
            }
            // …then any command, any actor, any wrong version.
            let at = case.events.last().map_or(t0(), |e| e.at);
            let probe = Step { op: probe, actor, stale: None, minutes: 0 };
            let (a, c) = concretise(&case, &probe, at);
            let wrong = case.version.wrapping_add(off);
            let e = apply(&case, &a, c, at, wrong).expect_err("stale");
            prop_assert_eq!(e.code(), "stale_version");
        }
    }

    /// The generator is worth something only if it reaches every resting status and every
    /// kind of event.
    #[test]
    fn the_random_sequences_reach_every_status_and_action() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;

        let mut runner = TestRunner::deterministic();
        let strategy = (sub_cases(), steps());
        let (mut statuses, mut actions) = (BTreeSet::new(), BTreeSet::new());
        for _ in 0..600 {
            let (subs, steps) = strategy.new_tree(&mut runner).expect("tree").current();
            let (s, a) = run(subs, Channel::Online, &steps).expect("properties hold");
            statuses.extend(s);
            actions.extend(a);
        }
        let resting: BTreeSet<_> = CaseStatus::ALL
            .into_iter()
            .filter(|s| *s != CaseStatus::Accepted)
            .collect();
        assert_eq!(statuses, resting, "Accepted is only ever passed through");
        let all: BTreeSet<String> = [
            "accept",
            "dispatch",
            "request_supplement",
            "resubmit",
            "refuse",
            "approve",
            "deny",
            "complete",
            "issue_result",
            "deliver",
            "archive",
            "withdraw",
            "extend",
            "record_visit",
            "deemed_accept",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(actions, all);
    }
}
