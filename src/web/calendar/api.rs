//! `/api/v1/calendar/…`: working-day arithmetic and the years of the calendar (public), and
//! entering an official year (administrators).

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::service;
use crate::calendar::{CalendarError, YearInfo};
use crate::web::auth::{client_address, AdminOnly, Authed};
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(add_working_days).service(years).service(enter_year);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AddQuery {
    /// The day the count starts from (not itself counted), YYYY-MM-DD.
    #[param(required, value_type = NaiveDate)]
    from: Option<String>,
    /// How many working days, 0 to 3650.
    #[param(required, value_type = u32, maximum = 3650)]
    days: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct WorkingDays {
    from: NaiveDate,
    days: u32,
    /// The date `days` working days after `from`.
    date: NaiveDate,
    /// Counted through a year whose holidays are derived, not yet officially published (预计).
    provisional: bool,
    /// How the count runs, in Chinese.
    rule: &'static str,
    /// The years whose official notice is loaded.
    known_years: Vec<i32>,
}

/// The date a number of working days after a date, by the statutory calendar (法定工作日).
#[utoipa::path(tag = "calendar", params(AddQuery), responses((status = 200, body = WorkingDays), (status = 422, body = crate::web::error::ErrorBody, description = "A year before the current holiday rules without data")))]
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
        Ok(due) => Ok(HttpResponse::Ok().json(WorkingDays {
            from,
            days,
            date: due.date,
            provisional: due.provisional,
            rule: "自起算日的次日起计算，遇法定节假日顺延，调休上班日计入",
            known_years: calendar.known_years(),
        })),
        Err(CalendarError::YearNotCovered(year)) => Err(ApiError::Validation(vec![FieldError::new(
            "from",
            "beyond_calendar",
            format!("{year} 年早于现行放假办法，且未载入其节假日安排，无法计算工作日"),
        )])),
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize, ToSchema)]
struct Years {
    years: Vec<YearInfo>,
}

/// Each year of the calendar with `"source": "official" | "provisional"`, its off days
/// and its make-up working days.
#[utoipa::path(tag = "calendar", responses((status = 200, body = Years)))]
#[get("/calendar/years")]
async fn years(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let calendar = state.calendar().await?;
    let years = service::listing(&calendar, state.today())?;
    Ok(HttpResponse::Ok().json(Years { years }))
}

#[derive(Deserialize)]
struct NoteOnly {
    #[serde(default)]
    source_note: String,
}

#[derive(Serialize, ToSchema)]
struct EnteredYear {
    year: i32,
    version: i32,
    /// How many open cases had their due date recomputed.
    recomputed: usize,
    calendar: YearInfo,
}

/// Enters (or corrects) an official year: the body is a year file in the holiday-cn format
/// (`{"year", "days": [{"name", "date", "isOffDay"}]}`), optionally with `source_note`.
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = [])),
    params(("year" = i32, Path, description = "The year, e.g. 2027")),
    request_body(content = crate::calendar::YearFile, description = "A holiday-cn year file; `source_note` may name the notice (国办发明电〔2026〕N号)"),
    responses((status = 200, body = EnteredYear))
)]
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
    Ok(HttpResponse::Ok().json(EnteredYear {
        year: entered.year,
        version: entered.version,
        recomputed: entered.recomputed,
        calendar: calendar.year_info(entered.year)?,
    }))
}
