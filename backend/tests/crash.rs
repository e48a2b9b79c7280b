//! Crash safety: the real binary is killed with SIGKILL in the middle of sustained
//! ingestion, then restarted on the same database. Every report answered 2xx must be
//! there whole, and no report may be there in part. On SQLite (a file) and, when the
//! run has one (`NCOMPASS_TEST_POSTGRES`, see scripts/test-postgres.sh), on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};

mod support;

use support::receiver::receiver_on;
use support::{assert_whole, body, free_port, node_mac};

const POSTERS: u32 = 8;

/// Starts `ncompass serve` on `database` and waits until it answers. The caller kills
/// and waits for the child it gets back.
async fn start(database: &str, port: u16) -> Child {
    start_with(database, port, &[]).await
}

/// [`start`] with more settings in its environment (`NCOMPASS_*`, as a systemd unit
/// gives them). The caller kills and waits for the child it gets back (clippy cannot
/// follow it out of this function).
#[allow(clippy::zombie_processes)]
async fn start_with(database: &str, port: u16, env: &[(&str, &str)]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ncompass"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log",
            "warn",
        ])
        .arg("--database")
        .arg(database)
        .arg("--static-dir")
        .arg("/nonexistent/no-dashboard")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = client
            .get(format!("http://127.0.0.1:{port}/api/v1/health"))
            .send()
            .await;
        if health.is_ok_and(|r| r.status() == 200) {
            return child;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the server did not start");
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The test's database: one of its own on the run's PostgreSQL server when there is
/// one, else a file in `dir`.
fn new_database(dir: &tempfile::TempDir, test: &str) -> String {
    match support::postgres() {
        Some(server) => support::create_database(
            &server,
            &format!("ncompass_crash_{}_{test}", std::process::id()),
        ),
        None => dir
            .path()
            .join(format!("{test}.db"))
            .to_str()
            .unwrap()
            .to_string(),
    }
}

#[derive(QueryableByName)]
struct Mismatch {
    #[diesel(sql_type = BigInt)]
    mismatched: i64,
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = BigInt)]
    pending: i64,
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[actix_web::test]
async fn sigkill_during_ingestion_loses_no_acknowledged_report_and_stores_none_in_part() {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(&dir, "sigkill");
    let port = free_port();
    let mut server = start(&database, port).await;

    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let posters: Vec<_> = (0..POSTERS)
        .map(|poster| {
            let acknowledged = Arc::clone(&acknowledged);
            let stop = Arc::clone(&stop);
            let client = client.clone();
            actix_web::rt::spawn(async move {
                // Bounded: at most 100,000 reports, and only until the server dies.
                for sequence in 0..100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let sent = client
                        .post(format!("http://127.0.0.1:{port}/receive"))
                        .body(body(poster, sequence))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            acknowledged
                                .lock()
                                .unwrap()
                                .insert(node_mac(poster, sequence));
                        }
                        Ok(response) => panic!("unexpected {}", response.status()),
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();

    // Let ingestion run, then kill the server in the middle of it.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for poster in posters {
        poster.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 20,
        "ingestion was under way: {} reports",
        acknowledged.len()
    );

    // Restart on the same file: it opens, recovers the WAL and serves.
    let mut server = start(&database, port).await;
    {
        let mut conn = ncompass::db::connect(&database).unwrap();
        if support::postgres().is_none() {
            let integrity = diesel::sql_query("PRAGMA integrity_check")
                .get_result::<Integrity>(&mut conn)
                .unwrap();
            assert_eq!(integrity.integrity_check, "ok");
        }
        // Every report record matches the rows it stored.
        let mismatched = diesel::sql_query(
            "SELECT count(*) AS mismatched FROM reports r WHERE r.stored_count != \
             (SELECT count(*) FROM probe_requests p WHERE p.report_id = r.id)",
        )
        .get_result::<Mismatch>(&mut conn)
        .unwrap();
        assert_eq!(
            mismatched.mismatched, 0,
            "a report record disagrees with its rows"
        );
    }
    let stored = assert_whole(&database, &acknowledged);
    eprintln!(
        "{} reports acknowledged before SIGKILL, {} stored (the rest were in flight)",
        acknowledged.len(),
        stored
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The lower-case hex HMAC-SHA256 of `body` under `secret`, computed here rather than
/// by the server's own function.
fn signed(secret: &str, body: &str) -> String {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// An alert not yet delivered when the server is SIGKILLed is delivered after the
/// restart: the outbox is in the database, not in the process (at least once). The
/// server is set up through its environment: two receivers in NCOMPASS_ALERT_WEBHOOK
/// (comma separated), NCOMPASS_SILENCE_AFTER, NCOMPASS_ALERT_SECRET.
#[actix_web::test]
async fn an_alert_pending_at_sigkill_is_delivered_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = new_database(&dir, "alert");
    // Nobody listens on the first yet: every attempt fails (connection refused).
    let receiver_port = free_port();
    let up = receiver_on(0, 0, false).await;
    let hooks = format!("http://127.0.0.1:{receiver_port}/hook,{}", up.url);
    let secret = "alert-secret";
    let env = [
        ("NCOMPASS_SILENCE_AFTER", "1s"),
        ("NCOMPASS_ALERT_WEBHOOK", hooks.as_str()),
        ("NCOMPASS_ALERT_SECRET", secret),
    ];
    let port = free_port();
    let mut server = start_with(&database, port, &env).await;
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/receive"))
        .body(body(0, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A second later the access point is silent; its event is tried and fails.
    let pending = || {
        let mut conn = ncompass::db::connect(&database).unwrap();
        diesel::sql_query(
            "SELECT count(*) AS pending FROM alert_deliveries \
             WHERE attempts >= 1 AND delivered_at IS NULL AND abandoned_at IS NULL",
        )
        .get_result::<Pending>(&mut conn)
        .unwrap()
        .pending
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while pending() == 0 {
        assert!(Instant::now() < deadline, "no failed delivery attempt");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // The receiver that is up has it already, signed.
    let first = up.wait_for(1).await;
    assert_eq!(
        first[0].0.as_deref(),
        Some(signed(secret, &first[0].1).as_str())
    );
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();

    // The receiver is up now; the restarted server delivers what was pending (after its
    // backoff, or the lease of an attempt the kill cut short: 30 s at most).
    let receiver = receiver_on(receiver_port, 0, false).await;
    let mut server = start_with(&database, port, &env).await;
    let seen = receiver.wait_for_within(1, Duration::from_secs(60)).await;
    // The same event, byte for byte, and signed.
    assert_eq!(seen[0], first[0]);
    let event: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(event["event"], "node_silent");
    assert_eq!(event["node"], node_mac(0, 1));
    let deadline = Instant::now() + Duration::from_secs(20);
    while pending() != 0 {
        assert!(Instant::now() < deadline, "the delivery is not recorded");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // Each receiver got it once.
    assert_eq!((up.bodies().len(), receiver.bodies().len()), (1, 1));
    server.kill().unwrap();
    server.wait().unwrap();
}
