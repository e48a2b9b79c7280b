//! NCompass: receives CloudTrax presence reports, stores every probe request (SQLite or
//! PostgreSQL), and serves them through a REST API (documented by OpenAPI) and a
//! dashboard.
//!
//! The layers, lowest first; each names only those below it (`tests/layers.rs` checks):
//! - `ncompass_core` (crate `core/`): the domain, pure;
//! - `ncompass_store` (crate `store/`): every SQL statement; re-exported here as [`db`];
//! - [`pipeline`]: ingestion and the other background work; its own errors, no HTTP;
//! - [`http`]: actix-web, routes, auth, OpenAPI, the one error mapping;
//! - [`app`]: the command line, settings and start-up.
//!
//! The binary (`src/main.rs`) only parses the command line; everything else lives in
//! this library so that the integration tests run the very same application.

pub mod app;
pub mod http;
pub mod pipeline;

#[cfg(test)]
mod fault_tests;

// The lower crates, and the modules at the paths the tests, benches and browser tests
// have always used.
pub use app::{accounts, config, startup};
pub use http::{auth, error, openapi, routes};
pub use ncompass_core::clock::unix_now;
pub use ncompass_core::{analytics, clock, cloudtrax, mac, meraki, privacy};
pub use ncompass_store as db;
pub use ncompass_store::backup;
pub use pipeline as ingest;
pub use pipeline::{alerts, metrics};
