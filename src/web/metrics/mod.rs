//! The KPI dashboard: reports, charts and exports.

pub mod api;
pub mod pages;
pub mod service;
