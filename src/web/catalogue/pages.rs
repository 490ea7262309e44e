//! The public portal: server-rendered pages in Simplified Chinese that work without
//! JavaScript and on a phone.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::catalogue::{online_depth_label, Audience};
use crate::db::DbError;
use crate::store::catalogue::{self as cat, BundleFilter, ItemFilter};
use crate::store::Paging;
use crate::web::catalogue::api::{bundle_filter, item_filter, ListQuery};
use crate::web::catalogue::snapshot::{not_modified, tagged, unchanged, Snapshot};
use crate::web::error::PageError;
use crate::web::extract::parse_paging;
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home_page)
        .service(bundles_page)
        .service(bundle_page)
        .service(items_page)
        .service(item_page)
        .service(search_page);
}

impl AppState {
    pub fn render(&self, template: &str, ctx: &tera::Context) -> Result<HttpResponse, PageError> {
        let body = self.render_html(template, ctx)?;
        Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body))
    }

    /// A page's HTML, or the error page when the template fails.
    pub fn render_html(&self, template: &str, ctx: &tera::Context) -> Result<String, PageError> {
        match self.templates.render(template, ctx) {
            Ok(body) => Ok(body),
            Err(e) => {
                tracing::error!(template, error = ?e, "template rendering failed");
                Err(self.page_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "页面暂时无法显示",
                    "请稍后再试。",
                ))
            }
        }
    }

    pub fn page_error(&self, status: StatusCode, title: &str, message: &str) -> PageError {
        let mut ctx = tera::Context::new();
        ctx.insert("title", title);
        ctx.insert("message", message);
        ctx.insert("status", &status.as_u16());
        let body = self.templates.render("error.html", &ctx).unwrap_or_else(|_| {
            format!("<!doctype html><meta charset=utf-8><title>{title}</title><p>{title}")
        });
        PageError {
            status,
            title: title.to_owned(),
            body,
        }
    }

    fn internal(&self, e: DbError) -> PageError {
        tracing::error!(error = %e, "page query failed");
        self.page_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "服务暂时不可用",
            "系统繁忙，请稍后再试。",
        )
    }

    fn not_found(&self, what: &str) -> PageError {
        self.page_error(StatusCode::NOT_FOUND, "页面不存在", what)
    }
}

/// A catalogue page's entity tag: the catalogue version, the templates, the address, the
/// host (the printed QR code links it) and the Beijing date (the printed header shows it).
fn page_tag(state: &AppState, snapshot: &Snapshot, req: &HttpRequest) -> String {
    let today = state.today().to_string();
    let host = req.connection_info().host().to_owned();
    snapshot.etag(&[
        "page",
        &state.templates_tag,
        &req.uri().to_string(),
        &host,
        &today,
    ])
}

/// Answers from the client's copy when it is current, else with the page rendered for the
/// same tag before, else renders it (and keeps it).
async fn conditional<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    snapshot: &Snapshot,
    render: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, PageError>>,
{
    let etag = page_tag(state, snapshot, req);
    if not_modified(req, &etag) {
        return Ok(unchanged(&etag));
    }
    let body = match snapshot.page(&etag) {
        Some(body) => body,
        None => {
            let body = actix_web::web::Bytes::from(render().await?);
            snapshot.keep_page(&etag, body.clone());
            body
        }
    };
    Ok(tagged(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        &etag,
    ))
}

#[derive(Serialize)]
struct ThemeGroup {
    theme: &'static str,
    bundles: Vec<cat::BundleSummary>,
}

fn group_by_theme(audience: Audience, bundles: Vec<cat::BundleSummary>) -> Vec<ThemeGroup> {
    audience
        .themes()
        .iter()
        .map(|t| ThemeGroup {
            theme: t,
            bundles: bundles.iter().filter(|b| b.theme == *t).cloned().collect(),
        })
        .filter(|g| !g.bundles.is_empty())
        .collect()
}

const ALL: Paging = Paging {
    page: 1,
    per_page: Paging::MAX_PER_PAGE,
};

#[get("/")]
async fn home_page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let snapshot = state.catalogue.current();
    conditional(&state, &req, &snapshot, || async {
        let first = |audience: &str| -> Vec<&cat::BundleSummary> {
            snapshot
                .bundle_list
                .iter()
                .filter(|b| b.audience == audience)
                .take(8)
                .collect()
        };
        let mut ctx = tera::Context::new();
        ctx.insert("stats", &snapshot.stats);
        ctx.insert("personal", &first("personal"));
        ctx.insert("enterprise", &first("enterprise"));
        state.render_html("catalogue/home.html", &ctx)
    })
    .await
}

#[get("/bundles")]
async fn bundles_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let snapshot = state.catalogue.current();
    conditional(&state, &req, &snapshot, || bundles_list(&state, q)).await
}

async fn bundles_list(state: &AppState, q: web::Query<ListQuery>) -> Result<String, PageError> {
    let mut errors = Vec::new();
    let mut filter = bundle_filter(&q, &mut errors);
    // A bad filter on a page falls back to the whole list rather than an error page.
    let audience = filter
        .audience
        .as_deref()
        .and_then(Audience::parse)
        .unwrap_or(Audience::Personal);
    filter.audience = Some(audience.as_str().to_owned());
    let theme = filter.theme.clone();
    let list = state
        .db
        .run(move |c| cat::list_bundles(c, &filter, ALL))
        .await
        .map_err(|e| state.internal(e))?;
    let mut ctx = tera::Context::new();
    ctx.insert("audience", audience.as_str());
    ctx.insert("audience_label", audience.label());
    ctx.insert("themes", audience.themes());
    ctx.insert("theme", &theme);
    ctx.insert("total", &list.total);
    ctx.insert("groups", &group_by_theme(audience, list.items));
    state.render_html("catalogue/bundles.html", &ctx)
}

#[get("/bundles/{code}")]
async fn bundle_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let snapshot = state.catalogue.current();
    let entry = snapshot
        .bundle(&code)
        .ok_or_else(|| state.not_found("没有找到这个一件事套餐，可能已下线或编码有误。"))?;
    conditional(&state, &req, &snapshot, || async {
        let detail = &entry.detail;
        let audience = Audience::parse(&detail.audience).unwrap_or(Audience::Personal);
        let mut ctx = tera::Context::new();
        ctx.insert("audience_label", audience.label());
        ctx.insert("printed_at", &state.now());
        ctx.insert("page_qr", &crate::web::page::page_qr(&req, req.path(), 96));
        ctx.insert("b", detail);
        state.render_html("catalogue/bundle.html", &ctx)
    })
    .await
}

#[get("/items")]
async fn items_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let snapshot = state.catalogue.current();
    conditional(&state, &req, &snapshot, || items_list(&state, q)).await
}

async fn items_list(state: &AppState, q: web::Query<ListQuery>) -> Result<String, PageError> {
    let mut errors = Vec::new();
    let mut paging = parse_paging(&q.page, &q.per_page, &mut errors);
    paging.per_page = 50;
    let filter: ItemFilter = item_filter(&q, &mut errors);
    let selected = filter.department.clone();
    let high_frequency = filter.high_frequency;
    let (departments, list) = state
        .db
        .run(move |c| Ok::<_, DbError>((cat::list_departments(c)?, cat::list_items(c, &filter, paging)?)))
        .await
        .map_err(|e| state.internal(e))?;
    let pages = (list.total + paging.per_page - 1) / paging.per_page;
    let mut ctx = tera::Context::new();
    ctx.insert("departments", &departments);
    ctx.insert("department", &selected);
    ctx.insert("high_frequency", &high_frequency);
    ctx.insert("list", &list);
    ctx.insert("pages", &pages);
    state.render_html("catalogue/items.html", &ctx)
}

#[get("/items/{code}")]
async fn item_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let snapshot = state.catalogue.current();
    let entry = snapshot
        .item(&code)
        .ok_or_else(|| state.not_found("没有找到这个政务服务事项，可能已调整或编码有误。"))?;
    conditional(&state, &req, &snapshot, || async {
        let detail = &entry.detail;
        let mut ctx = tera::Context::new();
        ctx.insert("printed_at", &state.now());
        ctx.insert("page_qr", &crate::web::page::page_qr(&req, req.path(), 96));
        ctx.insert("i", detail);
        ctx.insert(
            "smart_rules",
            &detail
                .decision_table
                .as_ref()
                .map(|t| t.describe(&crate::web::smart::service::region_names)),
        );
        ctx.insert("depth_label", online_depth_label(detail.online_depth));
        let delivery: Vec<&str> = detail.delivery.iter().map(|d| d.label()).collect();
        ctx.insert("delivery", &delivery);
        state.render_html("catalogue/item.html", &ctx)
    })
    .await
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

#[get("/search")]
async fn search_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse, PageError> {
    let snapshot = state.catalogue.current();
    conditional(&state, &req, &snapshot, || search_results(&state, q)).await
}

async fn search_results(state: &AppState, q: web::Query<SearchQuery>) -> Result<String, PageError> {
    let text =
        q.q.clone()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(50)
            .collect::<String>();
    let mut ctx = tera::Context::new();
    ctx.insert("q", &text);
    if text.is_empty() {
        ctx.insert("bundles", &Vec::<cat::BundleSummary>::new());
        ctx.insert("items", &Vec::<cat::ItemSummary>::new());
        return state.render_html("catalogue/search.html", &ctx);
    }
    let query = text.clone();
    let (bundles, items) = state
        .db
        .run(move |c| {
            let b = cat::list_bundles(
                c,
                &BundleFilter {
                    q: Some(query.clone()),
                    ..Default::default()
                },
                ALL,
            )?;
            let i = cat::list_items(
                c,
                &ItemFilter {
                    q: Some(query),
                    ..Default::default()
                },
                ALL,
            )?;
            Ok::<_, DbError>((b.items, i.items))
        })
        .await
        .map_err(|e| state.internal(e))?;
    ctx.insert("bundles", &bundles);
    ctx.insert("items", &items);
    state.render_html("catalogue/search.html", &ctx)
}
