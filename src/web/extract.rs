//! Request parts every feature reads the same way: JSON bodies (one parser, one Chinese
//! message), and the paging and If-Match headers of the features that use them.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::IntoParams;
use validator::Validate;

use super::error::{ApiError, FieldError};
use crate::store::Paging;

/// A JSON body whose every field is optional (`Default`): an empty body is the default, so
/// that a missing field is reported as a Chinese field error (422) rather than as a parse
/// failure. The value is only reachable through [`JsonBody::validated`], which checks its
/// declared rules (`validator`): after the handler's other extractors (who may call it) have
/// passed, and never forgotten.
pub struct JsonBody<T>(T);

impl<T: Validate> JsonBody<T> {
    pub fn validated(self) -> Result<T, ApiError> {
        self.0
            .validate()
            .map_err(|e| ApiError::Validation(super::validate::field_errors(&e)))?;
        Ok(self.0)
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let raw = bytes.await.map_err(|e| ApiError::BadRequest {
                code: "unreadable_body",
                message: format!("请求体无法读取：{e}"),
            })?;
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Ok(JsonBody(T::default()));
            }
            parse(&raw).map(JsonBody)
        })
    }
}

/// Parses a JSON body; a syntax error or a value of the wrong type is a 400 `invalid_json`
/// saying where.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "值的类型或取值不符合要求",
            serde_json::error::Category::Eof => "内容不完整",
            _ => "格式有误",
        };
        ApiError::BadRequest {
            code: "invalid_json",
            message: format!(
                "请求体不是有效的 JSON：第 {} 行第 {} 列{what}",
                e.line(),
                e.column()
            ),
        }
    })
}

/// The `Idempotency-Key` header of a submission: required, at most 255 characters, so that a
/// retried request cannot file a case twice.
pub struct IdempotencyKey(pub String);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(idempotency_key(req).map(IdempotencyKey))
    }
}

fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::BadRequest {
            code: "idempotency_key_missing",
            message: "提交申请须带 Idempotency-Key 请求头，以免重复提交".into(),
        })?
        .to_owned();
    if key.len() > 255 {
        return Err(ApiError::BadRequest {
            code: "idempotency_key_invalid",
            message: "Idempotency-Key 不能超过 255 个字符".into(),
        });
    }
    Ok(key)
}

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header_param(
            "Idempotency-Key",
            "A key unique to this submission (a UUID); a retry with the same key and body returns \
             the first answer, with another body it is refused",
        )]
    }
}

fn header_param(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// The strong ETag of a versioned record (a case).
pub fn etag(version: u32) -> String {
    format!("\"{version}\"")
}

/// The version the client saw, from `If-Match`: missing is 428, unreadable is 412, so that
/// nobody overwrites a change they have not seen.
pub struct IfMatch(pub u32);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(if_match(req).map(IfMatch))
    }
}

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header_param(
            "If-Match",
            "The case's ETag as last seen; missing → 428, stale → 412",
        )]
    }
}

fn if_match(req: &HttpRequest) -> Result<u32, ApiError> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::PreconditionRequired)?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<u32>()
        .map_err(|_| ApiError::PreconditionFailed { current: None })
}

/// `page` and `per_page` query parameters (text, so that a bad value gets a Chinese error
/// naming the parameter): 1-based, 20 a page by default, at most [`Paging::MAX_PER_PAGE`].
pub fn parse_paging(
    page: &Option<String>,
    per_page: &Option<String>,
    errors: &mut Vec<FieldError>,
) -> Paging {
    let mut number = |name: &str, raw: &Option<String>, default: i64, max: i64| -> i64 {
        match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => default,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        name,
                        "out_of_range",
                        format!("{name} 应为 1 到 {max} 之间的整数"),
                    ));
                    default
                }
            },
        }
    };
    let page = number("page", page, 1, 1_000_000);
    let per_page = number("per_page", per_page, 20, Paging::MAX_PER_PAGE);
    Paging { page, per_page }
}
