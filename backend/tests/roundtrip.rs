//! Property: any valid report posted to the webhook comes back from the API unchanged
//! (in canonical form), one row per distinct observation. On SQLite and, when the run
//! has one (`NCOMPASS_TEST_POSTGRES`), on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use ncompass::config::Settings;
use ncompass::ingest::Durability;
use ncompass::startup::Application;
use proptest::prelude::*;
use serde_json::{json, Value};

mod support;

/// The real app on its own thread (its own actix runtime), for proptest's sync cases;
/// stopped when the returned handle is dropped.
fn spawn_app(dir: &tempfile::TempDir) -> (ncompass::app::startup::Background, String) {
    let settings = Settings {
        // Its own database on the run's PostgreSQL server when there is one
        // (scripts/test-postgres.sh), else a file.
        database: match support::postgres() {
            Some(server) => support::create_database(
                &server,
                &format!("ncompass_roundtrip_{}", std::process::id()),
            ),
            None => dir
                .path()
                .join("roundtrip.db")
                .to_str()
                .unwrap()
                .to_string(),
        },
        bind: "127.0.0.1:0".to_string(),
        secret: Vec::new(),
        secret_on_command_line: false,
        max_body: 1024 * 1024,
        meraki_max_body: 16 * 1024 * 1024,
        queue_limit: 200_000,
        durability: Durability::Normal,
        max_span: std::time::Duration::from_secs(3_600),
        body_timeout: std::time::Duration::from_secs(10),
        reply_timeout: std::time::Duration::from_secs(30),
        analytics_concurrency: None,
        public_url: None,
        trusted_proxy: Vec::new(),
        mac_privacy: ncompass::privacy::MacPrivacy::Raw,
        mac_key_file: None,
        keep_probe_requests: None,
        keep_presence: None,
        silence_after: std::time::Duration::from_secs(300),
        alert_webhook: Vec::new(),
        alert_secret: None,
        max_connections: 1024,
        max_exports: 4,
        group_readable: false,
        static_dir: PathBuf::from("none"),
        oui_file: PathBuf::from("no-oui-file-here"),
        log: "warn".to_string(),
    };
    let server = Application::spawn(&settings, ncompass::clock::Clock::system()).unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    (server, base)
}

/// A MAC in any of the spellings the contract allows.
fn mac_text() -> impl Strategy<Value = ([u8; 6], String)> {
    (any::<[u8; 6]>(), any::<bool>(), any::<bool>()).prop_map(|(octets, dashes, upper)| {
        let text = octets
            .iter()
            .map(|o| {
                if upper {
                    format!("{o:02X}")
                } else {
                    format!("{o:02x}")
                }
            })
            .collect::<Vec<_>>()
            .join(if dashes { "-" } else { ":" });
        (octets, text)
    })
}

fn canonical(octets: [u8; 6]) -> String {
    octets
        .iter()
        .map(|o| format!("{o:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug, Clone)]
struct Probe {
    mac: ([u8; 6], String),
    count: i64,
    signals: (i64, i64, i64),
    last_seen_signal: Option<i64>,
    first_seen: i64,
    duration: i64,
    associated: bool,
}

fn probe() -> impl Strategy<Value = Probe> {
    (
        mac_text(),
        0..=i64::MAX,
        (-128i64..=0, -128i64..=0, -128i64..=0),
        proptest::option::of(-128i64..=0),
        // Up to late 2025: a last_seen more than a day after now is refused.
        0..=1_764_000_000i64,
        0..=3_600i64,
        any::<bool>(),
    )
        .prop_map(
            |(mac, count, signals, last_seen_signal, first_seen, duration, associated)| Probe {
                mac,
                count,
                signals,
                last_seen_signal,
                first_seen,
                duration,
                associated,
            },
        )
}

/// A stored row as the API returns it, without its id.
type Row = (
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    bool,
    bool,
    i64,
    String,
);

fn expected(network_id: i64, node: [u8; 6], probes: &[Probe]) -> BTreeSet<Row> {
    // One row per distinct observation (client, first_seen, last_seen): the first wins.
    let mut seen = BTreeSet::new();
    probes
        .iter()
        .filter(|p| seen.insert((p.mac.0, p.first_seen, p.first_seen + p.duration)))
        .map(|p| {
            (
                canonical(p.mac.0),
                p.count,
                p.signals.0,
                p.signals.1,
                p.signals.2,
                p.last_seen_signal,
                p.first_seen,
                p.first_seen + p.duration,
                p.associated,
                p.mac.0[0] & 2 != 0,
                network_id,
                canonical(node),
            )
        })
        .collect()
}

fn returned(item: &Value) -> Row {
    (
        item["mac"].as_str().unwrap().to_string(),
        item["count"].as_i64().unwrap(),
        item["min_signal"].as_i64().unwrap(),
        item["max_signal"].as_i64().unwrap(),
        item["avg_signal"].as_i64().unwrap(),
        item["last_seen_signal"].as_i64(),
        item["first_seen"].as_i64().unwrap(),
        item["last_seen"].as_i64().unwrap(),
        item["associated"].as_bool().unwrap(),
        item["randomized"].as_bool().unwrap(),
        item["network_id"].as_i64().unwrap(),
        item["node_mac"].as_str().unwrap().to_string(),
    )
}

/// 64 random valid reports, each posted and read back, against one server that stops
/// (its thread joined) before the test returns.
#[test]
fn any_valid_report_round_trips_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = spawn_app(&dir);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let reports = (
        0..=i64::MAX,
        mac_text(),
        proptest::collection::vec(probe(), 0..40),
    );
    let outcome = runner.run(&reports, |(network_id, node, probes)| {
        let body = json!({
            "network_id": network_id,
            "node_mac": node.1,
            "version": 1,
            "probe_requests": probes.iter().map(|p| json!({
                "mac": p.mac.1,
                "count": p.count,
                "min_signal": p.signals.0,
                "max_signal": p.signals.1,
                "avg_signal": p.signals.2,
                "last_seen_signal": p.last_seen_signal,
                "first_seen": p.first_seen,
                "last_seen": p.first_seen + p.duration,
                "associated": p.associated,
                "vendor_extension": {"ignored": true},
            })).collect::<Vec<_>>(),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (answer, page) = runtime.block_on(async {
            let client = reqwest::Client::new();
            let answer: Value = client
                .post(format!("{base}/receive"))
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let page: Value = client
                .get(format!(
                    "{base}/api/v1/probe-requests?limit=1000&network_id={network_id}&node_mac={}",
                    canonical(node.0)
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (answer, page)
        });
        let want = expected(network_id, node.0, &probes);
        prop_assert_eq!(
            answer["stored"].as_u64(),
            Some(want.len() as u64),
            "{}",
            answer
        );
        prop_assert_eq!(
            answer["duplicates"].as_u64(),
            Some((probes.len() - want.len()) as u64)
        );
        let got: BTreeSet<Row> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(returned)
            .collect();
        prop_assert_eq!(got, want);
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
