//! onething: "one-thing" bundled government services (一件事套餐服务) for a district
//! administrative service centre. See ARCHITECTURE.md for which module may call which.

pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod certificate;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod deadlines;
pub mod field_error;
pub mod form;
pub mod identity;
pub mod metrics;
pub mod policy;
pub mod registry;
pub mod rules;
pub mod search;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod workflow;
