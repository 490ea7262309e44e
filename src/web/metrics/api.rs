//! The plan's KPIs as JSON and as CSV/XLSX exports. Aggregates without personal data: the
//! public dashboard shows them to everyone.

use actix_web::{get, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::metrics::export::{self, Table};
use crate::web::error::{ApiError, FieldError};
use crate::web::metrics::service::{self as report, MetricsQuery, Overview, ZeroTripReport};
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(overview)
        .service(overview_export)
        .service(zero_trip)
        .service(zero_trip_export);
}

/// The plan's targets and the service figures of a period (aggregates only, public).
#[utoipa::path(tag = "metrics", params(MetricsQuery), responses((status = 200, body = Overview)))]
#[get("/metrics/overview")]
async fn overview(state: web::Data<AppState>, q: web::Query<MetricsQuery>) -> Result<HttpResponse, ApiError> {
    let (cat, period) = report::load_period(&state, &q).await?;
    let o = state.db.run(move |c| report::overview(c, &cat, &period)).await?;
    Ok(HttpResponse::Ok().json(o))
}

/// The zero-trip share (一趟不用跑) of finished high-frequency parts, with its breakdowns.
#[utoipa::path(tag = "metrics", params(MetricsQuery), responses((status = 200, body = ZeroTripReport)))]
#[get("/metrics/zero-trip")]
async fn zero_trip(
    state: web::Data<AppState>,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (cat, period) = report::load_period(&state, &q).await?;
    let r = state
        .db
        .run(move |c| report::zero_trip_report(c, &cat, &period))
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Xlsx,
}

/// The export format and table named by the query, checked before any work.
fn export_args(q: &MetricsQuery, tables: &[&str]) -> Result<(Format, String), ApiError> {
    let mut errors = Vec::new();
    let format = match q.format.as_deref().map(str::trim) {
        None | Some("") | Some("csv") => Some(Format::Csv),
        Some("xlsx") => Some(Format::Xlsx),
        Some(_) => {
            errors.push(FieldError::new(
                "format",
                "invalid_format",
                "format 应为 csv 或 xlsx",
            ));
            None
        }
    };
    let table = q.table.as_deref().map(str::trim).unwrap_or(tables[0]).to_owned();
    if !tables.contains(&table.as_str()) {
        errors.push(FieldError::new(
            "table",
            "unknown_table",
            format!("table 应为以下之一：{}", tables.join("、")),
        ));
    }
    match format {
        Some(f) if errors.is_empty() => Ok((f, table)),
        _ => Err(ApiError::InvalidQuery(errors)),
    }
}

fn download(table: &Table, format: Format, name: &str) -> Result<HttpResponse, ApiError> {
    let failed = |e: export::ExportError| {
        tracing::error!(error = %e, "export failed");
        ApiError::BadRequest {
            code: "export_failed",
            message: "导出失败，请稍后再试".into(),
        }
    };
    let (bytes, content_type, ext) = match format {
        Format::Csv => (
            export::to_csv(table).map_err(failed)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        Format::Xlsx => (
            export::to_xlsx(table).map_err(failed)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}.{ext}\""),
        ))
        .body(bytes))
}

/// One table of the zero-trip report as CSV or XLSX (`table`: department, item, bundle,
/// channel or month).
#[utoipa::path(tag = "metrics", params(MetricsQuery), responses(
        (status = 200, description = "The table as a download", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))
    ))]
#[get("/metrics/zero-trip/export")]
async fn zero_trip_export(
    state: web::Data<AppState>,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (format, table) = export_args(&q, &report::ZERO_TRIP_TABLES)?;
    let (cat, period) = report::load_period(&state, &q).await?;
    let r = state
        .db
        .run(move |c| report::zero_trip_report(c, &cat, &period))
        .await?;
    let t = report::zero_trip_table(&r, &table).ok_or_else(|| ApiError::NotFound("没有这张表".into()))?;
    download(&t, format, &format!("zero-trip-{table}-{}-{}", r.from, r.to))
}

/// One table of the overview as CSV or XLSX (`table`: targets, channels or months).
#[utoipa::path(tag = "metrics", params(MetricsQuery), responses(
        (status = 200, description = "The table as a download", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))
    ))]
#[get("/metrics/overview/export")]
async fn overview_export(
    state: web::Data<AppState>,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (format, table) = export_args(&q, &report::OVERVIEW_TABLES)?;
    let (cat, period) = report::load_period(&state, &q).await?;
    let o = state.db.run(move |c| report::overview(c, &cat, &period)).await?;
    let t = report::overview_table(&o, &table).ok_or_else(|| ApiError::NotFound("没有这张表".into()))?;
    download(&t, format, &format!("overview-{table}-{}-{}", o.from, o.to))
}
