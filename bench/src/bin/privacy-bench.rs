//! The privacy figures of BENCHMARKS.md (`make bench-privacy`): ingestion in `keyed`
//! mode beside `raw`, and ingestion while retention has a large deletion pending beside
//! the same database without retention; each pair run alternately in one session, as
//! ratios (the machines are shared and noisy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bench::{fixed_rate, saturate, storage_only, LoadResult, Post, Server, Workload};
use clap::Parser;
use diesel::connection::SimpleConnection;

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// Seconds of each saturation run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rounds of each A/B pair (the order alternates).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Old probe requests waiting for retention in the retention runs.
    #[arg(long, default_value_t = 2_000_000)]
    pending: usize,
    /// Only write the retention runs' database of `pending` old rows to this path.
    #[arg(long)]
    save_base: Option<PathBuf>,
    /// Skip the keyed/raw comparison.
    #[arg(long)]
    retention_only: bool,
    /// Only time retention's delete chunks of these sizes (rows) on `pending` old rows,
    /// with the storage code alone (no server).
    #[arg(long, value_delimiter = ',')]
    chunk_sizes: Vec<i64>,
}

const PROBES: u32 = 100;
const CONCURRENCY: usize = 64;

/// Recent reports (an hour old at most): retention keeps them.
fn recent_posts(count: usize, seed: u64) -> Arc<Vec<Post>> {
    Arc::new(
        Workload {
            probes: PROBES,
            seed,
            start: Some(ncompass::unix_now() - 3_600),
            ..Workload::default()
        }
        .posts(count),
    )
}

fn row(name: &str, result: &LoadResult) -> String {
    format!(
        "| {name} | {:.0} | {:.1} | {:.1} | {} |",
        result.probes_per_second(),
        result.latency_ms(0.5),
        result.latency_ms(0.99),
        result.shed + result.failed
    )
}

async fn metric(server: &Server, name: &str) -> f64 {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    if let Some(path) = &options.save_base {
        old_rows(path, options.pending, 11);
        return;
    }
    if !options.chunk_sizes.is_empty() {
        chunk_times(&options);
        return;
    }
    let bodies = recent_posts(40_000, 7);
    if !options.retention_only {
        keyed_beside_raw(&options, &bodies).await;
    }
    retention_beside_none(&options, &bodies).await;
}

async fn keyed_beside_raw(options: &Options, bodies: &Arc<Vec<Post>>) {
    let duration = Duration::from_secs(options.seconds);
    println!(
        "## Keyed pseudonyms beside raw MACs ({PROBES} per report, {CONCURRENCY} connections, {} s, durability full)\n",
        options.seconds
    );
    println!("| run | probe requests/s | p50 ms | p99 ms | 503 + failed |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    // The workload's client MACs are numbered in sequence, which makes their index
    // inserts unusually local; real MACs (and pseudonyms) spread over the whole index.
    // "raw, spread MACs" posts the same bodies with each MAC replaced by a pseudonym
    // under another key beforehand: the HMAC's own cost is keyed against it.
    let spread = Arc::new(spread_macs(bodies));
    let mut rates = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..options.rounds {
        let mut modes = ["raw", "raw, spread MACs", "keyed"];
        if round % 2 == 1 {
            modes.reverse();
        }
        for mode in modes {
            let privacy = if mode == "keyed" { "keyed" } else { "raw" };
            let server =
                Server::start_with(&options.server, "full", None, &["--mac-privacy", privacy])
                    .await;
            let posted = if mode == "raw, spread MACs" {
                &spread
            } else {
                bodies
            };
            let result = saturate(
                &server.url("/receive"),
                Arc::clone(posted),
                u64::from(PROBES),
                CONCURRENCY,
                duration,
            )
            .await;
            println!("{}", row(&format!("round {}, {mode}", round + 1), &result));
            let at = match mode {
                "raw" => 0,
                "raw, spread MACs" => 1,
                _ => 2,
            };
            rates[at].push(result.probes_per_second());
            server.stop();
        }
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    println!(
        "\nmeans of the rounds: keyed / raw with spread MACs {:.2}, raw with spread MACs / raw {:.2}, keyed / raw {:.2}\n",
        mean(&rates[2]) / mean(&rates[1]),
        mean(&rates[1]) / mean(&rates[0]),
        mean(&rates[2]) / mean(&rates[0])
    );
}

async fn retention_beside_none(options: &Options, bodies: &Arc<Vec<Post>>) {
    let duration = Duration::from_secs(options.seconds);
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    // A database holding `pending` probe requests two days old, already merged into the
    // presence segments' watermark (so retention may delete them at once).
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    let (stored, took) = old_rows(&base, options.pending, 11);
    println!(
        "## Ingestion while retention deletes ({stored} old probe requests pending, stored in {:.0} s)\n",
        took.as_secs_f64()
    );
    println!(
        "| run | probe requests/s | p50 ms | p99 ms | 503 + failed | old rows deleted meanwhile |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut saturated = [Vec::new(), Vec::new()];
    let mut p99 = [Vec::new(), Vec::new()];
    for round in 0..options.rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for retention in order {
            let copy = dir.path().join(format!("run-{round}-{retention}.db"));
            std::fs::copy(&base, &copy).unwrap();
            let extra: &[&str] = if retention {
                &["--keep-probe-requests", "1d"]
            } else {
                &[]
            };
            let server =
                Server::start_with(&options.server, "full", Some(copy.clone()), extra).await;
            let name = if retention {
                "retention deleting"
            } else {
                "no retention"
            };
            let deleted_metric = "ncompass_retention_deleted_rows_total{table=\"probe_requests\"}";
            let before = metric(&server, deleted_metric).await;
            let result = saturate(
                &server.url("/receive"),
                Arc::clone(bodies),
                u64::from(PROBES),
                CONCURRENCY,
                duration,
            )
            .await;
            let during = metric(&server, deleted_metric).await;
            println!(
                "{} {:.0} |",
                row(&format!("round {}, saturation, {name}", round + 1), &result),
                during - before
            );
            saturated[usize::from(retention)].push(result.probes_per_second());
            // 100 reports/s (10,000 probe requests/s): the writer has idle time, which
            // retention takes; what a report waits is the cost.
            let paced = recent_posts(2_000, 100 + round as u64);
            let result = fixed_rate(
                &server.url("/receive"),
                paced,
                u64::from(PROBES),
                100.0,
                duration,
            )
            .await;
            let after = metric(&server, deleted_metric).await;
            println!(
                "{} {:.0} |",
                row(
                    &format!("round {}, 100 reports/s, {name}", round + 1),
                    &result
                ),
                after - during
            );
            p99[usize::from(retention)].push(result.latency_ms(0.99));
            server.stop();
            let _ = std::fs::remove_file(&copy);
        }
    }
    println!(
        "\nretention / none, mean of the rounds: saturation {:.2}, p99 at 100 reports/s {:.2}",
        mean(&saturated[1]) / mean(&saturated[0]),
        mean(&p99[1]) / mean(&p99[0])
    );
}

/// A database at `path` holding `rows` probe requests three days old, merged into the
/// presence segments' watermark (so retention may delete them at once).
fn old_rows(path: &std::path::Path, rows: usize, seed: u64) -> (u64, Duration) {
    let old = Workload {
        probes: PROBES,
        seed,
        start: Some(ncompass::unix_now() - 3 * 86_400),
        ..Workload::default()
    }
    .posts(rows / PROBES as usize);
    let stored = storage_only(path, &old, 200);
    let mut conn = ncompass::db::connect(path.to_str().unwrap()).unwrap();
    conn.batch_execute(
        // Received when last seen (the storage code alone stores them at 0), and merged.
        "UPDATE reports SET received_at = (SELECT max(last_seen) FROM probe_requests p \
           WHERE p.report_id = reports.id); \
         UPDATE presence_progress SET through_id = (SELECT max(id) FROM probe_requests); \
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    stored
}

/// How long one retention transaction takes, by chunk size: what a report arriving
/// meanwhile may wait.
fn chunk_times(options: &Options) {
    use ncompass::db::retention::{delete_chunk, Cutoffs};
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    let (stored, _) = old_rows(&base, options.pending, 11);
    println!("| rows a chunk | chunks | median ms | p90 ms | max ms | rows deleted/s |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for &size in &options.chunk_sizes {
        let copy = dir.path().join(format!("chunks-{size}.db"));
        std::fs::copy(&base, &copy).unwrap();
        let mut conn = ncompass::db::connect(copy.to_str().unwrap()).unwrap();
        // As the writer's connection deletes: checkpoints happen on another thread, and
        // a retention commit need not wait for the disk (lost, it is simply redone).
        conn.batch_execute("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16384")
            .unwrap();
        let cutoffs = Cutoffs {
            probe_requests: Some(ncompass::unix_now() - 86_400),
            presence: None,
        };
        let mut times = Vec::new();
        let mut deleted = 0;
        let started = std::time::Instant::now();
        // At most 40 chunks, or every row.
        while times.len() < 40 && deleted < stored {
            let chunk_started = std::time::Instant::now();
            let rows = delete_chunk(&mut conn, cutoffs, size, &mut None).unwrap();
            times.push(chunk_started.elapsed().as_secs_f64() * 1e3);
            deleted += rows.probe_requests;
            if rows.total() == 0 {
                break;
            }
        }
        let rate = deleted as f64 / started.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!(
            "| {size} | {} | {:.1} | {:.1} | {:.1} | {:.0} |",
            times.len(),
            at(0.5),
            at(0.9),
            at(1.0),
            rate
        );
        drop(conn);
        let _ = std::fs::remove_file(&copy);
    }
}

/// `bodies` with every client MAC replaced by its pseudonym under a key of the bench's:
/// MACs spread like real ones, and stored as given by a server in `raw` mode.
fn spread_macs(bodies: &[Post]) -> Vec<Post> {
    let key = ncompass::privacy::MacKey::from_bytes([0x5a; 32]);
    bodies
        .iter()
        .map(|(body, signature)| {
            let mut report: serde_json::Value = serde_json::from_str(body).unwrap();
            for probe in report["probe_requests"].as_array_mut().unwrap() {
                let mac = ncompass::cloudtrax::Mac::parse(probe["mac"].as_str().unwrap()).unwrap();
                probe["mac"] = serde_json::Value::String(key.pseudonym(mac).to_string());
            }
            (report.to_string(), signature.clone())
        })
        .collect()
}
