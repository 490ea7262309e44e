use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;

use super::*;
use crate::workflow::{apply, Actor, Channel, Command, DeadlineKind, DeliveryMethod, VisitReason};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn part(item: &str, dept: &str, hf: bool) -> PartInfo {
    PartInfo {
        item_code: item.into(),
        department_code: dept.into(),
        high_frequency: hf,
        declared_trips: 0,
        promised_days: 5,
    }
}

fn fact(id: i64, d: &str, channel: &str, trips: i32, parts: Vec<PartInfo>) -> CaseFact {
    CaseFact {
        case_id: id,
        finished_at: day_start_utc(day(d)),
        day: day(d),
        bundle_code: "b".into(),
        channel: channel.into(),
        trips,
        overdue: false,
        handling_days: Some(3),
        promised_days: 10,
        parts,
    }
}

/// A case taken through acceptance and decisions of all parts at the given times.
fn finished_case(channel: Channel, submitted: &str, accepted: &str, decided: &str) -> workflow::Case {
    let c = workflow::Case::new(
        vec![(1, "d1".into()), (2, "d2".into())],
        channel,
        DeadlineKind::JointLicensing,
        at(submitted),
    )
    .expect("case");
    let c = apply(&c, &Actor::Window, Command::Accept, at(accepted), c.version).expect("accept");
    let decide = |c: &workflow::Case, id| {
        apply(
            c,
            &Actor::Admin,
            Command::Decide {
                sub_case: id,
                approve: true,
                opinion: "同意".into(),
                result: None,
            },
            at(decided),
            c.version,
        )
        .expect("decide")
    };
    let c = decide(&c, 1);
    decide(&c, 2)
}

fn inputs(due: Option<&str>) -> FactInputs<'_> {
    FactInputs {
        case_id: 7,
        bundle_code: "newborn",
        due_date: due,
        promised_days: 10,
        parts: vec![part("i1", "d1", true), part("i2", "d2", false)],
    }
}

#[test]
fn a_case_finishes_on_the_local_day_of_its_complete_event() {
    // 17:00 UTC on 31 March is 01:00 on 1 April in the centre: a case spanning two periods
    // counts in the month it finished, by local time.
    let c = finished_case(
        Channel::Online,
        "2026-03-27 02:00",
        "2026-03-30 02:00",
        "2026-03-31 17:00",
    );
    let f = case_fact(&c, inputs(Some("2026-04-30")), Calendar::shipped())
        .expect("calendar")
        .expect("finished");
    assert_eq!(f.day, day("2026-04-01"));
    assert_eq!(f.trips, 0);
    assert!(!f.overdue);
    // Accepted Monday 30 March: working days 31 March and 1 April.
    assert_eq!(f.handling_days, Some(2));
}

#[test]
fn an_unfinished_or_withdrawn_case_has_no_fact() {
    let c = workflow::Case::new(
        vec![(1, "d1".into())],
        Channel::Online,
        DeadlineKind::Licensing,
        at("2026-03-02 01:00"),
    )
    .expect("case");
    assert!(case_fact(&c, inputs(None), Calendar::shipped())
        .expect("calendar")
        .is_none());
    let w = apply(
        &c,
        &Actor::Applicant,
        Command::Withdraw,
        at("2026-03-03 01:00"),
        1,
    )
    .expect("withdraw");
    assert!(case_fact(&w, inputs(None), Calendar::shipped())
        .expect("calendar")
        .is_none());
}

#[test]
fn finishing_after_the_due_date_is_overdue_and_pickup_adds_a_trip_in_place() {
    let c = finished_case(
        Channel::Window,
        "2026-03-02 01:00",
        "2026-03-02 02:00",
        "2026-03-20 03:00",
    );
    let f = case_fact(&c, inputs(Some("2026-03-19")), Calendar::shipped())
        .expect("calendar")
        .expect("finished");
    assert!(f.overdue);
    assert_eq!(f.trips, 1);
    let d = apply(
        &c,
        &Actor::Window,
        Command::Deliver {
            method: DeliveryMethod::Pickup,
        },
        at("2026-04-02 03:00"),
        c.version,
    )
    .expect("deliver");
    let g = case_fact(&d, inputs(Some("2026-03-19")), Calendar::shipped())
        .expect("calendar")
        .expect("finished");
    assert_eq!((g.day, g.trips), (f.day, 2), "delivery keeps the finish day");
}

#[test]
fn the_zero_trip_share_of_a_hand_computed_fixture() {
    // Three finished cases: two online with 0 trips (one with two high-frequency parts), one
    // at the window with 1 trip. High-frequency parts: 2 + 1 + 1 = 4, zero-trip parts: 3.
    let facts = [
        fact(
            1,
            "2026-01-10",
            "online",
            0,
            vec![part("i1", "d1", true), part("i2", "d2", true)],
        ),
        fact(
            2,
            "2026-01-11",
            "online",
            0,
            vec![part("i1", "d1", true), part("i3", "d3", false)],
        ),
        fact(3, "2026-02-01", "window", 1, vec![part("i1", "d1", true)]),
    ];
    let t = recount(facts.iter());
    let mut hf = Counts::default();
    let mut d1 = Counts::default();
    for (k, c) in &t.parts {
        if k.high_frequency {
            hf.add(c, 1);
            if k.department_code == "d1" {
                d1.add(c, 1);
            }
        }
    }
    assert_eq!((hf.zero_trip, hf.finished), (3, 4));
    assert_eq!(hf.zero_trip_rate(), Some(0.75));
    assert_eq!((d1.zero_trip, d1.finished), (2, 3));
    let mut cases = Counts::default();
    for c in t.cases.values() {
        cases.add(c, 1);
    }
    assert_eq!((cases.finished, cases.zero_trip, cases.trips), (3, 2, 1));
    assert_eq!(cases.average_handling_days(), Some(3.0));
    assert_eq!(cases.average_promised_days(), Some(10.0));
}

#[test]
fn an_empty_period_has_no_rate_rather_than_zero() {
    let c = Counts::default();
    assert_eq!(c.zero_trip_rate(), None);
    assert_eq!(c.overdue_rate(), None);
    assert_eq!(percent(None), "—");
    assert_eq!(percent(Some(0.6)), "60.0%");
}

#[test]
fn over_declared_counts_parts_with_more_trips_than_the_guide_says() {
    let mut p = part("i1", "d1", true);
    p.declared_trips = 1;
    let f = fact(1, "2026-01-10", "window", 2, vec![p, part("i2", "d2", true)]);
    let (_, _, parts) = contributions(&f);
    let over: Vec<i64> = parts.iter().map(|(_, c)| c.over_declared).collect();
    assert_eq!(over, vec![1, 1]);
    let f = fact(2, "2026-01-10", "window", 1, vec![f.parts[0].clone()]);
    assert_eq!(contributions(&f).2[0].1.over_declared, 0);
}

#[test]
fn a_change_of_trips_moves_a_part_out_of_the_zero_trip_count() {
    let old = fact(1, "2026-01-10", "online", 0, vec![part("i1", "d1", true)]);
    let mut new = old.clone();
    new.trips = 1;
    let d = Delta::between(Some(&old), Some(&new));
    let c = d.parts.values().next().expect("one part row");
    assert_eq!((c.finished, c.zero_trip, c.trips), (0, -1, 1));
    assert!(Delta::between(Some(&old), Some(&old)).is_empty());
}

fn arb_fact(id: i64) -> impl Strategy<Value = Option<CaseFact>> {
    let parts = prop::collection::vec(
        (0..4usize, any::<bool>(), 0..3i32).prop_map(|(i, hf, declared)| PartInfo {
            item_code: format!("i{i}"),
            department_code: format!("d{}", i % 2),
            high_frequency: hf,
            declared_trips: declared,
            promised_days: 5 + i as i32,
        }),
        1..4,
    );
    prop::option::weighted(
        0.8,
        (
            0..20i64,
            any::<bool>(),
            0..3i32,
            any::<bool>(),
            prop::option::of(0..30i32),
            parts,
        )
            .prop_map(move |(d, online, trips, overdue, handling, parts)| CaseFact {
                case_id: id,
                finished_at: day_start_utc(day("2026-01-01")) + chrono::Duration::days(d),
                day: day("2026-01-01") + chrono::Duration::days(d),
                bundle_code: format!("b{}", d % 3),
                channel: if online { "online" } else { "window" }.into(),
                trips,
                overdue,
                handling_days: handling,
                promised_days: 10,
                parts,
            }),
    )
}

fn history() -> impl Strategy<Value = Vec<(i64, Option<CaseFact>)>> {
    prop::collection::vec(
        (0..6i64).prop_flat_map(|id| arb_fact(id).prop_map(move |f| (id, f))),
        0..60,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Applying each change's delta, in order, leaves exactly the tables a full recount of
    /// the final facts computes.
    #[test]
    fn incremental_aggregates_equal_a_full_recount(steps in history()) {
        let mut current: BTreeMap<i64, CaseFact> = BTreeMap::new();
        let mut tables = Delta::default();
        for (id, next) in steps {
            let old = current.get(&id).cloned();
            apply_delta(&mut tables, &Delta::between(old.as_ref(), next.as_ref()));
            match next {
                Some(f) => { current.insert(id, f); }
                None => { current.remove(&id); }
            }
        }
        let full = recount(current.values());
        prop_assert_eq!(tables, full);
    }

    /// The months and days of a period's spans cover each day of the period exactly once,
    /// and the months are whole.
    #[test]
    fn spans_cover_every_day_of_the_period_once(start in 0i64..2000, len in 0i64..800) {
        let from = day("2024-01-01") + chrono::Duration::days(start);
        let to = from + chrono::Duration::days(len);
        let s = spans(from, to);
        let mut covered: Vec<NaiveDate> = Vec::new();
        if let Some((first, last)) = &s.months {
            let mut d = NaiveDate::parse_from_str(&format!("{first}-01"), "%Y-%m-%d").expect("month");
            prop_assert!(d >= from, "{first} starts before {from}");
            while d.format("%Y-%m").to_string() <= *last {
                covered.push(d);
                d = d.succ_opt().expect("next day");
            }
            prop_assert!(d.pred_opt().expect("day") <= to, "{last} ends after {to}");
            prop_assert_eq!(d.day(), 1, "{} is a whole month", last);
        }
        for (a, b) in &s.days {
            prop_assert!(a <= b, "empty day range {a}..={b}");
            let mut d = *a;
            while d <= *b {
                covered.push(d);
                d = d.succ_opt().expect("next day");
            }
        }
        covered.sort();
        let expected: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        prop_assert_eq!(covered, expected);
        prop_assert!(s.days.len() <= 2);
    }

    /// Every workflow history yields a fact whose trips are the case's recorded trips and
    /// whose finish is the first `complete` event.
    #[test]
    fn facts_follow_the_recorded_trips(window in any::<bool>(), visits in 0..3u32, pickup in any::<bool>()) {
        let channel = if window { Channel::Window } else { Channel::Online };
        let mut c = finished_case(channel, "2026-03-02 01:00", "2026-03-02 02:00", "2026-03-05 03:00");
        for _ in 0..visits {
            c = apply(&c, &Actor::Window, Command::RecordVisit { reason: VisitReason::CounterSubmission }, at("2026-03-06 03:00"), c.version).expect("visit");
        }
        if pickup {
            c = apply(&c, &Actor::Window, Command::Deliver { method: DeliveryMethod::Pickup }, at("2026-03-07 03:00"), c.version).expect("deliver");
        }
        let f = case_fact(&c, inputs(None), Calendar::shipped()).expect("calendar").expect("finished");
        prop_assert_eq!(f.trips as u32, c.trips);
        prop_assert_eq!(f.trips as u32, u32::from(window) + visits + u32::from(pickup));
        prop_assert_eq!(f.day, day("2026-03-05"));
    }
}

#[test]
fn a_period_reads_whole_months_from_the_rollup_and_the_edges_by_day() {
    let s = spans(day("2026-01-15"), day("2026-04-10"));
    assert_eq!(s.months, Some(("2026-02".into(), "2026-03".into())));
    assert_eq!(
        s.days,
        vec![
            (day("2026-01-15"), day("2026-01-31")),
            (day("2026-04-01"), day("2026-04-10"))
        ]
    );
    let year = spans(day("2025-01-01"), day("2025-12-31"));
    assert_eq!(year.months, Some(("2025-01".into(), "2025-12".into())));
    assert!(year.days.is_empty(), "{year:?}");
    let within = spans(day("2026-02-03"), day("2026-02-27"));
    assert_eq!(within.months, None);
    assert_eq!(within.days, vec![(day("2026-02-03"), day("2026-02-27"))]);
    let leap = spans(day("2024-02-01"), day("2024-02-29"));
    assert_eq!(leap.months, Some(("2024-02".into(), "2024-02".into())));
}

#[test]
fn a_guide_counts_as_published_only_with_every_element() {
    let forms = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
    let cat = crate::catalogue::load_catalogue(&forms).expect("catalogue");
    let mut item = cat.items.values().next().expect("an item").clone();
    item.fee = crate::catalogue::NO_FEE.into();
    item.fee_basis.clear();
    assert!(
        missing_guide_elements(&item).is_empty(),
        "a free item needs no fee basis"
    );
    item.fee = "按规定收取工本费".into();
    assert_eq!(missing_guide_elements(&item), vec!["收费依据"]);
    item.consult_phone = " ".into();
    item.process.clear();
    assert_eq!(
        missing_guide_elements(&item),
        vec!["收费依据", "咨询电话", "办理流程"]
    );
}

#[test]
fn decision_times_split_automatic_from_manual_with_medians_in_words() {
    let mut t = DecisionTimes::default();
    for s in [2, 1, 3] {
        t.add(true, s);
    }
    for s in [86_400, 3 * 86_400, 5 * 86_400, 7 * 86_400] {
        t.add(false, s);
    }
    t.add(false, -5);
    assert_eq!(t.decided(), 8);
    assert_eq!(t.automatic_share(), Some(3.0 / 8.0));
    assert_eq!(t.median_automatic(), Some(2.0));
    assert_eq!(
        t.median_manual(),
        Some(3.0 * 86_400.0),
        "a clock skew counts as zero"
    );
    assert_eq!(duration_words(t.median_automatic()), "2 秒");
    assert_eq!(duration_words(t.median_manual()), "3.0 天");
    assert_eq!(duration_words(Some(5400.0)), "1.5 小时");
    assert_eq!(duration_words(None), "—");
    assert_eq!(DecisionTimes::default().automatic_share(), None);
}
