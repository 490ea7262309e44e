//! `/admin/calendar`: the years of the working-day calendar and the forms that enter an
//! official year — typed from the notice, or uploaded as a holiday-cn year file.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Datelike;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::service;
use crate::calendar::{self, YearSource};
use crate::web::auth::{client_address, require_csrf, AdminOnly, Authed};
use crate::web::error::{ApiError, FieldError, PageError};
use crate::web::page::{field_errors, form_message, form_page, page_err, PageForm};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(calendar_page)
        .service(enter_typed)
        .service(enter_file);
}

/// The largest year file accepted (a real one is a few kilobytes).
const FILE_LIMIT: usize = 256 * 1024;

#[derive(Serialize)]
struct YearLine {
    year: i32,
    official: bool,
    off_days: Vec<String>,
    working_days: Vec<String>,
}

#[derive(Serialize)]
struct HistoryLine {
    year: i32,
    version: i32,
    at: chrono::NaiveDateTime,
    actor: String,
    source_note: String,
    recomputed: i32,
}

#[derive(Deserialize)]
struct Done {
    entered: Option<i32>,
    version: Option<i32>,
    recomputed: Option<usize>,
}

/// Days of `year` listed as `1月1日 元旦`, consecutive days of one name as a range; a day
/// of another year (a notice may arrange the end of December before it) names its year.
fn describe(year: i32, days: &[calendar::NamedDay]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(chrono::NaiveDate, chrono::NaiveDate, &str)> = None;
    let fmt = |d: chrono::NaiveDate| {
        if d.year() == year {
            d.format("%-m月%-d日").to_string()
        } else {
            d.format("%Y年%-m月%-d日").to_string()
        }
    };
    let flush = |run: Option<(chrono::NaiveDate, chrono::NaiveDate, &str)>, out: &mut Vec<String>| {
        if let Some((a, b, name)) = run {
            let when = if a == b {
                fmt(a)
            } else {
                format!("{}至{}", fmt(a), fmt(b))
            };
            out.push(if name.is_empty() {
                when
            } else {
                format!("{when} {name}")
            });
        }
    };
    for d in days {
        match run {
            Some((a, b, name)) if name == d.name && b.succ_opt() == Some(d.date) => {
                run = Some((a, d.date, name))
            }
            _ => {
                flush(run, &mut out);
                run = Some((d.date, d.date, &d.name));
            }
        }
    }
    flush(run, &mut out);
    out
}

async fn render(
    state: &AppState,
    req: &HttpRequest,
    mut ctx: tera::Context,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let cal = state.calendar().await.map_err(|e| page_err(state, e))?;
    // Last year, this year and those after: what an administrator keeps current (the API
    // lists every year).
    let since = state.today().year() - 1;
    let years: Vec<YearLine> = service::listing(&cal, state.today())
        .map_err(|e| page_err(state, e.into()))?
        .into_iter()
        .filter(|y| y.year >= since)
        .rev()
        .map(|y| YearLine {
            year: y.year,
            official: y.source == YearSource::Official,
            off_days: describe(y.year, &y.off_days),
            working_days: describe(y.year, &y.working_days),
        })
        .collect();
    let history: Vec<HistoryLine> = state
        .db
        .run(crate::store::calendar::history)
        .await
        .map_err(|e| page_err(state, e.into()))?
        .into_iter()
        .map(|r| HistoryLine {
            year: r.year,
            version: r.version,
            at: r.at,
            actor: r.actor,
            source_note: r.source_note,
            recomputed: r.recomputed,
        })
        .collect();
    let next_year = cal.year_range().map_or(state.today().year(), |r| r.end() + 1);
    ctx.insert("years", &years);
    ctx.insert("history", &history);
    if !ctx.contains_key("values") {
        let values: BTreeMap<&str, String> = [("year", next_year.to_string())].into_iter().collect();
        ctx.insert("values", &values);
    }
    if !ctx.contains_key("errors") {
        ctx.insert("errors", &BTreeMap::<String, String>::new());
    }
    form_page(state, req, "calendar/admin_calendar.html", &mut ctx, status)
}

#[get("/admin/calendar")]
async fn calendar_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    _admin: Authed<AdminOnly>,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = tera::Context::new();
    if let (Some(year), Some(version)) = (done.entered, done.version) {
        ctx.insert(
            "notice",
            &format!(
                "已录入 {year} 年节假日安排（第 {version} 版），即时生效；{} 件在办办件的办结时限随之重新计算。",
                done.recomputed.unwrap_or(0)
            ),
        );
    }
    render(&state, &req, ctx, StatusCode::OK).await
}

fn done(entered: &crate::store::calendar::Entered) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!(
                "/admin/calendar?entered={}&version={}&recomputed={}",
                entered.year, entered.version, entered.recomputed
            ),
        ))
        .finish()
}

async fn failed(
    state: &AppState,
    req: &HttpRequest,
    e: ApiError,
    values: BTreeMap<&str, String>,
) -> Result<HttpResponse, PageError> {
    let (status, message, errors) = form_message(&e);
    let mut ctx = tera::Context::new();
    ctx.insert("message", &message);
    ctx.insert("errors", &field_errors(&errors));
    ctx.insert("values", &values);
    render(state, req, ctx, status).await
}

/// A year typed from the notice; each date line is then parsed, every bad line named.
#[derive(Deserialize, Validate)]
struct TypedForm {
    csrf_token: String,
    #[validate(custom(function = "year_in_range"))]
    year: String,
    #[serde(default)]
    #[validate(custom(function = "off_days_given"))]
    off_days: String,
    #[serde(default)]
    working_days: String,
    #[serde(default)]
    source_note: String,
}

fn year_in_range(v: &str) -> Result<(), validator::ValidationError> {
    match v.trim().parse::<i32>() {
        Ok(y) if service::YEARS.contains(&y) => Ok(()),
        _ => Err(crate::web::validate::problem(
            "invalid",
            format!(
                "年份应为 {} 至 {} 之间的四位数字",
                service::YEARS.start(),
                service::YEARS.end()
            ),
        )),
    }
}

fn off_days_given(v: &str) -> Result<(), validator::ValidationError> {
    if v.trim().is_empty() {
        Err(crate::web::validate::problem(
            "required",
            "请按通知填写放假日期（每行一个日期或日期范围，后接节日名称）",
        ))
    } else {
        Ok(())
    }
}

#[post("/admin/calendar")]
async fn enter_typed(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    form: PageForm<TypedForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let (form, mut errors) = form.checked();
    require_csrf(&req, &form.csrf_token)?;
    let values: BTreeMap<&str, String> = [
        ("year", form.year.clone()),
        ("off_days", form.off_days.clone()),
        ("working_days", form.working_days.clone()),
        ("source_note", form.source_note.clone()),
    ]
    .into_iter()
    .collect();
    let year = form.year.trim().parse::<i32>().ok();
    let off = service::parse_days("off_days", &form.off_days, &mut errors);
    let work = service::parse_days("working_days", &form.working_days, &mut errors);
    if off.is_empty() && !form.off_days.trim().is_empty() && errors.is_empty() {
        errors.push(FieldError::new("off_days", "required", "请填写放假日期"));
    }
    let Some(year) = year.filter(|_| errors.is_empty()) else {
        return Ok(failed(&state, &req, ApiError::Validation(errors), values).await?);
    };
    let json = calendar::year_file_json(year, &off, &work);
    match service::enter(
        &state,
        &admin,
        json,
        &form.source_note,
        Some(year),
        "off_days",
        &client_address(&req),
    )
    .await
    {
        Ok(entered) => Ok(done(&entered)),
        Err(e) => Ok(failed(&state, &req, e, values).await?),
    }
}

#[post("/admin/calendar/upload")]
async fn enter_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    mut payload: Multipart,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut csrf, mut note, mut file) = (String::new(), String::new(), None::<Vec<u8>>);
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| ApiError::BadRequest {
            code: "malformed_multipart",
            message: format!("上传内容无法读取：{e}"),
        })?;
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = crate::web::apply::api::read_file_field(&mut field, FILE_LIMIT).await?;
        match name.as_str() {
            "csrf_token" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "source_note" => note = String::from_utf8_lossy(&bytes).into_owned(),
            "file" if !bytes.is_empty() => file = Some(bytes),
            _ => {}
        }
    }
    require_csrf(&req, &csrf)?;
    let values: BTreeMap<&str, String> = [("source_note", note.clone())].into_iter().collect();
    let Some(bytes) = file else {
        let e = ApiError::Validation(vec![FieldError::new(
            "file",
            "required",
            "请选择年度节假日文件（holiday-cn 格式的 JSON，如 2027.json）",
        )]);
        return Ok(failed(&state, &req, e, values).await?);
    };
    let Ok(json) = String::from_utf8(bytes) else {
        let e = ApiError::Validation(vec![FieldError::new(
            "file",
            "invalid_encoding",
            "文件应为 UTF-8 编码的 JSON",
        )]);
        return Ok(failed(&state, &req, e, values).await?);
    };
    match service::enter(&state, &admin, json, &note, None, "file", &client_address(&req)).await {
        Ok(entered) => Ok(done(&entered)),
        Err(e) => Ok(failed(&state, &req, e, values).await?),
    }
}
