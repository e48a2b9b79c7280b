//! Integration tests: each starts the real application on a free port with its own
//! SQLite file in a temp dir, and talks HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod completeness;
mod contract;
mod dashboard;
mod deploy;
mod docs;
mod estimators;
mod export;
mod ground_truth;
mod hardening;
mod helpers;
mod hours;
mod ingestion;
mod meraki;
mod places;
mod privacy;
mod probe_requests;
mod stats;
#[path = "../support/mod.rs"]
mod support;
mod vendors;
mod webhook;
