//! The working-day calendar as people meet it: the public API (`add-working-days`, the
//! list of years with their source), and the administrators' page and API that enter an
//! official year from the State Council's notice (`service`).

pub mod api;
pub mod pages;
pub mod service;
