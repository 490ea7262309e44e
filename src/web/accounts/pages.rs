//! Account pages: register, login, logout, my account, and the administrators' staff and
//! audit-log pages. Every form carries a CSRF token; errors appear beside their fields.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use validator::Validate;

use crate::auth::Role;
use crate::identity::Scale;
use crate::store::accounts as store;
use crate::store::audit;
use crate::store::catalogue as cat;
use crate::web::accounts::api::{audit_filter, AuditQuery};
use crate::web::accounts::service::{self as accounts, AccountView, RegisterInput, StaffInput};
use crate::web::auth::{
    clear_session_cookie, client_address, require_csrf, session_cookie, AdminOnly, AnyUser, Authed,
};
use crate::web::error::{ApiError, PageError};
use crate::web::page::{field_errors, form_message, form_page, see_other, PageForm};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login_form)
        .service(login_submit)
        .service(register_form)
        .service(register_submit)
        .service(logout_submit)
        .service(account_page)
        .service(password_submit)
        .service(admin_users)
        .service(admin_users_create)
        .service(admin_user_toggle)
        .service(admin_audit);
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/account".into(),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[get("/login")]
async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = tera::Context::new();
    ctx.insert("next", &safe_next(q.next.as_deref()));
    ctx.insert("username", "");
    form_page(&state, &req, "accounts/login.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct LoginForm {
    username: String,
    password: String,
    csrf_token: String,
    next: Option<String>,
}

#[post("/login")]
async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<LoginForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let next = safe_next(form.next.as_deref());
    match accounts::login(&state, &form.username, &form.password, client_address(&req)).await {
        Ok((issued, _)) => {
            let max_age = (issued.expires_at - state.clock.now()).num_seconds();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .cookie(session_cookie(&req, &issued.token, max_age))
                .finish())
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = tera::Context::new();
            ctx.insert("next", &next);
            ctx.insert("username", &form.username);
            ctx.insert("message", &message);
            ctx.insert("errors", &field_errors(&errors));
            let mut resp = form_page(&state, &req, "accounts/login.html", &mut ctx, status)?;
            if let ApiError::TooManyRequests { retry_after, .. } = e {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
            }
            Ok(resp)
        }
    }
}

#[derive(Deserialize)]
struct KindQuery {
    kind: Option<String>,
    /// Where to continue after registering (e.g. the application that sent the person here).
    next: Option<String>,
}

pub(crate) fn register_context(kind: &str) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert(
        "kind",
        if kind == "enterprise" {
            "enterprise"
        } else {
            "citizen"
        },
    );
    let scales: Vec<(&str, &str)> = Scale::ALL.iter().map(|s| (s.as_str(), s.label())).collect();
    ctx.insert("scales", &scales);
    let mut sections: Vec<(String, String)> = crate::identity::industries()
        .values()
        .filter(|i| i.level == 2)
        .map(|i| (i.code.clone(), format!("{} {}", i.code, i.name)))
        .collect();
    sections.sort();
    ctx.insert("industries", &sections);
    ctx.insert("errors", &HashMap::<String, String>::new());
    ctx.insert("values", &HashMap::<String, String>::new());
    ctx
}

#[get("/register")]
async fn register_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<KindQuery>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = register_context(q.kind.as_deref().unwrap_or("citizen"));
    ctx.insert("next", &q.next.as_deref().map(|n| safe_next(Some(n))));
    form_page(&state, &req, "accounts/register.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct RegisterForm {
    csrf_token: String,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

#[post("/register")]
async fn register_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<RegisterForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let f = &form.fields;
    let get = |k: &str| f.get(k).cloned();
    let input = RegisterInput {
        kind: get("kind"),
        name: get("name"),
        id_number: get("id_number"),
        phone: get("phone"),
        password: get("password"),
        uscc: get("uscc"),
        legal_representative: get("legal_representative"),
        contact_name: get("contact_name"),
        industry: get("industry"),
        scale: get("scale"),
    };
    let kind = input.kind.clone().unwrap_or_default();
    // Back to where the person came from (an application), else to the new account.
    let next = f
        .get("next")
        .filter(|n| !n.is_empty())
        .map_or_else(|| "/account?registered=1".to_owned(), |n| safe_next(Some(n)));
    let result = match accounts::validate_registration(&input, state.today()) {
        Err(errors) => Err(ApiError::Validation(errors)),
        Ok(plain) => accounts::register(&state, plain, client_address(&req)).await,
    };
    match result {
        Ok((id, role)) => {
            let issued = state.tokens.issue(id, role, state.clock.now());
            let max_age = (issued.expires_at - state.clock.now()).num_seconds();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .cookie(session_cookie(&req, &issued.token, max_age))
                .finish())
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = register_context(&kind);
            ctx.insert(
                "next",
                &f.get("next")
                    .filter(|n| !n.is_empty())
                    .map(|n| safe_next(Some(n))),
            );
            let mut values = f.clone();
            values.remove("password");
            ctx.insert("values", &values);
            ctx.insert("errors", &field_errors(&errors));
            ctx.insert("message", &message);
            Ok(form_page(
                &state,
                &req,
                "accounts/register.html",
                &mut ctx,
                status,
            )?)
        }
    }
}

#[derive(Deserialize, Validate)]
struct CsrfOnly {
    csrf_token: String,
}

#[post("/logout")]
async fn logout_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    form: PageForm<CsrfOnly>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    accounts::logout(&state, &user, &client_address(&req)).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(clear_session_cookie(&req))
        .finish())
}

#[derive(Deserialize)]
struct AccountQuery {
    registered: Option<String>,
    changed: Option<String>,
}

async fn account_context(state: &AppState, user: &Authed<AnyUser>) -> Result<tera::Context, PageError> {
    let id = user.id;
    let account = state
        .db
        .run(move |c| store::get(c, id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "account lookup failed");
            state.page_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务暂时不可用",
                "系统繁忙，请稍后再试。",
            )
        })?
        .ok_or_else(|| state.page_error(StatusCode::NOT_FOUND, "账号不存在", "请重新登录。"))?;
    let mut ctx = tera::Context::new();
    ctx.insert("account", &AccountView::build(state, &account, true));
    ctx.insert("is_admin", &(user.role == Role::Admin));
    ctx.insert(
        "scale_label",
        &account
            .scale
            .as_deref()
            .and_then(|s| Scale::parse(s).ok())
            .map(Scale::label),
    );
    ctx.insert("errors", &HashMap::<String, String>::new());
    Ok(ctx)
}

#[get("/account")]
async fn account_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    q: web::Query<AccountQuery>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = account_context(&state, &user).await?;
    if q.registered.is_some() {
        ctx.insert("notice", "注册成功，欢迎使用长乐区“一件事”集成服务。");
    } else if q.changed.is_some() {
        ctx.insert("notice", "密码已修改，其他设备上的登录已失效。");
    }
    form_page(&state, &req, "accounts/account.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct PasswordForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
}

#[post("/account/password")]
async fn password_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    form: PageForm<PasswordForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    match accounts::change_password(
        &state,
        &user,
        &form.current_password,
        &form.new_password,
        &client_address(&req),
    )
    .await
    {
        Ok(()) => {
            // The old token is now revoked: issue a fresh one for this browser.
            let issued = state.tokens.issue(user.id, user.role, state.clock.now());
            let max_age = (issued.expires_at - state.clock.now()).num_seconds();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/account?changed=1"))
                .cookie(session_cookie(&req, &issued.token, max_age))
                .finish())
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = account_context(&state, &user).await?;
            ctx.insert("errors", &field_errors(&errors));
            ctx.insert("message", &message);
            Ok(form_page(
                &state,
                &req,
                "accounts/account.html",
                &mut ctx,
                status,
            )?)
        }
    }
}

async fn admin_users_page(
    state: &AppState,
    req: &HttpRequest,
    mut ctx: tera::Context,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let internal = |e: crate::db::DbError| {
        tracing::error!(error = %e, "staff list failed");
        state.page_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "服务暂时不可用",
            "系统繁忙，请稍后再试。",
        )
    };
    let rows = state.db.run(store::list_staff).await.map_err(internal)?;
    let departments = state.db.run(cat::list_departments).await.map_err(internal)?;
    let staff: Vec<AccountView> = rows.iter().map(|a| AccountView::build(state, a, false)).collect();
    ctx.insert("staff", &staff);
    ctx.insert("departments", &departments);
    let roles: Vec<(&str, &str)> = Role::STAFF.iter().map(|r| (r.as_str(), r.label())).collect();
    ctx.insert("roles", &roles);
    if !ctx.contains_key("errors") {
        ctx.insert("errors", &HashMap::<String, String>::new());
        ctx.insert("values", &HashMap::<String, String>::new());
    }
    form_page(state, req, "accounts/admin_users.html", &mut ctx, status)
}

#[get("/admin/users")]
async fn admin_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    _admin: Authed<AdminOnly>,
) -> Result<HttpResponse, PageError> {
    admin_users_page(&state, &req, tera::Context::new(), StatusCode::OK).await
}

#[derive(Deserialize, Validate)]
struct StaffForm {
    csrf_token: String,
    username: String,
    display_name: Option<String>,
    password: String,
    role: String,
    department: Option<String>,
}

#[post("/admin/users")]
async fn admin_users_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    form: PageForm<StaffForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let input = StaffInput {
        username: Some(form.username.clone()),
        password: Some(form.password.clone()),
        role: Some(form.role.clone()),
        department: form.department.clone(),
        display_name: form.display_name.clone(),
    };
    match accounts::create_staff(&state, &admin, input, &client_address(&req)).await {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = tera::Context::new();
            ctx.insert("errors", &field_errors(&errors));
            let values: HashMap<&str, String> = [
                ("username", form.username.clone()),
                ("display_name", form.display_name.clone().unwrap_or_default()),
                ("role", form.role.clone()),
                ("department", form.department.clone().unwrap_or_default()),
            ]
            .into_iter()
            .collect();
            ctx.insert("values", &values);
            ctx.insert("message", &message);
            Ok(admin_users_page(&state, &req, ctx, status).await?)
        }
    }
}

#[derive(Deserialize, Validate)]
struct ToggleForm {
    csrf_token: String,
    action: String,
}

#[post("/admin/users/{id}")]
async fn admin_user_toggle(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Authed<AdminOnly>,
    id: web::Path<i64>,
    form: PageForm<ToggleForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let disable = form.action == "disable";
    if let Err(e) =
        accounts::set_disabled(&state, &admin, id.into_inner(), disable, &client_address(&req)).await
    {
        let (status, message, _) = form_message(&e);
        let mut ctx = tera::Context::new();
        ctx.insert("message", &message);
        return Ok(admin_users_page(&state, &req, ctx, status).await?);
    }
    Ok(see_other("/admin/users"))
}

const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("register", "注册"),
    ("login", "登录"),
    ("logout", "退出"),
    ("password_change", "修改密码"),
    ("account_create", "新建账号"),
    ("account_disable", "停用账号"),
    ("account_enable", "启用账号"),
    ("unmask", "查看个人信息"),
    ("application_submit", "提交申请"),
    ("prefill_read", "读取申请人信息（窗口代填）"),
    ("upload_read", "查看申请材料"),
    ("activate", "激活账号"),
    ("activation_code", "发放激活码"),
    ("counter_start", "窗口登记申请人"),
    ("calendar_year_enter", "录入年度节假日安排"),
];
const AUDIT_OUTCOMES: &[(&str, &str)] = &[
    ("success", "成功"),
    ("failure", "失败"),
    ("throttled", "已限制"),
    ("disabled", "账号停用"),
];

#[get("/admin/audit")]
async fn admin_audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    _admin: Authed<AdminOnly>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let mut errors = Vec::new();
    let (filter, mut paging) = audit_filter(&q, &mut errors);
    paging.per_page = 50;
    let page = state
        .db
        .run(move |c| audit::list(c, &filter, paging))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "audit list failed");
            state.page_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务暂时不可用",
                "系统繁忙，请稍后再试。",
            )
        })?;
    let mut ctx = tera::Context::new();
    ctx.insert("page", &page);
    ctx.insert("pages", &((page.total + paging.per_page - 1) / paging.per_page));
    ctx.insert(
        "filter",
        &serde_json::json!({
            "action": q.action, "actor": q.actor, "outcome": q.outcome, "from": q.from, "to": q.to,
        }),
    );
    ctx.insert("errors", &field_errors(&errors));
    ctx.insert("actions", AUDIT_ACTIONS);
    ctx.insert("outcomes", AUDIT_OUTCOMES);
    form_page(
        &state,
        &req,
        "accounts/admin_audit.html",
        &mut ctx,
        StatusCode::OK,
    )
}
