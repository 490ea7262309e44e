//! The KPI dashboards: the public page with the plan's headline figures and progress
//! toward each target, and the staff page with the breakdowns and trends. Charts are
//! server-drawn SVG beside a table of the same numbers; every table exports as CSV/XLSX.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::metrics::{self, svg};
use crate::web::auth::{Authed, StaffOnly};
use crate::web::error::{ApiError, PageError};
use crate::web::metrics::service::{self as report, MetricsQuery};
use crate::web::page::{form_page, page_err};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(public_dashboard).service(staff_dashboard);
}

/// The query string of the period, for export links.
fn period_query(from: chrono::NaiveDate, to: chrono::NaiveDate, department: Option<&str>) -> String {
    let mut q = format!("from={from}&to={to}");
    if let Some(d) = department {
        q.push_str("&department=");
        q.push_str(&url::form_urlencoded::byte_serialize(d.as_bytes()).collect::<String>());
    }
    q
}

/// A bad period is shown with each field's message, not just "bad request".
fn query_err(state: &AppState, e: ApiError) -> PageError {
    match e {
        ApiError::InvalidQuery(errors) => {
            let text = errors
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("；");
            state.page_error(StatusCode::BAD_REQUEST, "查询条件有误", &text)
        }
        other => page_err(state, other),
    }
}

#[derive(Serialize)]
struct RateRow {
    label: String,
    value: String,
}

#[get("/dashboard")]
async fn public_dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, PageError> {
    let (cat, period) = report::load_period(&state, &q)
        .await
        .map_err(|e| query_err(&state, e))?;
    let o = state
        .db
        .run(move |c| report::overview(c, &cat, &period))
        .await
        .map_err(|e| page_err(&state, e.into()))?;
    let mut ctx = tera::Context::new();
    ctx.insert("o", &o);
    ctx.insert("targets", &report::target_rows(&o));
    ctx.insert("query", &period_query(o.from, o.to, None));
    ctx.insert(
        "average_handling",
        &o.average_handling_days.map(|d| format!("{d:.1}")),
    );
    ctx.insert(
        "average_promised",
        &o.average_promised_days.map(|d| format!("{d:.1}")),
    );
    ctx.insert("overdue_rate", &metrics::percent(o.overdue_rate));
    ctx.insert("partial_note", &partial_note(o.to));
    let channels: Vec<RateRow> = o
        .channels
        .iter()
        .map(|c| RateRow {
            label: c.label.clone(),
            value: format!("{} 件（{}）", c.cases, metrics::percent(c.share)),
        })
        .collect();
    ctx.insert("channels", &channels);
    let trend: Vec<(String, Option<f64>)> = o
        .months
        .iter()
        .map(|m| (m.month.clone(), m.zero_trip_rate))
        .collect();
    ctx.insert(
        "trend_svg",
        &svg::share_line(
            "逐月高频事项“一趟不用跑”占比",
            &trend,
            Some(metrics::ZERO_TRIP_TARGET),
            partial_note(o.to).as_deref(),
        ),
    );
    let satisfaction: Vec<(String, Option<f64>)> = o
        .months
        .iter()
        .map(|m| (m.month.clone(), m.satisfaction_rate))
        .collect();
    ctx.insert(
        "satisfaction_svg",
        &svg::share_line(
            "逐月满意率",
            &satisfaction,
            Some(metrics::SATISFACTION_TARGET),
            partial_note(o.to).as_deref(),
        ),
    );
    let months: Vec<[String; 5]> = o
        .months
        .iter()
        .map(|m| {
            [
                m.month.clone(),
                m.finished_cases.to_string(),
                metrics::percent(m.zero_trip_rate),
                metrics::percent(m.overdue_rate),
                metrics::percent(m.satisfaction_rate),
            ]
        })
        .collect();
    ctx.insert("months", &months);
    form_page(&state, &req, "metrics/dashboard.html", &mut ctx, StatusCode::OK)
}

#[derive(Serialize)]
struct ShareView {
    key: String,
    label: String,
    zero: i64,
    total: i64,
    rate: String,
    meets: bool,
}

fn share_views(rows: &[report::ShareRow]) -> Vec<ShareView> {
    rows.iter()
        .map(|r| ShareView {
            key: r.key.clone(),
            label: r.label.clone(),
            zero: r.zero_trip_cases,
            total: r.total_cases,
            rate: metrics::percent(r.rate),
            meets: r.meets_target == Some(true),
        })
        .collect()
}

/// The note on a chart's last month when the period ends before that month does: its
/// figures are for part of the month only.
fn partial_note(to: chrono::NaiveDate) -> Option<String> {
    use chrono::Datelike;
    to.succ_opt()
        .is_some_and(|next| next.month() == to.month())
        .then(|| format!("截至{}日", to.day()))
}

fn bars(title: &str, rows: &[report::ShareRow]) -> String {
    let points: Vec<(String, Option<f64>)> = rows.iter().map(|r| (r.label.clone(), r.rate)).collect();
    svg::share_bars(title, &points, Some(metrics::ZERO_TRIP_TARGET))
}

#[derive(Serialize)]
struct ItemView {
    code: String,
    name: String,
    department: String,
    declared: String,
    average: String,
    zero: i64,
    total: i64,
    rate: String,
    over: i64,
    contradicts: bool,
}

#[get("/staff/dashboard")]
async fn staff_dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: Authed<StaffOnly>,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, PageError> {
    let (cat, period) = report::load_period(&state, &q)
        .await
        .map_err(|e| query_err(&state, e))?;
    let departments: Vec<(String, String)> = cat
        .departments
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (z, o, ratings) = state
        .db
        .run(move |c| {
            let z = report::zero_trip_report(c, &cat, &period)?;
            let o = report::overview(c, &cat, &period)?;
            let r = crate::store::ratings::monthly_by_department(c, &period)?;
            Ok::<_, crate::db::DbError>((z, o, r))
        })
        .await
        .map_err(|e| page_err(&state, e.into()))?;
    let mut ctx = tera::Context::new();
    ctx.insert("z", &z);
    ctx.insert("rate", &metrics::percent(z.rate));
    ctx.insert("departments", &departments);
    ctx.insert("department", &z.department.clone().unwrap_or_default());
    ctx.insert("query", &period_query(z.from, z.to, z.department.as_deref()));
    ctx.insert("overview_query", &period_query(z.from, z.to, None));
    ctx.insert("by_department", &share_views(&z.by_department));
    ctx.insert(
        "department_svg",
        &bars("各部门高频事项“一趟不用跑”占比", &z.by_department),
    );
    ctx.insert("by_bundle", &share_views(&z.by_bundle));
    ctx.insert(
        "bundle_svg",
        &bars("各“一件事”高频事项“一趟不用跑”占比", &z.by_bundle),
    );
    ctx.insert("by_channel", &share_views(&z.by_channel));
    ctx.insert("channel_svg", &bars("按申报渠道", &z.by_channel));
    ctx.insert("by_month", &share_views(&z.by_month));
    let trend: Vec<(String, Option<f64>)> = z.by_month.iter().map(|m| (m.key.clone(), m.rate)).collect();
    ctx.insert(
        "month_svg",
        &svg::share_line(
            "逐月“一趟不用跑”占比",
            &trend,
            Some(metrics::ZERO_TRIP_TARGET),
            partial_note(o.to).as_deref(),
        ),
    );
    let volume: Vec<(String, i64)> = o
        .months
        .iter()
        .map(|m| (m.month.clone(), m.finished_cases))
        .collect();
    ctx.insert("volume_svg", &svg::columns("逐月办结件数", &volume));
    let items: Vec<ItemView> = z
        .by_item
        .iter()
        .map(|i| ItemView {
            code: i.share.key.clone(),
            name: i.share.label.clone(),
            department: i.department.clone(),
            declared: i.declared_trips.map_or_else(|| "—".into(), |d| d.to_string()),
            average: i
                .share
                .average_trips
                .map_or_else(|| "—".into(), |a| format!("{a:.2}")),
            zero: i.share.zero_trip_cases,
            total: i.share.total_cases,
            rate: metrics::percent(i.share.rate),
            over: i.over_declared_cases,
            contradicts: i.contradicts_guide,
        })
        .collect();
    ctx.insert("items", &items);
    let months: Vec<[String; 5]> = o
        .months
        .iter()
        .map(|m| {
            [
                m.month.clone(),
                m.finished_cases.to_string(),
                metrics::percent(m.zero_trip_rate),
                metrics::percent(m.overdue_rate),
                m.average_handling_days
                    .map_or_else(|| "—".into(), |d| format!("{d:.1}")),
            ]
        })
        .collect();
    ctx.insert("months", &months);
    let rating_rows: Vec<[String; 5]> = ratings
        .iter()
        .map(|r| {
            [
                r.month.clone(),
                o_name(&departments, &r.department),
                r.ratings.to_string(),
                metrics::percent(metrics::ratio(r.satisfied, r.ratings)),
                r.negative.to_string(),
            ]
        })
        .collect();
    ctx.insert("ratings", &rating_rows);
    form_page(
        &state,
        &req,
        "metrics/staff_dashboard.html",
        &mut ctx,
        StatusCode::OK,
    )
}

fn o_name(departments: &[(String, String)], code: &str) -> String {
    departments
        .iter()
        .find(|(k, _)| k == code)
        .map_or_else(|| code.to_owned(), |(_, v)| v.clone())
}
