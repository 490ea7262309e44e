//! Request validation with `validator`: the rules are declared on the request structs
//! (`#[derive(Validate)]`); those that need the domain are the custom validators here, each
//! calling the `identity` type that owns the rule. [`field_errors`] turns the result into
//! the API's error shape: one entry per field, a machine-readable code, a Chinese message.

use std::borrow::Cow;

use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::field_error::FieldError;
use crate::identity::{self, Invalid};

/// Every problem of a request, by field path (`applicant.phone`, `departments[1].level`),
/// in a stable order.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| {
                FieldError::new(
                    path.clone(),
                    e.code.to_string(),
                    e.message.as_deref().unwrap_or("填写的内容不符合要求").to_owned(),
                )
            })),
            ValidationErrorsKind::Struct(inner) => collect(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

/// A domain refusal as a validation error with the domain's code and Chinese message.
fn refused(e: Invalid) -> ValidationError {
    ValidationError::new(e.code).with_message(Cow::Owned(e.message))
}

/// GB 11643 resident ID number: format, region, birth date and check digit. Whether the
/// birth date is in the past is decided when the value is parsed with today's date.
pub fn id_number(v: &str) -> Result<(), ValidationError> {
    identity::IdNumber::parse(v, chrono::NaiveDate::MAX)
        .map(drop)
        .map_err(refused)
}

/// GB 32100 Unified Social Credit Code with its check character.
pub fn uscc(v: &str) -> Result<(), ValidationError> {
    identity::Uscc::parse(v).map(drop).map_err(refused)
}

/// A mainland mobile number.
pub fn mobile(v: &str) -> Result<(), ValidationError> {
    identity::Mobile::parse(v).map(drop).map_err(refused)
}

/// A GB/T 4754-2017 industry code.
pub fn industry(v: &str) -> Result<(), ValidationError> {
    identity::parse_industry(v).map(drop).map_err(refused)
}

/// An enterprise scale (工信部联企业〔2011〕300号).
pub fn scale(v: &str) -> Result<(), ValidationError> {
    identity::Scale::parse(v).map(drop).map_err(refused)
}

/// The password rule.
pub fn password(v: &str) -> Result<(), ValidationError> {
    identity::check_password(v).map_err(refused)
}

/// A GB/T 2260 region code of the region table.
pub fn region(v: &str) -> Result<(), ValidationError> {
    match crate::policy::regions::name(v.trim()) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("unknown_region").with_message(Cow::Borrowed(
            "地区代码不在地区表中，应为行政区划代码，如 350112（长乐区）",
        ))),
    }
}

/// An error for one field, for the rules a struct checks as a whole.
pub fn problem(code: &'static str, message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use validator::Validate;

    #[derive(Validate)]
    struct Inner {
        #[validate(custom(function = "mobile"))]
        phone: Option<String>,
    }

    #[derive(Validate)]
    struct Outer {
        #[validate(required(code = "required", message = "请填写姓名"))]
        name: Option<String>,
        #[validate(nested)]
        applicant: Inner,
        #[validate(nested)]
        people: Vec<Inner>,
    }

    #[test]
    fn nested_and_listed_problems_are_named_by_their_path_with_the_domain_message() {
        let bad = || Inner {
            phone: Some("123".into()),
        };
        let outer = Outer {
            name: None,
            applicant: bad(),
            people: vec![
                Inner {
                    phone: Some("13800138000".into()),
                },
                bad(),
            ],
        };
        let errors = field_errors(&outer.validate().expect_err("three problems"));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["applicant.phone", "name", "people[1].phone"]);
        let mobile_message = identity::Mobile::parse("123").expect_err("bad").message;
        assert_eq!(errors[0].message, mobile_message);
        assert_eq!(errors[1].code, "required");
        assert_eq!(errors[1].message, "请填写姓名");
    }

    #[test]
    fn an_id_number_is_checked_by_the_identity_rule() {
        assert!(id_number("11010519491231002X").is_ok());
        let e = id_number("110105194912310021").expect_err("wrong check digit");
        assert_eq!(
            e.code,
            identity::IdNumber::parse("110105194912310021", chrono::NaiveDate::MAX)
                .expect_err("bad")
                .code
        );
    }
}
