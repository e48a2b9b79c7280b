//! NCompass: receives CloudTrax presence reports, stores every probe request in SQLite,
//! and serves them through a REST API (documented by OpenAPI) and a dashboard.
//!
//! The binary (`src/main.rs`) only parses the command line; everything else lives in
//! this library so that the integration tests run the very same application.

pub mod accounts;
pub mod alerts;
pub mod analytics;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod cloudtrax;
pub mod config;
pub mod db;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod privacy;
pub mod routes;
pub mod startup;

#[cfg(test)]
mod fault_tests;

/// The server's clock as Unix seconds: when a report was received.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
