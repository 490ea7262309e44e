//! Accounts API: register, login, logout, password, me, and staff administration.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::store::accounts as store;
use crate::store::audit::{self, AuditFilter};
use crate::web::accounts::service::{self as accounts, AccountView, RegisterInput, StaffInput};
use crate::web::auth::{clear_session_cookie, client_address, AdminOnly, AnyUser, Authed};
use crate::web::error::{ApiError, FieldError};
use crate::web::extract::parse_paging;
use crate::web::extract::JsonBody;
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(activate)
        .service(logout)
        .service(change_password)
        .service(me)
        .service(create_user)
        .service(list_users)
        .service(disable_user)
        .service(enable_user)
        .service(list_audit);
}

#[post("/auth/register")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(input): JsonBody<RegisterInput>,
) -> Result<HttpResponse, ApiError> {
    let plain = accounts::validate_registration(&input, state.today()).map_err(ApiError::Validation)?;
    let (id, _) = accounts::register(&state, plain, client_address(&req)).await?;
    let account = state
        .db
        .run(move |c| store::get(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("账号不存在".into()))?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(AccountView::build(&state, &account, true)))
}

#[derive(Default, Deserialize)]
struct LoginInput {
    username: Option<String>,
    password: Option<String>,
}

#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(input): JsonBody<LoginInput>,
) -> Result<HttpResponse, ApiError> {
    let (issued, role) = accounts::login(
        &state,
        input.username.as_deref().unwrap_or(""),
        input.password.as_deref().unwrap_or(""),
        client_address(&req),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({
            "token": issued.token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at.to_rfc3339(),
            "role": role,
        })))
}

#[derive(Default, Deserialize)]
struct ActivateInput {
    login: Option<String>,
    code: Option<String>,
    password: Option<String>,
}

/// An applicant registered at the counter sets a password with the printed activation code.
#[post("/auth/activate")]
async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(input): JsonBody<ActivateInput>,
) -> Result<HttpResponse, ApiError> {
    crate::web::counter::service::activate(
        &state,
        input.login.as_deref().unwrap_or(""),
        input.code.as_deref().unwrap_or(""),
        input.password.as_deref().unwrap_or(""),
        client_address(&req),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"activated": true})))
}

#[post("/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
) -> Result<HttpResponse, ApiError> {
    accounts::logout(&state, &user, &client_address(&req)).await?;
    Ok(HttpResponse::NoContent()
        .cookie(clear_session_cookie(&req))
        .finish())
}

#[derive(Default, Deserialize)]
struct PasswordInput {
    current_password: Option<String>,
    new_password: Option<String>,
}

#[post("/auth/password")]
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    JsonBody(input): JsonBody<PasswordInput>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    if input.current_password.as_deref().unwrap_or("").is_empty() {
        errors.push(FieldError::new("current_password", "required", "请填写当前密码"));
    }
    if input.new_password.as_deref().unwrap_or("").is_empty() {
        errors.push(FieldError::new("new_password", "required", "请填写新密码"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    accounts::change_password(
        &state,
        &user,
        input.current_password.as_deref().unwrap_or(""),
        input.new_password.as_deref().unwrap_or(""),
        &client_address(&req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[get("/me")]
async fn me(state: web::Data<AppState>, user: Authed<AnyUser>) -> Result<HttpResponse, ApiError> {
    let id = user.id;
    let account = state
        .db
        .run(move |c| store::get(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("账号不存在".into()))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(AccountView::build(&state, &account, true)))
}

#[post("/admin/users")]
async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    JsonBody(input): JsonBody<StaffInput>,
) -> Result<HttpResponse, ApiError> {
    let id = accounts::create_staff(&state, &admin, input, &client_address(&req)).await?;
    let account = state
        .db
        .run(move |c| store::get(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("账号不存在".into()))?;
    Ok(HttpResponse::Created().json(AccountView::build(&state, &account, false)))
}

#[get("/admin/users")]
async fn list_users(state: web::Data<AppState>, _admin: Authed<AdminOnly>) -> Result<HttpResponse, ApiError> {
    let rows = state.db.run(store::list_staff).await?;
    let items: Vec<AccountView> = rows
        .iter()
        .map(|a| AccountView::build(&state, a, false))
        .collect();
    let total = items.len() as i64;
    Ok(HttpResponse::Ok().json(crate::store::Page {
        items,
        total,
        page: 1,
        per_page: total.max(1),
    }))
}

#[post("/admin/users/{id}/disable")]
async fn disable_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    accounts::set_disabled(&state, &admin, id.into_inner(), true, &client_address(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[post("/admin/users/{id}/enable")]
async fn enable_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    accounts::set_disabled(&state, &admin, id.into_inner(), false, &client_address(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Default, Deserialize)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

pub fn audit_filter(q: &AuditQuery, errors: &mut Vec<FieldError>) -> (AuditFilter, crate::store::Paging) {
    let date = |name: &str, raw: &Option<String>, errors: &mut Vec<FieldError>| {
        let v = raw.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            // A day of the filter is a Beijing day; the log stores UTC.
            Ok(d) => Some(crate::clock::day_start_utc(d)),
            Err(_) => {
                errors.push(FieldError::new(
                    name,
                    "invalid_date",
                    format!("{name} 应为 YYYY-MM-DD 格式的日期"),
                ));
                None
            }
        }
    };
    let paging = parse_paging(&q.page, &q.per_page, errors);
    let non_empty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let filter = AuditFilter {
        action: non_empty(&q.action),
        actor: non_empty(&q.actor),
        outcome: non_empty(&q.outcome),
        from: date("from", &q.from, errors),
        // `to` is inclusive of its whole day.
        to: date("to", &q.to, errors).map(|d| d + chrono::Duration::days(1)),
    };
    (filter, paging)
}

#[get("/admin/audit")]
async fn list_audit(
    state: web::Data<AppState>,
    _admin: Authed<AdminOnly>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let (filter, paging) = audit_filter(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let page = state.db.run(move |c| audit::list(c, &filter, paging)).await?;
    Ok(HttpResponse::Ok().json(page))
}
