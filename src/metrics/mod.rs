//! The plan's KPIs measured from what really happened to cases, as pure arithmetic.
//!
//! Definitions (also in ARCHITECTURE.md):
//! - A case is *finished* when the workflow records its `complete` event (every part
//!   decided); its finish time is that event's time and its finish *day* is the local date
//!   (UTC+8) of that time. Withdrawn and refused cases never finish and never count.
//!   Delivery and archiving do not move the finish day.
//! - A case's trips are the trips recorded by its events (counter submission, supplement in
//!   person, pickup, recorded visits); a pickup after the finish changes the finished case's
//!   trips in place, so the figures always show the case's current count.
//! - The zero-trip unit is a *part*: one (finished case, item) pair, i.e. a sub-case. The
//!   zero-trip share counts the parts of high-frequency items whose case recorded 0 trips.
//!   A bundle case with three high-frequency items counts three times, once per item, so
//!   that each item's and department's share is measured on its own parts.
//! - Whether an item is high-frequency, its declared trips and its promised time are read
//!   when the case finishes and kept with the fact, so that later catalogue edits never
//!   make the aggregates drift from what was counted.
//! - Overdue: finished on a local date after the case's due date (the promised working
//!   days from acceptance, moved by 补正 pauses and an approved extension).
//! - Handling time: working days from acceptance to the finish day, without the working
//!   days spent waiting for 补正.

pub mod demo;
pub mod export;
pub mod ratings;
pub mod svg;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError};
use crate::workflow::{self, CaseStatus};

/// 一趟不用跑 share of high-frequency items: at least 60 %.
pub const ZERO_TRIP_TARGET: f64 = 0.6;
/// Bundles (一件事) offered online: at least 40.
pub const BUNDLES_TARGET: i64 = 40;
/// Items with a complete published service guide: 100 %.
pub const GUIDE_TARGET: f64 = 1.0;
/// Satisfied ratings (基本满意 or better): the plan asks for a rising rate; 95 % is the
/// line the dashboard draws.
pub const SATISFACTION_TARGET: f64 = 0.95;

pub use crate::clock::{beijing_date as local_day, day_start_utc};

/// How a period `from..=to` is read from the aggregates: whole calendar months from the
/// monthly rollup, and the days before the first and after the last whole month from the
/// per-day rows. A year then reads twelve monthly rows per group and at most two partial
/// months of daily rows, instead of 365 days of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spans {
    /// Whole months `first..=last` as `YYYY-MM`, if the period covers any.
    pub months: Option<(String, String)>,
    /// Day ranges (inclusive) not covered by `months`; empty ranges are left out.
    pub days: Vec<(NaiveDate, NaiveDate)>,
}

fn month_key(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn first_of_next_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
}

/// Splits `from..=to` into whole months and the days around them.
pub fn spans(from: NaiveDate, to: NaiveDate) -> Spans {
    if from > to {
        return Spans {
            months: None,
            days: Vec::new(),
        };
    }
    let start = if from.day() == 1 {
        from
    } else {
        first_of_next_month(from)
    };
    // The first day after the last whole month.
    let end = if to.succ_opt().is_none_or(|next| next.day() == 1) {
        to.succ_opt().unwrap_or(NaiveDate::MAX)
    } else {
        first_of_month(to)
    };
    if start >= end {
        return Spans {
            months: None,
            days: vec![(from, to)],
        };
    }
    let last_month = end.pred_opt().unwrap_or(end);
    let mut days = Vec::new();
    if from < start {
        days.push((from, start.pred_opt().unwrap_or(start)));
    }
    if end <= to {
        days.push((end, to));
    }
    Spans {
        months: Some((month_key(start), month_key(last_month))),
        days,
    }
}

/// One part of a case as counted when the case finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub item_code: String,
    pub department_code: String,
    pub high_frequency: bool,
    pub declared_trips: i32,
    pub promised_days: i32,
}

/// What a finished case contributes to the aggregates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFact {
    pub case_id: i64,
    pub finished_at: NaiveDateTime,
    pub day: NaiveDate,
    pub bundle_code: String,
    pub channel: String,
    pub trips: i32,
    pub overdue: bool,
    pub handling_days: Option<i32>,
    pub promised_days: i32,
    pub parts: Vec<PartInfo>,
}

/// When the case finished: the time of its `complete` event.
pub fn finished_at(case: &workflow::Case) -> Option<NaiveDateTime> {
    if case.status == CaseStatus::Withdrawn {
        return None;
    }
    case.events
        .iter()
        .find(|e| e.to == CaseStatus::Completed)
        .map(|e| e.at)
}

/// Working days from acceptance to `finished`, without the working days paused for 补正;
/// None for a case never accepted. A calendar failure is an error, never a missing figure.
pub fn handling_days(
    case: &workflow::Case,
    finished: NaiveDateTime,
    calendar: &Calendar,
) -> Result<Option<i32>, CalendarError> {
    let Some(accepted) = case.accepted_at.map(local_day) else {
        return Ok(None);
    };
    let total = calendar.working_days_between(accepted, local_day(finished))?;
    let mut paused = 0;
    for (start, end) in &case.pauses {
        let end = end.unwrap_or(finished);
        paused += calendar.working_days_between(local_day(*start), local_day(end))?;
    }
    Ok(Some(i32::try_from((total - paused).max(0)).unwrap_or(i32::MAX)))
}

/// The catalogue facts a case's fact needs, read when it finishes.
pub struct FactInputs<'a> {
    pub case_id: i64,
    pub bundle_code: &'a str,
    pub due_date: Option<&'a str>,
    pub promised_days: i32,
    pub parts: Vec<PartInfo>,
}

/// The fact of a case, or None while it is not finished.
pub fn case_fact(
    case: &workflow::Case,
    inputs: FactInputs<'_>,
    calendar: &Calendar,
) -> Result<Option<CaseFact>, CalendarError> {
    let Some(finished) = finished_at(case) else {
        return Ok(None);
    };
    let day = local_day(finished);
    let overdue = inputs
        .due_date
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_some_and(|due| day > due);
    Ok(Some(CaseFact {
        case_id: inputs.case_id,
        finished_at: finished,
        day,
        bundle_code: inputs.bundle_code.to_owned(),
        channel: case.channel.as_str().to_owned(),
        trips: i32::try_from(case.trips).unwrap_or(i32::MAX),
        overdue,
        handling_days: handling_days(case, finished, calendar)?,
        promised_days: inputs.promised_days,
        parts: inputs.parts,
    }))
}

/// Summable counts of one aggregate row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub finished: i64,
    pub zero_trip: i64,
    pub trips: i64,
    /// Parts whose case recorded more trips than the item's guide declares.
    pub over_declared: i64,
    pub overdue: i64,
    /// Finished with a known handling time.
    pub handled: i64,
    pub handling_days: i64,
    pub promised_days: i64,
}

impl Counts {
    fn one(trips: i32, declared: Option<i32>, overdue: bool, handling: Option<i32>, promised: i32) -> Self {
        Self {
            finished: 1,
            zero_trip: i64::from(trips == 0),
            trips: i64::from(trips),
            over_declared: i64::from(declared.is_some_and(|d| trips > d)),
            overdue: i64::from(overdue),
            handled: i64::from(handling.is_some()),
            handling_days: i64::from(handling.unwrap_or(0)),
            promised_days: if handling.is_some() {
                i64::from(promised)
            } else {
                0
            },
        }
    }

    /// Adds `other` times `sign` (+1 or -1).
    pub fn add(&mut self, other: &Counts, sign: i64) {
        self.finished += sign * other.finished;
        self.zero_trip += sign * other.zero_trip;
        self.trips += sign * other.trips;
        self.over_declared += sign * other.over_declared;
        self.overdue += sign * other.overdue;
        self.handled += sign * other.handled;
        self.handling_days += sign * other.handling_days;
        self.promised_days += sign * other.promised_days;
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }

    pub fn zero_trip_rate(&self) -> Option<f64> {
        ratio(self.zero_trip, self.finished)
    }

    pub fn overdue_rate(&self) -> Option<f64> {
        ratio(self.overdue, self.finished)
    }

    pub fn average_trips(&self) -> Option<f64> {
        ratio(self.trips, self.finished)
    }

    pub fn average_handling_days(&self) -> Option<f64> {
        ratio(self.handling_days, self.handled)
    }

    pub fn average_promised_days(&self) -> Option<f64> {
        ratio(self.promised_days, self.handled)
    }
}

/// `num / den`, None for an empty denominator (an empty period has no rate, not 0 %).
pub fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The key of a per-case aggregate row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseKey {
    pub day: NaiveDate,
    pub bundle_code: String,
    pub channel: String,
}

/// The key of a per-part aggregate row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartKey {
    pub day: NaiveDate,
    pub bundle_code: String,
    pub item_code: String,
    pub department_code: String,
    pub channel: String,
    pub high_frequency: bool,
}

/// The rows a fact adds to.
pub fn contributions(fact: &CaseFact) -> (CaseKey, Counts, Vec<(PartKey, Counts)>) {
    let case_key = CaseKey {
        day: fact.day,
        bundle_code: fact.bundle_code.clone(),
        channel: fact.channel.clone(),
    };
    let case_counts = Counts::one(
        fact.trips,
        None,
        fact.overdue,
        fact.handling_days,
        fact.promised_days,
    );
    let parts = fact
        .parts
        .iter()
        .map(|p| {
            (
                PartKey {
                    day: fact.day,
                    bundle_code: fact.bundle_code.clone(),
                    item_code: p.item_code.clone(),
                    department_code: p.department_code.clone(),
                    channel: fact.channel.clone(),
                    high_frequency: p.high_frequency,
                },
                Counts::one(
                    fact.trips,
                    Some(p.declared_trips),
                    fact.overdue,
                    fact.handling_days,
                    p.promised_days,
                ),
            )
        })
        .collect();
    (case_key, case_counts, parts)
}

/// Signed changes to the aggregate rows when a case's fact goes from `old` to `new`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub cases: BTreeMap<CaseKey, Counts>,
    pub parts: BTreeMap<PartKey, Counts>,
}

impl Delta {
    pub fn between(old: Option<&CaseFact>, new: Option<&CaseFact>) -> Delta {
        let mut d = Delta::default();
        if old == new {
            return d;
        }
        for (fact, sign) in [(old, -1), (new, 1)] {
            let Some(fact) = fact else { continue };
            let (ck, cc, parts) = contributions(fact);
            d.cases.entry(ck).or_default().add(&cc, sign);
            for (pk, pc) in parts {
                d.parts.entry(pk).or_default().add(&pc, sign);
            }
        }
        d.cases.retain(|_, c| !c.is_zero());
        d.parts.retain(|_, c| !c.is_zero());
        d
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty() && self.parts.is_empty()
    }
}

/// The aggregate tables as a full recount of the given facts computes them.
pub fn recount<'a>(facts: impl IntoIterator<Item = &'a CaseFact>) -> Delta {
    let mut d = Delta::default();
    for f in facts {
        let (ck, cc, parts) = contributions(f);
        d.cases.entry(ck).or_default().add(&cc, 1);
        for (pk, pc) in parts {
            d.parts.entry(pk).or_default().add(&pc, 1);
        }
    }
    d
}

/// Applies a delta to in-memory aggregate tables, dropping rows that fall to zero (as the
/// stored tables may keep zero rows, comparisons ignore them).
pub fn apply_delta(tables: &mut Delta, delta: &Delta) {
    for (k, c) in &delta.cases {
        tables.cases.entry(k.clone()).or_default().add(c, 1);
    }
    for (k, c) in &delta.parts {
        tables.parts.entry(k.clone()).or_default().add(c, 1);
    }
    tables.cases.retain(|_, c| !c.is_zero());
    tables.parts.retain(|_, c| !c.is_zero());
}

/// The elements of a standard service guide (办事指南) that must all be present for an item
/// to count as published; returns the Chinese names of the missing ones.
pub fn missing_guide_elements(item: &crate::catalogue::ItemDef) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let mut need = |present: bool, name: &'static str| {
        if !present {
            missing.push(name);
        }
    };
    let text = |s: &str| !s.trim().is_empty();
    need(text(&item.summary), "事项概述");
    need(!item.legal_basis.is_empty(), "设定依据");
    need(!item.conditions.is_empty(), "受理条件");
    need(text(&item.service_type), "办件类型");
    need(item.legal_time_limit_days >= 0, "法定办结时限");
    need(item.promised_time_limit_days >= 0, "承诺办结时限");
    need(text(&item.fee), "收费标准");
    // A free service has no fee basis to publish.
    need(
        item.fee.trim() == crate::catalogue::NO_FEE || text(&item.fee_basis),
        "收费依据",
    );
    need(text(&item.result), "办理结果");
    need(text(&item.place), "办理地点");
    need(text(&item.hours), "办理时间");
    need(text(&item.consult_phone), "咨询电话");
    need(text(&item.complaint_phone), "投诉电话");
    need(!item.process.is_empty(), "办理流程");
    need(!item.delivery.is_empty(), "送达方式");
    missing
}

/// The first batch of smart-approval items the plan's task 13 asks for (受理零窗口、审查零人工、
/// 领证零上门、归档零材料): twelve items decided by declared rules.
pub const SMART_APPROVAL_TARGET: i64 = 12;

/// Decided parts, split by who decided: the system by the item's rules, or a person; each
/// as the seconds from the case's submission to the decision (补正 pauses included: the
/// applicant waited through them too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionTimes {
    pub automatic: Vec<i64>,
    pub manual: Vec<i64>,
}

impl DecisionTimes {
    pub fn add(&mut self, automatic: bool, seconds: i64) {
        let seconds = seconds.max(0);
        if automatic {
            self.automatic.push(seconds);
        } else {
            self.manual.push(seconds);
        }
    }

    pub fn decided(&self) -> i64 {
        (self.automatic.len() + self.manual.len()) as i64
    }

    /// The share of decided parts the system decided.
    pub fn automatic_share(&self) -> Option<f64> {
        ratio(self.automatic.len() as i64, self.decided())
    }

    pub fn median_automatic(&self) -> Option<f64> {
        median(&self.automatic)
    }

    pub fn median_manual(&self) -> Option<f64> {
        median(&self.manual)
    }
}

/// The median of `values`; the mean of the two middle values for an even count.
pub fn median(values: &[i64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2] as f64),
        _ => Some((v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0),
    }
}

/// A span of seconds as people say it: 秒, 分钟, 小时 or 天.
pub fn duration_words(seconds: Option<f64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) if s < 60.0 => format!("{:.0} 秒", s),
        Some(s) if s < 3600.0 => format!("{:.0} 分钟", s / 60.0),
        Some(s) if s < 86_400.0 => format!("{:.1} 小时", s / 3600.0),
        Some(s) => format!("{:.1} 天", s / 86_400.0),
    }
}

/// A rate in percent with one decimal, for pages and exports.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

#[cfg(test)]
mod tests;
