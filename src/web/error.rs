//! The one error type at the HTTP boundary. API errors are JSON with a machine-readable
//! `code` and a Chinese `message` (and per-field errors); page errors are rendered pages.
//! The full cause of an internal error is logged, never shown.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::DbError;
pub use crate::field_error::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid query")]
    InvalidQuery(Vec<FieldError>),
    #[error("bad request: {message}")]
    BadRequest { code: &'static str, message: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("conflict")]
    Conflict(Vec<FieldError>),
    #[error("unauthorized: {code}")]
    Unauthorized { code: &'static str, message: String },
    #[error("forbidden")]
    Forbidden(String),
    #[error("precondition required")]
    PreconditionRequired,
    #[error("precondition failed")]
    PreconditionFailed { current: Option<u32> },
    #[error("payload too large")]
    PayloadTooLarge(String),
    #[error("too many requests")]
    TooManyRequests { retry_after: i64, message: String },
    #[error(transparent)]
    Internal(#[from] DbError),
    /// A failure that is not the database's (a file, the search engine, an export, a
    /// background task, stored data that cannot be decrypted): 500, the cause logged.
    #[error("{what} failed: {cause}")]
    Failed { what: &'static str, cause: String },
    /// A deadline could not be counted: shown, never turned into a missing date.
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
}

impl ApiError {
    /// Whether the database refused a write for a value that must be unique.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            ApiError::Internal(crate::db::DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            )))
        )
    }

    pub fn failed(what: &'static str, cause: impl std::fmt::Display) -> Self {
        ApiError::Failed {
            what,
            cause: cause.to_string(),
        }
    }
}

/// The body of every API error.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// Machine-readable, e.g. `not_found`, `validation_failed`.
    #[schema(example = "not_found")]
    code: &'a str,
    /// Simplified Chinese, for the person.
    #[schema(example = "未找到编码为 x 的一件事套餐")]
    message: &'a str,
    /// One entry per offending field or query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldError>>)]
    errors: Option<&'a [FieldError]>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidQuery(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::Internal(_) | ApiError::Calendar(_) | ApiError::Failed { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let calendar_message;
        let (code, message, errors): (&str, &str, Option<&[FieldError]>) = match self {
            // Straight from the calendar, or from a count inside a transaction.
            ApiError::Calendar(e) | ApiError::Internal(DbError::Calendar(e)) => {
                tracing::error!(error = %e, "a deadline could not be counted");
                calendar_message = match e {
                    crate::calendar::CalendarError::YearNotCovered(year) => {
                        format!("办理时限无法计算：{year} 年的节假日安排未载入，请联系管理员录入")
                    }
                    _ => "办理时限无法计算：工作日日历有误，请联系管理员".to_owned(),
                };
                ("calendar_error", calendar_message.as_str(), None)
            }
            ApiError::NotFound(m) => ("not_found", m, None),
            ApiError::InvalidQuery(errs) => ("invalid_query", "查询参数有误，请检查后重试", Some(errs)),
            ApiError::BadRequest { code, message } => (code, message, None),
            ApiError::Validation(errs) => ("validation_failed", "提交的信息有误，请按提示修改", Some(errs)),
            ApiError::Conflict(errs) => ("conflict", "提交的信息与已有记录冲突", Some(errs)),
            ApiError::Unauthorized { code, message } => (code, message, None),
            ApiError::Forbidden(m) => ("forbidden", m, None),
            ApiError::TooManyRequests { message, .. } => ("too_many_requests", message, None),
            ApiError::PayloadTooLarge(m) => ("payload_too_large", m, None),
            ApiError::PreconditionRequired => (
                "if_match_required",
                "请在 If-Match 请求头中带上您所看到的办件版本（ETag），以免覆盖他人的操作",
                None,
            ),
            ApiError::PreconditionFailed { .. } => (
                "version_conflict",
                "该办件已被他人更新，请刷新后查看最新状态再操作",
                None,
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                ("internal_error", "服务器内部错误，请稍后再试", None)
            }
            ApiError::Failed { what, cause } => {
                tracing::error!(what, cause = %cause, "internal failure");
                ("internal_error", "服务器内部错误，请稍后再试", None)
            }
        };
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::TooManyRequests { retry_after, .. } = self {
            response.insert_header(("Retry-After", retry_after.to_string()));
        }
        if let ApiError::PreconditionFailed { current: Some(v) } = self {
            response.insert_header(("ETag", format!("\"{v}\"")));
        }
        response.json(ErrorBody {
            code,
            message,
            errors,
        })
    }
}

/// An error while rendering a page: the status and the Chinese text shown to the visitor.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {title}")]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub body: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("text/html; charset=utf-8")
            .body(self.body.clone())
    }
}
