//! NCompass: receives CloudTrax presence reports, stores every probe request in SQLite,
//! and serves them through a REST API (documented by OpenAPI) and a dashboard.
//!
//! The binary (`src/main.rs`) only parses the command line; everything else lives in
//! this library so that the integration tests run the very same application.

pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod config;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod privacy;
pub mod routes;
pub mod startup;

#[cfg(test)]
mod fault_tests;

// The domain and storage crates, at the paths the rest of the project has always used.
pub use ncompass_core::clock::unix_now;
pub use ncompass_core::{analytics, clock, cloudtrax, mac};
pub use ncompass_store as db;
pub use ncompass_store::backup;
