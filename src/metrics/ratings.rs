//! 好差评: the five official rating levels and the follow-up (整改) loop of a negative
//! rating, as pure rules.
//!
//! A rating of 不满意 or 非常不满意 opens a follow-up for the centre, due a fixed number of
//! working days later. Staff record a return visit (回访) and then the outcome (整改结果);
//! staff who believe the rating mistaken (e.g. about another matter) may appeal (申诉)
//! instead, and an administrator upholds the appeal (the rating leaves the satisfaction
//! rate) or rejects it (the follow-up goes on where it was).

use serde::{Deserialize, Serialize};

/// Working days the centre has to visit and settle a negative rating.
pub const FOLLOW_UP_WORKING_DAYS: u32 = 5;
/// The longest comment, in characters.
pub const MAX_COMMENT: usize = 500;

/// The five levels, 5 (非常满意) to 1 (非常不满意).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    VeryDissatisfied = 1,
    Dissatisfied = 2,
    Basic = 3,
    Satisfied = 4,
    VerySatisfied = 5,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::VerySatisfied,
        Level::Satisfied,
        Level::Basic,
        Level::Dissatisfied,
        Level::VeryDissatisfied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerySatisfied => "very_satisfied",
            Self::Satisfied => "satisfied",
            Self::Basic => "basic",
            Self::Dissatisfied => "dissatisfied",
            Self::VeryDissatisfied => "very_dissatisfied",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::VerySatisfied => "非常满意",
            Self::Satisfied => "满意",
            Self::Basic => "基本满意",
            Self::Dissatisfied => "不满意",
            Self::VeryDissatisfied => "非常不满意",
        }
    }

    /// The machine name or the Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|l| l.as_str() == s || l.label() == s)
    }

    pub fn score(self) -> i32 {
        self as i32
    }

    pub fn from_score(score: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.score() == score)
    }

    /// 基本满意 or better counts as satisfied.
    pub fn is_satisfied(self) -> bool {
        self >= Level::Basic
    }

    /// 不满意 or below opens a follow-up.
    pub fn opens_follow_up(self) -> bool {
        !self.is_satisfied()
    }
}

/// Where a follow-up stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    Open,
    Visited,
    Resolved,
    Appealed,
    AppealUpheld,
}

impl FollowUpStatus {
    pub const ALL: [FollowUpStatus; 5] = [
        Self::Open,
        Self::Visited,
        Self::Resolved,
        Self::Appealed,
        Self::AppealUpheld,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Visited => "visited",
            Self::Resolved => "resolved",
            Self::Appealed => "appealed",
            Self::AppealUpheld => "appeal_upheld",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "待回访",
            Self::Visited => "已回访待整改",
            Self::Resolved => "已整改办结",
            Self::Appealed => "申诉审核中",
            Self::AppealUpheld => "申诉成立",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::AppealUpheld)
    }
}

/// What someone does to a follow-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUpAction {
    /// Staff: the return visit, Open → Visited.
    Visit,
    /// Staff: the outcome after the visit, Visited → Resolved.
    Resolve,
    /// Staff: the rating is believed mistaken, Open or Visited → Appealed.
    Appeal,
    /// Admin: Appealed → AppealUpheld.
    UpholdAppeal,
    /// Admin: Appealed → back to Open, or Visited when the visit was made.
    RejectAppeal,
}

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowUpError {
    NotAllowed { from: FollowUpStatus },
    AdminOnly,
}

impl FollowUpError {
    pub fn message(&self) -> String {
        match self {
            Self::NotAllowed { from } => format!("整改工单当前为“{}”，不能进行此操作", from.label()),
            Self::AdminOnly => "申诉须由管理员审核".into(),
        }
    }
}

/// The status after `action`, for a staff member (`admin` when an administrator acts).
pub fn next_status(
    from: FollowUpStatus,
    action: FollowUpAction,
    admin: bool,
    visited: bool,
) -> Result<FollowUpStatus, FollowUpError> {
    use FollowUpAction as A;
    use FollowUpStatus as S;
    let refused = Err(FollowUpError::NotAllowed { from });
    match (action, from) {
        (A::Visit, S::Open) => Ok(S::Visited),
        (A::Resolve, S::Visited) => Ok(S::Resolved),
        (A::Appeal, S::Open | S::Visited) => Ok(S::Appealed),
        (A::UpholdAppeal | A::RejectAppeal, S::Appealed) if !admin => Err(FollowUpError::AdminOnly),
        (A::UpholdAppeal, S::Appealed) => Ok(S::AppealUpheld),
        (A::RejectAppeal, S::Appealed) => Ok(if visited { S::Visited } else { S::Open }),
        _ => refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_from_codes_and_labels_and_split_at_basic() {
        assert_eq!(Level::parse("不满意"), Some(Level::Dissatisfied));
        assert_eq!(Level::parse("very_satisfied"), Some(Level::VerySatisfied));
        assert_eq!(Level::parse("一般"), None);
        let opening: Vec<&str> = Level::ALL
            .iter()
            .filter(|l| l.opens_follow_up())
            .map(|l| l.label())
            .collect();
        assert_eq!(opening, vec!["不满意", "非常不满意"]);
        for l in Level::ALL {
            assert_eq!(Level::from_score(l.score()), Some(l));
        }
    }

    #[test]
    fn the_follow_up_loop_and_its_appeal() {
        use FollowUpAction as A;
        use FollowUpStatus as S;
        assert_eq!(next_status(S::Open, A::Visit, false, false), Ok(S::Visited));
        assert_eq!(next_status(S::Visited, A::Resolve, false, true), Ok(S::Resolved));
        assert!(
            next_status(S::Open, A::Resolve, false, false).is_err(),
            "no outcome before the visit"
        );
        assert_eq!(next_status(S::Visited, A::Appeal, false, true), Ok(S::Appealed));
        assert_eq!(
            next_status(S::Appealed, A::UpholdAppeal, false, true),
            Err(FollowUpError::AdminOnly)
        );
        assert_eq!(
            next_status(S::Appealed, A::RejectAppeal, true, true),
            Ok(S::Visited)
        );
        assert_eq!(
            next_status(S::Appealed, A::RejectAppeal, true, false),
            Ok(S::Open)
        );
        assert_eq!(
            next_status(S::Appealed, A::UpholdAppeal, true, false),
            Ok(S::AppealUpheld)
        );
        for s in [S::Resolved, S::AppealUpheld] {
            for a in [A::Visit, A::Resolve, A::Appeal, A::UpholdAppeal, A::RejectAppeal] {
                assert!(next_status(s, a, true, true).is_err(), "{s:?} is closed");
            }
        }
    }
}
