//! Reproduces the ingestion and query figures of BENCHMARKS.md (`make bench-ingest`):
//! the release `ncompass` binary on a temp SQLite file, driven over loopback by the
//! workload generator, beside its two ceilings measured in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bench::{
    fixed_rate, null_server, raw_sqlite_insert, resident_memory_mib, saturate, storage_only,
    LoadResult, Post, Server, Workload,
};
use clap::Parser;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// Seconds of each saturation run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections of each saturation run.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Row counts at which list queries are measured (comma separated).
    #[arg(long, default_value = "1000000,10000000", value_delimiter = ',')]
    query_sizes: Vec<u64>,
    /// Measure list queries and memory only (skip the ingestion runs).
    #[arg(long)]
    queries_only: bool,
    /// Requests per query shape for the query latencies.
    #[arg(long, default_value_t = 200)]
    query_requests: usize,
    /// Probe requests per report of the saturation runs (comma separated).
    #[arg(long, default_value = "5,100,1000", value_delimiter = ',')]
    probes: Vec<u32>,
    /// Stop after the saturation runs (a quick comparison of two builds).
    #[arg(long)]
    saturation_only: bool,
    /// Only the fixed 10x-production rate run.
    #[arg(long)]
    fixed_rate_only: bool,
    /// With --queries-only: the database to fill and query, e.g. a new PostgreSQL
    /// database's URL (`make bench-postgres-queries`); a temp SQLite file by default.
    #[arg(long)]
    database: Option<String>,
}

fn posts(probes: u32, count: usize, seed: u64) -> Arc<Vec<Post>> {
    Arc::new(
        Workload {
            probes,
            seed,
            ..Workload::default()
        }
        .posts(count),
    )
}

/// Enough bodies for a saturation run at up to `probes_per_second` stored.
fn posts_for(probes: u32, seconds: u64) -> usize {
    let ceiling_probes_per_second = 400_000u64;
    ((ceiling_probes_per_second * seconds / u64::from(probes)) as usize).max(2_000)
}

async fn saturate_at(
    url: String,
    bodies: &Arc<Vec<Post>>,
    probes: u32,
    concurrency: usize,
    duration: Duration,
) -> LoadResult {
    saturate(
        &url,
        Arc::clone(bodies),
        u64::from(probes),
        concurrency,
        duration,
    )
    .await
}

fn row(name: &str, result: &LoadResult) -> String {
    format!(
        "| {name} | {:.0} | {:.0} | {:.1} | {:.1} | {} | {} |",
        result.reports_per_second(),
        result.probes_per_second(),
        result.latency_ms(0.5),
        result.latency_ms(0.99),
        result.shed,
        result.failed
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    if options.queries_only {
        queries(&options).await;
        return;
    }
    if options.fixed_rate_only {
        fixed_rate_run(&options).await;
        return;
    }
    println!(
        "## Ingestion at saturation ({} connections, {} s each)\n",
        options.concurrency, options.seconds
    );
    println!("| run | reports/s | probe requests/s | p50 ms | p99 ms | 503 | failed |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let null_port = null_server();
    let mut hundred = None;
    for &probes in &options.probes {
        let count = posts_for(probes, options.seconds);
        let bodies = posts(probes, count, u64::from(probes));
        let duration = Duration::from_secs(options.seconds);
        let run = |url: String| saturate_at(url, &bodies, probes, options.concurrency, duration);
        for durability in ["full", "normal"] {
            let server = Server::start(&options.server, durability).await;
            let result = run(server.url("/receive")).await;
            println!(
                "{}",
                row(
                    &format!("ncompass, {probes} per report, durability {durability}"),
                    &result
                )
            );
            if probes == 100 && durability == "full" {
                hundred = Some((result.ok as usize, result.probes_per_second()));
            }
            server.stop();
        }
        let ceiling = run(format!("http://127.0.0.1:{null_port}/receive")).await;
        println!(
            "{}",
            row(
                &format!("ceiling: HTTP only, {probes} per report"),
                &ceiling
            )
        );
    }

    if options.saturation_only {
        return;
    }
    // The database ceiling: the rows the 100-probe run stored, inserted raw.
    let (stored_reports, ingest_rate) = hundred.expect("--probes includes 100");
    let bodies = posts(100, stored_reports.max(1), 100);
    println!("\n## Ceiling: raw SQLite bulk insert of the same rows (one transaction, prepared statement)\n");
    println!("| insert | rows | seconds | rows/s | ncompass (full, 100 per report) as a share |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    // Between the two: ncompass's own storage code on pre-parsed reports, no HTTP.
    for batch in [64usize, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let (rows, elapsed) = storage_only(&dir.path().join("storage.db"), &bodies, batch);
        let rate = rows as f64 / elapsed.as_secs_f64();
        println!(
            "| ncompass storage code, no HTTP, {} | {rows} | {:.2} | {rate:.0} | {:.0}% |",
            if batch == 64 {
                "64 reports per transaction (as at 64 connections)"
            } else {
                "one transaction"
            },
            elapsed.as_secs_f64(),
            ingest_rate * 100.0 / rate
        );
    }
    for full in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (rows, elapsed) = raw_sqlite_insert(&dir.path().join("raw.db"), &bodies, full);
        let rate = rows as f64 / elapsed.as_secs_f64();
        println!(
            "| raw SQLite C API, synchronous={} | {rows} | {:.2} | {rate:.0} | {:.0}% |",
            if full { "FULL" } else { "NORMAL" },
            elapsed.as_secs_f64(),
            ingest_rate * 100.0 / rate
        );
    }

    fixed_rate_run(&options).await;
    queries(&options).await;
}

/// Latency at a fixed rate: 10x the planned deployment (2,000 access points every 30 s
/// with 100 probe requests each = 67 reports/s).
async fn fixed_rate_run(options: &Options) {
    println!(
        "\n## Latency at a fixed 10x-production rate (670 reports/s of 100 probe requests, {} s)\n",
        options.seconds
    );
    println!("| run | reports/s | probe requests/s | p50 ms | p99 ms | 503 | failed |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let rate = 670.0;
    let bodies = posts(100, (rate * options.seconds as f64) as usize + 10, 7);
    let server = Server::start(&options.server, "full").await;
    let result = fixed_rate(
        &server.url("/receive"),
        bodies,
        100,
        rate,
        Duration::from_secs(options.seconds),
    )
    .await;
    println!("{}", row("ncompass, durability full", &result));
    server.stop();
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = BigInt)]
    last_seen: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The keyset position `depth` rows into `filter`'s order (or of its last page when it
/// has fewer rows), read from the file directly, as the cursor a client would hold after
/// walking there; and the page number it is.
fn cursor_at(database: &Path, filter_sql: &str, depth: u64) -> Option<(String, u64)> {
    // The server's idle writer may hold the write lock a while (merging 10M rows into
    // the presence segments): wait for a connection rather than fail the run.
    let mut conn = (0..30)
        .find_map(|attempt| {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            ncompass::db::connect(database.to_str().unwrap())
                .inspect_err(|error| eprintln!("cursor_at: {error}; retrying"))
                .ok()
        })
        .expect("a connection to the benchmark's database within a minute");
    let rows = diesel::sql_query(format!(
        "SELECT count(*) AS count FROM probe_requests {filter_sql}"
    ))
    .get_result::<Count>(&mut conn)
    .unwrap()
    .count as u64;
    if rows < 200 {
        return None;
    }
    let depth = depth.min(rows - 100);
    let sql = format!(
        "SELECT last_seen, id FROM probe_requests {filter_sql} ORDER BY last_seen DESC, id DESC LIMIT 1 OFFSET {}",
        depth - 1
    );
    let position = diesel::sql_query(sql)
        .get_result::<Position>(&mut conn)
        .ok()?;
    let cursor = URL_SAFE_NO_PAD.encode(format!("{}:{}", position.last_seen, position.id));
    Some((cursor, depth / 100 + 1))
}

/// The access point `n` of [`Workload`], as stored (canonical).
fn node_mac(n: u64) -> String {
    Workload::default().node_mac(n).to_lowercase()
}

async fn latencies(client: &reqwest::Client, url: &str, requests: usize) -> (f64, f64) {
    let mut result = LoadResult::default();
    for _ in 0..requests {
        let started = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let _ = response.bytes().await.unwrap();
        result.latencies.push(started.elapsed().as_micros() as u64);
    }
    (result.latency_ms(0.5), result.latency_ms(0.99))
}

async fn queries(options: &Options) {
    let server = Server::start_on(
        &options.server,
        "normal",
        options.database.as_ref().map(PathBuf::from),
    )
    .await;
    let client = reqwest::Client::new();
    // Zones: a small one (walked access point by access point), a large one (5% of the
    // traffic: found in the window of the newest rows) and a large one with no rows.
    let zones: [(&str, Vec<String>); 3] = [
        ("Lobby", (7..10).map(node_mac).collect()),
        ("Floor", (100..200).map(node_mac).collect()),
        ("Annex", (5_000..5_040).map(node_mac).collect()),
    ];
    for (zone, nodes) in &zones {
        for node in nodes {
            let response = client
                .put(server.url(&format!("/api/v1/nodes/{node}")))
                .header("Content-Type", "application/json")
                .body(serde_json::json!({ "zone": zone }).to_string())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
        }
    }
    let zone_sql = |zone: usize| {
        let nodes: Vec<String> = zones[zone]
            .1
            .iter()
            .map(|node| format!("'{node}'"))
            .collect();
        format!("WHERE node_mac IN ({})", nodes.join(", "))
    };
    let mut stored = 0u64;
    let mut seed = 1000;
    println!(
        "\n## List queries (`limit=100`, sequential requests over loopback, {} each)\n",
        options.query_requests
    );
    println!("| rows stored | filter | first page p50 / p99 ms | page 10,001 (or the last) p50 / p99 ms |");
    println!("| ---: | --- | ---: | ---: |");
    let mut memory = Vec::new();
    let mut analytics_rows = Vec::new();
    for &target in &options.query_sizes {
        // Fill with 1000-probe reports until `target` rows are stored.
        while stored < target {
            let batch = ((target - stored) / 1000).clamp(1, 2000) as usize;
            seed += 1;
            let bodies = posts(1000, batch, seed);
            let result = saturate(
                &server.url("/receive"),
                bodies,
                1000,
                options.concurrency,
                Duration::from_secs(3600),
            )
            .await;
            stored += result.probes_ok;
            if let Some(rss) = resident_memory_mib(server.child.id()) {
                memory.push((stored, rss));
            }
        }
        let node = node_mac(7);
        let resident = Workload::default().resident_mac(7, 1);
        let hour_until = ncompass::unix_now();
        let hour_since = hour_until - 3_600;
        let zone_shapes = [
            (
                "zone of 3 access points",
                "zone=Lobby".to_string(),
                zone_sql(0),
            ),
            (
                "zone of 100 access points (5% of rows)",
                "zone=Floor".to_string(),
                zone_sql(1),
            ),
            (
                "zone of 40 access points, no rows",
                "zone=Annex".to_string(),
                zone_sql(2),
            ),
        ];
        let shapes: [(&str, &str, &str); 7] = [
            ("none", "", ""),
            (
                "mac (a resident client)",
                &format!("mac={resident}"),
                &format!("WHERE mac = '{resident}'"),
            ),
            (
                "node_mac",
                &format!("node_mac={node}"),
                &format!("WHERE node_mac = '{node}'"),
            ),
            ("network_id", "network_id=1007", "WHERE network_id = 1007"),
            (
                "associated=true",
                "associated=true",
                "WHERE associated = true",
            ),
            (
                "randomized=false",
                "randomized=false",
                "WHERE randomized = false",
            ),
            (
                "since/until (the last hour)",
                &format!("since={hour_since}&until={hour_until}"),
                &format!("WHERE last_seen BETWEEN {hour_since} AND {hour_until}"),
            ),
        ];
        let shapes = shapes
            .iter()
            .map(|(name, query, filter_sql)| (*name, *query, *filter_sql))
            .chain(
                zone_shapes
                    .iter()
                    .map(|(name, query, filter_sql)| (*name, query.as_str(), filter_sql.as_str())),
            );
        for (name, query, filter_sql) in shapes {
            let first = latencies(
                &client,
                &server.url(&format!("/api/v1/probe-requests?limit=100&{query}")),
                options.query_requests,
            )
            .await;
            let deep = match cursor_at(&server.database, filter_sql, 1_000_000) {
                Some((cursor, page)) => {
                    let (p50, p99) = latencies(
                        &client,
                        &server.url(&format!(
                            "/api/v1/probe-requests?limit=100&{query}&cursor={cursor}"
                        )),
                        options.query_requests,
                    )
                    .await;
                    format!("{p50:.2} / {p99:.2} (page {page})")
                }
                None => "(fewer rows)".to_string(),
            };
            println!(
                "| {stored} | {name} | {:.2} / {:.2} | {deep} |",
                first.0, first.1
            );
        }
        if let Some(rss) = resident_memory_mib(server.child.id()) {
            memory.push((stored, rss));
        }
        // Measured as a server at rest answers them: from the presence segments, after
        // the idle writer merged the fill (right after it, SQLite would read the rows
        // and refuse a day of 10M as over the row cap).
        server
            .wait_for_merge(&client, Duration::from_secs(3600))
            .await;
        analytics_rows.push((stored, analytics(&client, &server).await));
    }
    println!("\n## Analytics over the day of the stored rows (5 sequential requests each)\n");
    println!("| rows stored | summary p50 ms | hourly series p50 ms |");
    println!("| ---: | ---: | ---: |");
    for (stored, (summary, series)) in analytics_rows {
        println!("| {stored} | {summary} | {series} |");
    }
    println!("\n## Server memory while filling and querying\n");
    println!("| rows stored | resident MiB | peak resident MiB |");
    println!("| ---: | ---: | ---: |");
    let mut last = 0;
    for (stored, (rss, peak)) in memory {
        if stored >= last + 1_000_000
            || stored == options.query_sizes.iter().copied().max().unwrap_or(0)
        {
            println!("| {stored} | {rss:.0} | {peak:.0} |");
            last = stored;
        }
    }
    server.stop();
}

/// Median time of the summary and of the hourly series over the day ending now (the
/// workload's clients are timed now); "refused" when the server declines the range as
/// too large.
async fn analytics(client: &reqwest::Client, server: &Server) -> (String, String) {
    let until = ncompass::unix_now();
    let range = format!("since={}&until={until}", until - 86_399);
    let mut out = Vec::new();
    for path in ["/api/v1/stats/summary", "/api/v1/stats/series"] {
        let url = server.url(&format!("{path}?{range}&bucket=hour"));
        let mut times = Vec::new();
        let mut refused = false;
        for _ in 0..5 {
            let started = Instant::now();
            let response = client.get(&url).send().await.unwrap();
            // A 503 (rows still merging, an analytics slot taken) is no figure: the
            // earlier 10M table timed one as an answer.
            let status = response.status().as_u16();
            assert!(status == 200 || status == 400, "{url}: {status}");
            refused |= status == 400;
            let _ = response.bytes().await.unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        out.push(if refused {
            format!("refused in {:.0} ms (over the row cap)", times[2])
        } else {
            format!("{:.0}", times[2])
        });
    }
    (out[0].clone(), out[1].clone())
}
