//! The policy library's JSON API: management by administrators and policy editors
//! (create, edit, publish, revoke, versions, spreadsheet import and export), public reading
//! and search, and matching an enterprise profile against the policies in force.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::Role;
use crate::identity::{self, Scale};
use crate::policy::diff::{diff, FieldChange};
use crate::policy::matching::{evaluate, Outcome, Profile};
use crate::policy::table::{self, Format, RowError};
use crate::policy::{regions, validate, PolicyContent, PolicyInput, Status, TAGS};
use crate::search::{SearchError, SearchQuery, SearchResult, Sort};
use crate::store::policies::{self as store, ImportReport, PolicyRecord, VersionRecord};
use crate::web::auth::{Authed, MaybeUser, Policy};
use crate::web::error::{ApiError, FieldError};
use crate::web::AppState;

/// Administrators and policy editors manage the library.
pub struct PolicyEditors;
impl Policy for PolicyEditors {
    const ROLES: &'static [Role] = &[Role::Admin, Role::PolicyEditor];
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(search)
        .service(match_profile)
        .service(import)
        .service(export)
        .service(create)
        .service(get_policy)
        .service(update)
        .service(publish)
        .service(revoke)
        .service(policy_versions);
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Db(e) => ApiError::Internal(e),
            SearchError::Index(m) => ApiError::failed("search", m),
        }
    }
}

/// A code with its name (an industry of GB/T 4754).
#[derive(Serialize, ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

/// A policy as the API shows it: the content plus identity, state and derived status.
#[derive(Serialize, ToSchema)]
pub struct PolicyView<'a> {
    #[serde(flatten)]
    pub content: &'a PolicyContent,
    pub id: i64,
    pub key: &'a str,
    pub version: i32,
    /// Draft, published, revoked or expired as of today.
    pub status: &'static str,
    pub status_label: &'static str,
    pub in_force: bool,
    pub industry_names: Vec<Named>,
    /// The names of the industries the policy excludes.
    pub excluded_industries_names: Vec<String>,
    pub region_names: Vec<&'static str>,
    pub scale_labels: Vec<&'static str>,
    #[serde(with = "crate::clock::rfc3339")]
    pub updated_at: chrono::NaiveDateTime,
}

pub fn view(r: &PolicyRecord, today: NaiveDate) -> PolicyView<'_> {
    let shown = r.shown_status(today);
    PolicyView {
        content: &r.content,
        id: r.id,
        key: &r.key,
        version: r.version,
        status: shown.as_str(),
        status_label: shown.label(),
        in_force: r.in_force(today),
        industry_names: r
            .content
            .industries
            .iter()
            .map(|c| Named {
                code: c.clone(),
                name: identity::industries()
                    .get(c)
                    .map(|i| i.name.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        excluded_industries_names: r
            .content
            .excluded_industries
            .iter()
            .map(|c| {
                identity::industries()
                    .get(c)
                    .map_or_else(|| c.clone(), |i| i.name.clone())
            })
            .collect(),
        region_names: r
            .content
            .regions
            .iter()
            .filter_map(|c| regions::name(c))
            .collect(),
        scale_labels: r.content.scales.iter().map(|s| s.label()).collect(),
        updated_at: r.updated_at,
    }
}

fn is_editor(user: &MaybeUser) -> bool {
    user.0
        .as_ref()
        .is_some_and(|u| PolicyEditors::ROLES.contains(&u.role))
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {raw} 的政策")))
}

/// Reads a policy that this visitor may see (drafts only for editors).
pub async fn load_visible(state: &AppState, raw_id: &str, editor: bool) -> Result<PolicyRecord, ApiError> {
    let id = parse_id(raw_id)?;
    let record = state
        .db
        .run(move |c| store::get(c, id).map_err(ApiError::from))
        .await?
        .filter(|r| editor || r.status != Status::Draft)
        .ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {raw_id} 的政策")))?;
    Ok(record)
}

fn parse_input(body: &[u8]) -> Result<PolicyInput, ApiError> {
    crate::web::extract::parse(body)
}

/// Brings search up to date with the change this request made, so its answer and the
/// next search agree.
async fn reindex(state: &AppState) -> Result<(), ApiError> {
    state.search.caught_up(&state.db).await.map_err(ApiError::from)?;
    Ok(())
}

/// Create a policy as a draft (editors and administrators).
#[utoipa::path(
    tag = "policies",
    security(("bearer" = [])),
    request_body = PolicyInput,
    responses((status = 201, body = PolicyView, headers(("Location" = String))))
)]
#[post("/policies")]
async fn create(
    state: web::Data<AppState>,
    user: Authed<PolicyEditors>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = parse_input(&body)?;
    let content = validate(&input).map_err(ApiError::Validation)?;
    let (actor, at) = (user.label(), state.now());
    let record = state
        .db
        .run(move |c| {
            let by = store::By { actor: &actor, at };
            let id = store::create(c, &store::new_key(), Status::Draft, &content, by)?;
            store::get(c, id)
        })
        .await?
        .ok_or_else(|| ApiError::NotFound("新建的政策未找到".into()))?;
    reindex(&state).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/policies/{}", record.id)))
        .json(view(&record, state.today())))
}

/// One policy with its original text (政策原文), interpretation (政策解读) and guide; drafts
/// only for editors.
#[utoipa::path(tag = "policies", params(("id" = i64, Path, description = "The policy's number")), responses((status = 200, body = PolicyView)))]
#[get("/policies/{id}")]
async fn get_policy(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = load_visible(&state, &id, is_editor(&user)).await?;
    Ok(HttpResponse::Ok().json(view(&record, state.today())))
}

/// Replace a policy's content: a new version, compared with the one before in its history.
#[utoipa::path(tag = "policies", security(("bearer" = [])), params(("id" = i64, Path, description = "The policy's number")), request_body = PolicyInput, responses((status = 200, body = PolicyView)))]
#[put("/policies/{id}")]
async fn update(
    state: web::Data<AppState>,
    user: Authed<PolicyEditors>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let content = validate(&parse_input(&body)?).map_err(ApiError::Validation)?;
    let (actor, at) = (user.label(), state.now());
    let record = state
        .db
        .run(
            move |c| match store::update(c, id, &content, store::By { actor: &actor, at })? {
                None => Ok(None),
                Some(_) => store::get(c, id),
            },
        )
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {id} 的政策")))?;
    reindex(&state).await?;
    Ok(HttpResponse::Ok().json(view(&record, state.today())))
}

/// Publishes or revokes; returns the policy after the change.
pub async fn change_status(
    state: &AppState,
    actor: String,
    id: i64,
    status: Status,
) -> Result<PolicyRecord, ApiError> {
    let at = state.now();
    let record = state
        .db
        .run(move |c| {
            let Some(current) = store::get(c, id)? else {
                return Ok(Err(ApiError::NotFound(format!("未找到编号为 {id} 的政策"))));
            };
            if status == Status::Published && current.status == Status::Revoked {
                return Ok(Err(ApiError::Conflict(vec![FieldError::new(
                    "status",
                    "revoked",
                    "已废止的政策不能再次发布，请新建政策",
                )])));
            }
            store::set_status(c, id, status, store::By { actor: &actor, at })?;
            Ok::<_, ApiError>(
                store::get(c, id)?.ok_or_else(|| ApiError::NotFound(format!("未找到编号为 {id} 的政策"))),
            )
        })
        .await??;
    reindex(state).await?;
    Ok(record)
}

/// Publish a draft: it becomes searchable.
#[utoipa::path(tag = "policies", security(("bearer" = [])), params(("id" = i64, Path, description = "The policy's number")), responses((status = 200, body = PolicyView), (status = 409, body = crate::web::error::ErrorBody, description = "Not a draft")))]
#[post("/policies/{id}/publish")]
async fn publish(
    state: web::Data<AppState>,
    user: Authed<PolicyEditors>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = change_status(&state, user.label(), parse_id(&id)?, Status::Published).await?;
    Ok(HttpResponse::Ok().json(view(&record, state.today())))
}

/// Revoke (废止) a published policy.
#[utoipa::path(tag = "policies", security(("bearer" = [])), params(("id" = i64, Path, description = "The policy's number")), responses((status = 200, body = PolicyView), (status = 409, body = crate::web::error::ErrorBody, description = "Not published")))]
#[post("/policies/{id}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    user: Authed<PolicyEditors>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = change_status(&state, user.label(), parse_id(&id)?, Status::Revoked).await?;
    Ok(HttpResponse::Ok().json(view(&record, state.today())))
}

/// One version with what changed from the one before.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    pub version: i32,
    pub status: Status,
    pub action: String,
    pub action_label: &'static str,
    pub actor: String,
    #[serde(with = "crate::clock::rfc3339")]
    pub at: chrono::NaiveDateTime,
    pub changes: Vec<FieldChange>,
}

fn action_label(action: &str) -> &'static str {
    match action {
        "create" => "新建",
        "publish" => "发布",
        "revoke" => "废止",
        "unpublish" => "撤回",
        _ => "修改",
    }
}

/// The history, newest first, each version compared with the previous one.
pub fn version_views(list: &[VersionRecord]) -> Vec<VersionView> {
    let mut out: Vec<VersionView> = list
        .iter()
        .enumerate()
        .map(|(i, v)| VersionView {
            version: v.version,
            status: v.status,
            action: v.action.clone(),
            action_label: action_label(&v.action),
            actor: v.actor.clone(),
            at: v.at,
            changes: diff(i.checked_sub(1).map(|p| &list[p].content), &v.content),
        })
        .collect();
    out.reverse();
    out
}

#[derive(Serialize, ToSchema)]
struct Versions {
    items: Vec<VersionView>,
    total: usize,
}

/// A policy's history, newest first, each version compared with the one before.
#[utoipa::path(tag = "policies", params(("id" = i64, Path, description = "The policy's number")), responses((status = 200, body = Versions)))]
#[get("/policies/{id}/versions")]
async fn policy_versions(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = load_visible(&state, &id, is_editor(&user)).await?;
    let pid = record.id;
    let list = state
        .db
        .run(move |c| store::versions(c, pid).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(Versions {
        items: version_views(&list),
        total: list.len(),
    }))
}

/// Search parameters as text, so that each bad one gets its own Chinese error.
#[derive(Debug, Default, Deserialize, Serialize, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Everyday words, e.g. 开饭店 补贴; every word must match.
    pub q: Option<String>,
    /// GB/T 4754-2017 section letter (H) or two-digit division (62).
    pub industry: Option<String>,
    /// Enterprise scale: micro, small, medium or large.
    #[param(value_type = Option<Scale>, inline)]
    pub scale: Option<String>,
    /// Region code, e.g. 350112.
    pub region: Option<String>,
    /// Issuing body.
    pub issuer: Option<String>,
    /// Only policies in force today (`true`) or not (`false`).
    #[param(value_type = Option<bool>)]
    pub in_force: Option<String>,
    /// relevance (default), newest or deadline.
    pub sort: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub page: Option<String>,
    /// Page size, at most 100.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
}

fn present(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks search parameters; every bad one is reported.
pub fn parse_search(p: &SearchParams, today: NaiveDate) -> Result<SearchQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let q = present(&p.q).unwrap_or("");
    if q.chars().count() > 100 {
        errors.push(FieldError::new("q", "too_long", "搜索词不能超过 100 个字"));
    }
    let mut query = SearchQuery::new(q, today);
    if let Some(code) = present(&p.industry) {
        let code = code.to_ascii_uppercase();
        match identity::industries().get(&code) {
            Some(i) if i.level <= 2 => query.industry = Some(code),
            _ => errors.push(FieldError::new(
                "industry",
                "unknown_industry",
                "industry 应为 GB/T 4754-2017 的门类字母（如 H）或两位大类代码（如 62）",
            )),
        }
    }
    if let Some(s) = present(&p.scale) {
        match Scale::parse(s) {
            Ok(s) => query.scale = Some(s),
            Err(e) => errors.push(FieldError::new("scale", e.code, e.message)),
        }
    }
    if let Some(r) = present(&p.region) {
        if regions::name(r).is_some() {
            query.region = Some(r.to_owned());
        } else {
            errors.push(FieldError::new(
                "region",
                "unknown_region",
                "region 应为地区表中的行政区划代码，如 350112（长乐区）",
            ));
        }
    }
    query.issuer = present(&p.issuer).map(str::to_owned);
    match present(&p.in_force) {
        None => {}
        Some("true" | "1") => query.in_force = Some(true),
        Some("false" | "0") => query.in_force = Some(false),
        Some(_) => errors.push(FieldError::new(
            "in_force",
            "invalid_boolean",
            "in_force 只能是 true 或 false",
        )),
    }
    if let Some(s) = present(&p.sort) {
        match Sort::parse(s) {
            Some(s) => query.sort = s,
            None => errors.push(FieldError::new(
                "sort",
                "invalid_choice",
                "sort 只能是 relevance（相关度）、newest（最新发布）或 deadline（申报截止）",
            )),
        }
    }
    let mut number = |name: &str, raw: &Option<String>, max: usize| -> Option<usize> {
        let s = present(raw)?;
        match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    name,
                    "out_of_range",
                    format!("{name} 应为 1 到 {max} 之间的整数"),
                ));
                None
            }
        }
    };
    if let Some(n) = number("page", &p.page, 1000) {
        query.page = n;
    }
    if let Some(n) = number("per_page", &p.per_page, 100) {
        query.per_page = n;
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

/// Search the benefit-policy library (惠企政策) with facets by industry, scale, region and
/// issuer.
#[utoipa::path(tag = "policies", params(SearchParams), responses((status = 200, body = SearchResult)))]
#[get("/policies/search")]
async fn search(state: web::Data<AppState>, p: web::Query<SearchParams>) -> Result<HttpResponse, ApiError> {
    let query = parse_search(&p, state.today()).map_err(ApiError::InvalidQuery)?;
    let result = state.search.search(query).await?;
    Ok(HttpResponse::Ok().json(result))
}

/// A matching request as submitted.
#[derive(Debug, Default, Deserialize, Serialize, Clone, ToSchema)]
#[serde(default)]
pub struct ProfileInput {
    pub industry: Option<String>,
    pub scale: Option<String>,
    pub region: Option<String>,
    pub founded_on: Option<String>,
    /// A number, or text holding one.
    #[schema(value_type = Option<f64>)]
    pub employees: Option<serde_json::Value>,
    /// 年营业收入（万元）: a number, or text holding one.
    #[schema(value_type = Option<f64>)]
    pub revenue: Option<serde_json::Value>,
    pub tags: Vec<String>,
}

/// A given number: `None` when absent or blank, `Err` when not a number.
fn number_of(v: &Option<serde_json::Value>) -> Option<Result<f64, ()>> {
    match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(serde_json::Value::String(s)) => Some(s.trim().parse::<f64>().map_err(|_| ())),
        Some(v) => Some(v.as_f64().ok_or(())),
    }
}

/// The profile's given values, each checked by its declared rule.
#[derive(Validate)]
struct ProfileFields {
    #[validate(custom(function = "crate::web::validate::industry"))]
    industry: Option<String>,
    #[validate(custom(function = "crate::web::validate::scale"))]
    scale: Option<String>,
    #[validate(custom(function = "crate::web::validate::region"))]
    region: Option<String>,
    #[validate(custom(function = "iso_date"))]
    founded_on: Option<String>,
    #[validate(custom(function = "employee_count"))]
    employees: Option<Result<f64, ()>>,
    #[validate(custom(function = "revenue_amount"))]
    revenue: Option<Result<f64, ()>>,
    #[validate(nested)]
    tags: Vec<ProfileTag>,
}

#[derive(Validate)]
struct ProfileTag {
    #[validate(custom(function = "known_tag"))]
    tags: String,
}

fn problem(code: &'static str, message: String) -> validator::ValidationError {
    crate::web::validate::problem(code, message)
}

fn iso_date(d: &str) -> Result<(), validator::ValidationError> {
    match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
        Ok(_) => Ok(()),
        Err(_) => Err(problem("invalid_date", "成立日期应为 YYYY-MM-DD 格式".into())),
    }
}

fn employee_count(n: &Result<f64, ()>) -> Result<(), validator::ValidationError> {
    match n {
        Ok(n) if *n >= 0.0 && n.fract() == 0.0 && *n <= 10_000_000.0 => Ok(()),
        _ => Err(problem("invalid_number", "从业人数应为不小于 0 的整数".into())),
    }
}

fn revenue_amount(n: &Result<f64, ()>) -> Result<(), validator::ValidationError> {
    match n {
        Ok(n) if *n >= 0.0 && n.is_finite() => Ok(()),
        _ => Err(problem(
            "invalid_number",
            "年营业收入（万元）应为不小于 0 的数字".into(),
        )),
    }
}

fn known_tag(t: &str) -> Result<(), validator::ValidationError> {
    if TAGS.contains(&t) {
        Ok(())
    } else {
        Err(problem(
            "unknown_tag",
            format!("企业标签“{t}”无效，可选：{}", TAGS.join("、")),
        ))
    }
}

impl Validate for ProfileInput {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        let given = |v: &Option<String>| present(v).map(str::to_owned);
        ProfileFields {
            industry: given(&self.industry),
            scale: given(&self.scale),
            region: given(&self.region),
            founded_on: given(&self.founded_on),
            employees: number_of(&self.employees),
            revenue: number_of(&self.revenue),
            tags: self
                .tags
                .iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .map(|t| ProfileTag { tags: t.to_owned() })
                .collect(),
        }
        .validate()
    }
}

/// Checks an enterprise profile by its rules and, needing today's date, that it was not
/// founded in the future (every bad field reported), then reads it into a [`Profile`].
pub fn parse_profile(p: &ProfileInput, today: NaiveDate) -> Result<Profile, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = p
        .validate()
        .err()
        .map(|e| crate::web::validate::field_errors(&e))
        .unwrap_or_default()
        .into_iter()
        .map(|mut f| {
            // A tag's problem is reported against `tags`, as the form names the field.
            if f.field.starts_with("tags[") {
                f.field = "tags".into();
            }
            f
        })
        .collect();
    let founded_on = present(&p.founded_on).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    if founded_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new("founded_on", "in_future", "成立日期不能晚于今天"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut profile = Profile {
        industry: present(&p.industry)
            .and_then(|c| identity::parse_industry(c).ok())
            .map(|i| i.code.clone()),
        scale: present(&p.scale).and_then(|s| Scale::parse(s).ok()),
        region: present(&p.region).map(str::to_owned),
        employees: number_of(&p.employees).and_then(Result::ok).map(|n| n as u32),
        revenue: number_of(&p.revenue).and_then(Result::ok),
        founded_on,
        ..Profile::default()
    };
    for t in p.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if !profile.tags.iter().any(|x| x == t) {
            profile.tags.push(t.to_owned());
        }
    }
    Ok(profile)
}

/// The policies a profile qualifies for, and those it nearly qualifies for.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResult {
    pub qualified: Vec<Matched>,
    pub nearly: Vec<Matched>,
}

/// A policy found for a profile, with why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Matched {
    pub id: i64,
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub published_on: NaiveDate,
    pub summary: String,
    pub benefits: String,
    pub in_force: bool,
    pub apply_deadline: Option<NaiveDate>,
    /// Only for a near match: the one condition the profile does not meet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    pub reasons: Vec<String>,
    /// Conditions the profile cannot show, for the enterprise to confirm.
    pub to_confirm: Vec<String>,
}

fn matched(
    r: &PolicyRecord,
    today: NaiveDate,
    missing: Option<String>,
    reasons: Vec<String>,
    to_confirm: Vec<String>,
) -> Matched {
    Matched {
        id: r.id,
        title: r.content.title.clone(),
        doc_number: r.content.doc_number.clone(),
        issuer: r.content.issuer.clone(),
        published_on: r.content.published_on,
        summary: r.content.summary.clone(),
        benefits: r.content.benefits.clone(),
        in_force: r.in_force(today),
        apply_deadline: r.content.apply_deadline,
        missing,
        reasons,
        to_confirm,
    }
}

/// Every policy in force that the profile qualifies or nearly qualifies for.
pub async fn run_match(state: &AppState, profile: Profile) -> Result<MatchResult, ApiError> {
    let day = state.today();
    let policies = state
        .db
        .run(move |c| store::in_force_on(c, day).map_err(ApiError::from))
        .await?;
    let mut result = MatchResult {
        qualified: Vec::new(),
        nearly: Vec::new(),
    };
    for p in &policies {
        match evaluate(&p.content, &profile, day) {
            Outcome::Qualified { reasons, to_confirm } => {
                result.qualified.push(matched(p, day, None, reasons, to_confirm));
            }
            Outcome::Nearly {
                missing,
                reasons,
                to_confirm,
            } => {
                result
                    .nearly
                    .push(matched(p, day, Some(missing), reasons, to_confirm));
            }
            Outcome::No => {}
        }
    }
    Ok(result)
}

/// The policies in force that an enterprise profile qualifies or nearly qualifies for
/// (免申即享 screening).
#[utoipa::path(tag = "policies", request_body = ProfileInput, responses((status = 200, body = MatchResult)))]
#[post("/policies/match")]
async fn match_profile(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let input: ProfileInput = crate::web::extract::parse(&body)?;
    let profile = parse_profile(&input, state.today()).map_err(ApiError::Validation)?;
    Ok(HttpResponse::Ok().json(run_match(&state, profile).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParam {
    /// `csv` or `xlsx`; for an import, by default from the file name or content type.
    pub format: Option<String>,
}

/// The 422 answer to a file with bad rows: every row error, nothing written.
pub fn row_errors_response(errors: &[RowError]) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(RowErrors {
        code: "import_rejected",
        message: format!(
            "文件中有 {} 处错误，未导入任何政策，请修改后重新导入",
            errors.len()
        ),
        errors,
    })
}

/// Reads an uploaded file: the `file` part of a multipart form, or the raw body.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<(Vec<u8>, Option<String>), ApiError> {
    let too_large = || ApiError::PayloadTooLarge(format!("文件不能超过 {} MB", limit / 1024 / 1024));
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let mut form = Multipart::new(req.headers(), payload);
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|e| ApiError::BadRequest {
                code: "malformed_multipart",
                message: format!("上传内容无法读取：{e}"),
            })?;
            if field.name() != Some("file") {
                continue;
            }
            let filename = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned);
            let mut bytes = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest {
                    code: "malformed_multipart",
                    message: format!("上传内容无法读取：{e}"),
                })?;
                if bytes.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok((bytes, filename));
        }
        // 400, not 422: the API's 422 for an import is the list of rows with errors.
        return Err(ApiError::BadRequest {
            code: "file_required",
            message: "请选择要导入的 CSV 或 XLSX 文件（表单字段 file）".into(),
        });
    }
    let mut payload = payload;
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: "malformed_body",
            message: format!("请求体无法读取：{e}"),
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, None))
}

/// The largest import file.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

pub fn choose_format(
    explicit: Option<&str>,
    filename: Option<&str>,
    content_type: Option<&str>,
) -> Result<Format, ApiError> {
    let from_type = content_type.and_then(|t| {
        if t.starts_with("text/csv") {
            Some(Format::Csv)
        } else if t.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml") {
            Some(Format::Xlsx)
        } else {
            None
        }
    });
    match explicit.map(str::trim).filter(|s| !s.is_empty()) {
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::InvalidQuery(vec![FieldError::new(
                "format",
                "invalid_choice",
                "format 只能是 csv 或 xlsx",
            )])
        }),
        None => filename
            .and_then(Format::from_filename)
            .or(from_type)
            .ok_or_else(|| {
                ApiError::InvalidQuery(vec![FieldError::new(
                    "format",
                    "required",
                    "请用 format=csv 或 format=xlsx 指明文件格式",
                )])
            }),
    }
}

/// Parses and writes a whole file in one transaction, then updates search.
pub async fn import_file(
    state: &AppState,
    format: Format,
    bytes: Vec<u8>,
    actor: String,
    progress: Arc<dyn Fn(usize, usize) + Send + Sync>,
) -> Result<Result<ImportReport, Vec<RowError>>, ApiError> {
    let at = state.now();
    let parse_progress = progress.clone();
    let rows = match tokio::task::spawn_blocking(move || {
        table::parse(format, &bytes, &|done, total| {
            parse_progress(done / 2, total.max(1))
        })
    })
    .await
    .map_err(|e| ApiError::failed("policy file parsing", e))?
    {
        Ok(rows) => rows,
        Err(errors) => return Ok(Err(errors)),
    };
    let report = state
        .db
        .run(move |c| {
            store::import(c, &rows, store::By { actor: &actor, at }, &|done, total| {
                progress(total.max(1) / 2 + done / 2, total.max(1))
            })
            .map_err(ApiError::from)
        })
        .await?;
    state.search.caught_up(&state.db).await?;
    Ok(Ok(report))
}

#[derive(Serialize, ToSchema)]
struct Imported {
    inserted: usize,
    updated: usize,
    unchanged: usize,
}

/// The 422 body of a file with bad rows.
#[derive(Serialize, ToSchema)]
pub struct RowErrors<'a> {
    code: &'static str,
    message: String,
    errors: &'a [RowError],
}

/// Import a CSV or XLSX policy list (the `file` part of a multipart form, or the raw body):
/// all rows or none.
#[utoipa::path(
    tag = "policies",
    security(("bearer" = [])),
    params(FormatParam),
    request_body(content_type = "multipart/form-data", description = "One part named `file`, or the file as the raw body"),
    responses(
        (status = 200, body = Imported),
        (status = 413, body = crate::web::error::ErrorBody, description = "Larger than 64 MB"),
        (status = 422, body = RowErrors, description = "Rows with errors, each named; nothing written")
    )
)]
#[post("/policies/import")]
async fn import(
    state: web::Data<AppState>,
    user: Authed<PolicyEditors>,
    req: HttpRequest,
    q: web::Query<FormatParam>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (bytes, filename) = read_upload(&req, payload, IMPORT_LIMIT).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = choose_format(q.format.as_deref(), filename.as_deref(), content_type)?;
    match import_file(&state, format, bytes, user.label(), Arc::new(|_, _| {})).await? {
        Ok(report) => Ok(HttpResponse::Ok().json(Imported {
            inserted: report.inserted,
            updated: report.updated,
            unchanged: report.unchanged,
        })),
        Err(errors) => Ok(row_errors_response(&errors)),
    }
}

/// Every policy as spreadsheet rows.
pub async fn export_rows(state: &AppState) -> Result<Vec<Vec<String>>, ApiError> {
    state
        .db
        .run(|c| {
            let mut rows = Vec::new();
            let mut after = 0;
            loop {
                let batch = store::batch_after(c, after, 2000)?;
                let Some(last) = batch.last() else { break };
                after = last.id;
                rows.extend(batch.iter().map(|r| table::cells(&r.key, r.status, &r.content)));
            }
            Ok::<_, ApiError>(rows)
        })
        .await
}

/// Every policy as a CSV or XLSX list, in the import's columns.
#[utoipa::path(
    tag = "policies",
    security(("bearer" = [])),
    params(FormatParam),
    responses((status = 200, description = "The list as a download", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))))
)]
#[get("/policies/export")]
async fn export(
    state: web::Data<AppState>,
    _user: Authed<PolicyEditors>,
    q: web::Query<FormatParam>,
) -> Result<HttpResponse, ApiError> {
    let format = choose_format(Some(q.format.as_deref().unwrap_or("csv")), None, None)?;
    let rows = export_rows(&state).await?;
    let failed = |e: String| ApiError::failed("export", e);
    let (bytes, mime, ext) = match format {
        Format::Csv => (
            table::to_csv(&rows).map_err(failed)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        Format::Xlsx => (
            table::to_xlsx(&rows).map_err(failed)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"policies-{}.{ext}\"", state.today()),
        ))
        .body(bytes))
}

/// State of an import started from the admin pages.
#[derive(Debug, Clone, Serialize)]
pub struct ImportJob {
    pub done: i64,
    pub total: i64,
    pub finished: bool,
    pub report: Option<ImportReport>,
    pub errors: Vec<RowError>,
    pub failure: Option<String>,
}

/// How an import ended, stored with its job.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ImportOutcome {
    report: Option<ImportReport>,
    #[serde(default)]
    errors: Vec<RowError>,
    failure: Option<String>,
}

/// Starts an import in the background and returns its job id. The job lives in the
/// database: its progress is written there once a second while the import runs (a write
/// that must wait for the import's own transaction is simply late), and its outcome at the
/// end, so any server can show them.
pub async fn spawn_import(
    state: web::Data<AppState>,
    format: Format,
    bytes: Vec<u8>,
    actor: String,
) -> Result<String, ApiError> {
    let mut raw = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let id = hex::encode(raw);
    let now = state.now();
    let job = crate::store::imports::ImportJobRow {
        id: id.clone(),
        started_by: actor.clone(),
        started_at: now,
        updated_at: now,
        done: 0,
        total: 0,
        finished: false,
        outcome: None,
    };
    state
        .db
        .run(move |c| crate::store::imports::create(c, &job))
        .await?;
    let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0), AtomicBool::new(false)));
    let seen = counts.clone();
    let progress: Arc<dyn Fn(usize, usize) + Send + Sync> = Arc::new(move |done, total| {
        seen.0.store(done, Ordering::Relaxed);
        seen.1.store(total, Ordering::Relaxed);
    });
    let ticker = (state.clone(), counts.clone(), id.clone());
    actix_web::rt::spawn(async move {
        let (state, counts, id) = ticker;
        let mut written = (usize::MAX, usize::MAX);
        while !counts.2.load(Ordering::Relaxed) {
            let now = (counts.0.load(Ordering::Relaxed), counts.1.load(Ordering::Relaxed));
            if now != written {
                let (job, at) = (id.clone(), state.now());
                let (done, total) = (
                    i64::try_from(now.0).unwrap_or(i64::MAX),
                    i64::try_from(now.1).unwrap_or(i64::MAX),
                );
                match state
                    .db
                    .run(move |c| crate::store::imports::progress(c, &job, done, total, at))
                    .await
                {
                    Ok(()) => written = now,
                    Err(e) => tracing::debug!(error = %e, "import progress not written yet"),
                }
            }
            actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    let job_id = id.clone();
    actix_web::rt::spawn(async move {
        let outcome = match import_file(&state, format, bytes, actor, progress).await {
            Ok(Ok(report)) => ImportOutcome {
                report: Some(report),
                ..ImportOutcome::default()
            },
            Ok(Err(errors)) => ImportOutcome {
                errors,
                ..ImportOutcome::default()
            },
            Err(e) => ImportOutcome {
                failure: Some(e.to_string()),
                ..ImportOutcome::default()
            },
        };
        counts.2.store(true, Ordering::Relaxed);
        let text = serde_json::to_string(&outcome).unwrap_or_else(|e| format!("{{\"failure\":\"{e}\"}}"));
        let at = state.now();
        let finished = state
            .db
            .run(move |c| {
                crate::db::retry_on_conflict(c, |c| crate::store::imports::finish(c, &job_id, &text, at))
            })
            .await;
        if let Err(e) = finished {
            tracing::error!(error = %e, "the outcome of a policy import could not be recorded");
        }
    });
    Ok(id)
}

/// An import job as any server sees it.
pub async fn load_import(state: &AppState, id: &str) -> Result<Option<ImportJob>, ApiError> {
    let lookup = id.to_owned();
    let Some(row) = state
        .db
        .run(move |c| crate::store::imports::get(c, &lookup))
        .await?
    else {
        return Ok(None);
    };
    let outcome: ImportOutcome = row
        .outcome
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| ApiError::failed("an import outcome", e))?
        .unwrap_or_default();
    Ok(Some(ImportJob {
        done: row.done,
        total: row.total,
        finished: row.finished,
        report: outcome.report,
        errors: outcome.errors,
        failure: outcome.failure,
    }))
}
