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
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
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
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
            Self::Reviewer { .. } => "部门审批人员".into(),
            Self::Admin => "管理员".into(),
            Self::System => "系统".into(),
        }
    }
}

/// One item of a 补正 notice.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplementItem {
    /// A form field key, or `materials.<code>` for a material.
    pub target: String,
    pub reason: String,
    /// The department that asks for it (required once the case is in progress).
    pub department: Option<String>,
    /// The field's or material's name as the applicant reads it; the timeline is written
    /// with it. Empty in notices written before names were kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

impl SupplementItem {
    /// The name to show: the label, or the target for a notice without one.
    pub fn title(&self) -> &str {
        if self.label.is_empty() {
            &self.target
        } else {
            &self.label
        }
    }
}

/// How the result reaches the applicant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Mail { tracking_no: String },
    ECertificate,
    Pickup,
}

impl DeliveryMethod {
    /// The method named by its code (`mail`, `e_certificate`, `pickup`); the tracking
    /// number is kept for mail only.
    pub fn parse(code: &str, tracking_no: String) -> Option<Self> {
        match code {
            "mail" => Some(Self::Mail { tracking_no }),
            "e_certificate" => Some(Self::ECertificate),
            "pickup" => Some(Self::Pickup),
            _ => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Mail { .. } => "邮寄送达",
            Self::ECertificate => "电子证照送达",
            Self::Pickup => "窗口领取",
        }
    }
}

/// Why the applicant came to the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Applicant: SupplementRequested → the status before the notice. Whether the papers were
    /// handed in at the centre (a trip) is not the applicant's to say: the window clerk who
    /// received them records it ([`Command::RecordVisit`]).
    Resubmit { corrected: Vec<String> },
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

/// The part an event of one department's part is about (a decision, a certificate issued):
/// the part recorded with the event, or for events recorded before parts were, read from
/// the detail then written (`子件 {id}（…`). `Some(None)` when such an event's part cannot
/// be known, `None` for an event of the whole case. Reviewers of other departments are not
/// shown these events.
pub fn event_part(action: &str, detail: &str, part: Option<i64>) -> Option<Option<i64>> {
    if !matches!(action, "approve" | "deny" | "issue_result") {
        return None;
    }
    Some(part.or_else(|| {
        detail
            .strip_prefix("子件 ")
            .and_then(|rest| rest.split('（').next())
            .and_then(|id| id.trim().parse().ok())
    }))
}

/// One department's part of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubCase {
    pub id: i64,
    pub department: String,
    pub status: SubStatus,
    pub opinion: Option<String>,
    /// The certificate number, if one was issued.
    pub result: Option<String>,
    /// The item's and the department's names, which the timeline is written with. Empty
    /// in cases stored before names were kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub item_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub department_name: String,
}

impl SubCase {
    /// How the timeline names this part: "出生医学证明（区卫生健康局）".
    pub fn title(&self) -> String {
        if self.item_name.is_empty() {
            format!("子件 {}（{}）", self.id, self.department_title())
        } else {
            format!("{}（{}）", self.item_name, self.department_title())
        }
    }

    /// The department's name, or its code in a case stored before names were kept.
    pub fn department_title(&self) -> &str {
        if self.department_name.is_empty() {
            &self.department
        } else {
            &self.department_name
        }
    }
}

/// One part of a new case: its sub-case id, its department, and the names people read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPart {
    pub id: i64,
    pub department: String,
    pub item_name: String,
    pub department_name: String,
}

impl From<(i64, String)> for NewPart {
    /// A part known only by its id and department code (tests, demo data without names).
    fn from((id, department): (i64, String)) -> Self {
        Self {
            id,
            department,
            item_name: String::new(),
            department_name: String::new(),
        }
    }
}

/// One entry of the append-only case log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    #[serde(with = "crate::clock::rfc3339")]
    pub at: NaiveDateTime,
    /// A role label such as "综窗人员", never a person's name.
    pub actor_label: String,
    pub action: String,
    pub from: CaseStatus,
    pub to: CaseStatus,
    /// Chinese text shown in the case timeline (reasons, opinions, counts).
    pub detail: String,
    /// The part a decision or a certificate is about; reviewers see only their parts' events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<i64>,
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
    /// A department's name as this case knows it, or its code when the case does not.
    pub fn department_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.sub_cases
            .iter()
            .find(|s| s.department == code)
            .map_or(code, SubCase::department_title)
    }

    /// A freshly submitted case: status Submitted, version 1, every sub-case pending, one
    /// `submit` event. A counter submission (Channel::Window) counts as one trip.
    /// There must be at least one part, with distinct ids and non-empty departments.
    pub fn new<P: Into<NewPart>>(
        sub_cases: Vec<P>,
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
        let sub_cases: Vec<NewPart> = sub_cases.into_iter().map(Into::into).collect();
        let mut ids = BTreeSet::new();
        for NewPart { id, department, .. } in &sub_cases {
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
                .map(|p| SubCase {
                    id: p.id,
                    department: p.department.trim().to_owned(),
                    status: SubStatus::Pending,
                    opinion: None,
                    result: None,
                    item_name: p.item_name,
                    department_name: p.department_name,
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
                part: None,
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
    let c = Step {
        case,
        actor,
        action,
        from,
        at,
        label: actor_label(case, actor),
    };
    if let Some(last) = case.events.last() {
        if at < last.at {
            return Err(c.invalid("at", format!("操作时间 {at} 早于上一次记录的时间 {}", last.at)));
        }
    }
    let mut next = case.clone();
    next.version = case
        .version
        .checked_add(1)
        .ok_or_else(|| c.invalid("version", "版本号已达上限".into()))?;
    match cmd {
        Command::Accept => accept(&c, &mut next)?,
        Command::RequestSupplement { items } => request_supplement(&c, &mut next, items)?,
        Command::Resubmit { corrected } => resubmit(&c, &mut next, corrected)?,
        Command::Refuse { reason } => refuse(&c, &mut next, reason)?,
        Command::Decide {
            sub_case,
            approve,
            opinion,
            result,
        } => decide(&c, &mut next, sub_case, approve, opinion, result)?,
        Command::IssueResult { sub_case } => issue_result(&c, &mut next, sub_case)?,
        Command::Deliver { method } => deliver(&c, &mut next, method)?,
        Command::Archive => archive(&c, &mut next)?,
        Command::Withdraw => withdraw(&c, &mut next)?,
        Command::Extend { working_days, reason } => extend(&c, &mut next, working_days, reason)?,
        Command::RecordVisit { reason } => record_visit(&c, &mut next, reason)?,
        Command::RecordDueChange {
            from: old,
            to,
            reason,
        } => record_due_change(&c, &mut next, old, to, reason)?,
        Command::DeemAccept { deadline } => deem_accept(&c, &mut next, deadline)?,
    }
    Ok(next)
}

/// What every command's step sees of the transition under way.
struct Step<'a> {
    case: &'a Case,
    actor: &'a Actor,
    action: &'static str,
    from: CaseStatus,
    at: NaiveDateTime,
    label: String,
}

impl Step<'_> {
    fn invalid(&self, field: &'static str, message: String) -> TransitionError {
        TransitionError::Invalid {
            action: self.action,
            status: self.from,
            field,
            message,
        }
    }
}

/// `Command::Accept`: The window accepts: the clock starts and every part goes to its department.
fn accept(c: &Step<'_>, next: &mut Case) -> Result<(), TransitionError> {
    next.accepted_at = Some(c.at);
    let detail = match c.actor {
        Actor::System => "智能审批：申请信息经数据比对符合规则，系统自动受理",
        _ => "材料齐全、符合法定形式，予以受理",
    };
    push(
        next,
        c.at,
        &c.label,
        "accept",
        CaseStatus::Accepted,
        detail.into(),
    );
    for s in &mut next.sub_cases {
        s.status = SubStatus::Pending;
    }
    let detail = format!(
        "分送 {} 个部门办理：{}",
        next.sub_cases.len(),
        list_sub_cases(next)
    );
    push(next, c.at, &c.label, "dispatch", CaseStatus::InProgress, detail);
    Ok(())
}

/// `Command::RequestSupplement`: One consolidated 补正 notice: the clock pauses until the applicant answers.
fn request_supplement(
    c: &Step<'_>,
    next: &mut Case,
    items: Vec<SupplementItem>,
) -> Result<(), TransitionError> {
    let items = check_notice(c.case, items).map_err(|m| c.invalid("items", m))?;
    let summary = items
        .iter()
        .map(|i| match &i.department {
            Some(d) => format!("{}：{}（{}提出）", i.title(), i.reason, c.case.department_name(d)),
            None => format!("{}：{}", i.title(), i.reason),
        })
        .collect::<Vec<_>>()
        .join("；");
    let nth = c.case.pauses.len() + 1;
    let detail = format!(
        "一次性告知补正 {} 项（第 {nth} 次告知）：{summary}；办理时限暂停计算",
        items.len()
    );
    next.open_notice = Some(items);
    next.resume_to = Some(c.from);
    next.pauses.push((c.at, None));
    push(
        next,
        c.at,
        &c.label,
        "request_supplement",
        CaseStatus::SupplementRequested,
        detail,
    );
    Ok(())
}

/// `Command::Resubmit`: The applicant answers the notice, every listed item and nothing else; the clock restarts.
fn resubmit(c: &Step<'_>, next: &mut Case, corrected: Vec<String>) -> Result<(), TransitionError> {
    let notice = c
        .case
        .open_notice
        .as_ref()
        .ok_or_else(|| c.invalid("open_notice", "没有待补正的告知".into()))?;
    let resume = c
        .case
        .resume_to
        .ok_or_else(|| c.invalid("resume_to", "缺少补正前的办件状态".into()))?;
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
        return Err(c.invalid("corrected", problems.join("；")));
    }
    let titles: Vec<&str> = notice.iter().map(SupplementItem::title).collect();
    close_pause(next, c.at);
    let detail = format!(
        "已补正 {} 项：{}；办理时限恢复计算",
        titles.len(),
        titles.join("、")
    );
    push(next, c.at, &c.label, "resubmit", resume, detail);
    Ok(())
}

/// `Command::Refuse`: The window refuses with the legal reason.
fn refuse(c: &Step<'_>, next: &mut Case, reason: String) -> Result<(), TransitionError> {
    let reason = required(&reason).ok_or_else(|| c.invalid("reason", "不予受理必须写明法定理由".into()))?;
    close_pause(next, c.at);
    push(
        next,
        c.at,
        &c.label,
        "refuse",
        CaseStatus::Refused,
        format!("不予受理：{reason}"),
    );
    Ok(())
}

/// `Command::Decide`: A department decides its part; the case completes when every part is decided.
fn decide(
    c: &Step<'_>,
    next: &mut Case,
    sub_case: i64,
    approve: bool,
    opinion: String,
    result: Option<String>,
) -> Result<(), TransitionError> {
    let idx = find_sub_case(c.case, sub_case).map_err(|m| c.invalid("sub_case", m))?;
    let sub = &c.case.sub_cases[idx];
    check_department(c.actor, sub, c.action, c.from)?;
    if sub.status != SubStatus::Pending {
        return Err(TransitionError::SubNotAllowed {
            action: c.action,
            status: c.from,
            sub_case,
            from: sub.status,
        });
    }
    let opinion = required(&opinion);
    if !approve && opinion.is_none() {
        return Err(c.invalid("opinion", "不予批准必须填写审批意见（理由）".into()));
    }
    let result = match result {
        None => None,
        Some(r) if !approve => {
            return Err(c.invalid("result", format!("不予批准的子件不能填写证照编号 {}", r.trim())));
        }
        Some(r) => Some(required(&r).ok_or_else(|| c.invalid("result", "证照编号不能为空白".into()))?),
    };
    let mut detail = format!("{}：{}", sub.title(), if approve { "同意" } else { "不予批准" });
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
    push(next, c.at, &c.label, event, CaseStatus::InProgress, detail);
    mark_part(next, sub_case);
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
            next,
            c.at,
            &Actor::System.label(),
            "complete",
            CaseStatus::Completed,
            detail,
        );
    }
    Ok(())
}

/// `Command::IssueResult`: A department issues the certificate of its approved part.
fn issue_result(c: &Step<'_>, next: &mut Case, sub_case: i64) -> Result<(), TransitionError> {
    let idx = find_sub_case(c.case, sub_case).map_err(|m| c.invalid("sub_case", m))?;
    let sub = &c.case.sub_cases[idx];
    check_department(c.actor, sub, c.action, c.from)?;
    if sub.status != SubStatus::Approved {
        return Err(TransitionError::SubNotAllowed {
            action: c.action,
            status: c.from,
            sub_case,
            from: sub.status,
        });
    }
    let mut detail = format!("{}：已出证", sub.title());
    if let Some(r) = &sub.result {
        detail.push_str(&format!("，证照编号 {r}"));
    }
    next.sub_cases[idx].status = SubStatus::Issued;
    push(next, c.at, &c.label, "issue_result", c.from, detail);
    mark_part(next, sub_case);
    Ok(())
}

/// `Command::Deliver`: The result reaches the applicant (by mail, e-certificate or at the window).
fn deliver(c: &Step<'_>, next: &mut Case, method: DeliveryMethod) -> Result<(), TransitionError> {
    let detail = match &method {
        DeliveryMethod::Mail { tracking_no } => {
            let no = required(tracking_no)
                .ok_or_else(|| c.invalid("tracking_no", "邮寄送达必须填写运单号".into()))?;
            format!("邮寄送达，运单号 {no}")
        }
        DeliveryMethod::ECertificate => "电子证照送达".into(),
        DeliveryMethod::Pickup => {
            next.trips = next.trips.saturating_add(1);
            format!("窗口领取，累计跑动 {} 次", next.trips)
        }
    };
    push(next, c.at, &c.label, "deliver", CaseStatus::Delivered, detail);
    Ok(())
}

/// `Command::Archive`: The window archives a delivered or refused case.
fn archive(c: &Step<'_>, next: &mut Case) -> Result<(), TransitionError> {
    push(
        next,
        c.at,
        &c.label,
        "archive",
        CaseStatus::Archived,
        "归档".into(),
    );
    Ok(())
}

/// `Command::Withdraw`: The applicant withdraws before the case is decided.
fn withdraw(c: &Step<'_>, next: &mut Case) -> Result<(), TransitionError> {
    close_pause(next, c.at);
    push(
        next,
        c.at,
        &c.label,
        "withdraw",
        CaseStatus::Withdrawn,
        "申请人撤回申请".into(),
    );
    Ok(())
}

/// `Command::Extend`: The one extension the law allows, within the cap of the case's time limit.
fn extend(c: &Step<'_>, next: &mut Case, working_days: u32, reason: String) -> Result<(), TransitionError> {
    if let Some((days, _)) = &c.case.extension {
        return Err(c.invalid(
            "extension",
            format!("本件已延长办理期限 {days} 个工作日，依法只能延长一次"),
        ));
    }
    let cap = c.case.deadline_kind.extension_cap();
    if working_days == 0 || working_days > cap {
        return Err(c.invalid(
            "working_days",
            format!(
                "延长期限应为 1 至 {cap} 个工作日（{}）",
                c.case.deadline_kind.label()
            ),
        ));
    }
    let reason = required(&reason)
        .ok_or_else(|| c.invalid("reason", "延长办理期限必须写明理由并告知申请人".into()))?;
    let detail = format!("经批准延长办理期限 {working_days} 个工作日，理由：{reason}");
    next.extension = Some((working_days, reason));
    push(next, c.at, &c.label, "extend", c.from, detail);
    Ok(())
}

/// `Command::RecordVisit`: The applicant came to the centre: one more trip.
fn record_visit(c: &Step<'_>, next: &mut Case, reason: VisitReason) -> Result<(), TransitionError> {
    if reason == VisitReason::SupplementInPerson && c.case.pauses.is_empty() {
        return Err(c.invalid("reason", "该办件没有补正告知，无需记录现场补正".into()));
    }
    next.trips = next.trips.saturating_add(1);
    let detail = format!("{}，累计跑动 {} 次", reason.label(), next.trips);
    push(next, c.at, &c.label, "record_visit", c.from, detail);
    Ok(())
}

/// `Command::RecordDueChange`: The calendar changed and moved the due date: recorded in the timeline.
fn record_due_change(
    c: &Step<'_>,
    next: &mut Case,
    old: Option<NaiveDate>,
    to: NaiveDate,
    reason: String,
) -> Result<(), TransitionError> {
    let detail = match old {
        Some(old) => format!("{reason}，办结时限由 {old} 调整为 {to}"),
        None => format!("{reason}，办结时限为 {to}"),
    };
    push(next, c.at, &c.label, "due_date_changed", c.from, detail);
    Ok(())
}

/// `Command::DeemAccept`: 行政许可法 Art. 32: no acceptance and no notice by the deadline, so accepted as of receipt.
fn deem_accept(c: &Step<'_>, next: &mut Case, deadline: NaiveDate) -> Result<(), TransitionError> {
    if !deemed_accepted(c.case, crate::clock::beijing_date(c.at), deadline) {
        return Err(c.invalid(
            "deadline",
            format!("受理期限（{deadline}）尚未届满或已告知补正，不能视为受理"),
        ));
    }
    next.accepted_at = Some(c.case.submitted_at);
    for s in &mut next.sub_cases {
        s.status = SubStatus::Pending;
    }
    let detail = format!(
        "至 {deadline} 未受理也未一次性告知补正，依《行政许可法》第三十二条自收到申请材料之日\
             （{}）起视为受理，分送 {} 个部门办理：{}",
        crate::clock::beijing_date(c.case.submitted_at),
        next.sub_cases.len(),
        list_sub_cases(next)
    );
    push(
        next,
        c.at,
        &c.label,
        "deemed_accept",
        CaseStatus::InProgress,
        detail,
    );
    Ok(())
}

fn role_may(cmd: &Command, actor: &Actor) -> bool {
    match cmd {
        // The system accepts and decides only where an item's declared rules approved
        // (smart approval, 受理零窗口、审查零人工); the caller runs the rules.
        Command::Accept => matches!(actor, Actor::Window | Actor::System),
        // 领证零上门: when the system decided every part, it delivers the e-certificates.
        Command::Deliver {
            method: DeliveryMethod::ECertificate,
        } => matches!(actor, Actor::Window | Actor::System),
        Command::RequestSupplement { .. }
        | Command::Refuse { .. }
        | Command::Deliver { .. }
        | Command::RecordVisit { .. } => matches!(actor, Actor::Window),
        Command::Resubmit { .. } | Command::Withdraw => matches!(actor, Actor::Applicant),
        Command::Decide { .. } => matches!(actor, Actor::Reviewer { .. } | Actor::Admin | Actor::System),
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
        Actor::Reviewer { department } if *department != sub.department => Err(TransitionError::Forbidden {
            action,
            status,
            actor: format!("{}以外部门的审批人员", sub.department_title()),
        }),
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
        let label = item.label.trim().to_owned();
        let title = if label.is_empty() {
            target.clone()
        } else {
            label.clone()
        };
        let Some(reason) = required(&item.reason) else {
            return Err(format!("补正事项“{title}”未说明补正原因"));
        };
        if !seen.insert(target.clone()) {
            return Err(format!("补正事项“{title}”重复列出，请合并为一项"));
        }
        let department = item
            .department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        match department {
            Some(d) if !case.sub_cases.iter().any(|s| s.department == d) => {
                return Err(format!("补正事项“{title}”的提出部门 {d} 不办理本件的任何事项"));
            }
            Some(d)
                if in_progress
                    && !case
                        .sub_cases
                        .iter()
                        .any(|s| s.department == d && s.status == SubStatus::Pending) =>
            {
                return Err(format!(
                    "{}已审批完毕，不能再要求补正“{title}”",
                    case.department_name(d)
                ));
            }
            None if in_progress => {
                return Err(format!("办理中的补正事项“{title}”必须注明提出补正的部门"));
            }
            _ => {}
        }
        out.push(SupplementItem {
            target,
            reason,
            department: department.map(str::to_owned),
            label,
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
        .map(SubCase::title)
        .collect::<Vec<_>>()
        .join("、")
}

/// The label an actor's events carry: a reviewer by the name of their department when the
/// case knows it ("区卫生健康局审批人员"), never by its code.
fn actor_label(case: &Case, actor: &Actor) -> String {
    match actor {
        Actor::Reviewer { department } => {
            let name = case
                .sub_cases
                .iter()
                .find(|s| &s.department == department && !s.department_name.is_empty())
                .map(|s| s.department_name.as_str());
            match name {
                Some(n) => format!("{n}审批人员"),
                None => "部门审批人员".into(),
            }
        }
        other => other.label(),
    }
}

/// Records which part the event just written is about.
fn mark_part(case: &mut Case, part: i64) {
    if let Some(e) = case.events.last_mut() {
        e.part = Some(part);
    }
}

fn push(case: &mut Case, at: NaiveDateTime, actor_label: &str, action: &str, to: CaseStatus, detail: String) {
    case.events.push(Event {
        at,
        actor_label: actor_label.to_owned(),
        action: action.to_owned(),
        from: case.status,
        to,
        detail,
        part: None,
    });
    case.status = to;
}

#[cfg(test)]
mod tests;
