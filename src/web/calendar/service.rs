//! Entering an official holiday year: checked, stored as a new version, audited, and the
//! dependent due dates recomputed — all in one transaction.

use chrono::{Datelike, NaiveDate};
use diesel::Connection;

use crate::calendar::{self, CalendarError, NamedDay, YearInfo};
use crate::store::audit::{self, AuditEvent};
use crate::store::calendar::{self as store, Entered, YearEntry};
use crate::web::auth::CurrentUser;
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

/// The earliest and latest year an administrator may enter.
pub const YEARS: std::ops::RangeInclusive<i32> = 2018..=calendar::LAST_YEAR;

/// Each year from the first official one to the first provisional one after both the last
/// official year and next year, as the calendar counts it.
pub fn listing(cal: &calendar::Calendar, today: NaiveDate) -> Result<Vec<YearInfo>, CalendarError> {
    let first = cal.year_range().map_or(today.year(), |r| *r.start());
    let last = cal
        .year_range()
        .map_or(today.year(), |r| *r.end() + 1)
        .max(today.year() + 1);
    (first..=last)
        .filter(|&y| cal.source_of(y).is_ok())
        .map(|y| cal.year_info(y))
        .collect()
}

/// A calendar error in an entered year, in Chinese against the field it came from.
pub fn field_error(field: &str, e: &CalendarError) -> FieldError {
    let message = match e {
        CalendarError::Json { .. } => {
            "不是有效的节假日数据：应为 holiday-cn 格式的 JSON（year 与 days 列表）".to_owned()
        }
        CalendarError::BadDate { value, .. } => format!("日期“{value}”无效，应为 YYYY-MM-DD"),
        CalendarError::DateOutsideYear { year, date, .. } => {
            format!("{date} 不在 {year} 年的通知可以安排的范围内（上一年 12 月至当年年底）")
        }
        CalendarError::ConflictingDate { date, other_year, .. } => {
            format!("{date} 在 {other_year} 年的安排中已定为另一种日子（放假或上班），两者矛盾")
        }
        CalendarError::DuplicateYear { year, .. } => format!("{year} 年重复"),
        other => format!("节假日数据有误：{other}"),
    };
    FieldError::new(field, "invalid_calendar", message)
}

/// Checks the year file's year against `expected` and the allowed range.
pub fn check_year(field: &str, year: i32, expected: Option<i32>) -> Result<(), ApiError> {
    if let Some(want) = expected.filter(|&w| w != year) {
        return Err(ApiError::Validation(vec![FieldError::new(
            field,
            "year_mismatch",
            format!("文件中的年份（{year}）与所录入的年份（{want}）不一致"),
        )]));
    }
    if !YEARS.contains(&year) {
        return Err(ApiError::Validation(vec![FieldError::new(
            field,
            "out_of_range",
            format!("年份应在 {} 至 {} 之间", YEARS.start(), YEARS.end()),
        )]));
    }
    Ok(())
}

/// Stores `json` (a year file in the holiday-cn format) as the newest version of its year,
/// recomputes the open cases' due dates that depend on it and audits the change.
pub async fn enter(
    state: &AppState,
    admin: &CurrentUser,
    json: String,
    source_note: &str,
    expected_year: Option<i32>,
    field: &'static str,
    address: &str,
) -> Result<Entered, ApiError> {
    let note = source_note.trim();
    if note.chars().count() > 200 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "source_note",
            "too_long",
            "依据不能超过 200 个字",
        )]));
    }
    let current = state.calendar().await?;
    let (year, after) = current
        .with_year_json(&json)
        .map_err(|e| ApiError::Validation(vec![field_error(field, &e)]))?;
    check_year(field, year, expected_year)?;
    if after.year_info(year)?.off_days.is_empty() {
        // Every notice lists at least 元旦: an empty list is a mistake, not a year of work.
        return Err(ApiError::Validation(vec![FieldError::new(
            field,
            "no_off_days",
            format!("{year} 年的安排中没有任何放假日期，请按通知填写"),
        )]));
    }
    let note = if note.is_empty() {
        format!("国务院办公厅关于{year}年部分节假日安排的通知")
    } else {
        note.to_owned()
    };
    let cache = state.calendars.clone();
    let (actor_id, audit_actor, address, at) = (admin.id, admin.label(), address.to_owned(), state.now());
    // Shown on the calendar page to other administrators: role and name, as staff sign.
    let actor = format!("{} {}", admin.role.label(), admin.display_name);
    let entered = state
        .db
        .run(move |c| {
            c.transaction(|c| {
                let entered = store::enter_year(
                    c,
                    cache.base(),
                    &YearEntry {
                        data: &json,
                        source_note: &note,
                        actor_id: Some(actor_id),
                        actor: &actor,
                        at,
                    },
                )?;
                audit::record(
                    c,
                    &AuditEvent {
                        at,
                        actor_id: Some(actor_id),
                        actor: &audit_actor,
                        action: "calendar_year_enter",
                        target: &format!("calendar#{}", entered.year),
                        address: &address,
                        outcome: "success",
                        detail: &format!(
                            "version={} recomputed={} source={note}",
                            entered.version, entered.recomputed
                        ),
                    },
                )?;
                Ok::<_, crate::db::DbError>(entered)
            })
        })
        .await?;
    tracing::info!(
        year = entered.year,
        version = entered.version,
        recomputed = entered.recomputed,
        "official holiday year entered"
    );
    Ok(entered)
}

/// Lines of `YYYY-MM-DD 名称` or `YYYY-MM-DD~YYYY-MM-DD 名称` (a range of days), as typed
/// from the notice; every bad line is an error naming its number.
pub fn parse_days(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Vec<NamedDay> {
    let mut days = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() {
            continue;
        }
        let (dates, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let name = name.trim();
        let (first, last) = dates
            .split_once(['~', '～'])
            .map_or((dates, dates), |(a, b)| (a.trim(), b.trim()));
        let parse = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| s.len() == 10)
        };
        match (parse(first), parse(last)) {
            (Some(a), Some(b)) if a <= b && (b - a).num_days() < 31 => {
                let mut d = a;
                while d <= b {
                    days.push(NamedDay {
                        date: d,
                        name: name.to_owned(),
                    });
                    match d.succ_opt() {
                        Some(next) => d = next,
                        None => break,
                    }
                }
            }
            (Some(_), Some(_)) => errors.push(FieldError::new(
                field,
                "invalid_range",
                format!("第 {n} 行：日期范围应从前到后，且不超过 31 天"),
            )),
            _ => errors.push(FieldError::new(
                field,
                "invalid_date",
                format!("第 {n} 行“{line}”：应为“YYYY-MM-DD 名称”或“YYYY-MM-DD~YYYY-MM-DD 名称”"),
            )),
        }
    }
    days
}
