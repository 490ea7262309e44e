//! The public working-day calendar (工作日计算).

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use super::error::{ApiError, FieldError};
use crate::calendar::CalendarError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(add_working_days);
}

#[derive(Deserialize)]
struct AddQuery {
    from: Option<String>,
    days: Option<String>,
}

#[get("/calendar/add-working-days")]
async fn add_working_days(
    state: web::Data<super::AppState>,
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
    let calendar = &state.calendar;
    match calendar.add_working_days(from, days) {
        Ok(date) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "from": from,
            "days": days,
            "date": date,
            "rule": "自起算日的次日起计算，遇法定节假日顺延，调休上班日计入",
            "known_years": calendar.known_years(),
        }))),
        Err(CalendarError::YearNotCovered(year)) => Err(ApiError::Validation(vec![FieldError::new(
            "from",
            "beyond_calendar",
            format!("{year} 年的节假日安排尚未载入，无法计算工作日"),
        )])),
        Err(e) => {
            tracing::error!(error = %e, "calendar failure");
            Err(ApiError::BadRequest {
                code: "calendar_error",
                message: "工作日计算失败".into(),
            })
        }
    }
}
