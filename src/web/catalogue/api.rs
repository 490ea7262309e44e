//! JSON API under /api/v1: thin handlers that parse, call one query, and serialize.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use crate::store::catalogue::{self as cat, BundleFilter, ItemFilter};
use crate::web::error::{ApiError, FieldError};
use crate::web::extract::parse_paging;
use crate::web::AppState;

pub const OPENAPI: &str = include_str!("../openapi.json");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi)
        .service(list_bundles)
        .service(get_bundle)
        .service(list_items)
        .service(get_item)
        .service(list_departments);
}

#[get("/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Query parameters arrive as text so that a bad value gets a Chinese error naming the
/// parameter instead of the framework's generic rejection.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub audience: Option<String>,
    pub theme: Option<String>,
    pub department: Option<String>,
    pub high_frequency: Option<String>,
    pub q: Option<String>,
}

fn parse_audience(raw: &Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = raw.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if crate::catalogue::Audience::parse(value).is_some() {
        Some(value.to_owned())
    } else {
        errors.push(FieldError::new(
            "audience",
            "invalid_choice",
            "audience 只能是 personal（个人）或 enterprise（企业）",
        ));
        None
    }
}

fn parse_bool(name: &str, raw: &Option<String>, errors: &mut Vec<FieldError>) -> Option<bool> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty())? {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            errors.push(FieldError::new(
                name,
                "invalid_boolean",
                format!("{name} 只能是 true 或 false"),
            ));
            None
        }
    }
}

fn non_empty(raw: &Option<String>) -> Option<String> {
    raw.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub fn bundle_filter(q: &ListQuery, errors: &mut Vec<FieldError>) -> BundleFilter {
    BundleFilter {
        audience: parse_audience(&q.audience, errors),
        theme: non_empty(&q.theme),
        q: non_empty(&q.q),
    }
}

pub fn item_filter(q: &ListQuery, errors: &mut Vec<FieldError>) -> ItemFilter {
    ItemFilter {
        department: non_empty(&q.department),
        high_frequency: parse_bool("high_frequency", &q.high_frequency, errors),
        q: non_empty(&q.q),
    }
}

#[get("/bundles")]
async fn list_bundles(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let paging = parse_paging(&q.page, &q.per_page, &mut errors);
    let filter = bundle_filter(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let page = state
        .db
        .run(move |c| cat::list_bundles(c, &filter, paging).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[get("/bundles/{code}")]
async fn get_bundle(state: web::Data<AppState>, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let lookup = code.clone();
    let bundle = state
        .db
        .run(move |c| cat::get_bundle(c, &lookup).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到编码为 {code} 的一件事套餐")))?;
    Ok(HttpResponse::Ok().json(bundle))
}

#[get("/items")]
async fn list_items(state: web::Data<AppState>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let paging = parse_paging(&q.page, &q.per_page, &mut errors);
    let filter = item_filter(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let page = state
        .db
        .run(move |c| cat::list_items(c, &filter, paging).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[get("/items/{code}")]
async fn get_item(state: web::Data<AppState>, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let lookup = code.clone();
    let item = state
        .db
        .run(move |c| cat::get_item(c, &lookup).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到编码为 {code} 的政务服务事项")))?;
    Ok(HttpResponse::Ok().json(item))
}

#[get("/departments")]
async fn list_departments(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let departments = state
        .db
        .run(|c| cat::list_departments(c).map_err(ApiError::from))
        .await?;
    let total = departments.len() as i64;
    Ok(HttpResponse::Ok().json(crate::store::Page {
        items: departments,
        total,
        page: 1,
        per_page: total.max(1),
    }))
}
