//! The public catalogue: bundles, items (service guides), departments and search, as JSON and as pages.

pub mod api;
pub mod pages;
pub mod snapshot;
