//! Reproduces the presence analytics figures of BENCHMARKS.md (`make bench-presence`):
//! the release `ncompass` binary on a temp SQLite file filled through the webhook with
//! a realistic day of visits ([`bench::PresenceDay`]), then the summary and the hourly
//! series of that day, beside the HTTP floor (`/api/v1/health`) and the same summary
//! computed from the probe requests (a visit gap under the segments' 120 s); and the
//! figures the dashboard's home page asks for (the day's summary against the same time
//! a week before, the day before's, and the access points in eight zones ranked
//! against a week before), one after the other as the page does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{count, resident_memory_mib, saturate, PresenceDay, Server};
use clap::Parser;
use diesel::RunQueryDsl;

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// Probe requests to store in the day, one fresh database each (comma separated).
    #[arg(long, default_value = "1000000,10000000", value_delimiter = ',')]
    rows: Vec<u64>,
    /// Sequential requests per measurement (the median and the slowest are shown).
    #[arg(long, default_value_t = 9)]
    requests: usize,
    /// Concurrent connections while filling.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Keep each filled database as DIR/presence-ROWS.db (to profile a query on it).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Measure on this database (one kept by `--keep`) instead of filling new ones.
    #[arg(long)]
    database: Option<PathBuf>,
    /// Fill this new, empty PostgreSQL database (its URL) instead of a temp SQLite file
    /// (one `--rows` only: the database is filled once).
    #[arg(long)]
    postgres: Option<String>,
}

/// Median and slowest of `requests` sequential GETs, or "refused" with the median.
async fn timed(client: &reqwest::Client, url: &str, requests: usize) -> String {
    timed_all(client, &[url.to_string()], requests).await
}

/// [`timed`] of `urls` asked one after the other (a page's requests), as one time.
async fn timed_all(client: &reqwest::Client, urls: &[String], requests: usize) -> String {
    let mut times = Vec::new();
    let mut refused = false;
    for _ in 0..requests {
        let started = Instant::now();
        for url in urls {
            let response = client.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let _ = response.bytes().await.unwrap();
            assert!(status == 200 || status == 400, "{url}: {status}");
            refused |= status == 400;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let (median, slowest) = (times[times.len() / 2], times[times.len() - 1]);
    if refused {
        format!("refused (over the row cap) in {median:.1}")
    } else {
        format!("{median:.1} / {slowest:.1}")
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    let client = reqwest::Client::new();
    let mut plans = Vec::new();
    let mut exports: Vec<String> = Vec::new();
    println!(
        "## Presence analytics over one day ({} sequential requests each: median / slowest ms)\n",
        options.requests
    );
    println!("| rows in the day | rows stored / s while filling | segments in the day | health (HTTP floor) | summary | hourly series | summary from the rows (visit_gap_s=119) | home page's figures (3 requests) | server RSS MiB |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let targets = if options.database.is_some() {
        vec![0]
    } else {
        options.rows.clone()
    };
    for target in targets {
        let database = options
            .database
            .clone()
            .or_else(|| options.postgres.as_ref().map(PathBuf::from));
        let server = Server::start_on(&options.server, "normal", database).await;
        let day = PresenceDay::with_rows(target, 7);
        let started = Instant::now();
        let mut hour = Vec::new();
        let mut minutes = day.minutes().peekable();
        while let Some(posts) = minutes.next().filter(|_| options.database.is_none()) {
            hour.extend(posts);
            if hour.len() >= 12_000 || minutes.peek().is_none() {
                let posts = Arc::new(std::mem::take(&mut hour));
                let sent = posts.len() as u64;
                let result = saturate(
                    &server.url("/receive"),
                    posts,
                    0,
                    options.concurrency,
                    Duration::from_secs(3600),
                )
                .await;
                assert_eq!(
                    (result.ok, result.shed, result.failed),
                    (sent, 0, 0),
                    "every report stored"
                );
            }
        }
        let fill = started.elapsed().as_secs_f64();
        let mut conn = ncompass::db::connect(server.database.to_str().unwrap()).unwrap();
        // The writer merges rows into the segments when idle: measure once it has.
        let waited = Instant::now();
        loop {
            let backlog = count(
                &mut conn,
                "SELECT coalesce(max(id), 0) - (SELECT through_id FROM presence_progress) AS n FROM probe_requests",
            );
            if backlog == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caught_up = waited.elapsed().as_secs_f64();
        let rows = count(&mut conn, "SELECT count(*) AS n FROM probe_requests");
        let (first_day, last_day) = (day.day_start / 86_400 - 1, day.day_start / 86_400 + 1);
        let segments = count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM presence_segments WHERE day BETWEEN {first_day} AND {last_day}"),
        );
        if options.postgres.is_none() {
            plans.push((
                rows,
                ncompass::db::presence::segments_plan(&mut conn, None, None).unwrap(),
            ));
        }
        let range = format!("since={}&until={}", day.day_start, day.day_start + 86_399);
        let health = timed(&client, &server.url("/api/v1/health"), options.requests).await;
        let summary = timed(
            &client,
            &server.url(&format!("/api/v1/stats/summary?{range}")),
            options.requests,
        )
        .await;
        let series = timed(
            &client,
            &server.url(&format!("/api/v1/stats/series?{range}&bucket=hour")),
            options.requests,
        )
        .await;
        let from_rows = timed(
            &client,
            &server.url(&format!("/api/v1/stats/summary?{range}&visit_gap_s=119")),
            options.requests.min(3),
        )
        .await;
        // The home page: its access points in eight zones (named through the API, as an
        // operator would), then its three requests.
        let nodes: serde_json::Value = serde_json::from_slice(
            &client
                .get(server.url("/api/v1/nodes"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        for (i, node) in nodes["items"].as_array().unwrap().iter().enumerate() {
            let mac = node["node_mac"].as_str().unwrap();
            let response = client
                .put(server.url(&format!("/api/v1/nodes/{mac}")))
                .header("Content-Type", "application/json")
                .body(serde_json::json!({"zone": format!("Zone {}", i % 8)}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "zone of {mac}");
        }
        let home = timed_all(
            &client,
            &[
                server.url(&format!("/api/v1/stats/summary?{range}&compare=last_week")),
                server.url(&format!(
                    "/api/v1/stats/summary?since={}&until={}",
                    day.day_start - 86_400,
                    day.day_start - 1
                )),
                server.url(&format!("/api/v1/stats/zones?{range}&compare=last_week")),
            ],
            options.requests,
        )
        .await;
        let rss = resident_memory_mib(server.child.id()).map_or("?".to_string(), |(rss, peak)| {
            format!("{rss:.0} (peak {peak:.0})")
        });
        let fill_rate = if options.database.is_some() {
            format!("(existing database; segments merged in {caught_up:.0} s)")
        } else {
            format!(
                "{:.0} (segments merged {caught_up:.0} s after the last report)",
                rows as f64 / fill
            )
        };
        println!(
            "| {rows} | {fill_rate} | {segments} | {health} | {summary} | {series} | {from_rows} | {home} | {rss} |"
        );
        exports.push(export(&client, &server).await);
        if let Some(dir) = options.keep.as_ref().filter(|_| options.database.is_none()) {
            let kept = dir.join(format!("presence-{rows}.db"));
            let _ = std::fs::remove_file(&kept);
            diesel::sql_query(format!("VACUUM INTO '{}'", kept.display()))
                .execute(&mut conn)
                .unwrap();
        }
        server.stop();
    }
    println!("\n## Export of every row as CSV, read as fast as the client takes it\n");
    println!("| rows | MB | seconds | server RSS before MiB | highest RSS sampled during MiB |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for row in exports {
        println!("{row}");
    }
    for (rows, plan) in plans {
        println!("\nQuery plan of the day's segments at {rows} rows:\n\n```\n{plan}\n```");
    }
}

/// Streams the CSV export of every row, sampling the server's memory every 200 ms.
async fn export(client: &reqwest::Client, server: &Server) -> String {
    let rss = || resident_memory_mib(server.child.id()).map_or(0.0, |(rss, _)| rss);
    let before = rss();
    let started = Instant::now();
    let mut response = client
        .get(server.url("/api/v1/probe-requests/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines, mut highest) = (0u64, 0u64, before);
    let mut sampled = Instant::now();
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if sampled.elapsed() > Duration::from_millis(200) {
            highest = highest.max(rss());
            sampled = Instant::now();
        }
    }
    format!(
        "| {} | {:.0} | {:.1} | {before:.0} | {highest:.0} |",
        lines.saturating_sub(1),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    )
}
