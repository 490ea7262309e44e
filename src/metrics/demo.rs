//! Demonstration data: a realistic year of cases generated through the real workflow state
//! machine (so every stored case is one the machine could have produced), with channels,
//! 补正 notices, visits, decisions, delays, delivery methods, ratings and follow-ups.
//! Pure: the caller gives the random source, the catalogue and the clock.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::Rng;

use super::local_day;
use super::ratings::{FollowUpStatus, Level, FOLLOW_UP_WORKING_DAYS};
use crate::calendar::{Calendar, CalendarError};
use crate::workflow::{
    apply, Actor, Case, Channel, Command, DeadlineKind, DeliveryMethod, NewPart, SupplementItem, VisitReason,
};

#[derive(Debug, Clone)]
pub struct DemoItem {
    pub code: String,
    pub department: String,
    pub name: String,
    pub department_name: String,
    /// Decided by declared rules: most applications are decided by the system at once.
    pub smart_approval: bool,
}

#[derive(Debug, Clone)]
pub struct DemoBundle {
    pub code: String,
    pub version: i32,
    pub promised_days: i32,
    pub items: Vec<DemoItem>,
}

/// A generated rating and, for a negative one, its follow-up.
#[derive(Debug, Clone)]
pub struct DemoRating {
    pub level: Level,
    pub at: NaiveDateTime,
    pub follow_up: Option<DemoFollowUp>,
}

#[derive(Debug, Clone)]
pub struct DemoFollowUp {
    pub status: FollowUpStatus,
    pub due: NaiveDate,
    pub visit_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
}

/// One generated case: its final workflow state, the bundle (index), the items of its
/// parts (indexes into the bundle's items, in sub-case order) and its due date.
#[derive(Debug, Clone)]
pub struct DemoCase {
    pub case: Case,
    pub bundle: usize,
    pub items: Vec<usize>,
    pub due_date: Option<NaiveDate>,
    pub rating: Option<DemoRating>,
}

/// The due date as the web layer computes it: the promise in working days from
/// acceptance, moved by closed 补正 pauses and an extension.
pub fn due_date(
    calendar: &Calendar,
    case: &Case,
    promised_days: i32,
) -> Result<Option<NaiveDate>, CalendarError> {
    let Some(accepted) = case.accepted_at.map(local_day) else {
        return Ok(None);
    };
    let pauses: Vec<(NaiveDate, NaiveDate)> = case
        .pauses
        .iter()
        .filter_map(|(s, e)| e.map(|e| (local_day(*s), local_day(e))))
        .collect();
    let extra = case.extension.as_ref().map_or(0, |(d, _)| *d);
    calendar
        .add_working_days_with_pauses(accepted, promised_days.max(0) as u32 + extra, &pauses)
        .map(Some)
}

fn hours(rng: &mut impl Rng, lo: i64, hi: i64) -> Duration {
    Duration::minutes(rng.gen_range(lo * 60..hi * 60))
}

/// Generates one case of a bundle chosen from `bundles`, submitted at `submitted`, with its
/// sub-cases numbered from `first_sub_case_id`; nothing happens after `now`.
pub fn generate(
    rng: &mut impl Rng,
    bundles: &[DemoBundle],
    calendar: &Calendar,
    first_sub_case_id: i64,
    submitted: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Option<DemoCase>, CalendarError> {
    // A few popular bundles take most of the cases.
    let b = {
        let n = bundles.len();
        if n == 0 {
            return Ok(None);
        }
        let skew: f64 = rng.gen::<f64>().powi(2);
        ((skew * n as f64) as usize).min(n - 1)
    };
    let bundle = &bundles[b];
    if bundle.items.is_empty() {
        return Ok(None);
    }
    // The situation questions select some of the bundle's items: up to three here.
    let parts = rng.gen_range(1..=bundle.items.len().min(3));
    let mut items: Vec<usize> = (0..bundle.items.len()).collect();
    for i in 0..parts {
        let j = rng.gen_range(i..items.len());
        items.swap(i, j);
    }
    items.truncate(parts);
    let channel = if rng.gen_bool(0.72) {
        Channel::Online
    } else {
        Channel::Window
    };
    let subs = items
        .iter()
        .enumerate()
        .map(|(k, &i)| NewPart {
            id: first_sub_case_id + k as i64,
            department: bundle.items[i].department.clone(),
            item_name: bundle.items[i].name.clone(),
            department_name: bundle.items[i].department_name.clone(),
        })
        .collect::<Vec<_>>();
    let Ok(mut case) = Case::new(subs, channel, DeadlineKind::JointLicensing, submitted) else {
        // Only a bundle without departments fails here; it has no case to show.
        return Ok(None);
    };
    let mut at = submitted;
    let step = |case: &mut Case, at: NaiveDateTime, actor: Actor, cmd: Command| -> bool {
        if at > now {
            return false;
        }
        match apply(case, &actor, cmd, at, case.version) {
            Ok(next) => {
                *case = next;
                true
            }
            Err(_) => false,
        }
    };
    let finish = |case: Case, items: Vec<usize>| {
        let due = due_date(calendar, &case, bundle.promised_days)?;
        Ok(Some(DemoCase {
            case,
            bundle: b,
            items,
            due_date: due,
            rating: None,
        }))
    };
    // Smart approval: parts whose rules find the applicant eligible in the registries (most
    // of them) are accepted and decided by the system seconds after submission.
    let automatic: Vec<i64> = items
        .iter()
        .zip(&case.sub_cases)
        .filter(|(&i, _)| bundle.items[i].smart_approval && rng.gen_bool(0.85))
        .map(|(_, s)| s.id)
        .collect();
    if !automatic.is_empty() {
        let at = submitted + Duration::seconds(rng.gen_range(1..4));
        if step(&mut case, at, Actor::System, Command::Accept) {
            for id in &automatic {
                step(
                    &mut case,
                    at,
                    Actor::System,
                    Command::Decide {
                        sub_case: *id,
                        approve: true,
                        opinion: "智能审批：经数据比对符合条件".into(),
                        result: None,
                    },
                );
            }
        }
    }
    // Before acceptance: a 补正 notice for some, refusal or withdrawal for a few.
    let roll: f64 = rng.gen();
    at += hours(rng, 1, 30);
    if roll < 0.02 {
        step(
            &mut case,
            at,
            Actor::Window,
            Command::Refuse {
                reason: "不属于本机关职权范围".into(),
            },
        );
        return finish(case, items);
    }
    if roll < 0.14 {
        let notice = vec![SupplementItem {
            target: "materials.id-card".into(),
            reason: "扫描件不清晰".into(),
            department: None,
            label: "居民身份证".into(),
        }];
        if !step(
            &mut case,
            at,
            Actor::Window,
            Command::RequestSupplement { items: notice },
        ) {
            return finish(case, items);
        }
        at += hours(rng, 4, 120);
        let in_person = channel == Channel::Window || rng.gen_bool(0.25);
        step(
            &mut case,
            at,
            Actor::Applicant,
            Command::Resubmit {
                corrected: vec!["materials.id-card".into()],
            },
        );
        if in_person {
            step(
                &mut case,
                at,
                Actor::Window,
                Command::RecordVisit {
                    reason: crate::workflow::VisitReason::SupplementInPerson,
                },
            );
        }
        at += hours(rng, 1, 24);
    }
    if roll > 0.985 {
        step(&mut case, at, Actor::Applicant, Command::Withdraw);
        return finish(case, items);
    }
    if case.status == crate::workflow::CaseStatus::Submitted
        && !step(&mut case, at, Actor::Window, Command::Accept)
    {
        return finish(case, items);
    }
    if rng.gen_bool(0.03) {
        step(
            &mut case,
            at + Duration::hours(1),
            Actor::Window,
            Command::RecordVisit {
                reason: VisitReason::CounterSubmission,
            },
        );
    }
    // Each department decides its part; most within the promise, some late.
    let slow = rng.gen_bool(0.08);
    for k in 0..case.sub_cases.len() {
        let id = case.sub_cases[k].id;
        if case.sub_cases[k].status.is_decided() {
            continue;
        }
        let days = if slow {
            rng.gen_range(bundle.promised_days.max(1)..bundle.promised_days.max(1) * 2 + 5)
        } else {
            rng.gen_range(0..bundle.promised_days.max(1))
        };
        let t = at + Duration::days(i64::from(days)) + hours(rng, 1, 8);
        let approve = rng.gen_bool(0.97);
        let t = t.max(case.events.last().map_or(t, |e| e.at));
        if !step(
            &mut case,
            t,
            Actor::Admin,
            Command::Decide {
                sub_case: id,
                approve,
                opinion: if approve {
                    "同意"
                } else {
                    "材料不符合法定条件"
                }
                .into(),
                result: None,
            },
        ) {
            return finish(case, items);
        }
    }
    at = case.events.last().map_or(at, |e| e.at) + hours(rng, 1, 48);
    let method = match rng.gen_range(0..100) {
        0..55 => DeliveryMethod::ECertificate,
        55..80 => DeliveryMethod::Mail {
            tracking_no: format!("SF{}", rng.gen_range(100_000_000u64..999_999_999)),
        },
        _ => DeliveryMethod::Pickup,
    };
    if !step(&mut case, at, Actor::Window, Command::Deliver { method }) {
        return finish(case, items);
    }
    if rng.gen_bool(0.5) {
        step(&mut case, at + Duration::days(7), Actor::Admin, Command::Archive);
    }
    let Some(mut out) = finish(case, items)? else {
        return Ok(None);
    };
    // About a third of applicants rate the service.
    if rng.gen_bool(0.35) {
        let rated = at + hours(rng, 1, 72);
        if rated <= now {
            let level = match rng.gen_range(0..1000) {
                0..600 => Level::VerySatisfied,
                600..850 => Level::Satisfied,
                850..950 => Level::Basic,
                950..985 => Level::Dissatisfied,
                _ => Level::VeryDissatisfied,
            };
            let follow_up = if level.opens_follow_up() {
                let due = calendar.add_working_days(local_day(rated), FOLLOW_UP_WORKING_DAYS)?;
                let visit = rated + hours(rng, 2, 48);
                let resolved = visit + hours(rng, 24, 96);
                let (status, visit_at, resolved_at) = if resolved <= now {
                    (FollowUpStatus::Resolved, Some(visit), Some(resolved))
                } else if visit <= now {
                    (FollowUpStatus::Visited, Some(visit), None)
                } else {
                    (FollowUpStatus::Open, None, None)
                };
                Some(DemoFollowUp {
                    status,
                    due,
                    visit_at,
                    resolved_at,
                })
            } else {
                None
            };
            out.rating = Some(DemoRating {
                level,
                at: rated,
                follow_up,
            });
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn bundles() -> Vec<DemoBundle> {
        vec![DemoBundle {
            code: "b".into(),
            version: 1,
            promised_days: 5,
            items: (0..4)
                .map(|i| DemoItem {
                    code: format!("i{i}"),
                    department: format!("d{}", i % 2),
                    name: format!("事项{i}"),
                    department_name: format!("部门{}", i % 2),
                    smart_approval: i == 0,
                })
                .collect(),
        }]
    }

    #[test]
    fn generated_cases_are_valid_machine_states_with_a_realistic_mix() {
        let mut rng = StdRng::seed_from_u64(7);
        let start = NaiveDate::from_ymd_opt(2025, 12, 1)
            .and_then(|d| d.and_hms_opt(1, 0, 0))
            .expect("start");
        let now = start + Duration::days(365);
        let (mut finished, mut zero, mut rated, mut withdrawn) = (0, 0, 0, 0);
        let (mut by_system, mut smart_parts) = (0, 0);
        for n in 0..2000 {
            let at = start + Duration::hours(n * 4);
            let c = generate(&mut rng, &bundles(), Calendar::shipped(), n * 10, at, now)
                .expect("the calendar counts every year")
                .expect("case");
            c.case.check_invariants().expect("a state the machine can reach");
            assert_eq!(c.items.len(), c.case.sub_cases.len());
            if super::super::finished_at(&c.case).is_some() {
                finished += 1;
                zero += i32::from(c.case.trips == 0);
            }
            rated += i32::from(c.rating.is_some());
            // Item i0 is the smart-approval one: it is decided by the system or not at all
            // by the rules, and no other item ever is.
            for (k, &i) in c.items.iter().enumerate() {
                let system = c.case.events.iter().any(|e| {
                    e.action == "approve"
                        && e.actor_label == "系统"
                        && e.detail.starts_with(&c.case.sub_cases[k].title())
                });
                assert!(
                    i == 0 || !system,
                    "only a smart-approval item is decided by the system"
                );
                smart_parts += i32::from(i == 0);
                by_system += i32::from(system);
            }
            withdrawn += i32::from(c.case.status == crate::workflow::CaseStatus::Withdrawn);
        }
        assert!(finished > 1700, "most cases finish: {finished}");
        let share = f64::from(zero) / f64::from(finished);
        assert!((0.5..0.8).contains(&share), "zero-trip share {share}");
        assert!(
            rated > 400 && withdrawn > 0,
            "rated {rated}, withdrawn {withdrawn}"
        );
        let automatic = f64::from(by_system) / f64::from(smart_parts);
        assert!(
            (0.75..0.95).contains(&automatic),
            "smart parts decided by the system: {automatic}"
        );
    }
}
