//! Applying online (一表申请): the merged form, drafts, uploads typed by content, idempotent submission, and who may read a case.

pub mod api;
pub mod pages;
pub mod service;
