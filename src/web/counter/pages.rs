//! Counter pages: the window clerk verifies a walk-in applicant's identity (finding or
//! registering the account), chooses the bundle and fills the merged form for them; the
//! applicant's page to set a password with the activation code printed at the counter.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use validator::Validate;

use crate::store::{accounts as account_store, counter as store};
use crate::web::accounts::pages::register_context;
use crate::web::accounts::service::RegisterInput;
use crate::web::auth::{client_address, require_csrf, AnyUser, Authed, CurrentUser};
use crate::web::counter::service as counter;
use crate::web::error::{ApiError, PageError};
use crate::web::page::{field_errors, form_message, form_page, page_err, PageForm};
use crate::web::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(counter_page)
        .service(counter_submit)
        .service(activate_page)
        .service(activate_submit);
}

fn window_only(state: &AppState, user: &CurrentUser) -> Result<(), PageError> {
    if user.is_window_clerk() {
        Ok(())
    } else {
        Err(state.page_error(
            StatusCode::FORBIDDEN,
            "没有访问权限",
            "只有综窗人员或管理员可以代为登记。",
        ))
    }
}

#[derive(Deserialize)]
struct KindQuery {
    kind: Option<String>,
}

/// The counter page: the open session's applicant with the bundles they may apply for, or
/// the identity form to start one.
async fn counter_context(
    state: &AppState,
    user: &CurrentUser,
    kind: &str,
) -> Result<tera::Context, PageError> {
    let clerk = user.id;
    let applicant = state
        .db
        .run(move |c| match store::current(c, clerk)? {
            Some(id) => account_store::get(c, id),
            None => Ok(None),
        })
        .await
        .map_err(|e| page_err(state, e.into()))?;
    let mut ctx = register_context(kind);
    match applicant {
        Some(a) => {
            let audience = if a.kind == "enterprise" {
                "enterprise"
            } else {
                "personal"
            };
            let filter = crate::store::catalogue::BundleFilter {
                audience: Some(audience.into()),
                ..Default::default()
            };
            let bundles = state
                .db
                .run(move |c| {
                    crate::store::catalogue::list_bundles(
                        c,
                        &filter,
                        crate::store::Paging {
                            page: 1,
                            per_page: crate::store::Paging::MAX_PER_PAGE,
                        },
                    )
                })
                .await
                .map_err(|e| page_err(state, e.into()))?;
            ctx.insert(
                "applicant",
                &serde_json::json!({"id": a.id, "name": a.display_name, "kind": a.kind}),
            );
            ctx.insert("bundles", &bundles.items);
        }
        None => ctx.insert("applicant", &Option::<()>::None),
    }
    Ok(ctx)
}

#[get("/staff/counter")]
async fn counter_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    q: web::Query<KindQuery>,
) -> Result<HttpResponse, PageError> {
    window_only(&state, &user)?;
    let mut ctx = counter_context(&state, &user, q.kind.as_deref().unwrap_or("citizen")).await?;
    form_page(&state, &req, "counter/counter.html", &mut ctx, StatusCode::OK)
}

#[derive(Deserialize, Validate)]
struct CounterForm {
    csrf_token: String,
    action: String,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

#[post("/staff/counter")]
async fn counter_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authed<AnyUser>,
    form: PageForm<CounterForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    window_only(&state, &user)?;
    let f = &form.fields;
    let kind = f.get("kind").cloned().unwrap_or_else(|| "citizen".into());
    let outcome: Result<Option<String>, ApiError> = match form.action.as_str() {
        "start" => {
            let get = |k: &str| f.get(k).cloned();
            let input = RegisterInput {
                kind: get("kind"),
                name: get("name"),
                id_number: get("id_number"),
                phone: get("phone"),
                password: None,
                uscc: get("uscc"),
                legal_representative: get("legal_representative"),
                contact_name: get("contact_name"),
                industry: get("industry"),
                scale: get("scale"),
            };
            match counter::find_or_register(&state, input, client_address(&req)).await {
                Ok((id, created)) => match counter::start(&state, &user, id).await {
                    Ok(()) if created => counter::issue_activation_code(&state, &user, id).await.map(Some),
                    Ok(()) => Ok(None),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }
        }
        "code" => {
            let clerk = user.id;
            let current = state
                .db
                .run(move |c| store::current(c, clerk))
                .await
                .map_err(ApiError::from)?;
            match current {
                Some(id) => counter::issue_activation_code(&state, &user, id).await.map(Some),
                None => Err(ApiError::BadRequest {
                    code: "no_counter_session",
                    message: "请先核验申请人身份".into(),
                }),
            }
        }
        "end" => counter::end(&state, &user).await.map(|()| None),
        _ => Err(ApiError::BadRequest {
            code: "unknown_action",
            message: "未知的操作".into(),
        }),
    };
    match outcome {
        Ok(code) => {
            let mut ctx = counter_context(&state, &user, &kind).await?;
            // Shown once, on this response only, to be printed for the applicant.
            ctx.insert("activation_code", &code);
            ctx.insert("activation_days", &counter::ACTIVATION_DAYS);
            Ok(form_page(
                &state,
                &req,
                "counter/counter.html",
                &mut ctx,
                StatusCode::OK,
            )?)
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            let mut ctx = counter_context(&state, &user, &kind).await?;
            let errors: Vec<_> = errors
                .into_iter()
                .map(|mut e| {
                    e.field = e.field.trim_start_matches("applicant.").to_owned();
                    e
                })
                .collect();
            let mut values = f.clone();
            values.remove("csrf_token");
            ctx.insert("values", &values);
            ctx.insert("errors", &field_errors(&errors));
            ctx.insert("message", &message);
            Ok(form_page(&state, &req, "counter/counter.html", &mut ctx, status)?)
        }
    }
}

fn activate_context() -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("errors", &HashMap::<String, String>::new());
    ctx.insert("values", &HashMap::<String, String>::new());
    ctx
}

#[get("/activate")]
async fn activate_page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    form_page(
        &state,
        &req,
        "counter/activate.html",
        &mut activate_context(),
        StatusCode::OK,
    )
}

#[derive(Deserialize, Validate)]
struct ActivateForm {
    csrf_token: String,
    login: String,
    code: String,
    password: String,
}

#[post("/activate")]
async fn activate_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ActivateForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let form = form.valid(&state)?;
    require_csrf(&req, &form.csrf_token)?;
    let mut ctx = activate_context();
    match counter::activate(
        &state,
        &form.login,
        &form.code,
        &form.password,
        client_address(&req),
    )
    .await
    {
        Ok(()) => {
            ctx.insert("done", &true);
            Ok(form_page(
                &state,
                &req,
                "counter/activate.html",
                &mut ctx,
                StatusCode::OK,
            )?)
        }
        Err(e) => {
            let (status, message, errors) = form_message(&e);
            ctx.insert(
                "values",
                &HashMap::from([("login", form.login.clone()), ("code", form.code.clone())]),
            );
            ctx.insert("errors", &field_errors(&errors));
            ctx.insert("message", &message);
            Ok(form_page(
                &state,
                &req,
                "counter/activate.html",
                &mut ctx,
                status,
            )?)
        }
    }
}
