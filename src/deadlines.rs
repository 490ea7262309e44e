//! The legal clocks of a case, from the working-day calendar: the due date of each part
//! (its item's promised time limit from acceptance, plus an approved extension, without
//! the 补正 pauses), the case's due date (its latest part's), the deemed-acceptance
//! deadline (行政许可法 Art. 32: five working days from receipt), and the SLA light.
//!
//! Every function returns a date — marked provisional when it was counted through a year
//! whose holidays are not yet officially published — or a typed calendar error; none
//! returns "no date" for a failure. Business dates are Beijing dates ([`crate::clock`]).
//!
//! Plain domain code: no web, no database.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::calendar::{light, Calendar, CalendarError, Deadline, SlaLight};
use crate::clock::beijing_date;
use crate::workflow::{self, CaseStatus};

/// Working days the window has to accept a case or send one 补正 notice (Art. 32).
pub const ACCEPTANCE_WORKING_DAYS: u32 = 5;

/// A case's due date and each part's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDue {
    /// The latest part's due date; provisional when any part's is.
    pub due: Deadline,
    pub parts: BTreeMap<i64, Deadline>,
}

/// The due dates of an accepted case; `Ok(None)` before acceptance (no clock runs yet) or
/// for a case without parts. `promised` holds each part's promised working days.
pub fn case_due(
    calendar: &Calendar,
    wf: &workflow::Case,
    promised: &HashMap<i64, u32>,
) -> Result<Option<CaseDue>, CalendarError> {
    let Some(accepted) = wf.accepted_at.map(beijing_date) else {
        return Ok(None);
    };
    let pauses: Vec<(NaiveDate, NaiveDate)> = wf
        .pauses
        .iter()
        .filter_map(|(start, end)| end.map(|e| (beijing_date(*start), beijing_date(e))))
        .collect();
    let extra = wf.extension.as_ref().map_or(0, |(d, _)| *d);
    let mut parts = BTreeMap::new();
    for s in &wf.sub_cases {
        let days = promised.get(&s.id).copied().unwrap_or(0).saturating_add(extra);
        parts.insert(s.id, calendar.deadline(accepted, days, &pauses)?);
    }
    let Some(latest) = parts.values().map(|d| d.date).max() else {
        return Ok(None);
    };
    Ok(Some(CaseDue {
        due: Deadline {
            date: latest,
            provisional: parts.values().any(|d| d.provisional),
        },
        parts,
    }))
}

/// The last day on which the window may accept a case received on `received` or send its
/// 补正 notice; the day after, the case is deemed accepted.
pub fn acceptance_deadline(calendar: &Calendar, received: NaiveDate) -> Result<Deadline, CalendarError> {
    calendar.deadline(received, ACCEPTANCE_WORKING_DAYS, &[])
}

/// Whether a case in `status` still has a clock running (a decided or closed case has
/// nothing left to be late for).
pub fn clock_runs(status: CaseStatus) -> bool {
    matches!(
        status,
        CaseStatus::Submitted
            | CaseStatus::Accepted
            | CaseStatus::InProgress
            | CaseStatus::SupplementRequested
    )
}

/// The SLA light of a time limit running out on `due`, seen on `today`; `Ok(None)` when no
/// clock runs.
pub fn sla_light(
    calendar: &Calendar,
    today: NaiveDate,
    due: NaiveDate,
    running: bool,
) -> Result<Option<SlaLight>, CalendarError> {
    if !running {
        return Ok(None);
    }
    Ok(Some(light(calendar.remaining_working_days(today, due)?)))
}

/// The first day whose due date is no longer yellow seen on `today`: due dates in
/// `[today, soon_before)` are yellow, earlier ones red, later ones green. Lets a store
/// filter and rank by light with plain date comparisons.
pub fn soon_before(calendar: &Calendar, today: NaiveDate) -> Result<NaiveDate, CalendarError> {
    let mut day = today;
    // Remaining working days grow by at most one a day, so this ends within a few weeks
    // even across the Spring Festival.
    while light(calendar.remaining_working_days(today, day)?) != SlaLight::Green {
        day = day
            .succ_opt()
            .ok_or(CalendarError::YearNotCovered(chrono::Datelike::year(&day)))?;
    }
    Ok(day)
}

/// The English name of a light, as the API and the templates use it.
pub fn light_name(l: SlaLight) -> &'static str {
    match l {
        SlaLight::Green => "green",
        SlaLight::Yellow => "yellow",
        SlaLight::Red => "red",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Actor, Channel, Command, DeadlineKind};
    use chrono::NaiveDateTime;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn submitted_case(submitted_utc: &str) -> workflow::Case {
        workflow::Case::new(
            vec![(1, "health".into()), (2, "police".into())],
            Channel::Online,
            DeadlineKind::JointLicensing,
            t(submitted_utc),
        )
        .expect("a case")
    }

    fn accepted_case(submitted_utc: &str, accepted_utc: &str) -> workflow::Case {
        let case = submitted_case(submitted_utc);
        workflow::apply(
            &case,
            &Actor::Window,
            Command::Accept,
            t(accepted_utc),
            case.version,
        )
        .expect("accept")
    }

    proptest::proptest! {
        #[test]
        fn the_soon_boundary_splits_due_dates_exactly_as_the_lights_do(
            start in 0i64..3650,
            offset in -15i64..40,
        ) {
            let calendar = Calendar::shipped();
            let today = d("2026-01-01") + chrono::Duration::days(start);
            let due = today + chrono::Duration::days(offset);
            let boundary = soon_before(calendar, today).expect("covered");
            let by_range = if due < today {
                SlaLight::Red
            } else if due < boundary {
                SlaLight::Yellow
            } else {
                SlaLight::Green
            };
            let by_light = sla_light(calendar, today, due, true).expect("covered");
            proptest::prop_assert_eq!(Some(by_range), by_light, "today {} due {} boundary {}", today, due, boundary);
        }
    }

    #[test]
    fn an_acceptance_after_midnight_beijing_counts_from_the_beijing_date() {
        // Accepted 2026-12-20 01:00 Beijing (Sunday) = 2026-12-19 17:00 UTC (Saturday).
        let case = accepted_case("2026-12-19 16:30:00", "2026-12-19 17:00:00");
        let promised = HashMap::from([(1, 1), (2, 3)]);
        let due = case_due(Calendar::shipped(), &case, &promised)
            .expect("calendar")
            .expect("accepted");
        // From Sunday 12-20: Mon 12-21 (1), 12-22, Wed 12-23 (3).
        assert_eq!(
            due.parts[&1],
            Deadline {
                date: d("2026-12-21"),
                provisional: false
            }
        );
        assert_eq!(due.parts[&2].date, d("2026-12-23"));
        assert_eq!(due.due.date, d("2026-12-23"));
    }

    #[test]
    fn a_due_date_in_a_provisional_year_is_a_date_marked_provisional() {
        let case = accepted_case("2026-12-20 02:00:00", "2026-12-20 03:00:00");
        let promised = HashMap::from([(1, 3), (2, 20)]);
        let due = case_due(Calendar::shipped(), &case, &promised)
            .expect("calendar")
            .expect("accepted");
        assert!(!due.parts[&1].provisional, "12-21..12-23 stay in 2026");
        assert!(due.parts[&2].provisional, "20 working days run into 2027");
        assert!(due.due.provisional);
        assert_eq!(due.due.date.format("%Y").to_string(), "2027");
    }

    #[test]
    fn no_due_date_before_acceptance_and_a_deadline_for_deemed_acceptance() {
        // Submitted Sat 2031-05-31 07:30 Beijing.
        let case = submitted_case("2031-05-30 23:30:00");
        let due = case_due(Calendar::shipped(), &case, &HashMap::new()).expect("calendar");
        assert!(due.is_none(), "no clock runs before acceptance");
        let received = beijing_date(case.submitted_at);
        assert_eq!(received, d("2031-05-31"));
        // Mon 6-2 … Fri 6-6 (端午 2031 is Tue 6-24, after the window).
        let deadline = acceptance_deadline(Calendar::shipped(), received).expect("2031");
        assert_eq!(
            deadline,
            Deadline {
                date: d("2031-06-06"),
                provisional: true
            }
        );
        assert!(workflow::deemed_accepted(&case, d("2031-06-07"), deadline.date));
        assert!(!workflow::deemed_accepted(&case, d("2031-06-06"), deadline.date));
    }

    #[test]
    fn lights_in_a_provisional_year() {
        let c = Calendar::shipped();
        assert_eq!(
            sla_light(c, d("2031-06-02"), d("2031-06-30"), true).ok(),
            Some(Some(SlaLight::Green))
        );
        assert_eq!(
            sla_light(c, d("2031-06-27"), d("2031-06-30"), true).ok(),
            Some(Some(SlaLight::Yellow))
        );
        assert_eq!(
            sla_light(c, d("2031-07-01"), d("2031-06-30"), true).ok(),
            Some(Some(SlaLight::Red))
        );
        assert_eq!(
            sla_light(c, d("2031-07-01"), d("2031-06-30"), false).ok(),
            Some(None)
        );
        assert!(
            sla_light(c, d("2017-07-01"), d("2017-06-30"), true).is_err(),
            "a typed error, not a missing light"
        );
    }
}
