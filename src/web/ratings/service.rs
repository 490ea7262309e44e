//! 好差评 at the HTTP boundary, shared by the API and the pages: the applicant rates a
//! finished case once; a negative rating opens a follow-up that staff visit, resolve or
//! appeal, and an administrator reviews an appeal.

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::metrics::local_day;
use crate::metrics::ratings::{self as rules, FollowUpAction, FollowUpStatus, Level};
use crate::store::ratings::{self as store, FollowUpChange, FollowUpView, NewRating, RatingRow};
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;
use crate::workflow::CaseStatus;
use validator::Validate;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DepartmentLevel {
    pub department: String,
    pub level: String,
}

/// Which departments may be rated (those that handled the case) is checked against the case.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema, Validate)]
pub struct RatingRequest {
    /// very_satisfied, satisfied, basic, dissatisfied or very_dissatisfied.
    #[validate(
        required(
            code = "invalid_choice",
            message = "评价等级应为：非常满意、满意、基本满意、不满意、非常不满意"
        ),
        custom(function = "rating_level")
    )]
    pub level: Option<String>,
    #[validate(length(max = 500, code = "too_long", message = "评价内容不能超过 500 个字"))]
    pub comment: Option<String>,
    #[serde(default)]
    pub departments: Vec<DepartmentLevel>,
}

fn rating_level(v: &str) -> Result<(), validator::ValidationError> {
    match Level::parse(v) {
        Some(_) => Ok(()),
        None => Err(crate::web::validate::problem("invalid_choice", LEVEL_MESSAGE)),
    }
}

/// A saved rating as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RatingView {
    pub receipt_no: String,
    pub level: &'static str,
    pub level_label: &'static str,
    pub comment: String,
    #[serde(with = "crate::clock::rfc3339")]
    pub rated_at: chrono::NaiveDateTime,
    pub departments: Vec<DepartmentLevelView>,
    pub excluded: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DepartmentLevelView {
    pub department: String,
    pub level: &'static str,
    pub level_label: &'static str,
}

fn level_view(score: i32) -> (&'static str, &'static str) {
    Level::from_score(score).map_or(("unknown", "未知"), |l| (l.as_str(), l.label()))
}

fn rating_view(receipt: &str, r: &RatingRow, parts: &[(String, i32)]) -> RatingView {
    let (level, level_label) = level_view(r.level);
    RatingView {
        receipt_no: receipt.to_owned(),
        level,
        level_label,
        comment: r.comment.clone(),
        rated_at: r.rated_at,
        departments: parts
            .iter()
            .map(|(d, l)| {
                let (level, level_label) = level_view(*l);
                DepartmentLevelView {
                    department: d.clone(),
                    level,
                    level_label,
                }
            })
            .collect(),
        excluded: r.excluded,
    }
}

const LEVEL_MESSAGE: &str = "评价等级应为：非常满意、满意、基本满意、不满意、非常不满意";

/// Saves the applicant's rating of their finished case. 404 for someone else's case,
/// 409 before the case is finished or when it is already rated.
pub async fn rate(
    state: &AppState,
    user: &CurrentUser,
    receipt: &str,
    req: RatingRequest,
) -> Result<(RatingView, Option<FollowUpView>), ApiError> {
    let lookup = receipt.to_owned();
    let not_found = || ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件"));
    let (row, subs, _) = state
        .db
        .run(move |c| crate::store::cases::load(c, &lookup))
        .await?
        .ok_or_else(not_found)?;
    if row.account_id != user.id || !matches!(user.role, Role::Citizen | Role::Enterprise) {
        return Err(not_found());
    }
    // The pages call this directly; the API has validated already, cheaply done again.
    let mut errors = req
        .validate()
        .err()
        .map(|e| crate::web::validate::field_errors(&e))
        .unwrap_or_default();
    let level = req.level.as_deref().and_then(Level::parse);
    let comment = req.comment.unwrap_or_default().trim().to_owned();
    let case_departments: std::collections::BTreeSet<String> =
        subs.iter().map(|s| s.department_code.clone()).collect();
    let mut given = std::collections::BTreeMap::new();
    for (i, d) in req.departments.iter().enumerate() {
        let field = format!("departments[{i}]");
        let dept = d.department.trim().to_owned();
        if !case_departments.contains(&dept) {
            errors.push(FieldError::new(
                field,
                "unknown_department",
                format!("部门 {dept} 没有办理本件"),
            ));
            continue;
        }
        match Level::parse(&d.level) {
            None => errors.push(FieldError::new(field, "invalid_choice", LEVEL_MESSAGE)),
            Some(l) => {
                if given.insert(dept.clone(), l).is_some() {
                    errors.push(FieldError::new(
                        field,
                        "duplicate",
                        format!("部门 {dept} 重复评价"),
                    ));
                }
            }
        }
    }
    let Some(level) = level.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let finished = CaseStatus::parse(&row.status).is_some_and(|s| {
        matches!(
            s,
            CaseStatus::Completed | CaseStatus::Delivered | CaseStatus::Archived
        )
    });
    if !finished {
        return Err(ApiError::Conflict(vec![FieldError::new(
            "status",
            "not_finished",
            "办件办结后才能评价",
        )]));
    }
    let departments: Vec<(String, Level)> = case_departments
        .into_iter()
        .map(|d| {
            let l = given.get(&d).copied().unwrap_or(level);
            (d, l)
        })
        .collect();
    let now = state.now();
    let today = local_day(now);
    let negative = level.opens_follow_up() || departments.iter().any(|(_, l)| l.opens_follow_up());
    let follow_up_due = if negative {
        let calendar = state.calendar().await?;
        Some(calendar.add_working_days(today, rules::FOLLOW_UP_WORKING_DAYS)?)
    } else {
        None
    };
    let new = NewRating {
        case_id: row.id,
        account_id: user.id,
        level,
        comment,
        departments,
        at: now,
        day: today,
        follow_up_due,
    };
    let saved = state
        .db
        .run(move |c| {
            let Some((rating, follow_up)) = store::rate(c, &new)? else {
                return Ok(None);
            };
            let parts = store::parts_of(c, rating.id)?;
            let view = match follow_up {
                Some(f) => store::follow_up(c, f.id, None)?,
                None => None,
            };
            Ok::<_, crate::db::DbError>(Some((rating, parts, view)))
        })
        .await?;
    let Some((rating, parts, follow_up)) = saved else {
        return Err(ApiError::Conflict(vec![FieldError::new(
            "receipt_no",
            "already_rated",
            "该办件已评价，每件只能评价一次",
        )]));
    };
    Ok((rating_view(receipt, &rating, &parts), follow_up))
}

/// The rating of a case, for its applicant and for staff who handle cases.
pub async fn rating_of(
    state: &AppState,
    user: &CurrentUser,
    receipt: &str,
) -> Result<Option<RatingView>, ApiError> {
    let lookup = receipt.to_owned();
    let not_found = || ApiError::NotFound(format!("未找到受理编号为 {receipt} 的办件"));
    let (row, _, _) = state
        .db
        .run(move |c| crate::store::cases::load(c, &lookup))
        .await?
        .ok_or_else(not_found)?;
    let may = row.account_id == user.id || matches!(user.role, Role::Window | Role::Admin | Role::Reviewer);
    if !may {
        return Err(not_found());
    }
    let case_id = row.id;
    let found = state
        .db
        .run(move |c| {
            let Some(r) = store::rating_of_case(c, case_id)? else {
                return Ok(None);
            };
            let parts = store::parts_of(c, r.id)?;
            Ok::<_, crate::db::DbError>(Some((r, parts)))
        })
        .await?;
    Ok(found.map(|(r, p)| rating_view(receipt, &r, &p)))
}

/// Staff who handle cases; policy editors do not see ratings.
pub fn require_case_staff(user: &CurrentUser) -> Result<(), ApiError> {
    if matches!(user.role, Role::Window | Role::Reviewer | Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "只有窗口、审批人员和管理员可以处理差评整改".into(),
        ))
    }
}

/// Text of an action: required, at most 1000 characters.
fn required_text(value: Option<String>, field: &'static str, what: &str) -> Result<String, ApiError> {
    let v = value.unwrap_or_default().trim().to_owned();
    if v.is_empty() {
        return Err(ApiError::Validation(vec![FieldError::new(
            field,
            "required",
            format!("请填写{what}"),
        )]));
    }
    if v.chars().count() > 1000 {
        return Err(ApiError::Validation(vec![FieldError::new(
            field,
            "too_long",
            format!("{what}不能超过 1000 个字"),
        )]));
    }
    Ok(v)
}

/// The body of a follow-up action; which text it needs depends on the action (a visit's
/// note, an outcome, an appeal's reason), checked by the action.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema, Validate)]
pub struct FollowUpRequest {
    pub note: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub upheld: Option<bool>,
}

/// Runs one action on a follow-up as `user`.
pub async fn act(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    action: FollowUpAction,
    req: FollowUpRequest,
) -> Result<FollowUpView, ApiError> {
    require_case_staff(user)?;
    let not_found = || ApiError::NotFound(format!("未找到编号为 {id} 的整改工单"));
    let department = user.reviewer_department().map(str::to_owned);
    let current = state
        .db
        .run(move |c| store::follow_up(c, id, department.as_deref()))
        .await?
        .ok_or_else(not_found)?;
    let from = FollowUpStatus::parse(&current.row.status)
        .ok_or_else(|| ApiError::Internal(crate::db::DbError::Corrupt(format!("follow-up {id} status"))))?;
    let admin = user.role == Role::Admin;
    let to =
        rules::next_status(from, action, admin, current.row.visit_at.is_some()).map_err(|e| match e {
            rules::FollowUpError::AdminOnly => ApiError::Forbidden(e.message()),
            rules::FollowUpError::NotAllowed { .. } => {
                ApiError::Conflict(vec![FieldError::new("status", "not_allowed", e.message())])
            }
        })?;
    let now = state.now();
    let mut change = FollowUpChange {
        status: to.as_str().to_owned(),
        handled_by: user.label(),
        ..Default::default()
    };
    match action {
        FollowUpAction::Visit => change.visit = Some((now, required_text(req.note, "note", "回访情况")?)),
        FollowUpAction::Resolve => {
            change.outcome = Some((now, required_text(req.outcome, "outcome", "整改结果")?));
        }
        FollowUpAction::Appeal => {
            change.appeal = Some((now, required_text(req.reason, "reason", "申诉理由")?))
        }
        FollowUpAction::UpholdAppeal | FollowUpAction::RejectAppeal => {
            change.review_note = Some(required_text(req.note, "note", "审核意见")?);
            change.exclude_rating = action == FollowUpAction::UpholdAppeal;
        }
    }
    let row = current.row.clone();
    let saved = state
        .db
        .run(move |c| {
            if !store::save_follow_up(c, &row, &change)? {
                return Ok(None);
            }
            store::follow_up(c, row.id, None)
        })
        .await?;
    saved.ok_or_else(|| {
        ApiError::Conflict(vec![FieldError::new(
            "version",
            "changed",
            "该工单已被他人更新，请刷新后再操作",
        )])
    })
}

/// The follow-up list, optionally of one status (a bad status is 400).
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    status: Option<&str>,
) -> Result<Vec<FollowUpView>, ApiError> {
    require_case_staff(user)?;
    let status = status.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(s) = &status {
        if FollowUpStatus::parse(s).is_none() {
            return Err(ApiError::InvalidQuery(vec![FieldError::new(
                "status",
                "invalid_choice",
                "status 应为 open、visited、resolved、appealed 或 appeal_upheld",
            )]));
        }
    }
    Ok(state
        .db
        .run({
            let department = user.reviewer_department().map(str::to_owned);
            move |c| store::follow_ups(c, status.as_deref(), department.as_deref(), 500)
        })
        .await?)
}

/// Whether a follow-up is past its deadline and still open.
pub fn is_overdue(f: &FollowUpView, today: chrono::NaiveDate) -> bool {
    let today = today.to_string();
    FollowUpStatus::parse(&f.row.status).is_some_and(|s| !s.is_closed()) && f.row.due_date < today
}
