//! Smart approval (智慧审批): the automatic path run at submission, the decisions kept with
//! their explanations, and the audit of registry lookups.

pub mod api;
pub mod benefits;
pub mod service;
