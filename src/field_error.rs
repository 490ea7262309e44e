//! The problem with one input field — a machine-readable `code` and a Chinese `message` —
//! as the domain's checks report it and the web layer returns it. Neutral ground: the
//! domain modules and the web layer both use it, neither owns it.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}
