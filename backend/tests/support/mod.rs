//! What several integration test binaries share (each includes this file as a module):
//! the PostgreSQL server of the test run, and the reports that the crash and cluster
//! tests post, with the check that each is stored whole or not at all.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;

pub mod receiver;

/// The PostgreSQL server the tests run against, when `NCOMPASS_TEST_POSTGRES` names
/// one (a URL of its maintenance database, e.g.
/// `postgres://postgres:pw@localhost:5433/postgres`; `make test` sets it on a
/// throwaway cluster, scripts/test-postgres.sh). Unset: SQLite.
pub fn postgres() -> Option<String> {
    std::env::var("NCOMPASS_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Creates the database `name` on `server` and returns its URL (the server URL's
/// parameters, such as `sslmode`, kept).
pub fn create_database(server: &str, name: &str) -> String {
    let mut conn = ncompass::db::connect(server).unwrap();
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (address, parameters) = match server.split_once('?') {
        Some((address, parameters)) => (address, format!("?{parameters}")),
        None => (server, String::new()),
    };
    let (base, _) = address.rsplit_once('/').unwrap();
    format!("{base}/{name}{parameters}")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Client observations in each posted report.
pub const PROBES_PER_REPORT: u32 = 20;

/// The access point of report `sequence` of `poster`: one of its own per report.
pub fn node_mac(poster: u32, sequence: u32) -> String {
    format!(
        "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
        poster,
        (sequence >> 16) & 0xff,
        (sequence >> 8) & 0xff,
        sequence & 0xff
    )
}

/// A report of its own access point, whose clients are the same in every report (so
/// replays and neighbours contend for the same keys in the presence).
pub fn body(poster: u32, sequence: u32) -> String {
    let probes: Vec<_> = (0..PROBES_PER_REPORT)
        .map(|i| {
            json!({
                "mac": format!("00:11:22:33:44:{i:02x}"), "count": 1,
                "min_signal": -80, "max_signal": -60, "avg_signal": -70,
                "first_seen": 1_700_000_000 + i64::from(sequence),
                "last_seen": 1_700_000_030 + i64::from(sequence),
                "associated": false
            })
        })
        .collect();
    json!({"network_id": 1, "node_mac": node_mac(poster, sequence), "version": 1, "probe_requests": probes})
        .to_string()
}

#[derive(QueryableByName)]
struct NodeRows {
    #[diesel(sql_type = Text)]
    node_mac: String,
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// Rows per access point, straight from the database.
pub fn rows_per_node(database: &str) -> HashMap<String, i64> {
    let mut conn = ncompass::db::connect(database).unwrap();
    diesel::sql_query("SELECT node_mac, count(*) AS rows FROM probe_requests GROUP BY node_mac")
        .load::<NodeRows>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| (row.node_mac, row.rows))
        .collect()
}

/// Every acknowledged report is stored whole, and no report in part. Returns how many
/// reports are stored.
pub fn assert_whole(database: &str, acknowledged: &HashSet<String>) -> usize {
    let stored = rows_per_node(database);
    for node in acknowledged {
        assert_eq!(
            stored.get(node),
            Some(&i64::from(PROBES_PER_REPORT)),
            "acknowledged report {node} is not stored whole"
        );
    }
    for (node, rows) in &stored {
        assert_eq!(
            *rows,
            i64::from(PROBES_PER_REPORT),
            "report {node} is stored in part"
        );
    }
    stored.len()
}

/// The sample report of the original receiver's README.
pub const SAMPLE: &str = include_str!("../../../core/samples/sample-v1.json");

/// The sample's client MACs, canonical; the third is randomized (locally administered).
pub const SAMPLE_MACS: [&str; 5] = [
    "14:2d:27:29:16:f7",
    "48:5a:3f:37:de:f7",
    "4e:20:5d:18:d0:ab",
    "68:96:7b:c8:8b:e9",
    "80:19:34:b8:bc:1c",
];
