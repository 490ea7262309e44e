//! The one integration-test binary: real servers on random ports, one database per test,
//! every storage test on SQLite and PostgreSQL.

mod helpers;

mod accounts;
mod applications;
mod architecture;
mod backup;
mod browser;
mod calendar;
mod cases;
mod catalogue_api;
mod certificates;
mod cli;
mod counter;
mod crash;
mod loader;
mod meili;
mod metrics;
mod migrations;
mod openapi;
mod pages;
mod policies;
mod policy_search_contract;
mod privilege;
mod ratings;
mod smart;
mod storage;
