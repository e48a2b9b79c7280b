//! Occupancy now at 10M stored rows (`make bench-now`, BENCHMARKS.md): a migrated
//! SQLite file (or, with `--database`, a PostgreSQL database) filled straight with SQL (10M probe requests whose `last_seen` spans the
//! `--history` seconds before now, 40% randomized, across 40 access points in 4 zones),
//! then the release `ncompass` binary serving it, and `GET /api/v1/stats/now` (all, one
//! zone, one network, a 1-hour window) beside the HTTP floor (`/api/v1/health`), as
//! medians and 95th percentiles of sequential requests, and ratios to the floor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use bench::Server;
use clap::Parser;
use diesel::connection::SimpleConnection;

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// Probe requests to store.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// The span of their `last_seen`, seconds before now (comma separated: one database
    /// each). 7 days puts about 5,000 rows in a 5-minute window, 1 day about 35,000.
    #[arg(long, default_value = "604800,86400", value_delimiter = ',')]
    history: Vec<u64>,
    /// Sequential requests per measurement.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// A new, empty PostgreSQL database's URL to fill and serve instead of a temp SQLite
    /// file (one `--history` only: the database is filled once).
    #[arg(long)]
    database: Option<String>,
}

/// Median and 95th percentile, ms.
async fn timed(client: &reqwest::Client, url: &str, requests: usize) -> (f64, f64) {
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let _ = response.bytes().await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 95 / 100])
}

/// The same rows as [`fill`], in PostgreSQL's dialect, in their day partitions.
fn fill_postgres(url: &str, rows: u64, history: u64, now: i64) {
    ncompass::db::migrate(url).unwrap();
    let mut conn = ncompass::db::connect(url).unwrap();
    let history_i = i64::try_from(history).unwrap();
    for days_ago in 0..=history_i / 86_400 + 1 {
        ncompass::db::partitions::ensure(&mut conn, now - days_ago * 86_400).unwrap();
    }
    let reports = rows / 50;
    let hex = |expression: &str| format!("lpad(to_hex(({expression})::bigint), 2, '0')");
    conn.batch_execute(&format!(
        "SET statement_timeout = 0;
         INSERT INTO reports (id, network_id, node_mac, version, received_at, probe_request_count, stored_count, duplicate_count)
         SELECT i, 1 + i % 2, 'ac:86:74:00:00:' || {node_of_report}, 1, {now} - {history} + i * {history} / {reports}, 50, 50, 0
         FROM generate_series(1::bigint, {reports}) i;
         INSERT INTO probe_requests (id, report_id, network_id, node_mac, mac, count, min_signal, max_signal, avg_signal,
                                     last_seen_signal, first_seen, last_seen, associated, randomized)
         SELECT i + 1, 1 + i / 50, 1 + (i / 50 + 1) % 2, 'ac:86:74:00:00:' || {node_of_row},
                CASE WHEN (i * 7) % 10 < 4 THEN '02' ELSE '00' END || ':11:22:' || {a} || ':' || {b} || ':' || {c},
                3, -80, -60, -70, NULL,
                {now} - {history} + i * {history} / {rows} - 20, {now} - {history} + i * {history} / {rows},
                (i % 9) = 0, (i * 7) % 10 < 4
         FROM generate_series(0::bigint, {rows} - 1) i;
         SELECT setval(pg_get_serial_sequence('reports', 'id'), {reports});
         SELECT setval(pg_get_serial_sequence('probe_requests', 'id'), {rows});
         INSERT INTO nodes (network_id, node_mac, first_report_at, last_report_at, reports, probe_requests)
         SELECT network_id, node_mac, min(received_at), max(received_at), count(*), 50 * count(*) FROM reports GROUP BY 1, 2;
         UPDATE presence_progress SET through_id = {rows};
         ANALYZE;",
        node_of_report = hex("i % 40"),
        node_of_row = hex("(i / 50 + 1) % 40"),
        a = hex("((i * 2654435761) % 60000) / 65536"),
        b = hex("(((i * 2654435761) % 60000) / 256) % 256"),
        c = hex("((i * 2654435761) % 60000) % 256"),
    ))
    .unwrap();
    label_nodes(&mut conn);
}

/// 40 access points named, in 4 zones.
fn label_nodes(conn: &mut ncompass::db::Conn) {
    for node in 0..40 {
        ncompass::db::places::put_node(
            conn,
            &format!("ac:86:74:00:00:{node:02x}"),
            Some(&format!("AP {node}")),
            Some(&format!("Zone {}", node % 4)),
        )
        .unwrap();
    }
}

fn fill(path: &std::path::Path, rows: u64, history: u64, now: i64) {
    ncompass::db::migrate(path.to_str().unwrap()).unwrap();
    let mut conn = ncompass::db::connect(path.to_str().unwrap()).unwrap();
    let reports = rows / 50;
    conn.batch_execute(&format!(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -4000000;
         PRAGMA temp_store = MEMORY;
         BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {reports})
         INSERT INTO reports (id, network_id, node_mac, version, received_at, probe_request_count, stored_count, duplicate_count)
         SELECT i, 1 + i % 2, printf('ac:86:74:00:00:%02x', i % 40), 1, {now} - {history} + i * {history} / {reports}, 50, 50, 0 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows} - 1)
         INSERT INTO probe_requests (id, report_id, network_id, node_mac, mac, count, min_signal, max_signal, avg_signal,
                                     last_seen_signal, first_seen, last_seen, associated, randomized)
         SELECT i + 1, 1 + i / 50, 1 + (i / 50 + 1) % 2, printf('ac:86:74:00:00:%02x', (i / 50 + 1) % 40),
                printf('%s:11:22:%02x:%02x:%02x', CASE WHEN (i * 7) % 10 < 4 THEN '02' ELSE '00' END,
                       ((i * 2654435761) % 60000) / 65536, (((i * 2654435761) % 60000) / 256) % 256, ((i * 2654435761) % 60000) % 256),
                3, -80, -60, -70, NULL,
                {now} - {history} + i * {history} / {rows} - 20, {now} - {history} + i * {history} / {rows},
                (i % 9) = 0, (i * 7) % 10 < 4
         FROM n;
         INSERT INTO nodes (network_id, node_mac, first_report_at, last_report_at, reports, probe_requests)
         SELECT network_id, node_mac, min(received_at), max(received_at), count(*), 50 * count(*) FROM reports GROUP BY 1, 2;
         UPDATE presence_progress SET through_id = {rows};
         COMMIT;
         PRAGMA journal_mode = WAL;"
    ))
    .unwrap();
    label_nodes(&mut conn);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    let client = reqwest::Client::new();
    println!(
        "## Occupancy now at {} rows ({} sequential requests each: median / p95 ms, and the median as a multiple of the HTTP floor's)\n",
        options.rows, options.requests
    );
    println!("| history | rows in 5 min | health (floor) | now | now, one zone | now, one network | now, 1 h window |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for history in &options.history {
        let dir = tempfile::tempdir().unwrap();
        let path = match &options.database {
            Some(url) => PathBuf::from(url),
            None => dir.path().join("now.db"),
        };
        let now = ncompass::unix_now();
        let started = Instant::now();
        match &options.database {
            Some(url) => fill_postgres(url, options.rows, *history, now),
            None => fill(&path, options.rows, *history, now),
        }
        eprintln!(
            "filled {} rows over {history} s in {:.0} s",
            options.rows,
            started.elapsed().as_secs_f64()
        );
        let in_window = options.rows * 300 / history;
        let server = Server::start_on(&options.server, "normal", Some(path.clone())).await;
        // Warm the page cache and the connections.
        timed(&client, &server.url("/api/v1/stats/now"), 5).await;
        let floor = timed(&client, &server.url("/api/v1/health"), options.requests).await;
        let mut cells = vec![format!("{:.2} / {:.2}", floor.0, floor.1)];
        for query in ["", "?zone=Zone%201", "?network_id=1", "?window_s=3600"] {
            let (median, p95) = timed(
                &client,
                &server.url(&format!("/api/v1/stats/now{query}")),
                options.requests,
            )
            .await;
            cells.push(format!("{median:.2} / {p95:.2} ({:.1}x)", median / floor.0));
        }
        println!(
            "| {:.0} d | ~{in_window} | {} |",
            *history as f64 / 86_400.0,
            cells.join(" | ")
        );
        server.stop();
    }
}
