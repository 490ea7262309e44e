//! `/api/v1/calendar/…`: working-day arithmetic and the years of the calendar (public), and
//! entering an official year (administrators).

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::service;
use crate::calendar::CalendarError;
use crate::web::auth::{client_address, AdminOnly, Authed};
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(add_working_days).service(years).service(enter_year);
}

#[derive(Deserialize)]
struct AddQuery {
    from: Option<String>,
    days: Option<String>,
}

#[get("/calendar/add-working-days")]
async fn add_working_days(
    state: web::Data<AppState>,
    q: web::Query<AddQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let from = match q.from.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push(FieldError::new(
                "from",
                "required",
                "请提供起算日期 from（YYYY-MM-DD）",
            ));
            None
        }
        Some(s) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "from",
                    "invalid_date",
                    "from 应为有效日期，格式 YYYY-MM-DD",
                ));
                None
            }
        },
    };
    let days = match q.days.as_deref().map(str::trim).map(str::parse::<u32>) {
        Some(Ok(n)) if n <= 3650 => Some(n),
        _ => {
            errors.push(FieldError::new(
                "days",
                "out_of_range",
                "days 应为 0 到 3650 之间的整数",
            ));
            None
        }
    };
    let (Some(from), Some(days)) = (from, days) else {
        return Err(ApiError::InvalidQuery(errors));
    };
    let calendar = state.calendar().await?;
    match calendar.deadline(from, days, &[]) {
        Ok(due) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "from": from,
            "days": days,
            "date": due.date,
            "provisional": due.provisional,
            "rule": "自起算日的次日起计算，遇法定节假日顺延，调休上班日计入",
            "known_years": calendar.known_years(),
        }))),
        Err(CalendarError::YearNotCovered(year)) => Err(ApiError::Validation(vec![FieldError::new(
            "from",
            "beyond_calendar",
            format!("{year} 年早于现行放假办法，且未载入其节假日安排，无法计算工作日"),
        )])),
        Err(e) => Err(e.into()),
    }
}

/// Each year of the calendar with `"source": "official" | "provisional"`, its off days
/// and its make-up working days.
#[get("/calendar/years")]
async fn years(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let calendar = state.calendar().await?;
    let years = service::listing(&calendar, state.today())?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "years": years })))
}

#[derive(Deserialize)]
struct NoteOnly {
    #[serde(default)]
    source_note: String,
}

/// Enters (or corrects) an official year: the body is a year file in the holiday-cn format
/// (`{"year", "days": [{"name", "date", "isOffDay"}]}`), optionally with `source_note`.
#[put("/calendar/years/{year}")]
async fn enter_year(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    year: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let year: i32 = year
        .trim()
        .parse()
        .map_err(|_| ApiError::InvalidQuery(vec![FieldError::new("year", "invalid", "年份应为四位数字")]))?;
    let json = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::Validation(vec![FieldError::new(
            "body",
            "invalid_encoding",
            "内容应为 UTF-8 编码的 JSON",
        )])
    })?;
    let note = serde_json::from_str::<NoteOnly>(&json)
        .map(|n| n.source_note)
        .unwrap_or_default();
    let entered = service::enter(
        &state,
        &admin,
        json,
        &note,
        Some(year),
        "body",
        &client_address(&req),
    )
    .await?;
    let calendar = state.calendar().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "year": entered.year,
        "version": entered.version,
        "recomputed": entered.recomputed,
        "calendar": calendar.year_info(entered.year)?,
    })))
}
