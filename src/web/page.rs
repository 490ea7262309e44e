//! What every page handler shares: rendering a form page with its CSRF token, the
//! redirect after a POST, and turning a failed operation into a page or form errors.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::auth::csrf_token;
use super::error::{ApiError, FieldError, PageError};
use super::AppState;

/// A posted page form (URL-encoded, as `web::Form`). Its value is reachable only through
/// [`PageForm::checked`] (for forms that show the problems beside their fields) or
/// [`PageForm::valid`] (for the rest), so its declared rules (`validator`) are never skipped.
pub struct PageForm<T>(T);

impl<T: DeserializeOwned + 'static> FromRequest for PageForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move { Ok(PageForm(form.await?.into_inner())) })
    }
}

impl<T: Validate> PageForm<T> {
    /// The form and the problems its rules find, for a page that shows them per field.
    pub fn checked(self) -> (T, Vec<FieldError>) {
        let errors = self
            .0
            .validate()
            .err()
            .map(|e| super::validate::field_errors(&e))
            .unwrap_or_default();
        (self.0, errors)
    }

    /// The form if its rules hold, else a 400 page that says what was wrong.
    pub fn valid(self, state: &AppState) -> Result<T, PageError> {
        let (form, errors) = self.checked();
        if errors.is_empty() {
            return Ok(form);
        }
        let detail: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        Err(state.page_error(
            StatusCode::BAD_REQUEST,
            "提交的内容有误",
            &format!("{}。请返回上一页修改后重新提交。", detail.join("；")),
        ))
    }
}

/// Renders `template` with a CSRF token, setting the CSRF cookie when the browser has none.
pub fn form_page(
    state: &AppState,
    req: &HttpRequest,
    template: &str,
    ctx: &mut tera::Context,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (token, cookie) = csrf_token(req);
    ctx.insert("csrf_token", &token);
    let mut resp = state.render(template, ctx)?;
    *resp.status_mut() = status;
    if let Some(c) = cookie {
        resp.add_cookie(&c).map_err(|_| {
            state.page_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "页面暂时无法显示",
                "请稍后再试。",
            )
        })?;
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// A failed operation as an error page.
pub fn page_err(state: &AppState, e: ApiError) -> PageError {
    let (status, message, _) = form_message(&e);
    let title = if status == StatusCode::NOT_FOUND {
        "页面不存在"
    } else {
        "无法完成操作"
    };
    state.page_error(status, title, &message)
}

/// Every message of each field, in order, joined into the one line shown beside it (a form
/// of many lines can have several problems in one field).
pub fn field_errors(errors: &[FieldError]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = HashMap::new();
    for e in errors {
        map.entry(e.field.clone())
            .and_modify(|m| {
                m.push('；');
                m.push_str(&e.message);
            })
            .or_insert_with(|| e.message.clone());
    }
    map
}

/// 303 to `location`: the answer to a successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// A page-side failure of an account operation: field errors stay on the form, anything
/// else becomes a message at the top of it.
pub fn form_message(e: &ApiError) -> (StatusCode, String, Vec<FieldError>) {
    use actix_web::ResponseError;
    match e {
        ApiError::Validation(errs) | ApiError::Conflict(errs) => {
            (e.status_code(), "请按提示修改后重新提交。".into(), errs.clone())
        }
        ApiError::Unauthorized { message, .. } | ApiError::Forbidden(message) => {
            (e.status_code(), message.clone(), vec![])
        }
        ApiError::TooManyRequests { message, .. } => (StatusCode::TOO_MANY_REQUESTS, message.clone(), vec![]),
        ApiError::BadRequest { message, .. }
        | ApiError::NotFound(message)
        | ApiError::PayloadTooLarge(message) => (e.status_code(), message.clone(), vec![]),
        ApiError::InvalidQuery(errs) => (StatusCode::BAD_REQUEST, "请求有误。".into(), errs.clone()),
        ApiError::PreconditionRequired | ApiError::PreconditionFailed { .. } => (
            e.status_code(),
            "该办件已被他人更新，请刷新后再操作。".into(),
            vec![],
        ),
        ApiError::Failed { what, cause } => {
            tracing::error!(what, cause = %cause, "page operation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "系统繁忙，请稍后再试。".into(),
                vec![],
            )
        }
        ApiError::Calendar(err) | ApiError::Internal(crate::db::DbError::Calendar(err)) => {
            tracing::error!(error = %err, "a deadline could not be counted");
            (e.status_code(), "办理时限无法计算，请联系管理员。".into(), vec![])
        }
        ApiError::Internal(err) => {
            tracing::error!(error = %err, "account operation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "系统繁忙，请稍后再试。".into(),
                vec![],
            )
        }
    }
}

/// A QR code (inline SVG) of the page at `path` on this server, for printed pages: whoever
/// holds the paper reaches the current version.
pub fn page_qr(req: &HttpRequest, path: &str, size: u32) -> String {
    let info = req.connection_info();
    let url = format!("{}://{}{path}", info.scheme(), info.host());
    qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(size, size)
                .build()
        })
        .unwrap_or_default()
}
