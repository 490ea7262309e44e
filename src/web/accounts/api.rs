//! Accounts API: register, login, logout, password, me, and staff administration.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::store::accounts as store;
use crate::store::audit::{self, AuditFilter, AuditRow};
use crate::store::Page;
use crate::web::accounts::service::{self as accounts, AccountView, RegisterInput, StaffInput};
use crate::web::auth::{clear_session_cookie, client_address, AdminOnly, AnyUser, Authed};
use crate::web::error::{ApiError, FieldError};
use crate::web::extract::parse_paging;
use crate::web::extract::JsonBody;
use crate::web::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
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

/// Register a citizen (`kind: citizen`, with ID number) or an enterprise (`kind: enterprise`,
/// with USCC, legal representative, contact, industry and scale). Answers the new account,
/// unmasked, to its owner.
#[utoipa::path(
    tag = "accounts",
    request_body = RegisterInput,
    responses(
        (status = 201, body = AccountView),
        (status = 409, body = crate::web::error::ErrorBody, description = "ID number, USCC or phone already registered"),
        (status = 429, body = crate::web::error::ErrorBody, description = "Too many registrations from this address")
    )
)]
#[post("/auth/register")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: JsonBody<RegisterInput>,
) -> Result<HttpResponse, ApiError> {
    let input = input.validated()?;
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

/// Credentials are checked by the login itself (a wrong or missing one is the same 401).
#[derive(Default, Deserialize, ToSchema, Validate)]
struct LoginInput {
    username: Option<String>,
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct LoginAnswer {
    token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    expires_at: String,
    role: crate::auth::Role,
}

/// Log in with a username, ID number, USCC or phone and the password; the token goes in
/// `Authorization: Bearer …`.
#[utoipa::path(
    tag = "accounts",
    request_body = LoginInput,
    responses(
        (status = 200, body = LoginAnswer),
        (status = 401, body = crate::web::error::ErrorBody, description = "Wrong login or password"),
        (status = 429, body = crate::web::error::ErrorBody, description = "Locked for a while after repeated failures")
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: JsonBody<LoginInput>,
) -> Result<HttpResponse, ApiError> {
    let input = input.validated()?;
    let (issued, role) = accounts::login(
        &state,
        input.username.as_deref().unwrap_or(""),
        input.password.as_deref().unwrap_or(""),
        client_address(&req),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(LoginAnswer {
            token: issued.token,
            token_type: "Bearer",
            expires_at: issued.expires_at.to_rfc3339(),
            role,
        }))
}

/// The code and the new password are checked by the activation (a wrong code is a 401).
#[derive(Default, Deserialize, ToSchema, Validate)]
struct ActivateInput {
    login: Option<String>,
    code: Option<String>,
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Activated {
    activated: bool,
}

/// An applicant registered at the counter sets a password with the printed activation code.
#[utoipa::path(
    tag = "accounts",
    request_body = ActivateInput,
    responses(
        (status = 200, body = Activated),
        (status = 401, body = crate::web::error::ErrorBody, description = "Wrong or used code"),
        (status = 429, body = crate::web::error::ErrorBody, description = "Too many attempts")
    )
)]
#[post("/auth/activate")]
async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    input: JsonBody<ActivateInput>,
) -> Result<HttpResponse, ApiError> {
    let input = input.validated()?;
    crate::web::counter::service::activate(
        &state,
        input.login.as_deref().unwrap_or(""),
        input.code.as_deref().unwrap_or(""),
        input.password.as_deref().unwrap_or(""),
        client_address(&req),
    )
    .await?;
    Ok(HttpResponse::Ok().json(Activated { activated: true }))
}

/// Log out: the token (or session) is revoked.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), responses((status = 204, description = "Logged out")))]
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

#[derive(Default, Deserialize, ToSchema, Validate)]
struct PasswordInput {
    #[validate(
        required(code = "required", message = "请填写当前密码"),
        length(min = 1, code = "required", message = "请填写当前密码")
    )]
    current_password: Option<String>,
    #[validate(
        required(code = "required", message = "请填写新密码"),
        length(min = 1, code = "required", message = "请填写新密码")
    )]
    new_password: Option<String>,
}

/// Change one's password; every other session ends.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), request_body = PasswordInput, responses((status = 204, description = "Changed")))]
#[post("/auth/password")]
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    input: JsonBody<PasswordInput>,
) -> Result<HttpResponse, ApiError> {
    let input = input.validated()?;
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

/// The logged-in account, unmasked.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), responses((status = 200, body = AccountView)))]
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

/// An administrator creates a staff account (window clerk, reviewer with department,
/// policy editor, administrator).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = StaffInput,
    responses((status = 201, body = AccountView), (status = 409, body = crate::web::error::ErrorBody, description = "Username taken"))
)]
#[post("/admin/users")]
async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    input: JsonBody<StaffInput>,
) -> Result<HttpResponse, ApiError> {
    let input = input.validated()?;
    let id = accounts::create_staff(&state, &admin, input, &client_address(&req)).await?;
    let account = state
        .db
        .run(move |c| store::get(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("账号不存在".into()))?;
    Ok(HttpResponse::Created().json(AccountView::build(&state, &account, false)))
}

/// The staff accounts.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), responses((status = 200, body = Page<AccountView>)))]
#[get("/admin/users")]
async fn list_users(state: web::Data<AppState>, _admin: Authed<AdminOnly>) -> Result<HttpResponse, ApiError> {
    let rows = state.db.run(store::list_staff).await?;
    let items: Vec<AccountView> = rows
        .iter()
        .map(|a| AccountView::build(&state, a, false))
        .collect();
    let total = items.len() as i64;
    Ok(HttpResponse::Ok().json(Page {
        items,
        total,
        page: 1,
        per_page: total.max(1),
    }))
}

/// Disable a staff account: its sessions end at once.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's number")),
    responses(
        (status = 204, description = "Done"),
        (status = 400, body = crate::web::error::ErrorBody, description = "An administrator cannot disable their own account")
    )
)]
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

/// Enable a disabled staff account.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), params(("id" = i64, Path, description = "The account's number")), responses((status = 204, description = "Done")))]
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

#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The action, e.g. `login`, `case_view`.
    pub action: Option<String>,
    /// Part of the actor's label.
    pub actor: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// First Beijing day (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Last Beijing day, inclusive (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub page: Option<String>,
    /// Page size, at most 200.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
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

/// The security audit log (logins, reads of personal data, administration), newest first.
#[utoipa::path(tag = "accounts", security(("bearer" = [])), params(AuditQuery), responses((status = 200, body = Page<AuditRow>)))]
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
