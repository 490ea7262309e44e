//! Accounts: registration, login with throttling, logout, password change, and the administrators' staff and audit-log pages.

pub mod api;
pub mod pages;
pub mod service;
