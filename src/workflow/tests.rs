//! The state machine's tests: hand-written journeys and property tests over random
//! command sequences.

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
        label: String::new(),
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

fn resubmit(targets: &[&str]) -> Command {
    Command::Resubmit {
        corrected: targets.iter().map(|t| (*t).to_owned()).collect(),
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
fn the_system_accepts_decides_and_delivers_electronically_by_the_rules_and_says_so() {
    let c = ok(&new_case(Channel::Online), &Actor::System, Command::Accept);
    assert_eq!(c.status, CaseStatus::InProgress);
    assert_eq!(c.events[1].actor_label, "系统");
    assert!(
        c.events[1].detail.contains("系统自动受理"),
        "{}",
        c.events[1].detail
    );
    let ids: Vec<i64> = c.sub_cases.iter().map(|s| s.id).collect();
    let mut c = c;
    for id in ids {
        c = ok(
            &c,
            &Actor::System,
            decide(id, true, "智能审批（第 3 条规则）：符合条件"),
        );
    }
    assert_eq!(c.status, CaseStatus::Completed);
    let e = err(
        &c,
        &Actor::System,
        Command::Deliver {
            method: DeliveryMethod::Pickup,
        },
    );
    assert_eq!(e.code(), "forbidden", "the system hands nothing over in person");
    let c = ok(
        &c,
        &Actor::System,
        Command::Deliver {
            method: DeliveryMethod::ECertificate,
        },
    );
    assert_eq!(c.status, CaseStatus::Delivered);
}

#[test]
fn only_the_window_or_the_rules_accept_and_only_a_submitted_case() {
    let c = new_case(Channel::Online);
    for actor in [Actor::Applicant, reviewer("公安"), Actor::Admin] {
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
    let back = ok(&s, &Actor::Applicant, resubmit(&["materials.marriage"]));
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
    let e = err(&c, &Actor::Applicant, resubmit(&["name"]));
    assert_eq!(e.field(), Some("corrected"));
    assert!(e.message().contains("materials.household"), "{}", e.message());
    let e = err(
        &c,
        &Actor::Applicant,
        resubmit(&["name", "materials.household", "photo"]),
    );
    assert!(e.message().contains("photo"), "{}", e.message());
    let e = err(&c, &Actor::Applicant, resubmit(&[]));
    assert!(e.message().contains("name") && e.message().contains("materials.household"));
    assert_eq!(
        err(&c, &Actor::Window, resubmit(&["name", "materials.household"])).code(),
        "forbidden"
    );
    let back = ok(
        &c,
        &Actor::Applicant,
        resubmit(&["materials.household", "name", "name"]),
    );
    assert_eq!(back.status, CaseStatus::Submitted);
    assert_eq!(back.open_notice, None);
    assert_eq!(back.resume_to, None);
    assert_eq!(back.pauses.len(), 1);
    assert_eq!(back.pauses[0].1, Some(back.events.last().expect("event").at));
    assert_eq!(back.trips, 0);
    let online = ok(&c, &Actor::Applicant, resubmit(&["name", "materials.household"]));
    assert_eq!(
        online.trips, 0,
        "an applicant's resubmission is never a trip by itself"
    );
    let visited = ok(
        &online,
        &Actor::Window,
        Command::RecordVisit {
            reason: VisitReason::SupplementInPerson,
        },
    );
    assert_eq!(
        visited.trips, 1,
        "the clerk who received the papers records the trip"
    );
    assert_eq!(
        err(
            &online,
            &Actor::Applicant,
            Command::RecordVisit {
                reason: VisitReason::SupplementInPerson
            }
        )
        .code(),
        "forbidden",
        "an applicant cannot record a visit"
    );
    assert_eq!(
        err(&back, &Actor::Applicant, resubmit(&["name"])).code(),
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
    assert!(e.message().contains("公安以外部门的审批人员"), "{}", e.message());
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
    assert_eq!(
        err(&c, &Actor::Window, visit(VisitReason::SupplementInPerson)).code(),
        "invalid",
        "a 补正 visit needs a 补正"
    );
    let v = ok(&c, &Actor::Window, visit(VisitReason::CounterSubmission));
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
    let back = ok(&s, &Actor::Applicant, resubmit(&["name", "materials.household"]));
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
        resubmit(&["name"]),
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
    let c = ok(&c, &Actor::Applicant, resubmit(&["materials.photo"]));
    let c = ok(
        &c,
        &Actor::Window,
        Command::RecordVisit {
            reason: VisitReason::SupplementInPerson,
        },
    );
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
    assert_eq!(c.version, 12);
    assert_eq!(
        actions(&c),
        [
            "submit",
            "request_supplement",
            "resubmit",
            "record_visit",
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
        3 => (0u8..4).prop_map(|mode| Op::Resubmit { mode }),
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
                    label: String::new(),
                })
                .collect();
            (Actor::Window, Command::RequestSupplement { items })
        }
        Op::Resubmit { mode } => {
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
            (Actor::Applicant, Command::Resubmit { corrected })
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
        if case.status == CaseStatus::SupplementRequested && next.status != CaseStatus::SupplementRequested {
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

#[test]
fn decision_events_name_their_part_and_case_events_name_none() {
    let c = ok(
        &in_progress(),
        &reviewer("公安"),
        Command::Decide {
            sub_case: 3,
            approve: true,
            opinion: "同意".into(),
            result: Some("证2026001".into()),
        },
    );
    let c = ok(&c, &reviewer("民政"), decide(2, false, "材料不符"));
    let parts: Vec<Option<Option<i64>>> = c
        .events
        .iter()
        .map(|e| event_part(&e.action, &e.detail, e.part))
        .collect();
    assert_eq!(
        parts,
        [None, None, None, Some(Some(3)), Some(Some(2))],
        "{:?}",
        c.events
    );
    assert_eq!(event_part("approve", "garbled", None), Some(None));
    // Events stored before parts were recorded are read from the detail then written.
    assert_eq!(
        event_part("deny", "子件 7（health）不予批准", None),
        Some(Some(7))
    );
}

#[test]
fn the_timeline_names_items_departments_and_notice_items_in_words_never_codes() {
    let part = |id, department: &str, item_name: &str, department_name: &str| NewPart {
        id,
        department: department.into(),
        item_name: item_name.into(),
        department_name: department_name.into(),
    };
    let c = Case::new(
        vec![
            part(11, "health", "出生医学证明签发", "区卫生健康局"),
            part(12, "police", "出生户口登记", "公安分局"),
        ],
        Channel::Online,
        DeadlineKind::JointLicensing,
        t0(),
    )
    .expect("case");
    let c = ok(&c, &Actor::Window, Command::Accept);
    let mut notice = item("materials.id-card", "扫描件不清晰", Some("police"));
    notice.label = "居民身份证".into();
    let c = ok(
        &c,
        &Actor::Window,
        Command::RequestSupplement { items: vec![notice] },
    );
    let c = ok(
        &c,
        &Actor::Applicant,
        Command::Resubmit {
            corrected: vec!["materials.id-card".into()],
        },
    );
    let c = ok(&c, &reviewer("health"), decide(11, true, "符合条件"));
    let text: Vec<String> = c
        .events
        .iter()
        .map(|e| format!("{} {}", e.actor_label, e.detail))
        .collect();
    let all = text.join("\n");
    for expected in [
        "分送 2 个部门办理：出生医学证明签发（区卫生健康局）、出生户口登记（公安分局）",
        "居民身份证：扫描件不清晰（公安分局提出）",
        "已补正 1 项：居民身份证",
        "区卫生健康局审批人员 出生医学证明签发（区卫生健康局）：同意",
    ] {
        assert!(all.contains(expected), "missing “{expected}” in:\n{all}");
    }
    for code in ["health", "police", "materials.", "id-card", "11", "12"] {
        assert!(!all.contains(code), "code “{code}” in:\n{all}");
    }
}
