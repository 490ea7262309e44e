//! JSON API under /api/v1: thin handlers that parse, call one query, and serialize.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::store::catalogue::{
    self as cat, BundleDetail, BundleFilter, BundleSummary, DepartmentView, ItemDetail, ItemFilter,
    ItemSummary,
};
use crate::store::Page;
use crate::web::catalogue::snapshot::{not_modified, tagged, unchanged, Snapshot};
use crate::web::error::{ApiError, FieldError};
use crate::web::extract::parse_paging;
use crate::web::AppState;

/// Answers from the client's copy when it is current; else runs `respond` and tags its
/// answer. Catalogue API responses depend only on the catalogue version and the address;
/// the tag is taken from the snapshot the answer comes from, so that a snapshot swapped in
/// meanwhile never labels an older answer as current.
async fn conditional<F, Fut>(
    snapshot: &Snapshot,
    req: &HttpRequest,
    respond: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse, ApiError>>,
{
    let etag = snapshot.etag(&["api", &req.uri().to_string()]);
    if not_modified(req, &etag) {
        return Ok(unchanged(&etag));
    }
    Ok(tagged(respond().await?, &etag))
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(openapi)
        .service(list_bundles)
        .service(get_bundle)
        .service(list_items)
        .service(get_item)
        .service(list_departments)
        .service(list_regions);
}

/// This document.
#[utoipa::path(tag = "catalogue", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::web::openapi::document())
}

/// Query parameters arrive as text so that a bad value gets a Chinese error naming the
/// parameter instead of the framework's generic rejection.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub page: Option<String>,
    /// Page size, at most 200.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub per_page: Option<String>,
    /// Bundles only: `personal` or `enterprise`.
    #[param(value_type = Option<crate::catalogue::Audience>, inline)]
    pub audience: Option<String>,
    /// Bundles only: life-event theme, e.g. 出生, 准入准营.
    pub theme: Option<String>,
    /// Items only: the department's code.
    pub department: Option<String>,
    /// Items only: only high-frequency items (高频事项).
    #[param(value_type = Option<bool>)]
    pub high_frequency: Option<String>,
    /// Items only: only items decided by declared rules (智慧审批) with `true`.
    #[param(value_type = Option<bool>)]
    pub smart_approval: Option<String>,
    /// Text contained in the name, keywords or theme.
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
        smart_approval: parse_bool("smart_approval", &q.smart_approval, errors),
        q: non_empty(&q.q),
    }
}

/// List one-thing bundles (一件事套餐).
#[utoipa::path(tag = "catalogue", params(ListQuery), responses((status = 200, body = Page<BundleSummary>)))]
#[get("/bundles")]
async fn list_bundles(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let paging = parse_paging(&q.page, &q.per_page, &mut errors);
    let filter = bundle_filter(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    conditional(&state.catalogue.current(), &req, || async {
        let page = state
            .db
            .run(move |c| cat::list_bundles(c, &filter, paging).map_err(ApiError::from))
            .await?;
        Ok(HttpResponse::Ok().json(page))
    })
    .await
}

/// One bundle with its items, questions, merged materials and savings.
#[utoipa::path(tag = "catalogue", params(("code" = String, Path, description = "The bundle's code")), responses((status = 200, body = BundleDetail)))]
#[get("/bundles/{code}")]
async fn get_bundle(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let snapshot = state.catalogue.current();
    let bundle = snapshot
        .bundle(&code)
        .ok_or_else(|| ApiError::NotFound(format!("未找到编码为 {code} 的一件事套餐")))?;
    conditional(&snapshot, &req, || async {
        Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(bundle.json.clone()))
    })
    .await
}

/// List government service items (政务服务事项).
#[utoipa::path(tag = "catalogue", params(ListQuery), responses((status = 200, body = Page<ItemSummary>)))]
#[get("/items")]
async fn list_items(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let paging = parse_paging(&q.page, &q.per_page, &mut errors);
    let filter = item_filter(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    conditional(&state.catalogue.current(), &req, || async {
        let page = state
            .db
            .run(move |c| cat::list_items(c, &filter, paging).map_err(ApiError::from))
            .await?;
        Ok(HttpResponse::Ok().json(page))
    })
    .await
}

/// One item with its complete service guide (办事指南).
#[utoipa::path(tag = "catalogue", params(("code" = String, Path, description = "The item's code")), responses((status = 200, body = ItemDetail)))]
#[get("/items/{code}")]
async fn get_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let snapshot = state.catalogue.current();
    let item = snapshot
        .item(&code)
        .ok_or_else(|| ApiError::NotFound(format!("未找到编码为 {code} 的政务服务事项")))?;
    let json = item.json.clone();
    conditional(&snapshot, &req, || async {
        Ok(HttpResponse::Ok().content_type("application/json").body(json))
    })
    .await
}

/// The departments of the centre, with their windows and item counts.
#[utoipa::path(tag = "catalogue", responses((status = 200, body = Page<DepartmentView>)))]
#[get("/departments")]
async fn list_departments(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let snapshot = state.catalogue.current();
    let departments = snapshot.departments.clone();
    conditional(&snapshot, &req, || async {
        let total = departments.len() as i64;
        Ok(HttpResponse::Ok().json(Page {
            items: departments,
            total,
            page: 1,
            per_page: total.max(1),
        }))
    })
    .await
}

/// One administrative division an address can be chosen from.
#[derive(Serialize, ToSchema)]
struct RegionView {
    /// GB/T 2260 code (6 digits), or the 9-digit statistical code of a township.
    code: String,
    name: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RegionQuery {
    /// The division whose units are wanted; none for the provinces.
    parent: Option<String>,
}

/// The divisions directly under one (the provinces without `parent`): the address picker's
/// next level. Counties and, in Fujian, townships (乡镇街道) are the deepest levels.
#[utoipa::path(
    tag = "catalogue",
    params(RegionQuery),
    responses(
        (status = 200, body = Vec<RegionView>),
        (status = 404, body = crate::web::error::ErrorBody, description = "No division of that code")
    )
)]
#[get("/regions")]
async fn list_regions(q: web::Query<RegionQuery>) -> Result<HttpResponse, ApiError> {
    use crate::form::regions;
    let parent = q.parent.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = parent {
        if regions::get(p).is_none() {
            return Err(ApiError::NotFound(format!("没有代码为 {p} 的行政区划")));
        }
    }
    let items: Vec<RegionView> = regions::children(parent)
        .into_iter()
        .map(|d| RegionView {
            code: d.code.clone(),
            name: d.name.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .json(items))
}
