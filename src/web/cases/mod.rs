//! Cases after submission: the window and department console, transitions under If-Match, due dates and lights, deemed acceptance, 补正 and the applicant's case pages.

pub mod api;
pub mod applicant;
pub mod archive;
pub mod documents;
pub mod pages;
pub mod service;
pub mod supplement;
