//! Working-day calendar (工作日) for statutory and promised time limits.
//!
//! **Official years** are data: one JSON file a year in the format of the MIT-licensed
//! holiday-cn dataset (`assets/holidays-cn/`, built into the binary), taken from the State
//! Council General Office's annual notice on public holidays. Each file lists
//! `{"name", "date": "YYYY-MM-DD", "isOffDay": bool}` days: `isOffDay = true` is a holiday,
//! `false` a weekend day that is a make-up working day (调休上班). Every other day follows the
//! week: Monday to Friday work, Saturday and Sunday off. A new year is loaded at run time as
//! data ([`Calendar::add_year_json`], [`Calendar::add_dir`]), without a new release.
//!
//! **Provisional years.** The statutory clock must run every day of the year, including the
//! weeks between the end of a year and the notice for the next. A year from 2025 on for
//! which no official data is loaded is derived from 《全国年节及纪念日放假办法》 as amended
//! in 2024 ([`statutory_holidays`]): 元旦 1 day, 春节 4 days from 除夕 to 初三, 清明 1 day on
//! the solar term, 劳动节 May 1–2, 端午 1 day, 中秋 1 day, 国庆 Oct 1–3; weekends are off and
//! no make-up working day is guessed. Every date counted through such a year is
//! *provisional* ([`Deadline::provisional`]): the notice usually bridges holidays to
//! weekends, so the official date may differ. The lunisolar dates and the 清明 solar term
//! come from `tyme4rs` (astronomical computation, any year up to 9999). A year before 2025
//! without data is an explicit error ([`CalendarError::YearNotCovered`]), never a guess.
//!
//! A notice for year `Y` may also list the last days of December of `Y - 1` (the 2019 notice
//! makes 2018-12-29 a working day and 2018-12-30/31 holidays), so those days are only right
//! once the file for the following year is loaded too.
//!
//! Plain domain code: no web, no database.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The first year whose holidays follow the 2024 amendment of 《全国年节及纪念日放假办法》;
/// a later year without official data is derived from it.
pub const STATUTORY_RULES_FROM: i32 = 2025;
/// The last year the lunisolar computation covers.
pub const LAST_YEAR: i32 = 9999;

/// What can go wrong loading holiday data or counting working days.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A date falls in a year for which no holiday data is loaded.
    #[error("year {0} is not covered by the working-day calendar: no holiday data is loaded for it")]
    YearNotCovered(i32),
    /// A file of a holiday data directory could not be read.
    #[error("cannot read holiday data {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A year file is not valid JSON of the expected shape.
    #[error("holiday data {origin}: invalid JSON: {source}")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    /// A `date` is not a valid `YYYY-MM-DD` date.
    #[error("holiday data {origin} (year {year}): invalid date {value:?}, expected YYYY-MM-DD")]
    BadDate {
        origin: String,
        year: i32,
        value: String,
    },
    /// A date lies outside the years a notice for `year` may cover (`year - 1` and `year`).
    #[error(
        "holiday data {origin} (year {year}): date {date} lies outside the years a notice for {year} may cover \
         (the end of {prev} and {year})",
        prev = .year.saturating_sub(1)
    )]
    DateOutsideYear {
        origin: String,
        year: i32,
        date: NaiveDate,
    },
    /// The same year is given twice in one batch of files.
    #[error("holiday data {origin}: year {year} is given more than once")]
    DuplicateYear { origin: String, year: i32 },
    /// Two entries disagree on whether a date is a holiday or a working day.
    #[error(
        "holiday data {origin} (year {year}): {date} is listed both as a holiday and as a working day \
         (the other entry is in the data for {other_year})"
    )]
    ConflictingDate {
        origin: String,
        year: i32,
        date: NaiveDate,
        other_year: i32,
    },
    /// A pause whose end lies before its start.
    #[error("pause from {start} to {end} ends before it starts")]
    InvalidPause { start: NaiveDate, end: NaiveDate },
    /// The lunisolar computation of a provisional year failed.
    #[error("the statutory holidays of {year} cannot be derived: {reason}")]
    Derivation { year: i32, reason: String },
}

/// Whether a year's holidays come from the State Council's notice or are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum YearSource {
    /// From the official notice (shipped, a holiday folder, or entered by an administrator).
    Official,
    /// Derived from the statutory rules; the notice is not known yet.
    Provisional,
}

/// A date a time limit runs out on, and whether it was counted through a provisional year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Deadline {
    pub date: NaiveDate,
    /// Counted through at least one year whose holidays are not yet officially published:
    /// shown as 预计 and recomputed when the year's notice is entered.
    pub provisional: bool,
}

/// One named day of a year's listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NamedDay {
    pub date: NaiveDate,
    pub name: String,
}

/// What a year looks like to the calendar: its source, its holidays and its make-up days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct YearInfo {
    pub year: i32,
    pub source: YearSource,
    /// Off days other than plain weekends (holidays, including those on a weekend).
    pub off_days: Vec<NamedDay>,
    /// Weekend days that are working days (调休上班); never guessed for a provisional year.
    pub working_days: Vec<NamedDay>,
}

/// One year file as shipped by holiday-cn; other keys (`$schema`, `papers`, `name`) are ignored.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct YearFile {
    year: i32,
    days: Vec<DayEntry>,
}

/// One day of a year file: a holiday (`isOffDay: true`) or a make-up working day.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct DayEntry {
    #[serde(default)]
    name: String,
    #[schema(value_type = NaiveDate)]
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// The validated data of one year file.
#[derive(Debug, Clone)]
struct YearData {
    origin: String,
    /// (date, is a working day, name)
    entries: Vec<(NaiveDate, bool, String)>,
}

/// The years built into the binary.
const SHIPPED: [(&str, &str); 9] = [
    (
        "assets/holidays-cn/2018.json",
        include_str!("../assets/holidays-cn/2018.json"),
    ),
    (
        "assets/holidays-cn/2019.json",
        include_str!("../assets/holidays-cn/2019.json"),
    ),
    (
        "assets/holidays-cn/2020.json",
        include_str!("../assets/holidays-cn/2020.json"),
    ),
    (
        "assets/holidays-cn/2021.json",
        include_str!("../assets/holidays-cn/2021.json"),
    ),
    (
        "assets/holidays-cn/2022.json",
        include_str!("../assets/holidays-cn/2022.json"),
    ),
    (
        "assets/holidays-cn/2023.json",
        include_str!("../assets/holidays-cn/2023.json"),
    ),
    (
        "assets/holidays-cn/2024.json",
        include_str!("../assets/holidays-cn/2024.json"),
    ),
    (
        "assets/holidays-cn/2025.json",
        include_str!("../assets/holidays-cn/2025.json"),
    ),
    (
        "assets/holidays-cn/2026.json",
        include_str!("../assets/holidays-cn/2026.json"),
    ),
];

static SHIPPED_CALENDAR: OnceLock<Calendar> = OnceLock::new();

/// Working days and holidays of the years whose data is loaded.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, YearData>,
    /// Every listed date of every loaded year: date → is a working day.
    overrides: HashMap<NaiveDate, bool>,
}

impl Calendar {
    /// The calendar of the years built into the binary (2018–2026), parsed once.
    ///
    /// To add a year published later, clone it and call [`Calendar::add_year_json`] or
    /// [`Calendar::add_dir`].
    pub fn shipped() -> &'static Calendar {
        SHIPPED_CALENDAR.get_or_init(|| {
            let mut calendar = Calendar::default();
            let batch: Vec<(String, &str)> = SHIPPED
                .iter()
                .map(|(name, text)| ((*name).to_owned(), *text))
                .collect();
            // The embedded data is checked by the tests of this module.
            calendar
                .add_batch(batch)
                .unwrap_or_else(|e| panic!("built-in holiday data is invalid: {e}"));
            calendar
        })
    }

    /// A calendar of the given year files (their JSON text), e.g. read from a database or a
    /// configuration store. A year given twice is an error.
    pub fn from_json_files(texts: &[&str]) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        let batch = texts
            .iter()
            .enumerate()
            .map(|(i, text)| (format!("JSON text #{}", i + 1), *text))
            .collect();
        calendar.add_batch(batch)?;
        Ok(calendar)
    }

    /// Adds one year file (its JSON text). A year already loaded is replaced by the new data
    /// (a corrected or later notice). On error the calendar is left unchanged.
    pub fn add_year_json(&mut self, text: &str) -> Result<(), CalendarError> {
        self.add_batch(vec![("JSON text".to_owned(), text)])
    }

    /// This calendar with one more year file (checked on its own and against the years it
    /// joins), and that file's year; `self` is not changed.
    pub fn with_year_json(&self, text: &str) -> Result<(i32, Calendar), CalendarError> {
        let (year, _) = parse_year("JSON text".to_owned(), text)?;
        let mut joined = self.clone();
        joined.add_year_json(text)?;
        Ok((year, joined))
    }

    /// A calendar of every `*.json` file of a directory.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        calendar.add_dir(dir)?;
        Ok(calendar)
    }

    /// Adds every `*.json` file of a directory (an override folder): the years it holds
    /// replace the same years already loaded; a year given twice in the directory is an
    /// error. On error the calendar is left unchanged.
    pub fn add_dir(&mut self, dir: impl AsRef<Path>) -> Result<(), CalendarError> {
        let dir = dir.as_ref();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CalendarError::Io { path, source }
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
            if is_json && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut texts = Vec::with_capacity(paths.len());
        for path in &paths {
            texts.push((
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(io(path))?,
            ));
        }
        self.add_batch(
            texts
                .iter()
                .map(|(origin, text)| (origin.clone(), text.as_str()))
                .collect(),
        )
    }

    /// Parses and checks a batch of year files, then replaces the years they hold, all or
    /// nothing.
    fn add_batch(&mut self, batch: Vec<(String, &str)>) -> Result<(), CalendarError> {
        let mut years = self.years.clone();
        let mut in_batch = Vec::with_capacity(batch.len());
        for (origin, text) in batch {
            let (year, data) = parse_year(origin, text)?;
            if in_batch.contains(&year) {
                return Err(CalendarError::DuplicateYear {
                    origin: data.origin,
                    year,
                });
            }
            in_batch.push(year);
            years.insert(year, data);
        }
        let overrides = merge_overrides(&years)?;
        self.years = years;
        self.overrides = overrides;
        Ok(())
    }

    /// The years for which official data is loaded, ascending (there may be gaps).
    pub fn known_years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// The first to the last official year, if any is loaded (check [`Calendar::covers`]
    /// for gaps).
    pub fn year_range(&self) -> Option<RangeInclusive<i32>> {
        Some(*self.years.keys().next()?..=*self.years.keys().next_back()?)
    }

    /// Whether official data for `year` is loaded.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Where the holidays of `year` come from: official data, or the statutory rules for a
    /// year from [`STATUTORY_RULES_FROM`] to [`LAST_YEAR`]; any other year is an error.
    pub fn source_of(&self, year: i32) -> Result<YearSource, CalendarError> {
        if self.covers(year) {
            Ok(YearSource::Official)
        } else if (STATUTORY_RULES_FROM..=LAST_YEAR).contains(&year) {
            Ok(YearSource::Provisional)
        } else {
            Err(CalendarError::YearNotCovered(year))
        }
    }

    /// Whether counting over `(from, to]` passes through a year without official data.
    pub fn provisional_span(&self, from: NaiveDate, to: NaiveDate) -> bool {
        let first = from.succ_opt().unwrap_or(from).year();
        (first..=to.year()).any(|y| !self.covers(y))
    }

    /// Whether `d` is a working day: a listed make-up working day, or a Monday to Friday
    /// that is not a listed holiday (in a provisional year: not a statutory holiday).
    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        let source = self.source_of(d.year())?;
        if let Some(&working) = self.overrides.get(&d) {
            return Ok(working);
        }
        if source == YearSource::Provisional && statutory_holidays(d.year())?.iter().any(|h| h.date == d) {
            return Ok(false);
        }
        Ok(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// [`Calendar::add_working_days_with_pauses`] with whether the date is provisional.
    pub fn deadline(
        &self,
        from: NaiveDate,
        days: u32,
        pauses: &[(NaiveDate, NaiveDate)],
    ) -> Result<Deadline, CalendarError> {
        let date = self.add_working_days_with_pauses(from, days, pauses)?;
        Ok(Deadline {
            date,
            provisional: self.provisional_span(from, date),
        })
    }

    /// The holidays and make-up days of `year` as the calendar counts them.
    pub fn year_info(&self, year: i32) -> Result<YearInfo, CalendarError> {
        match self.source_of(year)? {
            YearSource::Official => {
                let data = self.years.get(&year).ok_or(CalendarError::YearNotCovered(year))?;
                let named = |working: bool| {
                    let mut days: Vec<NamedDay> = data
                        .entries
                        .iter()
                        .filter(|e| e.1 == working)
                        .map(|(date, _, name)| NamedDay {
                            date: *date,
                            name: name.clone(),
                        })
                        .collect();
                    days.sort_by_key(|d| d.date);
                    days
                };
                Ok(YearInfo {
                    year,
                    source: YearSource::Official,
                    off_days: named(false),
                    working_days: named(true),
                })
            }
            YearSource::Provisional => Ok(YearInfo {
                year,
                source: YearSource::Provisional,
                off_days: statutory_holidays(year)?.as_ref().clone(),
                working_days: Vec::new(),
            }),
        }
    }

    /// The date on which a time limit of `days` working days that is triggered on `from`
    /// (the day an application is accepted, a notice served, …) runs out.
    ///
    /// Counting rule: the day of the triggering event is not counted, counting starts the day
    /// after `from` (the rule commonly applied to periods, cf. Civil Code art. 201: 开始的当日
    /// 不计入，自下一日开始计算); only working days count (weekends and statutory holidays do
    /// not, make-up working days do). The result is the `days`-th working day after `from`,
    /// so it is always a working day when `days > 0`, whatever kind of day `from` is.
    /// `days = 0` returns `from` itself.
    ///
    /// Errors with [`CalendarError::YearNotCovered`] if counting reaches a year without data.
    pub fn add_working_days(&self, from: NaiveDate, days: u32) -> Result<NaiveDate, CalendarError> {
        self.add_working_days_with_pauses(from, days, &[])
    }

    /// As [`Calendar::add_working_days`], with the clock stopped during pauses (补正、听证、
    /// 检验检测、专家评审 and other periods not counted in the time limit).
    ///
    /// A pause `(start, end)` stops the clock on the day after `start` and restarts it on the
    /// day after `end`: the days `start + 1 ..= end` do not count, `start` and `end + 1`
    /// count normally (if they are working days). `end == start` is an empty pause;
    /// `end < start` is [`CalendarError::InvalidPause`]. Pauses may be given in any order and
    /// may overlap; their union is taken. Pauses (or parts) before `from` have no effect.
    pub fn add_working_days_with_pauses(
        &self,
        from: NaiveDate,
        days: u32,
        pauses: &[(NaiveDate, NaiveDate)],
    ) -> Result<NaiveDate, CalendarError> {
        let paused = merge_pauses(pauses)?;
        let mut d = from;
        let mut counted = 0u32;
        let mut next_pause = 0usize;
        while counted < days {
            d = next_day(d)?;
            while next_pause < paused.len() && paused[next_pause].1 < d {
                next_pause += 1;
            }
            if let Some(&(first, last)) = paused.get(next_pause) {
                if first <= d {
                    // Skip the whole pause: jump to its last day.
                    d = last;
                    continue;
                }
            }
            if self.is_working_day(d)? {
                counted += 1;
            }
        }
        Ok(d)
    }

    /// The number of working days in `(from, to]`: after `from`, up to and including `to`.
    /// 0 if `to <= from`. The inverse of [`Calendar::add_working_days`]:
    /// `working_days_between(from, add_working_days(from, n)) == n`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        let mut count = 0i64;
        let mut d = from;
        while d < to {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Working days left on `today` until the time limit that runs out on `due`, for SLA
    /// lights ([`light`]).
    ///
    /// - `due >= today`: the working days in `(today, due]`; 0 on the due date itself (and on
    ///   a non-working day just before a due date with no working day in between).
    /// - `due < today` (overdue): minus the working days in `(due, today]`, and at least -1,
    ///   so a case is overdue (negative, red) from the day after `due` even when that day is
    ///   a weekend or holiday.
    pub fn remaining_working_days(&self, today: NaiveDate, due: NaiveDate) -> Result<i64, CalendarError> {
        if due >= today {
            self.working_days_between(today, due)
        } else {
            Ok(-self.working_days_between(due, today)?.max(1))
        }
    }
}

/// The traffic light of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaLight {
    /// More than 3 working days left.
    Green,
    /// 0 to 3 working days left (0: due today).
    Yellow,
    /// Overdue.
    Red,
}

/// The light for a number of remaining working days ([`Calendar::remaining_working_days`]):
/// red when negative (overdue), yellow from 0 to 3, green above.
pub fn light(remaining: i64) -> SlaLight {
    match remaining {
        r if r < 0 => SlaLight::Red,
        0..=3 => SlaLight::Yellow,
        _ => SlaLight::Green,
    }
}

/// The statutory holidays of `year` under 《全国年节及纪念日放假办法》 as amended in 2024
/// (in force from 2025): 13 days, without the bridging and make-up days a notice adds.
/// Computed once per year and kept.
pub fn statutory_holidays(year: i32) -> Result<Arc<Vec<NamedDay>>, CalendarError> {
    static DERIVED: OnceLock<RwLock<HashMap<i32, Arc<Vec<NamedDay>>>>> = OnceLock::new();
    let cache = DERIVED.get_or_init(Default::default);
    if let Some(days) = cache
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&year)
    {
        return Ok(days.clone());
    }
    let days = Arc::new(derive_holidays(year)?);
    cache
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(year, days.clone());
    Ok(days)
}

fn derive_holidays(year: i32) -> Result<Vec<NamedDay>, CalendarError> {
    use tyme4rs::tyme::lunar::LunarDay;
    use tyme4rs::tyme::solar::{SolarDay, SolarTerm};

    if !(STATUTORY_RULES_FROM..=LAST_YEAR).contains(&year) {
        return Err(CalendarError::YearNotCovered(year));
    }
    let fail = |reason: String| CalendarError::Derivation { year, reason };
    let solar = |d: SolarDay| {
        let (y, m, day) = (d.get_year(), d.get_month(), d.get_day());
        i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(day).ok()?))
            .ok_or_else(|| fail(format!("invalid solar day {y}-{m}-{day}")))
    };
    let lunar = |month: isize, day: usize| -> Result<NaiveDate, CalendarError> {
        let d = LunarDay::new(year as isize, month, day).map_err(&fail)?;
        solar(d.get_solar_day())
    };
    let ymd = |m: u32, d: u32| {
        NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| fail(format!("invalid date {year}-{m}-{d}")))
    };
    let new_year = lunar(1, 1)?;
    let eve = new_year
        .pred_opt()
        .ok_or_else(|| fail("no day before the lunar new year".into()))?;
    let qingming = solar(
        SolarTerm::new(year as isize, "清明")
            .map_err(&fail)?
            .get_solar_day(),
    )?;
    let mut days = vec![(ymd(1, 1)?, "元旦"), (eve, "春节")];
    let mut d = new_year;
    for _ in 0..3 {
        days.push((d, "春节"));
        d = d.succ_opt().ok_or_else(|| fail("calendar overflow".into()))?;
    }
    days.extend([
        (qingming, "清明节"),
        (ymd(5, 1)?, "劳动节"),
        (ymd(5, 2)?, "劳动节"),
        (lunar(5, 5)?, "端午节"),
        (lunar(8, 15)?, "中秋节"),
        (ymd(10, 1)?, "国庆节"),
        (ymd(10, 2)?, "国庆节"),
        (ymd(10, 3)?, "国庆节"),
    ]);
    if let Some((date, _)) = days.iter().find(|(d, _)| d.year() != year) {
        return Err(fail(format!("derived holiday {date} lies outside the year")));
    }
    days.sort_by_key(|(d, _)| *d);
    Ok(days
        .into_iter()
        .map(|(date, name)| NamedDay {
            date,
            name: name.to_owned(),
        })
        .collect())
}

/// A year file in the holiday-cn format from lists of off days and make-up working days,
/// e.g. typed from the State Council notice into the administrator's form.
pub fn year_file_json(year: i32, off_days: &[NamedDay], working_days: &[NamedDay]) -> String {
    let mut days: Vec<DayEntry> = off_days
        .iter()
        .map(|d| (d, true))
        .chain(working_days.iter().map(|d| (d, false)))
        .map(|(d, off)| DayEntry {
            name: d.name.clone(),
            date: d.date.format("%Y-%m-%d").to_string(),
            is_off_day: off,
        })
        .collect();
    days.sort_by(|a, b| a.date.cmp(&b.date));
    serde_json::to_string_pretty(&YearFile { year, days })
        .unwrap_or_else(|e| unreachable!("a year file of plain strings serializes: {e}"))
}

fn next_day(d: NaiveDate) -> Result<NaiveDate, CalendarError> {
    d.succ_opt()
        .ok_or(CalendarError::YearNotCovered(d.year().saturating_add(1)))
}

fn parse_year(origin: String, text: &str) -> Result<(i32, YearData), CalendarError> {
    let file: YearFile = match serde_json::from_str(text) {
        Ok(file) => file,
        Err(source) => return Err(CalendarError::Json { origin, source }),
    };
    let year = file.year;
    let mut entries = Vec::with_capacity(file.days.len());
    for day in file.days {
        let date = match NaiveDate::parse_from_str(&day.date, "%Y-%m-%d") {
            Ok(date) if day.date.len() == 10 => date,
            _ => {
                return Err(CalendarError::BadDate {
                    origin,
                    year,
                    value: day.date,
                })
            }
        };
        if date.year() != year && date.year() != year.saturating_sub(1) {
            return Err(CalendarError::DateOutsideYear { origin, year, date });
        }
        entries.push((date, !day.is_off_day, day.name));
    }
    Ok((year, YearData { origin, entries }))
}

/// All listed dates of all years; a date listed with different meanings is an error.
fn merge_overrides(years: &BTreeMap<i32, YearData>) -> Result<HashMap<NaiveDate, bool>, CalendarError> {
    let mut merged: HashMap<NaiveDate, (bool, i32)> = HashMap::new();
    for (&year, data) in years {
        for &(date, working, _) in &data.entries {
            match merged.get(&date) {
                Some(&(other, other_year)) if other != working => {
                    return Err(CalendarError::ConflictingDate {
                        origin: data.origin.clone(),
                        year,
                        date,
                        other_year,
                    });
                }
                Some(_) => {}
                None => {
                    merged.insert(date, (working, year));
                }
            }
        }
    }
    Ok(merged
        .into_iter()
        .map(|(date, (working, _))| (date, working))
        .collect())
}

/// The paused days of each pause as `(first, last)` inclusive, sorted, overlapping and
/// adjacent ranges merged.
fn merge_pauses(pauses: &[(NaiveDate, NaiveDate)]) -> Result<Vec<(NaiveDate, NaiveDate)>, CalendarError> {
    let mut ranges = Vec::with_capacity(pauses.len());
    for &(start, end) in pauses {
        if end < start {
            return Err(CalendarError::InvalidPause { start, end });
        }
        // end > start implies start < NaiveDate::MAX, so the day after exists.
        if let (true, Some(first)) = (end > start, start.succ_opt()) {
            ranges.push((first, end));
        }
    }
    ranges.sort();
    let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(prev) if prev.1.succ_opt().is_some_and(|after| first <= after) => {
                prev.1 = prev.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad test date {s}: {e}"))
    }

    fn cal() -> &'static Calendar {
        Calendar::shipped()
    }

    /// (from, days, expected): each worked out by hand from assets/holidays-cn/*.json.
    /// Counting starts the day after `from`; the expected date is the `days`-th working day.
    const ADD_CASES: &[(&str, u32, &str, &str)] = &[
        // ---- Spring Festival 2024: 2-10..2-17 off; Sun 2-4 and Sun 2-18 make-up working days.
        ("2024-02-08", 1, "2024-02-09", "Thu → Fri 2-9, an ordinary working day"),
        ("2024-02-08", 2, "2024-02-18", "Fri 2-9 (1); 2-10..2-17 off; make-up Sun 2-18 (2)"),
        ("2024-02-08", 3, "2024-02-19", "2-9 (1), Sun 2-18 (2), Mon 2-19 (3)"),
        ("2024-02-02", 1, "2024-02-04", "Fri → Sat 2-3 off; Sun 2-4 is a make-up working day"),
        ("2024-02-09", 1, "2024-02-18", "last day before the holiday → first make-up day after it"),
        ("2024-02-12", 1, "2024-02-18", "start date is itself a holiday (Mon 2-12, 初三)"),
        ("2024-02-05", 5, "2024-02-18", "2-6,7,8,9 (4); holiday; Sun 2-18 (5)"),
        // ---- Spring Festival 2025: 1-28..2-4 off; Sun 1-26 and Sat 2-8 make-up.
        ("2025-01-24", 1, "2025-01-26", "Fri → Sat 1-25 off; Sun 1-26 make-up"),
        ("2025-01-24", 2, "2025-01-27", "Sun 1-26 (1), Mon 1-27 (2)"),
        ("2025-01-24", 3, "2025-02-05", "1-26, 1-27; 1-28..2-4 off; Wed 2-5 (3)"),
        ("2025-01-27", 4, "2025-02-08", "2-5, 2-6, 2-7, make-up Sat 2-8 (4)"),
        ("2025-01-27", 5, "2025-02-10", "… Sat 2-8 (4); Sun 2-9 off; Mon 2-10 (5)"),
        ("2025-01-29", 1, "2025-02-05", "start date is 春节 itself → first day back"),
        // ---- Spring Festival 2026: 2-15..2-23 off (9 days); Sat 2-14 and Sat 2-28 make-up.
        ("2026-02-13", 1, "2026-02-14", "Fri → make-up Sat 2-14"),
        ("2026-02-13", 2, "2026-02-24", "Sat 2-14 (1); 2-15..2-23 off; Tue 2-24 (2)"),
        ("2026-02-14", 1, "2026-02-24", "from a make-up Saturday → Tue after the holiday"),
        ("2026-02-24", 4, "2026-02-28", "2-25, 2-26, 2-27, make-up Sat 2-28 (4)"),
        ("2026-02-24", 5, "2026-03-02", "… Sat 2-28 (4); Sun 3-1 off; Mon 3-2 (5)"),
        ("2026-02-10", 10, "2026-03-02", "2-11,12,13,14(Sat) = 4; 2-24..2-28(Sat) = 9; Mon 3-2 = 10"),
        // ---- Spring Festival 2020, extended (COVID) to 2-2; Sun 1-19 make-up.
        ("2020-01-17", 1, "2020-01-19", "Fri → Sat 1-18 off; Sun 1-19 make-up"),
        ("2020-01-23", 1, "2020-02-03", "1-24..2-2 off (extended); Mon 2-3"),
        // ---- National Day + Mid-Autumn 2023: 9-29..10-6 off; Sat 10-7 and Sun 10-8 make-up.
        ("2023-09-27", 1, "2023-09-28", "Wed → Thu"),
        ("2023-09-28", 1, "2023-10-07", "9-29..10-6 off; make-up Sat 10-7"),
        ("2023-09-28", 2, "2023-10-08", "Sat 10-7 (1), make-up Sun 10-8 (2)"),
        ("2023-09-28", 3, "2023-10-09", "10-7, 10-8, Mon 10-9"),
        ("2023-09-30", 1, "2023-10-07", "start date a holiday Saturday → Sat 10-7"),
        // ---- Mid-Autumn 2024: 9-15..9-17 off, Sat 9-14 make-up.
        // ---- National Day 2024: 10-1..10-7 off, Sun 9-29 and Sat 10-12 make-up.
        ("2024-09-13", 1, "2024-09-14", "Fri → make-up Sat 9-14"),
        ("2024-09-13", 2, "2024-09-18", "Sat 9-14 (1); 9-15..9-17 off; Wed 9-18 (2)"),
        ("2024-09-27", 1, "2024-09-29", "Fri → Sat 9-28 off; Sun 9-29 make-up"),
        ("2024-09-27", 2, "2024-09-30", "Sun 9-29, Mon 9-30"),
        ("2024-09-27", 3, "2024-10-08", "9-29, 9-30; 10-1..10-7 off; Tue 10-8"),
        ("2024-09-30", 5, "2024-10-12", "10-8,9,10,11 (4), make-up Sat 10-12 (5)"),
        (
            "2024-09-20",
            20,
            "2024-10-23",
            "9-23..27 (5), Sun 9-29 (6), 9-30 (7), 10-8..11 (11), Sat 10-12 (12), 10-14..18 (17), 10-21..23 (20)",
        ),
        // ---- National Day + Mid-Autumn 2025: 10-1..10-8 off; Sun 9-28 and Sat 10-11 make-up.
        ("2025-09-26", 1, "2025-09-28", "Fri → Sat 9-27 off; Sun 9-28 make-up"),
        ("2025-09-26", 3, "2025-09-30", "9-28, 9-29, 9-30"),
        ("2025-09-30", 1, "2025-10-09", "10-1..10-8 off; Thu 10-9"),
        ("2025-09-30", 3, "2025-10-11", "10-9, 10-10, make-up Sat 10-11"),
        ("2025-10-01", 4, "2025-10-13", "from 国庆 itself: 10-9, 10-10, Sat 10-11; Sun 10-12 off; Mon 10-13"),
        // ---- Qingming.
        ("2024-04-03", 1, "2024-04-07", "2024: 4-4..4-6 off; make-up Sun 4-7"),
        ("2024-04-03", 2, "2024-04-08", "Sun 4-7, Mon 4-8"),
        ("2025-04-03", 1, "2025-04-07", "2025: 4-4 (Fri)..4-6 off, no make-up day; Mon 4-7"),
        ("2026-04-03", 1, "2026-04-07", "2026: 4-4..4-6 (Mon) off, no make-up day; Tue 4-7"),
        // ---- Labour Day.
        ("2024-04-26", 1, "2024-04-28", "2024: Fri → Sat 4-27 off; Sun 4-28 make-up"),
        ("2024-04-26", 3, "2024-04-30", "Sun 4-28, 4-29, 4-30"),
        ("2024-04-30", 1, "2024-05-06", "5-1..5-5 off; Mon 5-6"),
        ("2024-04-30", 6, "2024-05-11", "5-6..5-10 (5), make-up Sat 5-11 (6)"),
        ("2025-04-30", 1, "2025-05-06", "2025: 5-1..5-5 off; Tue 5-6"),
        ("2023-04-28", 1, "2023-05-04", "2023: 4-29..5-3 off; Thu 5-4"),
        ("2023-04-28", 3, "2023-05-06", "5-4, 5-5, make-up Sat 5-6"),
        ("2026-05-08", 1, "2026-05-09", "2026: Fri → make-up Sat 5-9"),
        // ---- Dragon Boat.
        ("2024-06-07", 1, "2024-06-11", "2024: Sat 6-8, Sun 6-9 weekend, Mon 6-10 端午; Tue 6-11"),
        ("2023-06-21", 1, "2023-06-25", "2023: 6-22..6-24 off; make-up Sun 6-25"),
        ("2025-05-30", 1, "2025-06-03", "2025: 5-31..6-2 off; Tue 6-3"),
        // ---- Year boundaries.
        ("2023-12-29", 1, "2024-01-02", "Fri → Sat 12-30, Sun 12-31, 元旦 Mon 1-1; Tue 1-2"),
        ("2023-12-29", 5, "2024-01-08", "1-2..1-5 (4); weekend; Mon 1-8 (5)"),
        ("2025-12-31", 1, "2026-01-04", "元旦 2026: 1-1..1-3 off; make-up Sun 1-4"),
        ("2025-12-31", 2, "2026-01-05", "Sun 1-4, Mon 1-5"),
        ("2018-12-28", 1, "2018-12-29", "Sat 2018-12-29 is a make-up day, listed in 2019.json"),
        ("2018-12-28", 2, "2019-01-02", "Sat 12-29 (1); 12-30, Mon 12-31, 1-1 off; Wed 1-2 (2)"),
        ("2026-12-30", 1, "2026-12-31", "last known working day"),
        // ---- Weekend start, days = 0, plain weeks.
        ("2024-03-09", 1, "2024-03-11", "start on a Saturday → Mon"),
        ("2024-03-10", 1, "2024-03-11", "start on a Sunday → Mon"),
        ("2024-02-12", 0, "2024-02-12", "days = 0 returns from, even a holiday"),
        ("2024-03-06", 0, "2024-03-06", "days = 0 returns from"),
        ("2024-03-04", 20, "2024-04-01", "3-5..8 (4), 11..15 (9), 18..22 (14), 25..29 (19), Mon 4-1 (20)"),
    ];

    /// (date, is a working day, why), by hand from the JSON files.
    const DAY_CASES: &[(&str, bool, &str)] = &[
        ("2024-02-04", true, "Sunday, 春节 make-up working day"),
        ("2024-02-18", true, "Sunday, 春节 make-up working day"),
        ("2024-02-10", false, "Saturday listed as 春节 holiday"),
        ("2024-02-15", false, "Thursday, 春节 holiday"),
        ("2024-02-19", true, "Monday after the holiday"),
        ("2024-02-24", false, "plain Saturday"),
        ("2024-03-06", true, "plain Wednesday"),
        ("2025-01-26", true, "Sunday, 春节 make-up"),
        ("2025-02-08", true, "Saturday, 春节 make-up"),
        ("2025-02-04", false, "Tuesday, last day of 春节 2025"),
        ("2026-01-04", true, "Sunday, 元旦 make-up"),
        ("2026-02-14", true, "Saturday, 春节 make-up"),
        ("2026-02-28", true, "Saturday, 春节 make-up"),
        ("2026-02-23", false, "Monday, ninth day of 春节 2026"),
        ("2023-09-29", false, "Friday, 中秋节"),
        ("2023-10-07", true, "Saturday, 国庆 make-up"),
        ("2023-10-08", true, "Sunday, 国庆 make-up"),
        ("2025-10-08", false, "Wednesday, eighth day of 国庆/中秋 2025"),
        ("2025-10-11", true, "Saturday, 国庆 make-up"),
        ("2026-09-20", true, "Sunday, 国庆 make-up (three weeks before)"),
        ("2026-09-25", false, "Friday, 中秋节 2026"),
        ("2024-06-10", false, "Monday, 端午节"),
        (
            "2018-12-29",
            true,
            "Saturday, make-up day listed only in 2019.json",
        ),
        (
            "2018-12-31",
            false,
            "Monday, 元旦 holiday listed only in 2019.json",
        ),
        ("2022-12-31", false, "Saturday, listed as 元旦 in 2023.json"),
        (
            "2020-02-03",
            true,
            "Monday listed with isOffDay=false in 2020.json (end of the extension)",
        ),
        ("2020-01-31", false, "Friday, 春节 extended (COVID)"),
        ("2026-12-31", true, "Thursday, last day of the data"),
    ];

    #[test]
    fn calendar_hand_checked_add_working_days() {
        for &(from, days, expected, why) in ADD_CASES {
            let got = cal().add_working_days(d(from), days);
            assert_eq!(
                got.ok(),
                Some(d(expected)),
                "{from} + {days} working days ({why})"
            );
        }
    }

    #[test]
    fn calendar_hand_checked_working_days() {
        for &(day, expected, why) in DAY_CASES {
            let got = cal().is_working_day(d(day));
            assert_eq!(got.ok(), Some(expected), "{day} ({why})");
        }
    }

    #[test]
    fn calendar_hand_cases_count_back() {
        // The hand cases read backwards: between(from, result) == days.
        for &(from, days, expected, why) in ADD_CASES {
            let got = cal().working_days_between(d(from), d(expected));
            assert_eq!(got.ok(), Some(i64::from(days)), "{from}..{expected} ({why})");
        }
    }

    #[test]
    fn calendar_shipped_years() {
        assert_eq!(cal().known_years(), (2018..=2026).collect::<Vec<_>>());
        assert_eq!(cal().year_range(), Some(2018..=2026));
        assert!(cal().covers(2026));
        assert!(!cal().covers(2027));
        // Every embedded file parses alone too.
        for (name, text) in SHIPPED {
            assert!(Calendar::from_json_files(&[text]).is_ok(), "{name}");
        }
    }

    #[test]
    fn calendar_years_before_the_rules_without_data_are_errors() {
        let c = cal();
        assert!(matches!(
            c.is_working_day(d("2017-12-29")),
            Err(CalendarError::YearNotCovered(2017))
        ));
        assert!(matches!(
            c.add_working_days(d("2018-01-10"), 0)
                .and_then(|_| c.working_days_between(d("2017-12-01"), d("2018-01-05"))),
            Err(CalendarError::YearNotCovered(2017))
        ));
        let only_2026 = Calendar::from_json_files(&[SHIPPED[8].1]).expect("2026");
        assert!(matches!(
            only_2026.is_working_day(d("2024-12-31")),
            Err(CalendarError::YearNotCovered(2024))
        ));
        assert!(matches!(
            c.is_working_day(d("9999-12-31"))
                .and_then(|_| c.add_working_days(d("9999-12-30"), 5)),
            Err(CalendarError::YearNotCovered(_))
        ));
        let msg = CalendarError::YearNotCovered(2017).to_string();
        assert!(msg.contains("2017") && msg.contains("not covered"), "{msg}");
    }

    #[test]
    fn calendar_runs_on_past_the_official_years_provisionally() {
        let c = cal();
        assert_eq!(c.source_of(2026).ok(), Some(YearSource::Official));
        assert_eq!(c.source_of(2027).ok(), Some(YearSource::Provisional));
        assert_eq!(c.source_of(2035).ok(), Some(YearSource::Provisional));
        // Thu 2026-12-31 (1); 元旦 Fri 2027-01-01; weekend; Mon 1-4 (2).
        let due = c.deadline(d("2026-12-30"), 2, &[]).expect("runs into 2027");
        assert_eq!(
            due,
            Deadline {
                date: d("2027-01-04"),
                provisional: true
            }
        );
        // Counting that stays in 2026 is official even when the next year is not.
        let due = c.deadline(d("2026-12-01"), 5, &[]).expect("2026");
        assert_eq!(
            due,
            Deadline {
                date: d("2026-12-08"),
                provisional: false
            }
        );
        assert!(c.working_days_between(d("2026-12-01"), d("2027-01-05")).is_ok());
        assert_eq!(
            c.remaining_working_days(d("2026-12-30"), d("2027-01-06")).ok(),
            Some(4)
        );
        // 2027 Spring Festival: 除夕 Fri 2-5 to 初三 Mon 2-8 are off; no make-up day is guessed.
        for day in ["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"] {
            assert_eq!(c.is_working_day(d(day)).ok(), Some(false), "{day} is 春节 2027");
        }
        assert_eq!(
            c.is_working_day(d("2027-02-09")).ok(),
            Some(true),
            "Tue 初四 2027"
        );
        // Thu 2-4 + 1 working day: Fri 2-5 … Mon 2-8 off → Tue 2-9.
        assert_eq!(
            c.deadline(d("2027-02-04"), 1, &[]).ok(),
            Some(Deadline {
                date: d("2027-02-09"),
                provisional: true
            })
        );
        // A whole provisional year: 365 days − 104 weekend days − 13 statutory days, less
        // those of the 13 that fall on a weekend anyway.
        let info = c.year_info(2027).expect("2027");
        let on_weekdays = info
            .off_days
            .iter()
            .filter(|h| !matches!(h.date.weekday(), Weekday::Sat | Weekday::Sun))
            .count() as i64;
        assert_eq!(
            c.working_days_between(d("2026-12-31"), d("2027-12-31")).ok(),
            Some(365 - 104 - on_weekdays)
        );
    }

    #[test]
    fn calendar_lists_official_and_provisional_years() {
        let c = cal();
        let official = c.year_info(2026).expect("2026");
        assert_eq!(official.source, YearSource::Official);
        assert!(official
            .off_days
            .iter()
            .any(|h| h.date == d("2026-10-01") && h.name.contains("国庆")));
        assert!(official.working_days.iter().any(|h| h.date == d("2026-02-14")));
        let provisional = c.year_info(2027).expect("2027");
        assert_eq!(provisional.source, YearSource::Provisional);
        assert_eq!(provisional.off_days.len(), 13);
        assert!(provisional.working_days.is_empty(), "no make-up day is guessed");
        assert!(matches!(
            c.year_info(2017),
            Err(CalendarError::YearNotCovered(2017))
        ));
    }

    /// (year, date, name): dates of the 2027–2031 festivals from the published lunisolar
    /// tables (正月初一, 清明, 端午, 中秋).
    const DERIVED_FESTIVALS: &[(i32, &str, &str)] = &[
        (2027, "2027-02-06", "春节"),
        (2027, "2027-04-05", "清明节"),
        (2027, "2027-06-09", "端午节"),
        (2027, "2027-09-15", "中秋节"),
        (2028, "2028-01-26", "春节"),
        (2028, "2028-04-04", "清明节"),
        (2028, "2028-05-28", "端午节"),
        (2028, "2028-10-03", "中秋节"),
        (2031, "2031-01-23", "春节"),
        (2031, "2031-04-05", "清明节"),
        (2031, "2031-06-24", "端午节"),
        (2031, "2031-10-01", "中秋节"),
    ];

    #[test]
    fn statutory_holidays_fall_on_the_published_festival_dates() {
        for &(year, date, name) in DERIVED_FESTIVALS {
            let days = statutory_holidays(year).expect("derivable");
            assert!(
                days.iter().any(|h| h.date == d(date) && h.name == name),
                "{year}: expected {name} on {date}, derived {:?}",
                days.iter()
                    .map(|h| format!("{} {}", h.date, h.name))
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn statutory_holidays_are_off_days_of_the_official_years_under_the_same_rules() {
        // 2025 and 2026 follow the 2024 amendment: every derived day is off in the notice.
        for (year, text) in [(2025, SHIPPED[7].1), (2026, SHIPPED[8].1)] {
            let official = Calendar::from_json_files(&[text]).expect("official");
            for h in statutory_holidays(year).expect("derivable").iter() {
                assert_eq!(
                    official.is_working_day(h.date).ok(),
                    Some(false),
                    "{year}: derived {} {} is a working day in the official notice",
                    h.date,
                    h.name
                );
            }
        }
    }

    #[test]
    fn a_year_file_made_from_lists_loads_and_is_checked() {
        let off = [NamedDay {
            date: d("2027-01-01"),
            name: "元旦".into(),
        }];
        let work = [NamedDay {
            date: d("2027-02-20"),
            name: "春节".into(),
        }];
        let json = year_file_json(2027, &off, &work);
        assert_eq!(cal().with_year_json(&json).ok().map(|(y, _)| y), Some(2027));
        let mut c = cal().clone();
        c.add_year_json(&json).expect("loads");
        assert_eq!(c.source_of(2027).ok(), Some(YearSource::Official));
        assert_eq!(
            c.is_working_day(d("2027-02-20")).ok(),
            Some(true),
            "make-up Saturday"
        );
        // Once official, the derived 春节 days are no longer assumed: the notice rules.
        assert_eq!(c.is_working_day(d("2027-02-08")).ok(), Some(true));
        assert!(!c.deadline(d("2027-02-04"), 1, &[]).expect("2027").provisional);
        let clash = year_file_json(
            2027,
            &[NamedDay {
                date: d("2026-02-14"),
                name: "x".into(),
            }],
            &[],
        );
        assert!(matches!(
            cal().with_year_json(&clash),
            Err(CalendarError::ConflictingDate { .. })
        ));
    }

    #[test]
    fn calendar_working_days_between() {
        let c = cal();
        let between = |a: &str, b: &str| c.working_days_between(d(a), d(b)).ok();
        // 2-9, Sun 2-18, 2-19.
        assert_eq!(between("2024-02-08", "2024-02-19"), Some(3));
        assert_eq!(between("2024-02-19", "2024-02-08"), Some(0), "to before from");
        assert_eq!(between("2024-02-19", "2024-02-19"), Some(0), "empty interval");
        assert_eq!(between("2025-10-01", "2025-10-08"), Some(0), "inside 国庆 2025");
        // (from, to]: from is not counted, to is.
        assert_eq!(between("2024-03-05", "2024-03-06"), Some(1));
        // Whole years: 365/366 days − 104 weekend days − statutory holidays
        // (11 days in 2024; 13 from 2025 on); make-up days only move rest days around.
        assert_eq!(between("2023-12-31", "2024-12-31"), Some(366 - 104 - 11));
        assert_eq!(between("2024-12-31", "2025-12-31"), Some(365 - 104 - 13));
        assert_eq!(between("2025-12-31", "2026-12-31"), Some(365 - 104 - 13));
    }

    #[test]
    fn calendar_remaining_working_days_and_lights() {
        let c = cal();
        let left = |today: &str, due: &str| c.remaining_working_days(d(today), d(due)).ok();
        // Sun 9-29, Mon 9-30, Tue 10-8.
        assert_eq!(left("2024-09-27", "2024-10-08"), Some(3));
        assert_eq!(left("2024-10-08", "2024-10-08"), Some(0), "due today");
        // 3-5, 3-6, 3-7, 3-8, 3-11.
        assert_eq!(left("2024-03-04", "2024-03-11"), Some(5));
        // 3-8, 3-11, 3-12 / 3-7, 3-8, 3-11, 3-12.
        assert_eq!(left("2024-03-07", "2024-03-12"), Some(3));
        assert_eq!(left("2024-03-06", "2024-03-12"), Some(4));
        // Overdue: due Mon 9-30, today Wed 10-9: 10-8 and 10-9 are past due.
        assert_eq!(left("2024-10-09", "2024-09-30"), Some(-2));
        // Overdue during 国庆 (no working day past due yet): still overdue.
        assert_eq!(left("2024-10-05", "2024-09-30"), Some(-1));
        // Friday due, Saturday today: overdue.
        assert_eq!(left("2024-03-09", "2024-03-08"), Some(-1));

        assert_eq!(light(-100), SlaLight::Red);
        assert_eq!(light(-1), SlaLight::Red);
        assert_eq!(light(0), SlaLight::Yellow);
        assert_eq!(light(1), SlaLight::Yellow);
        assert_eq!(light(3), SlaLight::Yellow);
        assert_eq!(light(4), SlaLight::Green);
        assert_eq!(light(1000), SlaLight::Green);
        assert_eq!(left("2024-10-09", "2024-09-30").map(light), Some(SlaLight::Red));
        assert_eq!(
            left("2024-09-27", "2024-10-08").map(light),
            Some(SlaLight::Yellow)
        );
        assert_eq!(left("2024-03-04", "2024-03-11").map(light), Some(SlaLight::Green));
    }

    #[test]
    fn calendar_pauses() {
        let c = cal();
        let add = |from: &str, days: u32, pauses: &[(&str, &str)]| {
            let pauses: Vec<_> = pauses.iter().map(|&(a, b)| (d(a), d(b))).collect();
            c.add_working_days_with_pauses(d(from), days, &pauses).ok()
        };
        // No pause: 3-5, 6, 7, 8, 11.
        assert_eq!(add("2024-03-04", 5, &[]), Some(d("2024-03-11")));
        // One pause (3-5, 3-7): 3-6 and 3-7 do not count.
        // 3-5 (1), 3-8 (2), 3-11 (3), 3-12 (4), 3-13 (5).
        assert_eq!(
            add("2024-03-04", 5, &[("2024-03-05", "2024-03-07")]),
            Some(d("2024-03-13"))
        );
        // Two overlapping pauses, given out of order: paused 3-6..3-7 ∪ 3-7..3-11 = 3-6..3-11.
        // 3-5 (1), 3-12 (2), 3-13 (3), 3-14 (4), 3-15 (5).
        assert_eq!(
            add(
                "2024-03-04",
                5,
                &[("2024-03-06", "2024-03-11"), ("2024-03-05", "2024-03-07")]
            ),
            Some(d("2024-03-15"))
        );
        // Adjacent pauses behave as one: (3-5, 3-6) + (3-6, 3-7) = (3-5, 3-7).
        assert_eq!(
            add(
                "2024-03-04",
                5,
                &[("2024-03-05", "2024-03-06"), ("2024-03-06", "2024-03-07")]
            ),
            Some(d("2024-03-13"))
        );
        // A pause over 国庆 2024 (9-27, 10-10): paused 9-28..10-10, in which Sun 9-29, 9-30,
        // 10-8, 10-9, 10-10 are working days. Without the pause the 20th day is 10-23; five
        // working days later: 10-24, 10-25, 10-28, 10-29, 10-30.
        assert_eq!(
            add("2024-09-20", 20, &[("2024-09-27", "2024-10-10")]),
            Some(d("2024-10-30"))
        );
        // A pause only over holidays changes nothing: (9-30, 10-7) pauses 10-1..10-7.
        assert_eq!(
            add("2024-09-20", 20, &[("2024-09-30", "2024-10-07")]),
            Some(d("2024-10-23"))
        );
        // A pause wholly before `from` has no effect.
        assert_eq!(
            add("2024-03-04", 5, &[("2024-02-01", "2024-02-20")]),
            Some(d("2024-03-11"))
        );
        // A pause running over `from`: paused 3-2..3-6; 3-7 (1), 3-8 (2), 3-11, 3-12, 3-13 (5).
        assert_eq!(
            add("2024-03-04", 5, &[("2024-03-01", "2024-03-06")]),
            Some(d("2024-03-13"))
        );
        // An empty pause (end == start).
        assert_eq!(
            add("2024-03-04", 5, &[("2024-03-05", "2024-03-05")]),
            Some(d("2024-03-11"))
        );
        // days = 0 with a pause.
        assert_eq!(
            add("2024-03-04", 0, &[("2024-03-01", "2024-03-06")]),
            Some(d("2024-03-04"))
        );
        // A pause whose end is before its start.
        assert!(matches!(
            c.add_working_days_with_pauses(d("2024-03-04"), 5, &[(d("2024-03-07"), d("2024-03-05"))]),
            Err(CalendarError::InvalidPause { .. })
        ));
        // A pause running into a provisional year: the clock restarts on Mon 2027-01-11.
        assert_eq!(
            c.deadline(d("2026-12-01"), 1, &[(d("2026-11-30"), d("2027-01-10"))])
                .ok(),
            Some(Deadline {
                date: d("2027-01-11"),
                provisional: true
            })
        );
    }

    const Y2027: &str = r#"{"year": 2027, "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
        {"name": "春节", "date": "2027-02-06", "isOffDay": false}
    ]}"#;

    #[test]
    fn calendar_a_new_year_loads_at_run_time() {
        let mut c = cal().clone();
        c.add_year_json(Y2027).expect("2027 loads");
        assert_eq!(c.known_years(), (2018..=2027).collect::<Vec<_>>());
        assert_eq!(c.is_working_day(d("2027-01-01")).ok(), Some(false));
        assert_eq!(c.is_working_day(d("2027-01-04")).ok(), Some(true), "plain Monday");
        assert_eq!(
            c.is_working_day(d("2027-02-06")).ok(),
            Some(true),
            "make-up Saturday"
        );
        // Thu 12-31, then Fri 1-1 off, weekend: Mon 1-4.
        assert_eq!(c.add_working_days(d("2026-12-30"), 2).ok(), Some(d("2027-01-04")));
        // The shipped calendar itself is unchanged: 2027 stays provisional there.
        assert_eq!(cal().source_of(2027).ok(), Some(YearSource::Provisional));

        let c = Calendar::from_json_files(&[Y2027]).expect("alone");
        assert_eq!(c.known_years(), vec![2027]);
        assert!(matches!(
            c.is_working_day(d("2024-12-31")),
            Err(CalendarError::YearNotCovered(2024))
        ));

        // A later notice for a year replaces it.
        let mut c = cal().clone();
        c.add_year_json(r#"{"year": 2026, "days": []}"#).expect("replace");
        assert_eq!(c.is_working_day(d("2026-10-01")).ok(), Some(true));
        assert_eq!(c.is_working_day(d("2025-10-01")).ok(), Some(false));
    }

    #[test]
    fn calendar_cross_year_entries_need_the_next_file() {
        // 2018-12-29 (Sat) is a working day only because the 2019 notice says so.
        let only_2018 = Calendar::from_json_files(&[SHIPPED[0].1]).expect("2018");
        assert_eq!(only_2018.is_working_day(d("2018-12-29")).ok(), Some(false));
        assert_eq!(cal().is_working_day(d("2018-12-29")).ok(), Some(true));
    }

    #[test]
    fn calendar_bad_data_is_a_typed_error() {
        let err = Calendar::from_json_files(&[Y2027, "{not json"]).expect_err("bad JSON");
        assert!(matches!(err, CalendarError::Json { .. }));
        assert!(err.to_string().contains("JSON text #2"), "{err}");

        let err = Calendar::from_json_files(&[
            r#"{"year": 2027, "days": [{"date": "2027-02-30", "isOffDay": true}]}"#,
        ])
        .expect_err("bad date");
        assert!(matches!(err, CalendarError::BadDate { year: 2027, .. }));
        assert!(err.to_string().contains("2027-02-30"), "{err}");

        let err = Calendar::from_json_files(&[
            r#"{"year": 2027, "days": [{"date": "2025-05-01", "isOffDay": true}]}"#,
        ])
        .expect_err("outside");
        assert!(
            matches!(err, CalendarError::DateOutsideYear { year: 2027, .. }),
            "{err}"
        );

        let err = Calendar::from_json_files(&[Y2027, Y2027]).expect_err("twice");
        assert!(
            matches!(err, CalendarError::DuplicateYear { year: 2027, .. }),
            "{err}"
        );

        // The 2027 notice cannot make 2026-10-01 (a holiday in 2026.json) a working day.
        let mut c = cal().clone();
        let err = c
            .add_year_json(r#"{"year": 2027, "days": [{"date": "2026-10-01", "isOffDay": false}]}"#)
            .expect_err("conflict");
        assert!(
            matches!(
                err,
                CalendarError::ConflictingDate {
                    year: 2027,
                    other_year: 2026,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!c.covers(2027), "a failed load changes nothing");
        assert!(matches!(
            Calendar::from_json_files(&[r#"{"year": 2027}"#]),
            Err(CalendarError::Json { .. })
        ));
    }

    #[test]
    fn calendar_load_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("2027.json"), Y2027).expect("write");
        std::fs::write(dir.path().join("README.md"), "not data").expect("write");
        let c = Calendar::load_dir(dir.path()).expect("load");
        assert_eq!(c.known_years(), vec![2027]);

        let mut shipped = cal().clone();
        shipped.add_dir(dir.path()).expect("override folder");
        assert_eq!(shipped.known_years(), (2018..=2027).collect::<Vec<_>>());

        std::fs::write(dir.path().join("2028.json"), "{").expect("write");
        let err = Calendar::load_dir(dir.path()).expect_err("bad file");
        assert!(err.to_string().contains("2028.json"), "{err}");

        let err = Calendar::load_dir(dir.path().join("missing")).expect_err("no dir");
        assert!(matches!(err, CalendarError::Io { .. }), "{err}");
    }

    /// Dates from 2018-01-01 to 2035-09-30: the official years and the provisional ones
    /// after them.
    fn a_date() -> impl Strategy<Value = NaiveDate> {
        let first = d("2018-01-01");
        let span = (d("2035-09-30") - first).num_days();
        (0..=span).prop_map(move |n| first + chrono::Duration::days(n))
    }

    proptest! {
        #[test]
        fn calendar_adding_then_counting_gives_back_n(from in a_date(), n in 0u32..=60) {
            let c = cal();
            let due = c.add_working_days(from, n).expect("within the data");
            prop_assert_eq!(c.working_days_between(from, due).expect("within the data"), i64::from(n));
            if n > 0 {
                prop_assert!(due > from);
                prop_assert!(c.is_working_day(due).expect("within the data"));
                // The first such day: one day earlier there was one working day fewer.
                let before = due.pred_opt().expect("not the first date");
                prop_assert_eq!(c.working_days_between(from, before).expect("within"), i64::from(n) - 1);
            } else {
                prop_assert_eq!(due, from);
            }
            prop_assert_eq!(c.add_working_days_with_pauses(from, n, &[]).expect("within"), due);
        }

        #[test]
        fn calendar_adding_is_additive(from in a_date(), a in 0u32..=30, b in 0u32..=30) {
            let c = cal();
            let at_once = c.add_working_days(from, a + b).expect("within the data");
            let in_two = c.add_working_days(c.add_working_days(from, a).expect("within"), b).expect("within");
            prop_assert_eq!(at_once, in_two);
        }

        #[test]
        fn calendar_pause_order_does_not_matter(
            from in a_date(),
            n in 1u32..=30,
            p in proptest::collection::vec((0i64..30, 0i64..10), 0..4),
        ) {
            let c = cal();
            let pauses: Vec<_> = p
                .iter()
                .map(|&(s, len)| (from + chrono::Duration::days(s), from + chrono::Duration::days(s + len)))
                .collect();
            let mut reversed = pauses.clone();
            reversed.reverse();
            let a = c.add_working_days_with_pauses(from, n, &pauses).expect("within");
            let b = c.add_working_days_with_pauses(from, n, &reversed).expect("within");
            prop_assert_eq!(a, b);
            // Pauses never make a time limit shorter, and the result is a working day.
            prop_assert!(a >= c.add_working_days(from, n).expect("within"));
            prop_assert!(c.is_working_day(a).expect("within"));
        }
    }
}
