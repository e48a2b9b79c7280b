//! Faults that need a hook inside the server, so they live beside it (compiled only
//! for tests): a writer that dies, a disk that fills up under the writer, every
//! analytics slot taken. Each starts the real application on a free port with its own
//! SQLite file and talks HTTP to it, as the integration tests in `tests/` do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::{json, Value};

use crate::app::config::Settings;
use crate::app::startup::Application;

struct App {
    address: String,
    client: reqwest::Client,
    database: PathBuf,
    state: actix_web::web::Data<crate::http::routes::AppState>,
    _dir: tempfile::TempDir,
}

fn settings(database: &str) -> Settings {
    Settings {
        database: database.to_string(),
        bind: "127.0.0.1:0".to_string(),
        secret: Vec::new(),
        secret_on_command_line: false,
        max_body: 4 * 1024 * 1024,
        meraki_max_body: 16 * 1024 * 1024,
        static_dir: PathBuf::from("no-dashboard-here"),
        oui_file: PathBuf::from("no-oui-file-here"),
        log: "warn".to_string(),
        queue_limit: 200_000,
        durability: crate::pipeline::Durability::Normal,
        max_span: Duration::from_secs(3_600),
        body_timeout: Duration::from_secs(10),
        reply_timeout: Duration::from_secs(30),
        analytics_concurrency: Some(1),
        public_url: None,
        trusted_proxy: Vec::new(),
        mac_privacy: crate::privacy::MacPrivacy::Raw,
        mac_key_file: None,
        keep_probe_requests: None,
        keep_presence: None,
        silence_after: std::time::Duration::from_secs(300),
        alert_webhook: Vec::new(),
        alert_secret: None,
        max_connections: 1024,
        max_exports: 4,
        group_readable: false,
    }
}

async fn spawn() -> App {
    spawn_with(|_| {}).await
}

async fn spawn_with(change: impl FnOnce(&mut Settings)) -> App {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("faults.db");
    let mut settings = settings(database.to_str().unwrap());
    change(&mut settings);
    let app = Application::build(&settings).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    App {
        address,
        client: reqwest::Client::new(),
        database,
        state,
        _dir: dir,
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

impl App {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/receive", self.address))
            .body(body.to_string())
            .timeout(Duration::from_secs(40))
            .send()
            .await
            .unwrap()
    }

    /// The status of posting `body` (taken by value, for requests sent together).
    async fn post_owned(&self, body: Value) -> u16 {
        self.post(&body).await.status().as_u16()
    }

    fn count(&self, table: &str) -> i64 {
        let mut conn = SqliteConnection::establish(self.database.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        diesel::sql_query(format!("SELECT count(*) AS count FROM {table}"))
            .get_result::<Count>(&mut conn)
            .unwrap()
            .count
    }

    async fn metric(&self, line_start: &str) -> u64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(line_start))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line_start:?} in\n{text}"))
    }

    /// Polls health until it answers `status`, for at most `within`.
    async fn health_becomes(&self, status: u16, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.get("/api/v1/health").await.status() == status {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "health did not answer {status} within {within:?}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A report of `probes` distinct probe requests from access point `node`.
fn report(node: u8, probes: u32, first_seen: i64) -> Value {
    let probe_requests: Vec<Value> = (0..probes)
        .map(|i| {
            let [_, b, c, d] = i.to_be_bytes();
            json!({
                "mac": format!("00:11:22:{b:02x}:{c:02x}:{d:02x}"),
                "count": 1, "min_signal": -80, "max_signal": -60, "avg_signal": -70,
                "first_seen": first_seen, "last_seen": first_seen + 30, "associated": false,
            })
        })
        .collect();
    json!({
        "network_id": 1,
        "node_mac": format!("ac:00:00:00:00:{node:02x}"),
        "version": 1,
        "probe_requests": probe_requests,
    })
}

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.unwrap()
}

#[actix_web::test]
async fn a_writer_that_dies_is_restarted_and_no_request_hangs() {
    let app = spawn().await;
    let now = crate::unix_now();
    assert_eq!(app.post(&report(1, 10, now - 600)).await.status(), 200);

    // The writer panics while reports are queued behind the fault.
    app.state.ingest.inject_panic();
    let reports: Vec<Value> = (2..6u8).map(|node| report(node, 10, now - 600)).collect();
    let posts = reports.iter().map(|body| app.post(body));
    let answers = futures_util::future::join_all(posts).await;
    let mut stored_ok = 0;
    for answer in answers {
        // Each is answered (stored, or 503 with Retry-After), none hangs.
        match answer.status().as_u16() {
            200 => stored_ok += 1,
            503 => assert!(answer.headers().contains_key("retry-after")),
            other => panic!("unexpected {other}"),
        }
    }
    // Health says 503 while the writer restarts, then 200 again within seconds.
    app.state.ingest.inject_panic();
    app.health_becomes(503, Duration::from_secs(5)).await;
    let back = app.health_becomes(200, Duration::from_secs(5)).await;
    assert!(back < Duration::from_secs(5));
    let health: Value = app.get("/api/v1/health").await.json().await.unwrap();
    assert_eq!(health["writer"]["alive"], true);
    assert!(health["writer"]["restarts"].as_u64().unwrap() >= 2);
    assert!(health["writer"]["last_error"]
        .as_str()
        .unwrap()
        .contains("injected fault"));

    // Reports are stored again, and every report answered 200 is there.
    assert_eq!(app.post(&report(9, 10, now - 600)).await.status(), 200);
    assert_eq!(app.count("reports"), 2 + stored_ok);
    assert_eq!(app.count("probe_requests"), 10 * (2 + stored_ok));
    // No room in the queue was leaked by the jobs the dead writer held.
    assert_eq!(app.metric("ncompass_writer_queue_reports ").await, 0);
    assert_eq!(app.metric("ncompass_writer_queue_probe_requests ").await, 0);
    assert!(app.metric("ncompass_writer_restarts_total ").await >= 2);
}

#[actix_web::test]
async fn a_stalled_writer_answers_503_after_the_reply_timeout_and_health_says_so() {
    let app = spawn_with(|settings| settings.reply_timeout = Duration::from_secs(1)).await;
    let now = crate::unix_now();
    assert_eq!(app.post(&report(1, 10, now - 600)).await.status(), 200);

    // The writer hangs for 3 s (a disk that stops answering).
    app.state.ingest.inject_stall(Duration::from_secs(3));
    let started = Instant::now();
    let response = app.post(&report(2, 10, now - 600)).await;
    let waited = started.elapsed();
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response, 503).await;
    assert!(
        body["detail"].as_str().unwrap().contains("within 1 s"),
        "{body}"
    );
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");
    let health = problem(app.get("/api/v1/health").await, 503).await;
    assert!(
        health["detail"].as_str().unwrap().contains("stalled"),
        "{health}"
    );

    // Once it moves again, health recovers; the report that was answered 503 is
    // skipped, so that answer stays true, and new reports are stored.
    app.health_becomes(200, Duration::from_secs(5)).await;
    assert_eq!(app.post(&report(3, 10, now - 600)).await.status(), 200);
    assert_eq!(app.count("reports"), 2);
    assert_eq!(app.metric("ncompass_writer_queue_reports ").await, 0);
}

#[actix_web::test]
async fn a_full_disk_answers_503_stores_nothing_and_recovers_without_a_restart() {
    let app = spawn().await;
    let now = crate::unix_now();
    assert_eq!(app.post(&report(1, 50, now - 600)).await.status(), 200);
    let (reports_before, rows_before) = (app.count("reports"), app.count("probe_requests"));

    // The database may not grow by a single page: SQLITE_FULL, as on a full disk.
    #[derive(QueryableByName)]
    struct Pages {
        #[diesel(sql_type = BigInt)]
        page_count: i64,
    }
    let mut conn = SqliteConnection::establish(app.database.to_str().unwrap()).unwrap();
    let pages = diesel::sql_query("PRAGMA page_count")
        .get_result::<Pages>(&mut conn)
        .unwrap()
        .page_count;
    app.state
        .ingest
        .writer_sql(&format!("PRAGMA max_page_count = {pages}"), true)
        .await;

    for node in 2..5u8 {
        let response = app.post(&report(node, 2_000, now - 600)).await;
        assert!(response.headers().contains_key("retry-after"));
        let body = problem(response, 503).await;
        let health = app.get("/api/v1/health").await.text().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains("disk is full"),
            "{body} {health}"
        );
    }
    // Nothing of them is stored, not even in part.
    assert_eq!(app.count("reports"), reports_before);
    assert_eq!(app.count("probe_requests"), rows_before);
    assert!(
        app.metric("ncompass_store_failures_total{kind=\"full\"} ")
            .await
            >= 3
    );
    assert_eq!(
        app.metric("ncompass_reports_rejected_total{reason=\"not_stored\"} ")
            .await,
        3
    );
    let health = problem(app.get("/api/v1/health").await, 503).await;
    assert!(health["detail"].as_str().unwrap().contains("full"));
    // SQLite rolled each failed transaction back by itself; the connection is still
    // good, so the writer keeps it.
    assert_eq!(app.metric("ncompass_writer_restarts_total ").await, 0);

    // Space is freed: the next report is stored, with no restart.
    app.state
        .ingest
        .writer_sql("PRAGMA max_page_count = 1073741823", true)
        .await;
    assert_eq!(app.post(&report(7, 2_000, now - 600)).await.status(), 200);
    assert_eq!(app.count("reports"), reports_before + 1);
    assert_eq!(app.count("probe_requests"), rows_before + 2_000);
    app.health_becomes(200, Duration::from_secs(2)).await;
}

#[actix_web::test]
async fn a_broken_connection_is_replaced_by_a_fresh_one() {
    let app = spawn().await;
    let now = crate::unix_now();
    assert_eq!(app.post(&report(1, 10, now - 600)).await.status(), 200);
    // The writer's connection is left inside a transaction diesel knows nothing of,
    // as a failed rollback can leave it: every BEGIN on it fails from now on.
    app.state.ingest.writer_sql("BEGIN", false).await;
    // The next report arrives at an idle writer, which checks its connection first,
    // finds it broken and stores the report on a fresh one: nothing is refused (a
    // database that restarted while nothing arrived costs no report).
    assert_eq!(app.post(&report(2, 10, now - 600)).await.status(), 200);
    assert_eq!(app.post(&report(3, 10, now - 600)).await.status(), 200);
    assert_eq!(app.metric("ncompass_writer_restarts_total ").await, 1);
    assert_eq!(
        app.metric("ncompass_store_failures_total{kind=\"other\"} ")
            .await,
        0
    );
    app.health_becomes(200, Duration::from_secs(2)).await;
    // Every report whole, once: the abandoned transaction held nothing of them.
    assert_eq!(app.count("reports"), 3);
    assert_eq!(app.count("probe_requests"), 30);
}

#[actix_web::test]
async fn a_batch_the_connection_broke_under_is_stored_on_a_fresh_one() {
    let app = spawn().await;
    let now = crate::unix_now();
    assert_eq!(app.post(&report(1, 10, now - 600)).await.status(), 200);
    // A busy writer (no wait, so no check before the batch): the connection breaks
    // just before it takes the next report, which finds it broken only by failing.
    app.state.ingest.inject_stall(Duration::from_millis(500));
    let (_, status) =
        futures_util::future::join(app.state.ingest.writer_sql("BEGIN", false), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            app.post(&report(2, 10, now - 600)).await.status()
        })
        .await;
    // Tried again on a fresh connection, not refused: access points never resend.
    assert_eq!(status, 200);
    assert_eq!(app.metric("ncompass_writer_restarts_total ").await, 1);
    // By the retry of its batch (not by the check after an idle moment, which would
    // also store it: the report reached the queue while the writer was busy).
    assert_eq!(app.metric("ncompass_batches_retried_total ").await, 1);
    assert_eq!(app.count("reports"), 2);
    assert_eq!(app.count("probe_requests"), 20);
    app.health_becomes(200, Duration::from_secs(2)).await;
    assert_eq!(app.post(&report(3, 10, now - 600)).await.status(), 200);
    assert_eq!(app.count("reports"), 3);
}

#[actix_web::test]
async fn analytics_past_their_slots_get_503_and_never_take_health_or_the_webhook_down() {
    let app = spawn().await;
    let now = crate::unix_now();
    assert_eq!(app.post(&report(1, 10, now - 600)).await.status(), 200);
    let summary = format!("/api/v1/stats/summary?since={}&until={now}", now - 3_600);
    assert_eq!(app.get(&summary).await.status(), 200);

    // Every slot (one here) is taken by a computation in progress.
    let slot = app.state.analytics.clone().try_acquire_owned().unwrap();
    for path in [
        summary.clone(),
        format!(
            "/api/v1/stats/series?bucket=hour&since={}&until={now}",
            now - 3_600
        ),
        "/api/v1/stats/dwell-histogram".to_string(),
        "/api/v1/stats/nodes".to_string(),
        "/api/v1/devices/1/00:11:22:00:00:01/visits".to_string(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.headers()["retry-after"], "2", "{path}");
        let body = problem(response, 503).await;
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains("--analytics-concurrency"));
    }
    // The rest of the server is unaffected.
    assert_eq!(app.get("/api/v1/health").await.status(), 200);
    assert_eq!(app.post(&report(2, 10, now - 600)).await.status(), 200);
    assert_eq!(app.get("/api/v1/probe-requests").await.status(), 200);
    assert_eq!(app.metric("ncompass_analytics_refused_total ").await, 5);

    drop(slot);
    assert_eq!(app.get(&summary).await.status(), 200);
}

#[actix_web::test]
async fn a_refusal_that_cannot_be_logged_costs_no_report_of_its_batch() {
    let app = spawn().await;
    let now = crate::unix_now();
    // Any failure to log a refusal (PostgreSQL refusing a NUL byte of a body was one).
    let mut conn = SqliteConnection::establish(app.database.to_str().unwrap()).unwrap();
    conn.batch_execute(
        "CREATE TRIGGER refuse_rejections BEFORE INSERT ON rejections \
         BEGIN SELECT RAISE(ABORT, 'injected: the log refuses'); END",
    )
    .unwrap();
    // The writer stalls while refusals and reports queue, so they share one batch.
    app.state.ingest.inject_stall(Duration::from_millis(500));
    let refused = (0..5).map(|_| {
        app.client
            .post(format!("{}/receive", app.address))
            .body("{not json")
            .send()
    });
    let reports = (1..=5u8).map(|node| app.post_owned(report(node, 20, now - 600)));
    let (refused, stored) = futures_util::future::join(
        futures_util::future::join_all(refused),
        futures_util::future::join_all(reports),
    )
    .await;
    for response in refused {
        assert_eq!(response.unwrap().status(), 400);
    }
    for status in stored {
        assert_eq!(status, 200);
    }
    assert_eq!(app.count("reports"), 5);
    assert_eq!(app.count("probe_requests"), 100);
    assert_eq!(app.count("rejections"), 0);
    assert_eq!(app.get("/api/v1/health").await.status(), 200);
}
