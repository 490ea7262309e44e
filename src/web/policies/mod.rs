//! The enterprise benefit-policy library: search, matching, editing and imports.

pub mod api;
pub mod pages;
