//! The policy library's pages: search with facets and highlights, the policy page (guide,
//! interpretation, version history with differences), matching (为我匹配), and the
//! editors' pages (list, create and edit, publish and revoke, import with progress).
//! All work without JavaScript.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use validator::Validate;

use crate::auth::Role;
use crate::identity::Scale;
use crate::policy::table::Format;
use crate::policy::{regions, validate, Attachment, ConditionInput, Guide, PolicyInput, Status, TAGS};
use crate::store::policies as store;
use crate::store::Paging;
use crate::web::auth::{require_csrf, Authed, MaybeUser};
use crate::web::error::{ApiError, FieldError, PageError};
use crate::web::page::{form_page, page_err, see_other, PageForm};
use crate::web::policies::api::{
    change_status, load_import, load_visible, parse_profile, parse_search, run_match, spawn_import,
    version_views, view, PolicyEditors, ProfileInput, SearchParams, IMPORT_LIMIT,
};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(search_page)
        .service(match_page)
        .service(policy_page)
        .service(admin_list)
        .service(admin_new)
        .service(admin_create)
        .service(admin_import)
        .service(admin_import_progress)
        .service(admin_edit)
        .service(admin_update)
        .service(admin_publish)
        .service(admin_revoke);
}

fn query_string(p: &SearchParams, change: &[(&str, &str)], drop: &[&str]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let current = [
        ("q", &p.q),
        ("industry", &p.industry),
        ("scale", &p.scale),
        ("region", &p.region),
        ("issuer", &p.issuer),
        ("in_force", &p.in_force),
        ("sort", &p.sort),
    ];
    for (k, v) in current {
        if drop.contains(&k) || change.iter().any(|(c, _)| *c == k) {
            continue;
        }
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            pairs.push((k.to_owned(), v.to_owned()));
        }
    }
    for (k, v) in change {
        pairs.push(((*k).to_owned(), (*v).to_owned()));
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, v);
    }
    format!("/policies?{}", ser.finish())
}

#[get("/policies")]
async fn search_page(
    state: web::Data<AppState>,
    p: web::Query<SearchParams>,
) -> Result<HttpResponse, PageError> {
    let p = p.into_inner();
    let mut ctx = tera::Context::new();
    ctx.insert("q", p.q.as_deref().unwrap_or(""));
    ctx.insert("params", &p);
    let query = match parse_search(&p, state.today()) {
        Ok(q) => q,
        Err(errors) => {
            ctx.insert("errors", &errors);
            ctx.insert("result", &serde_json::Value::Null);
            ctx.insert("facets", &Vec::<serde_json::Value>::new());
            ctx.insert("active", &Vec::<serde_json::Value>::new());
            ctx.insert("pages", &serde_json::Value::Null);
            let mut resp = state.render("policies/policies.html", &ctx)?;
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(resp);
        }
    };
    let (page, per_page) = (query.page, query.per_page);
    let result = state
        .search
        .search(query)
        .await
        .map_err(|e| page_err(&state, ApiError::from(e)))?;
    let names = [
        ("in_force", "是否有效"),
        ("industry", "行业"),
        ("scale", "企业规模"),
        ("region", "适用地区"),
        ("issuer", "发文机关"),
    ];
    let facets: Vec<serde_json::Value> = names
        .iter()
        .filter_map(|(key, label)| {
            let list = result.facets.get(key)?;
            let items: Vec<serde_json::Value> = list
                .iter()
                .filter(|f| f.value != crate::search::ALL)
                .take(12)
                .map(|f| {
                    serde_json::json!({"label": f.label, "count": f.count,
                        "href": query_string(&p, &[(key, f.value.as_str())], &["page"])})
                })
                .collect();
            (!items.is_empty()).then(|| serde_json::json!({"label": label, "items": items}))
        })
        .collect();
    let active: Vec<serde_json::Value> = [
        ("industry", &p.industry),
        ("scale", &p.scale),
        ("region", &p.region),
        ("issuer", &p.issuer),
        ("in_force", &p.in_force),
    ]
    .iter()
    .filter_map(|(k, v)| {
        let v = v.as_deref().filter(|v| !v.is_empty())?;
        let label = result
            .facets
            .get(k)
            .and_then(|l| l.iter().find(|f| f.value == v))
            .map(|f| f.label.clone())
            .unwrap_or_else(|| v.to_owned());
        Some(serde_json::json!({"label": label, "href": query_string(&p, &[], &[k, "page"])}))
    })
    .collect();
    let last_page = (result.total as usize).div_ceil(per_page).max(1);
    let pages = serde_json::json!({
        "page": page,
        "last": last_page,
        "prev": (page > 1).then(|| query_string(&p, &[("page", &(page - 1).to_string())], &[])),
        "next": (page < last_page).then(|| query_string(&p, &[("page", &(page + 1).to_string())], &[])),
    });
    let sorts: Vec<serde_json::Value> = [
        ("relevance", "相关度"),
        ("newest", "最新发布"),
        ("deadline", "可申报·截止最近"),
    ]
    .iter()
    .map(|(v, l)| {
        serde_json::json!({"label": l, "href": query_string(&p, &[("sort", v)], &["page"]),
                "current": p.sort.as_deref().unwrap_or("relevance") == *v})
    })
    .collect();
    ctx.insert("errors", &Vec::<FieldError>::new());
    ctx.insert("result", &result);
    ctx.insert("facets", &facets);
    ctx.insert("active", &active);
    ctx.insert("pages", &pages);
    ctx.insert("sorts", &sorts);
    state.render("policies/policies.html", &ctx)
}

#[get("/policies/match")]
async fn match_page(
    state: web::Data<AppState>,
    user: MaybeUser,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let form = MatchForm::parse(req.query_string());
    let mut input = form.to_input();
    let submitted = form.submitted();
    if let Some(u) = user.0.as_ref().filter(|u| u.role == Role::Enterprise) {
        let id = u.id;
        let account = state
            .db
            .run(move |c| crate::store::accounts::get(c, id).map_err(ApiError::from))
            .await
            .map_err(|e| page_err(&state, e))?;
        if let Some(a) = account {
            if input.industry.as_deref().unwrap_or("").is_empty() {
                input.industry = a.industry.clone();
            }
            if input.scale.as_deref().unwrap_or("").is_empty() {
                input.scale = a.scale.clone();
            }
        }
    }
    // An industry said in everyday words is read as the industry it names.
    let mut word_errors = Vec::new();
    let words = form.industry_words.as_deref().map(str::trim).unwrap_or("");
    if input.industry.as_deref().unwrap_or("").is_empty() && !words.is_empty() {
        match industry_of_words(words) {
            Some(code) => input.industry = Some(code),
            None => word_errors.push(FieldError::new(
                "industry_words",
                "unknown_industry",
                format!("没有找到与“{words}”对应的行业，请换个说法或从行业列表中选择"),
            )),
        }
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut ctx = tera::Context::new();
    ctx.insert("industry_sections", &industry_sections());
    ctx.insert(
        "industry_name",
        &input
            .industry
            .as_deref()
            .and_then(|c| crate::identity::industries().get(c))
            .map(|i| i.name.clone()),
    );
    ctx.insert(
        "form",
        &serde_json::json!({
            "industry_words": words,
            "industry": text(&input.industry),
            "scale": text(&input.scale),
            "region": text(&input.region),
            "founded_on": text(&input.founded_on),
            "employees": text(&form.employees),
            "revenue": text(&form.revenue),
            "tags": input.tags,
        }),
    );
    ctx.insert("tags", &TAGS);
    ctx.insert("regions", &regions::all());
    ctx.insert(
        "scales",
        &Scale::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect::<Vec<_>>(),
    );
    ctx.insert("errors", &Vec::<FieldError>::new());
    ctx.insert("result", &serde_json::Value::Null);
    if !word_errors.is_empty() {
        ctx.insert("errors", &word_errors);
    } else if submitted {
        match parse_profile(&input, state.today()) {
            Ok(profile) => {
                let result = run_match(&state, profile)
                    .await
                    .map_err(|e| page_err(&state, e))?;
                ctx.insert("result", &result);
            }
            Err(errors) => ctx.insert("errors", &errors),
        }
    }
    state.render("policies/policy_match.html", &ctx)
}

/// The industry an everyday word names (饭店 → 正餐服务), the most specific one the word
/// table gives; `None` when the word names none.
fn industry_of_words(words: &str) -> Option<String> {
    crate::search::words::search_words(words)
        .iter()
        .flat_map(|w| crate::search::words::expand(w).industry_codes)
        .filter(|c| crate::identity::industries().contains_key(c))
        .max_by_key(|c| c.len())
}

/// One section of GB/T 4754 with its divisions, for the industry list (names, not codes).
#[derive(serde::Serialize)]
struct IndustrySection {
    name: String,
    divisions: Vec<(String, String)>,
}

fn industry_sections() -> Vec<IndustrySection> {
    let all = crate::identity::industries();
    let mut sections: Vec<&crate::identity::Industry> = all.values().filter(|i| i.level == 1).collect();
    sections.sort_by(|a, b| a.code.cmp(&b.code));
    sections
        .into_iter()
        .map(|s| {
            let mut divisions: Vec<(String, String)> = all
                .values()
                .filter(|i| i.level == 2 && i.section == s.code)
                .map(|i| (i.code.clone(), i.name.clone()))
                .collect();
            divisions.sort();
            IndustrySection {
                name: s.name.clone(),
                divisions,
            }
        })
        .collect()
}

/// The matching form as query parameters (a GET form, so results can be bookmarked).
#[derive(Debug, Default)]
pub struct MatchForm {
    industry: Option<String>,
    /// The industry in everyday words (饭店、民宿), when none is chosen from the list.
    industry_words: Option<String>,
    scale: Option<String>,
    region: Option<String>,
    founded_on: Option<String>,
    employees: Option<String>,
    revenue: Option<String>,
    tag: Vec<String>,
}

impl MatchForm {
    /// Reads the query string (tags repeat, so this is not a plain struct deserialization).
    fn parse(query: &str) -> Self {
        let mut f = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "industry" => f.industry = Some(v),
                "industry_words" => f.industry_words = Some(v),
                "scale" => f.scale = Some(v),
                "region" => f.region = Some(v),
                "founded_on" => f.founded_on = Some(v),
                "employees" => f.employees = Some(v),
                "revenue" => f.revenue = Some(v),
                "tag" => f.tag.push(v),
                _ => {}
            }
        }
        f
    }

    fn submitted(&self) -> bool {
        [
            &self.industry,
            &self.industry_words,
            &self.scale,
            &self.region,
            &self.founded_on,
            &self.employees,
            &self.revenue,
        ]
        .iter()
        .any(|v| v.is_some())
            || !self.tag.is_empty()
    }

    fn to_input(&self) -> ProfileInput {
        ProfileInput {
            industry: self.industry.clone(),
            scale: self.scale.clone(),
            region: self.region.clone(),
            founded_on: self.founded_on.clone(),
            employees: self.employees.clone().map(serde_json::Value::String),
            revenue: self.revenue.clone().map(serde_json::Value::String),
            tags: self.tag.clone(),
        }
    }
}

#[get("/policies/{id}")]
async fn policy_page(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let editor = user
        .0
        .as_ref()
        .is_some_and(|u| matches!(u.role, Role::Admin | Role::PolicyEditor));
    let record = load_visible(&state, &id, editor)
        .await
        .map_err(|e| page_err(&state, e))?;
    let pid = record.id;
    let versions = state
        .db
        .run(move |c| store::versions(c, pid).map_err(ApiError::from))
        .await
        .map_err(|e| page_err(&state, e))?;
    let mut ctx = tera::Context::new();
    ctx.insert("p", &view(&record, state.today()));
    ctx.insert("versions", &version_views(&versions));
    ctx.insert("editor", &editor);
    ctx.insert("no_application", &record.content.no_application);
    let reached = if record.content.no_application {
        state
            .db
            .run(move |c| crate::store::benefits::reached(c, pid))
            .await
            .map_err(|e| page_err(&state, ApiError::from(e)))?
    } else {
        0
    };
    ctx.insert("reached", &reached);
    state.render("policies/policy.html", &ctx)
}

#[derive(Debug, Deserialize)]
struct AdminListQuery {
    q: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

#[get("/admin/policies")]
async fn admin_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: Authed<PolicyEditors>,
    q: web::Query<AdminListQuery>,
) -> Result<HttpResponse, PageError> {
    let title = q.q.clone().filter(|s| !s.trim().is_empty());
    let status = q.status.as_deref().and_then(Status::parse);
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let paging = Paging { page, per_page: 50 };
    let t = title.clone();
    let list = state
        .db
        .run(move |c| store::list(c, t.as_deref(), status, paging).map_err(ApiError::from))
        .await
        .map_err(|e| page_err(&state, e))?;
    let mut ctx = tera::Context::new();
    ctx.insert("list", &list);
    ctx.insert("filter_q", &title.unwrap_or_default());
    ctx.insert("filter_status", &status.map(|s| s.as_str()).unwrap_or(""));
    ctx.insert("has_next", &(page * 50 < list.total));
    form_page(
        &state,
        &req,
        "policies/admin_policies.html",
        &mut ctx,
        StatusCode::OK,
    )
}

/// The edit form's fields; lists are one item per line.
#[derive(Debug, Default, Deserialize, serde::Serialize, Validate)]
#[serde(default)]
pub struct PolicyForm {
    csrf_token: String,
    title: String,
    doc_number: String,
    issuer: String,
    published_on: String,
    effective_from: String,
    effective_to: String,
    apply_deadline: String,
    summary: String,
    body: String,
    benefits: String,
    industries: String,
    excluded_industries: String,
    scales: String,
    regions: String,
    keywords: String,
    interpretation: String,
    conditions: String,
    guide_who: String,
    guide_materials: String,
    guide_where: String,
    guide_how: String,
    guide_deadline: String,
    guide_contact: String,
    attachments: String,
    /// The 免申即享 checkbox: "true" when ticked, absent otherwise.
    no_application: String,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl PolicyForm {
    fn to_input(&self) -> Result<PolicyInput, FieldError> {
        let conditions: Vec<ConditionInput> = if self.conditions.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&self.conditions).map_err(|_| {
                FieldError::new(
                    "conditions",
                    "invalid_json",
                    "申报条件应为 JSON 数组，如 [{\"kind\":\"max_employees\",\"value\":300,\"text\":\"从业人数不超过300人\"}]",
                )
            })?
        };
        Ok(PolicyInput {
            title: self.title.clone(),
            doc_number: self.doc_number.clone(),
            issuer: self.issuer.clone(),
            published_on: self.published_on.clone(),
            effective_from: self.effective_from.clone(),
            effective_to: self.effective_to.clone(),
            apply_deadline: self.apply_deadline.clone(),
            summary: self.summary.clone(),
            body: self.body.clone(),
            benefits: self.benefits.clone(),
            conditions,
            guide: Guide {
                who: self.guide_who.clone(),
                materials: lines(&self.guide_materials),
                place: self.guide_where.clone(),
                how: self.guide_how.clone(),
                deadline: self.guide_deadline.clone(),
                contact: self.guide_contact.clone(),
            },
            industries: words(&self.industries),
            excluded_industries: words(&self.excluded_industries),
            scales: words(&self.scales),
            regions: words(&self.regions),
            keywords: words(&self.keywords),
            interpretation: self.interpretation.clone(),
            attachments: lines(&self.attachments)
                .into_iter()
                .map(|name| Attachment { name })
                .collect(),
            no_application: self.no_application == "true",
        })
    }

    fn from_input(p: &PolicyInput) -> Self {
        Self {
            csrf_token: String::new(),
            title: p.title.clone(),
            doc_number: p.doc_number.clone(),
            issuer: p.issuer.clone(),
            published_on: p.published_on.clone(),
            effective_from: p.effective_from.clone(),
            effective_to: p.effective_to.clone(),
            apply_deadline: p.apply_deadline.clone(),
            summary: p.summary.clone(),
            body: p.body.clone(),
            benefits: p.benefits.clone(),
            industries: p.industries.join(" "),
            excluded_industries: p.excluded_industries.join(" "),
            scales: p.scales.join(" "),
            regions: p.regions.join(" "),
            keywords: p.keywords.join(" "),
            interpretation: p.interpretation.clone(),
            conditions: if p.conditions.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&p.conditions).unwrap_or_default()
            },
            guide_who: p.guide.who.clone(),
            guide_materials: p.guide.materials.join("\n"),
            guide_where: p.guide.place.clone(),
            guide_how: p.guide.how.clone(),
            guide_deadline: p.guide.deadline.clone(),
            guide_contact: p.guide.contact.clone(),
            attachments: p
                .attachments
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            no_application: if p.no_application {
                "true".into()
            } else {
                String::new()
            },
        }
    }
}

fn render_form(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    form: &PolicyForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let mut map = std::collections::HashMap::new();
    for e in errors {
        let key = e.field.split('[').next().unwrap_or(&e.field).to_owned();
        map.entry(key).or_insert_with(|| e.message.clone());
    }
    let mut ctx = tera::Context::new();
    ctx.insert("form", form);
    ctx.insert("action", action);
    ctx.insert("errors", &map);
    ctx.insert("has_errors", &!errors.is_empty());
    form_page(state, req, "policies/admin_policy_form.html", &mut ctx, status)
}

#[get("/admin/policies/new")]
async fn admin_new(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: Authed<PolicyEditors>,
) -> Result<HttpResponse, PageError> {
    let form = PolicyForm {
        regions: regions::NATIONWIDE.to_owned(),
        published_on: state.today().to_string(),
        effective_from: state.today().to_string(),
        ..Default::default()
    };
    render_form(&state, &req, "/admin/policies/new", &form, &[], StatusCode::OK)
}

fn checked(form: &PolicyForm) -> Result<crate::policy::PolicyContent, Vec<FieldError>> {
    let input = form.to_input().map_err(|e| vec![e])?;
    validate(&input)
}

#[post("/admin/policies/new")]
async fn admin_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<PolicyEditors>,
    form: PageForm<PolicyForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token).map_err(|_| {
        state.page_error(
            StatusCode::FORBIDDEN,
            "请求已过期",
            "页面校验信息已失效，请返回上一页刷新后重新提交。",
        )
    })?;
    let content = match checked(&form) {
        Ok(c) => c,
        Err(errors) => {
            return render_form(
                &state,
                &req,
                "/admin/policies/new",
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let (actor, at) = (user.label(), state.now());
    let id = state
        .db
        .run(move |c| {
            store::create(
                c,
                &store::new_key(),
                Status::Draft,
                &content,
                store::By { actor: &actor, at },
            )
            .map_err(ApiError::from)
        })
        .await
        .map_err(|e| page_err(&state, e))?;
    state
        .search
        .caught_up(&state.db)
        .await
        .map_err(|e| page_err(&state, ApiError::from(e)))?;
    Ok(see_other(&format!("/policies/{id}")))
}

#[get("/admin/policies/{id}/edit")]
async fn admin_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: Authed<PolicyEditors>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let record = load_visible(&state, &id, true)
        .await
        .map_err(|e| page_err(&state, e))?;
    let form = PolicyForm::from_input(&PolicyInput::from(&record.content));
    render_form(
        &state,
        &req,
        &format!("/admin/policies/{}/edit", record.id),
        &form,
        &[],
        StatusCode::OK,
    )
}

#[post("/admin/policies/{id}/edit")]
async fn admin_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<PolicyEditors>,
    id: web::Path<String>,
    form: PageForm<PolicyForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token).map_err(|_| {
        state.page_error(
            StatusCode::FORBIDDEN,
            "请求已过期",
            "页面校验信息已失效，请返回上一页刷新后重新提交。",
        )
    })?;
    let record = load_visible(&state, &id, true)
        .await
        .map_err(|e| page_err(&state, e))?;
    let action = format!("/admin/policies/{}/edit", record.id);
    let content = match checked(&form) {
        Ok(c) => c,
        Err(errors) => {
            return render_form(
                &state,
                &req,
                &action,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let (pid, actor, at) = (record.id, user.label(), state.now());
    state
        .db
        .run(move |c| {
            store::update(c, pid, &content, store::By { actor: &actor, at }).map_err(ApiError::from)
        })
        .await
        .map_err(|e| page_err(&state, e))?;
    state
        .search
        .caught_up(&state.db)
        .await
        .map_err(|e| page_err(&state, ApiError::from(e)))?;
    Ok(see_other(&format!("/policies/{pid}")))
}

#[derive(Deserialize, Validate)]
struct CsrfForm {
    csrf_token: String,
}

async fn status_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<PolicyEditors>,
    id: &str,
    form: &CsrfForm,
    status: Status,
) -> Result<HttpResponse, PageError> {
    require_csrf(&req, &form.csrf_token).map_err(|_| {
        state.page_error(
            StatusCode::FORBIDDEN,
            "请求已过期",
            "页面校验信息已失效，请返回上一页刷新后重新提交。",
        )
    })?;
    let record = load_visible(&state, id, true)
        .await
        .map_err(|e| page_err(&state, e))?;
    change_status(&state, user.label(), record.id, status)
        .await
        .map_err(|e| page_err(&state, e))?;
    Ok(see_other("/admin/policies"))
}

#[post("/admin/policies/{id}/publish")]
async fn admin_publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<PolicyEditors>,
    id: web::Path<String>,
    form: PageForm<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.valid(&state)?;
    status_action(state, req, user, &id, &form, Status::Published).await
}

#[post("/admin/policies/{id}/revoke")]
async fn admin_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<PolicyEditors>,
    id: web::Path<String>,
    form: PageForm<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.valid(&state)?;
    status_action(state, req, user, &id, &form, Status::Revoked).await
}

#[post("/admin/policies/import")]
async fn admin_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<PolicyEditors>,
    mut form: Multipart,
) -> Result<HttpResponse, PageError> {
    let bad = |m: &str| state.page_error(StatusCode::BAD_REQUEST, "无法导入", m);
    let (mut csrf, mut file, mut filename) = (String::new(), Vec::new(), None);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| bad("上传内容无法读取，请重新选择文件。"))?;
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            filename = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| bad("上传内容无法读取，请重新选择文件。"))?;
            if bytes.len() + chunk.len() > IMPORT_LIMIT {
                return Err(bad("文件过大。"));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf_token" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes,
            _ => {}
        }
    }
    require_csrf(&req, &csrf).map_err(|_| {
        state.page_error(
            StatusCode::FORBIDDEN,
            "请求已过期",
            "页面校验信息已失效，请返回上一页刷新后重新提交。",
        )
    })?;
    let Some(format) = filename.as_deref().and_then(Format::from_filename) else {
        return Err(bad("请选择扩展名为 .csv 或 .xlsx 的文件。"));
    };
    if file.is_empty() {
        return Err(bad("文件为空。"));
    }
    let job = spawn_import(state.clone(), format, file, user.label())
        .await
        .map_err(|e| crate::web::page::page_err(&state, e))?;
    Ok(see_other(&format!("/admin/policies/import/{job}")))
}

#[get("/admin/policies/import/{job}")]
async fn admin_import_progress(
    state: web::Data<AppState>,
    _user: Authed<PolicyEditors>,
    job: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let job = load_import(&state, &job)
        .await
        .map_err(|e| crate::web::page::page_err(&state, e))?
        .ok_or_else(|| state.page_error(StatusCode::NOT_FOUND, "页面不存在", "没有这个导入任务。"))?;
    let percent = if job.finished {
        100
    } else {
        (job.done * 100).checked_div(job.total).unwrap_or(0)
    };
    let mut ctx = tera::Context::new();
    ctx.insert("job", &job);
    ctx.insert("percent", &percent);
    state.render("policies/admin_policy_import.html", &ctx)
}
