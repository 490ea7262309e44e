//! E-certificates (电子证照): issued signed when a department approves its part with a
//! certificate number, returned and verified by anyone through the API and `/verify/{no}`,
//! revoked by the issuing department.

pub mod api;
pub mod pages;
pub mod service;
