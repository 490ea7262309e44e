//! The KPI aggregates: kept exact inside every case transition (see [`record_case`]) as
//! per-day rows and their monthly rollups, read by the dashboard with one small query per
//! report (whole months from the rollups, the days around them from the per-day rows), and
//! recounted from the primary data (cases, sub-cases, events) to check them.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::applications::CaseRow;
use crate::calendar::Calendar;
use crate::db::dialect::numbered;
use crate::db::schema::{bundles, case_facts, items, sub_cases};
use crate::db::{DbConn, DbError};
use crate::metrics::{self, CaseFact, CaseKey, Counts, Delta, FactInputs, PartInfo, PartKey};
use crate::workflow;

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = case_facts)]
pub(crate) struct FactRow {
    case_id: i64,
    finished_at: NaiveDateTime,
    day: String,
    bundle_code: String,
    channel: String,
    trips: i32,
    overdue: bool,
    handling_days: Option<i32>,
    promised_days: i32,
    parts: String,
}

impl FactRow {
    pub(crate) fn from_fact(f: &CaseFact) -> Result<Self, DbError> {
        Ok(Self {
            case_id: f.case_id,
            finished_at: f.finished_at,
            day: f.day.to_string(),
            bundle_code: f.bundle_code.clone(),
            channel: f.channel.clone(),
            trips: f.trips,
            overdue: f.overdue,
            handling_days: f.handling_days,
            promised_days: f.promised_days,
            parts: serde_json::to_string(&f.parts).map_err(corrupt)?,
        })
    }

    fn into_fact(self) -> Result<CaseFact, DbError> {
        Ok(CaseFact {
            case_id: self.case_id,
            finished_at: self.finished_at,
            day: NaiveDate::parse_from_str(&self.day, "%Y-%m-%d").map_err(corrupt)?,
            bundle_code: self.bundle_code,
            channel: self.channel,
            trips: self.trips,
            overdue: self.overdue,
            handling_days: self.handling_days,
            promised_days: self.promised_days,
            parts: serde_json::from_str(&self.parts).map_err(corrupt)?,
        })
    }
}

fn stored_fact(conn: &mut DbConn, case_id: i64) -> Result<Option<CaseFact>, DbError> {
    case_facts::table
        .find(case_id)
        .select(FactRow::as_select())
        .first(conn)
        .optional()?
        .map(FactRow::into_fact)
        .transpose()
}

/// The parts of a case with the catalogue facts of their items, read when it finishes.
fn parts_of(conn: &mut DbConn, case_id: i64) -> Result<Vec<PartInfo>, DbError> {
    let rows: Vec<(String, String, bool, i32, i32)> = sub_cases::table
        .inner_join(items::table.on(items::code.eq(sub_cases::item_code)))
        .filter(sub_cases::case_id.eq(case_id))
        .order(sub_cases::id)
        .select((
            sub_cases::item_code,
            sub_cases::department_code,
            items::high_frequency,
            items::trips,
            items::promised_time_limit_days,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(item_code, department_code, high_frequency, declared_trips, promised_days)| PartInfo {
                item_code,
                department_code,
                high_frequency,
                declared_trips,
                promised_days,
            },
        )
        .collect())
}

/// Brings the aggregates up to date with a case's new state; called inside the
/// transaction that saves the transition, so the tables never differ from a recount.
/// The catalogue facts are read once, when the case first finishes, and kept with it.
pub fn record_case(
    conn: &mut DbConn,
    row: &CaseRow,
    new: &workflow::Case,
    due_date: Option<&str>,
    calendar: &Calendar,
) -> Result<(), DbError> {
    let old = stored_fact(conn, row.id)?;
    if old.is_none() && metrics::finished_at(new).is_none() {
        return Ok(());
    }
    let (parts, promised_days) = match &old {
        Some(f) => (f.parts.clone(), f.promised_days),
        None => {
            let promised: i32 = bundles::table
                .find(&row.bundle_code)
                .select(bundles::promised_time_limit_days)
                .first(conn)?;
            (parts_of(conn, row.id)?, promised)
        }
    };
    let inputs = FactInputs {
        case_id: row.id,
        bundle_code: &row.bundle_code,
        due_date,
        promised_days,
        parts,
    };
    let new_fact = metrics::case_fact(new, inputs, calendar)?;
    let delta = Delta::between(old.as_ref(), new_fact.as_ref());
    if delta.is_empty() {
        return Ok(());
    }
    apply(conn, &delta)?;
    match (&old, &new_fact) {
        (_, Some(f)) => {
            let r = FactRow::from_fact(f)?;
            if old.is_some() {
                diesel::update(case_facts::table.find(f.case_id))
                    .set(&r)
                    .execute(conn)?;
            } else {
                diesel::insert_into(case_facts::table).values(&r).execute(conn)?;
            }
        }
        (Some(f), None) => {
            diesel::delete(case_facts::table.find(f.case_id)).execute(conn)?;
        }
        (None, None) => {}
    }
    Ok(())
}

const COUNT_COLUMNS: [&str; 8] = [
    "finished",
    "zero_trip",
    "trips",
    "over_declared",
    "overdue",
    "handled",
    "handling_days",
    "promised_days",
];

fn counts_values(c: &Counts) -> [i64; 8] {
    [
        c.finished,
        c.zero_trip,
        c.trips,
        c.over_declared,
        c.overdue,
        c.handled,
        c.handling_days,
        c.promised_days,
    ]
}

/// The SQL that adds counts to one aggregate row, creating it at zero if missing, in one
/// statement (race-free on both backends).
fn upsert_sql(conn: &DbConn, table: &str, keys: &[&str]) -> String {
    let key_cols = keys.join(", ");
    let cols = COUNT_COLUMNS.join(", ");
    let params = (1..=keys.len() + COUNT_COLUMNS.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sets = COUNT_COLUMNS
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    numbered(
        conn,
        &format!(
            "INSERT INTO {table} ({key_cols}, {cols}) VALUES ({params}) \
             ON CONFLICT ({key_cols}) DO UPDATE SET {sets}"
        ),
    )
}

macro_rules! bind_counts {
    ($query:expr, $c:expr) => {{
        let v = counts_values($c);
        $query
            .bind::<BigInt, _>(v[0])
            .bind::<BigInt, _>(v[1])
            .bind::<BigInt, _>(v[2])
            .bind::<BigInt, _>(v[3])
            .bind::<BigInt, _>(v[4])
            .bind::<BigInt, _>(v[5])
            .bind::<BigInt, _>(v[6])
            .bind::<BigInt, _>(v[7])
    }};
}

/// The per-day table and the monthly rollup of one kind of aggregate row.
const CASE_TABLES: [(&str, &str); 2] = [("metric_cases", "day"), ("metric_cases_months", "month")];
const PART_TABLES: [(&str, &str); 2] = [("metric_parts", "day"), ("metric_parts_months", "month")];

/// The delta of the monthly rollups: each day's counts added to its month's.
fn by_month_start<K: Ord + Clone>(
    rows: &BTreeMap<K, Counts>,
    rekey: impl Fn(&K) -> K,
) -> BTreeMap<K, Counts> {
    let mut months: BTreeMap<K, Counts> = BTreeMap::new();
    for (k, c) in rows {
        months.entry(rekey(k)).or_default().add(c, 1);
    }
    months
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Adds a delta to the per-day tables and to their monthly rollups, so that both always
/// equal a recount.
pub fn apply(conn: &mut DbConn, delta: &Delta) -> Result<(), DbError> {
    let case_months = by_month_start(&delta.cases, |k| CaseKey {
        day: month_start(k.day),
        ..k.clone()
    });
    for ((table, period_col), rows) in CASE_TABLES.into_iter().zip([&delta.cases, &case_months]) {
        let sql = upsert_sql(conn, table, &[period_col, "bundle_code", "channel"]);
        for (k, c) in rows {
            let period = period_text(period_col, k.day);
            bind_counts!(
                diesel::sql_query(&sql)
                    .bind::<Text, _>(&period)
                    .bind::<Text, _>(&k.bundle_code)
                    .bind::<Text, _>(&k.channel),
                c
            )
            .execute(conn)?;
        }
    }
    let part_months = by_month_start(&delta.parts, |k| PartKey {
        day: month_start(k.day),
        ..k.clone()
    });
    for ((table, period_col), rows) in PART_TABLES.into_iter().zip([&delta.parts, &part_months]) {
        let sql = upsert_sql(
            conn,
            table,
            &[
                period_col,
                "bundle_code",
                "item_code",
                "department_code",
                "channel",
                "high_frequency",
            ],
        );
        for (k, c) in rows {
            let period = period_text(period_col, k.day);
            bind_counts!(
                diesel::sql_query(&sql)
                    .bind::<Text, _>(&period)
                    .bind::<Text, _>(&k.bundle_code)
                    .bind::<Text, _>(&k.item_code)
                    .bind::<Text, _>(&k.department_code)
                    .bind::<Text, _>(&k.channel)
                    .bind::<Bool, _>(k.high_frequency),
                c
            )
            .execute(conn)?;
        }
    }
    Ok(())
}

/// A day as `YYYY-MM-DD`, or its month as `YYYY-MM` for the rollups.
fn period_text(period_col: &str, day: NaiveDate) -> String {
    if period_col == "month" {
        day.format("%Y-%m").to_string()
    } else {
        day.to_string()
    }
}

/// One group of a KPI breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub k: String,
    pub counts: Counts,
}

/// The summed count columns of an aggregate query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub struct Sums {
    #[diesel(sql_type = BigInt)]
    pub finished: i64,
    #[diesel(sql_type = BigInt)]
    pub zero_trip: i64,
    #[diesel(sql_type = BigInt)]
    pub trips: i64,
    #[diesel(sql_type = BigInt)]
    pub over_declared: i64,
    #[diesel(sql_type = BigInt)]
    pub overdue: i64,
    #[diesel(sql_type = BigInt)]
    pub handled: i64,
    #[diesel(sql_type = BigInt)]
    pub handling_days: i64,
    #[diesel(sql_type = BigInt)]
    pub promised_days: i64,
}

impl Sums {
    pub fn counts(&self) -> Counts {
        Counts {
            finished: self.finished,
            zero_trip: self.zero_trip,
            trips: self.trips,
            over_declared: self.over_declared,
            overdue: self.overdue,
            handled: self.handled,
            handling_days: self.handling_days,
            promised_days: self.promised_days,
        }
    }
}

/// The aggregates of one month and one (bundle, item, department, channel) combination
/// within a period: what every breakdown of a report is summed from. Case cells have an
/// empty item and department.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub struct Cell {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub bundle_code: String,
    #[diesel(sql_type = Text)]
    pub item_code: String,
    #[diesel(sql_type = Text)]
    pub department_code: String,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Bool)]
    pub high_frequency: bool,
    #[diesel(embed)]
    pub sums: Sums,
}

impl Cell {
    pub fn counts(&self) -> Counts {
        self.sums.counts()
    }

    fn key(&self, dim: Dim) -> &str {
        match dim {
            Dim::All => "all",
            Dim::Month => &self.month,
            Dim::Department => &self.department_code,
            Dim::Item => &self.item_code,
            Dim::Bundle => &self.bundle_code,
            Dim::Channel => &self.channel,
        }
    }
}

/// What a KPI query covers: local days `from..=to`, optionally one department's parts.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub department: Option<String>,
}

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    All,
    /// `YYYY-MM`.
    Month,
    Department,
    Item,
    Bundle,
    Channel,
}

/// The key expression and the GROUP BY tail of a grouping column (PostgreSQL refuses to
/// group by a constant, so the grand total has no GROUP BY).
fn grouping(col: Option<&str>) -> (String, String) {
    match col {
        None => ("'all'".into(), String::new()),
        Some(c) => (c.into(), format!(" GROUP BY {c} ORDER BY {c}")),
    }
}

fn sums() -> String {
    COUNT_COLUMNS
        .iter()
        .map(|c| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The bound ranges of a period: whole months from the rollup, then the days before and
/// after them. A range that is not needed binds as `'1'..='0'`, which no date or month
/// lies within, so that every query has the same shape.
fn range_binds(period: &Period) -> [String; 6] {
    let spans = metrics::spans(period.from, period.to);
    let empty = || ("1".to_owned(), "0".to_owned());
    let (m1, m2) = spans.months.unwrap_or_else(empty);
    let mut days = spans
        .days
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .chain(std::iter::repeat_with(empty));
    let (h1, h2) = days.next().unwrap_or_else(empty);
    let (t1, t2) = days.next().unwrap_or_else(empty);
    [m1, m2, h1, h2, t1, t2]
}

/// The cells of a period read from `day_table` and its monthly rollup `month_table`:
/// `keys` are the grouping columns besides the month, `filter` the condition every row
/// must meet (it may use `$7` and `$8`).
fn cells_sql(conn: &DbConn, day_table: &str, month_table: &str, keys: &str, filter: &str) -> String {
    let cols = COUNT_COLUMNS.join(", ");
    let days = |from: usize| {
        format!(
            "SELECT substr(day, 1, 7) AS month, {keys}, {cols} FROM {day_table} \
             WHERE day >= ${from} AND day <= ${} AND {filter}",
            from + 1
        )
    };
    numbered(
        conn,
        &format!(
            "SELECT month, {keys}, {} FROM (\
             SELECT month, {keys}, {cols} FROM {month_table} WHERE month >= $1 AND month <= $2 AND {filter} \
             UNION ALL {} UNION ALL {}) AS t GROUP BY month, {keys}",
            sums(),
            days(3),
            days(5)
        ),
    )
}

/// The cells of the parts finished in the period (of high-frequency items only when
/// `high_frequency_only`), optionally of one department.
pub fn part_cells(
    conn: &mut DbConn,
    period: &Period,
    high_frequency_only: bool,
) -> Result<Vec<Cell>, DbError> {
    let sql = cells_sql(
        conn,
        "metric_parts",
        "metric_parts_months",
        "bundle_code, item_code, department_code, channel, high_frequency",
        "($7 = '' OR department_code = $7) AND (high_frequency OR $8 = FALSE)",
    );
    let [m1, m2, h1, h2, t1, t2] = range_binds(period);
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(m1)
        .bind::<Text, _>(m2)
        .bind::<Text, _>(h1)
        .bind::<Text, _>(h2)
        .bind::<Text, _>(t1)
        .bind::<Text, _>(t2)
        .bind::<Text, _>(period.department.clone().unwrap_or_default())
        .bind::<Bool, _>(high_frequency_only)
        .load(conn)?)
}

/// The cells of the cases finished in the period (every department's).
pub fn case_cells(conn: &mut DbConn, period: &Period) -> Result<Vec<Cell>, DbError> {
    let sql = cells_sql(
        conn,
        "metric_cases",
        "metric_cases_months",
        "bundle_code, channel",
        "TRUE",
    );
    let [m1, m2, h1, h2, t1, t2] = range_binds(period);
    let rows: Vec<CaseCell> = diesel::sql_query(sql)
        .bind::<Text, _>(m1)
        .bind::<Text, _>(m2)
        .bind::<Text, _>(h1)
        .bind::<Text, _>(h2)
        .bind::<Text, _>(t1)
        .bind::<Text, _>(t2)
        .load(conn)?;
    Ok(rows.into_iter().map(CaseCell::into_cell).collect())
}

/// A case cell as read (cases have no item, department or high-frequency flag).
#[derive(QueryableByName)]
struct CaseCell {
    #[diesel(sql_type = Text)]
    month: String,
    #[diesel(sql_type = Text)]
    bundle_code: String,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(embed)]
    sums: Sums,
}

impl CaseCell {
    fn into_cell(self) -> Cell {
        Cell {
            month: self.month,
            bundle_code: self.bundle_code,
            item_code: String::new(),
            department_code: String::new(),
            channel: self.channel,
            high_frequency: false,
            sums: self.sums,
        }
    }
}

/// Cells summed by `dim`, in key order; `Dim::All` always yields its one group.
pub fn group(cells: &[Cell], dim: Dim) -> Vec<Group> {
    let mut groups: BTreeMap<&str, Counts> = BTreeMap::new();
    if dim == Dim::All {
        groups.insert("all", Counts::default());
    }
    for c in cells {
        groups.entry(c.key(dim)).or_default().add(&c.counts(), 1);
    }
    groups
        .into_iter()
        .map(|(k, counts)| Group {
            k: k.to_owned(),
            counts,
        })
        .collect()
}

/// Parts finished in the period grouped by `dim` (one query; reports that need several
/// breakdowns read [`part_cells`] once and [`group`] it).
pub fn parts_by(
    conn: &mut DbConn,
    period: &Period,
    dim: Dim,
    high_frequency_only: bool,
) -> Result<Vec<Group>, DbError> {
    Ok(group(&part_cells(conn, period, high_frequency_only)?, dim))
}

/// Cases finished in the period grouped by `dim` (Department and Item group like All).
pub fn cases_by(conn: &mut DbConn, period: &Period, dim: Dim) -> Result<Vec<Group>, DbError> {
    let dim = match dim {
        Dim::Department | Dim::Item => Dim::All,
        d => d,
    };
    Ok(group(&case_cells(conn, period)?, dim))
}

/// Totals over every group of a query.
pub fn total(groups: &[Group]) -> Counts {
    let mut c = Counts::default();
    for g in groups {
        c.add(&g.counts, 1);
    }
    c
}

/// Rollup cells as stored, and the same cells summed from the per-day rows.
pub type StoredAndSummed = (Vec<Cell>, Vec<Cell>);

/// The monthly rollups as stored beside the same rollups summed from the per-day rows,
/// for cases and then for parts, without rows that count nothing: equal unless a write
/// missed one of the tables.
pub fn month_rollups(conn: &mut DbConn) -> Result<[StoredAndSummed; 2], DbError> {
    // The rollup as stored, and the same rows summed from the day table.
    let queries = |day_table: &str, keys: &str| {
        (
            format!(
                "SELECT month, {keys}, {} FROM {day_table}_months",
                COUNT_COLUMNS.join(", ")
            ),
            format!(
                "SELECT substr(day, 1, 7) AS month, {keys}, {} FROM {day_table} \
                 GROUP BY substr(day, 1, 7), {keys}",
                sums()
            ),
        )
    };
    let (stored, summed) = queries("metric_cases", "bundle_code, channel");
    let stored_cases: Vec<CaseCell> = diesel::sql_query(stored).load(conn)?;
    let summed_cases: Vec<CaseCell> = diesel::sql_query(summed).load(conn)?;
    let (stored, summed) = queries(
        "metric_parts",
        "bundle_code, item_code, department_code, channel, high_frequency",
    );
    let stored_parts: Vec<Cell> = diesel::sql_query(stored).load(conn)?;
    let summed_parts: Vec<Cell> = diesel::sql_query(summed).load(conn)?;
    fn tidy(cells: impl IntoIterator<Item = Cell>) -> Vec<Cell> {
        let mut v: Vec<Cell> = cells.into_iter().filter(|c| !c.counts().is_zero()).collect();
        v.sort();
        v
    }
    let cases = |rows: Vec<CaseCell>| tidy(rows.into_iter().map(CaseCell::into_cell));
    Ok([
        (cases(stored_cases), cases(summed_cases)),
        (tidy(stored_parts), tidy(summed_parts)),
    ])
}

/// A recount group: finished parts or cases, zero-trip ones and trips, straight from the
/// primary data.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Recount {
    #[diesel(sql_type = Text)]
    pub k: String,
    #[diesel(sql_type = BigInt)]
    pub finished: i64,
    #[diesel(sql_type = BigInt)]
    pub zero_trip: i64,
    #[diesel(sql_type = BigInt)]
    pub trips: i64,
}

const FINISHED: &str = "(SELECT case_id, MIN(at) AS fin FROM case_events \
     WHERE to_status = 'completed' GROUP BY case_id)";

/// The zero-trip figures of finished parts grouped by `dim`, recounted with a plain GROUP
/// BY over cases, their events, sub-cases and the catalogue's current high-frequency
/// flags (the check of the aggregates, and the benchmark's baseline). Days are not
/// recounted (the finish time is a timestamp here); `Dim::Month` counts like `Dim::All`.
/// Groups come in byte order of their keys, as the aggregates' do.
pub fn recount_parts(
    conn: &mut DbConn,
    period: &Period,
    dim: Dim,
    high_frequency_only: bool,
) -> Result<Vec<Recount>, DbError> {
    let (key, tail) = grouping(match dim {
        Dim::All | Dim::Month => None,
        Dim::Department => Some("s.department_code"),
        Dim::Item => Some("s.item_code"),
        Dim::Bundle => Some("c.bundle_code"),
        Dim::Channel => Some("c.channel"),
    });
    let sql = numbered(
        conn,
        &format!(
            "SELECT {key} AS k, COUNT(*) AS finished, \
             CAST(COALESCE(SUM(CASE WHEN c.trips = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS zero_trip, \
             CAST(COALESCE(SUM(c.trips), 0) AS BIGINT) AS trips \
             FROM cases c JOIN {FINISHED} f ON f.case_id = c.id \
             JOIN sub_cases s ON s.case_id = c.id JOIN items i ON i.code = s.item_code \
             WHERE f.fin >= $1 AND f.fin < $2 AND ($3 = '' OR s.department_code = $3) \
             AND (i.high_frequency OR $4 = FALSE){tail}"
        ),
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamp, _>(metrics::day_start_utc(period.from))
        .bind::<Timestamp, _>(metrics::day_start_utc(period.to + chrono::Duration::days(1)))
        .bind::<Text, _>(period.department.clone().unwrap_or_default())
        .bind::<Bool, _>(high_frequency_only)
        .load(conn)
        .map(in_key_order)?)
}

fn in_key_order(mut rows: Vec<Recount>) -> Vec<Recount> {
    rows.sort_by(|a, b| a.k.cmp(&b.k));
    rows
}

/// Finished cases grouped by channel, recounted from cases and their events.
pub fn recount_cases_by_channel(conn: &mut DbConn, period: &Period) -> Result<Vec<Recount>, DbError> {
    let sql = numbered(
        conn,
        &format!(
            "SELECT c.channel AS k, COUNT(*) AS finished, \
             CAST(COALESCE(SUM(CASE WHEN c.trips = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS zero_trip, \
             CAST(COALESCE(SUM(c.trips), 0) AS BIGINT) AS trips \
             FROM cases c JOIN {FINISHED} f ON f.case_id = c.id \
             WHERE f.fin >= $1 AND f.fin < $2 GROUP BY c.channel ORDER BY c.channel"
        ),
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamp, _>(metrics::day_start_utc(period.from))
        .bind::<Timestamp, _>(metrics::day_start_utc(period.to + chrono::Duration::days(1)))
        .load(conn)
        .map(in_key_order)?)
}

/// The aggregate groups in the recount's shape, for comparison.
pub fn as_recount(groups: &[Group]) -> Vec<Recount> {
    groups
        .iter()
        .filter(|g| g.counts.finished != 0 || g.counts.zero_trip != 0 || g.counts.trips != 0)
        .map(|g| Recount {
            k: g.k.clone(),
            finished: g.counts.finished,
            zero_trip: g.counts.zero_trip,
            trips: g.counts.trips,
        })
        .collect()
}

/// The parts decided in the period (by the Beijing date of the decision), each as whether
/// the system decided it by its rules and the seconds from the case's submission.
pub fn decision_times(conn: &mut DbConn, period: &Period) -> Result<metrics::DecisionTimes, DbError> {
    use crate::db::schema::{case_events, cases, sub_cases};
    let mut q = case_events::table
        .inner_join(cases::table.on(cases::id.eq(case_events::case_id)))
        .filter(case_events::action.eq_any(["approve", "deny"]))
        .filter(case_events::at.ge(metrics::day_start_utc(period.from)))
        .filter(case_events::at.lt(metrics::day_start_utc(period.to + chrono::Duration::days(1))))
        .select((case_events::actor_role, case_events::at, cases::submitted_at))
        .into_boxed();
    if let Some(d) = &period.department {
        q = q.filter(
            case_events::sub_case_id.eq_any(
                sub_cases::table
                    .filter(sub_cases::department_code.eq(d.clone()))
                    .select(sub_cases::id.nullable()),
            ),
        );
    }
    let rows: Vec<(String, chrono::NaiveDateTime, chrono::NaiveDateTime)> = q.load(conn)?;
    let mut times = metrics::DecisionTimes::default();
    for (actor, at, submitted) in rows {
        times.add(
            actor == crate::workflow::Actor::System.label(),
            (at - submitted).num_seconds(),
        );
    }
    Ok(times)
}

/// An active item as the KPIs need it.
#[derive(Debug, Clone)]
pub struct ItemFacts {
    pub code: String,
    pub name: String,
    pub department_code: String,
    pub high_frequency: bool,
    pub declared_trips: i32,
    pub missing_guide_elements: Vec<&'static str>,
    pub smart_approval: bool,
}

/// The catalogue side of the KPIs: active bundles, items and department names.
#[derive(Debug, Clone, Default)]
pub struct CatalogueFacts {
    pub bundles: BTreeMap<String, String>,
    pub items: Vec<ItemFacts>,
    pub departments: BTreeMap<String, String>,
}

impl CatalogueFacts {
    pub fn item(&self, code: &str) -> Option<&ItemFacts> {
        self.items.iter().find(|i| i.code == code)
    }
}

pub fn catalogue_facts(conn: &mut DbConn) -> Result<CatalogueFacts, DbError> {
    use crate::db::schema::departments;
    let bundles = bundles::table
        .filter(bundles::active.eq(true))
        .select((bundles::code, bundles::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let departments = departments::table
        .select((departments::code, departments::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let rows: Vec<(String, String, String, bool, i32, String)> = items::table
        .filter(items::active.eq(true))
        .order(items::code)
        .select((
            items::code,
            items::name,
            items::department_code,
            items::high_frequency,
            items::trips,
            items::guide,
        ))
        .load(conn)?;
    let mut list = Vec::with_capacity(rows.len());
    for (code, name, department_code, high_frequency, declared_trips, guide) in rows {
        let (missing, smart) = match serde_json::from_str::<crate::catalogue::ItemDef>(&guide) {
            Ok(def) => (metrics::missing_guide_elements(&def), def.smart_approval()),
            Err(_) => (vec!["办事指南"], false),
        };
        list.push(ItemFacts {
            code,
            name,
            department_code,
            high_frequency,
            declared_trips,
            missing_guide_elements: missing,
            smart_approval: smart,
        });
    }
    Ok(CatalogueFacts {
        bundles,
        items: list,
        departments,
    })
}
