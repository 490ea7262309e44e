//! 好差评: ratings of finished cases and the follow-up of negative ones.

pub mod api;
pub mod pages;
pub mod service;
