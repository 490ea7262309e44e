//! The KPI aggregates: kept exact inside every case transition (see [`record_case`]),
//! read by the dashboard with small GROUP BY queries over per-day rows, and recounted from
//! the primary data (cases, sub-cases, events) to check them.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::applications::CaseRow;
use crate::calendar::Calendar;
use crate::db::schema::{bundles, case_facts, items, sub_cases};
use crate::db::{DbConn, DbError};
use crate::metrics::{self, CaseFact, Counts, Delta, FactInputs, PartInfo};
use crate::workflow;

fn corrupt(e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(e.to_string())
}

/// SQL written with PostgreSQL's `$n` parameters, as the connection's backend reads it
/// (SQLite numbers its parameters `?n`).
fn numbered(conn: &DbConn, sql: &str) -> String {
    match conn {
        DbConn::Postgresql(_) => sql.to_owned(),
        DbConn::Sqlite(_) => sql.replace('$', "?"),
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = case_facts)]
struct FactRow {
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
    fn from_fact(f: &CaseFact) -> Result<Self, DbError> {
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
    let new_fact = metrics::case_fact(new, inputs, Calendar::shipped());
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

/// Adds a delta to the stored tables: each row is created at zero if missing (race-free
/// on both backends), then incremented in place.
pub fn apply(conn: &mut DbConn, delta: &Delta) -> Result<(), DbError> {
    let zeros = ["0"; 8].join(", ");
    let cols = COUNT_COLUMNS.join(", ");
    let sets = COUNT_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = {c} + ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let ensure_case = numbered(
        conn,
        &format!(
            "INSERT INTO metric_cases (day, bundle_code, channel, {cols}) VALUES ($1, $2, $3, {zeros}) \
             ON CONFLICT DO NOTHING"
        ),
    );
    let update_case = numbered(
        conn,
        &format!("UPDATE metric_cases SET {sets} WHERE day = $9 AND bundle_code = $10 AND channel = $11"),
    );
    for (k, c) in &delta.cases {
        let day = k.day.to_string();
        diesel::sql_query(&ensure_case)
            .bind::<Text, _>(&day)
            .bind::<Text, _>(&k.bundle_code)
            .bind::<Text, _>(&k.channel)
            .execute(conn)?;
        let v = counts_values(c);
        diesel::sql_query(&update_case)
            .bind::<BigInt, _>(v[0])
            .bind::<BigInt, _>(v[1])
            .bind::<BigInt, _>(v[2])
            .bind::<BigInt, _>(v[3])
            .bind::<BigInt, _>(v[4])
            .bind::<BigInt, _>(v[5])
            .bind::<BigInt, _>(v[6])
            .bind::<BigInt, _>(v[7])
            .bind::<Text, _>(&day)
            .bind::<Text, _>(&k.bundle_code)
            .bind::<Text, _>(&k.channel)
            .execute(conn)?;
    }
    let ensure_part = numbered(
        conn,
        &format!(
            "INSERT INTO metric_parts (day, bundle_code, item_code, department_code, channel, \
             high_frequency, {cols}) VALUES ($1, $2, $3, $4, $5, $6, {zeros}) ON CONFLICT DO NOTHING"
        ),
    );
    let update_part = numbered(
        conn,
        &format!(
            "UPDATE metric_parts SET {sets} WHERE day = $9 AND bundle_code = $10 AND item_code = $11 \
             AND department_code = $12 AND channel = $13 AND high_frequency = $14"
        ),
    );
    for (k, c) in &delta.parts {
        let day = k.day.to_string();
        diesel::sql_query(&ensure_part)
            .bind::<Text, _>(&day)
            .bind::<Text, _>(&k.bundle_code)
            .bind::<Text, _>(&k.item_code)
            .bind::<Text, _>(&k.department_code)
            .bind::<Text, _>(&k.channel)
            .bind::<Bool, _>(k.high_frequency)
            .execute(conn)?;
        let v = counts_values(c);
        diesel::sql_query(&update_part)
            .bind::<BigInt, _>(v[0])
            .bind::<BigInt, _>(v[1])
            .bind::<BigInt, _>(v[2])
            .bind::<BigInt, _>(v[3])
            .bind::<BigInt, _>(v[4])
            .bind::<BigInt, _>(v[5])
            .bind::<BigInt, _>(v[6])
            .bind::<BigInt, _>(v[7])
            .bind::<Text, _>(&day)
            .bind::<Text, _>(&k.bundle_code)
            .bind::<Text, _>(&k.item_code)
            .bind::<Text, _>(&k.department_code)
            .bind::<Text, _>(&k.channel)
            .bind::<Bool, _>(k.high_frequency)
            .execute(conn)?;
    }
    Ok(())
}

/// One group of an aggregate query.
#[derive(Debug, Clone, QueryableByName)]
pub struct Group {
    #[diesel(sql_type = Text)]
    pub k: String,
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

impl Group {
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
    Day,
    Department,
    Item,
    Bundle,
    Channel,
}

impl Dim {
    fn column(self) -> Option<&'static str> {
        match self {
            Dim::All => None,
            Dim::Day => Some("day"),
            Dim::Department => Some("department_code"),
            Dim::Item => Some("item_code"),
            Dim::Bundle => Some("bundle_code"),
            Dim::Channel => Some("channel"),
        }
    }
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

/// Parts finished in the period (of high-frequency items only when `high_frequency_only`),
/// grouped by `dim`.
pub fn parts_by(
    conn: &mut DbConn,
    period: &Period,
    dim: Dim,
    high_frequency_only: bool,
) -> Result<Vec<Group>, DbError> {
    let (key, tail) = grouping(dim.column());
    let sql = numbered(
        conn,
        &format!(
            "SELECT {key} AS k, {} FROM metric_parts WHERE day >= $1 AND day <= $2 \
             AND ($3 = '' OR department_code = $3) AND (high_frequency OR $4 = FALSE){tail}",
            sums()
        ),
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(period.from.to_string())
        .bind::<Text, _>(period.to.to_string())
        .bind::<Text, _>(period.department.clone().unwrap_or_default())
        .bind::<Bool, _>(high_frequency_only)
        .load(conn)?)
}

/// Cases finished in the period, grouped by `dim` (Day, Bundle, Channel or All).
pub fn cases_by(conn: &mut DbConn, period: &Period, dim: Dim) -> Result<Vec<Group>, DbError> {
    let col = match dim {
        Dim::Department | Dim::Item => None,
        d => d.column(),
    };
    let (key, tail) = grouping(col);
    let sql = numbered(
        conn,
        &format!(
            "SELECT {key} AS k, {} FROM metric_cases WHERE day >= $1 AND day <= $2{tail}",
            sums()
        ),
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(period.from.to_string())
        .bind::<Text, _>(period.to.to_string())
        .load(conn)?)
}

/// Totals over every group of a query.
pub fn total(groups: &[Group]) -> Counts {
    let mut c = Counts::default();
    for g in groups {
        c.add(&g.counts(), 1);
    }
    c
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
/// recounted (the finish time is a timestamp here); `Dim::Day` counts like `Dim::All`.
pub fn recount_parts(
    conn: &mut DbConn,
    period: &Period,
    dim: Dim,
    high_frequency_only: bool,
) -> Result<Vec<Recount>, DbError> {
    let (key, tail) = grouping(match dim {
        Dim::All | Dim::Day => None,
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
        .load(conn)?)
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
        .load(conn)?)
}

/// The aggregate groups in the recount's shape, for comparison.
pub fn as_recount(groups: &[Group]) -> Vec<Recount> {
    groups
        .iter()
        .filter(|g| g.finished != 0 || g.zero_trip != 0 || g.trips != 0)
        .map(|g| Recount {
            k: g.k.clone(),
            finished: g.finished,
            zero_trip: g.zero_trip,
            trips: g.trips,
        })
        .collect()
}

/// Monthly totals (`YYYY-MM`) from per-day groups.
pub fn by_month(groups: &[Group]) -> BTreeMap<String, Counts> {
    let mut months: BTreeMap<String, Counts> = BTreeMap::new();
    for g in groups {
        let month = g.k.get(..7).unwrap_or(&g.k).to_owned();
        months.entry(month).or_default().add(&g.counts(), 1);
    }
    months
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
            Ok(def) => (
                metrics::missing_guide_elements(&def),
                metrics::is_smart_approval(&def),
            ),
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
