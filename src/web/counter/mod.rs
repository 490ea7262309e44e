//! Walk-in filing at the counter (窗口代办) and account activation.

pub mod pages;
pub mod service;
