//! Meraki Scanning API v3 ingestion beside CloudTrax's, in the same run (`make
//! bench-meraki`, issue 24): each round saturates a fresh server with realistic CloudTrax
//! reports (probe requests/s), then another fresh server with realistic v3 posts
//! (observations/s, and the probe-request rows they became per second), alternated so
//! that the machine's noise falls on both alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bench::{saturate, LoadResult, Post, Server, Workload};
use clap::Parser;

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// Seconds of each saturation run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Observations per Meraki post (a network's minute of clients).
    #[arg(long, default_value_t = 500)]
    observations: usize,
    /// Meraki networks posting (40 access points each).
    #[arg(long, default_value_t = 50)]
    networks: usize,
    /// Rounds (CloudTrax then Meraki, each on a fresh database).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// The server's --durability.
    #[arg(long, default_value = "full")]
    durability: String,
}

const SECRET: &str = "bench-meraki-secret";

/// Realistic v3 posts: `networks` networks of 40 access points each (their own
/// MACs), clients drawn as real ones are spread, timed within the last minute.
fn meraki_posts(options: &Options, count: usize) -> Arc<Vec<Post>> {
    let now = ncompass::unix_now();
    Arc::new(
        (0..count)
            .map(|i| {
                let network = i % options.networks;
                let body = ncompass::meraki::samples::v3_body(
                    options.observations,
                    10_000 + i as u64,
                    now,
                    SECRET,
                );
                let body = String::from_utf8(body)
                    .unwrap()
                    .replace(
                        "L_643802754597887745",
                        &format!("L_64380275459788{network:04}"),
                    )
                    .replace(
                        "\"88:15:44:",
                        &format!("\"88:{:02x}:{:02x}:", network / 256, network % 256),
                    );
                (body, None)
            })
            .collect(),
    )
}

fn stored_rows(database: &Path) -> u64 {
    let mut conn = ncompass::db::connect(database.to_str().unwrap()).unwrap();
    bench::count(&mut conn, "SELECT count(*) AS n FROM probe_requests") as u64
}

async fn measure(
    options: &Options,
    path: &str,
    posts: &Arc<Vec<Post>>,
    per_post: u64,
    setup: impl FnOnce(&Server),
) -> (LoadResult, u64) {
    let server = Server::start(&options.server, &options.durability).await;
    setup(&server);
    let result = saturate(
        &server.url(path),
        Arc::clone(posts),
        per_post,
        options.concurrency,
        Duration::from_secs(options.seconds),
    )
    .await;
    assert_eq!(result.failed, 0, "failed posts at {path}");
    let rows = stored_rows(&server.database);
    server.stop();
    (result, rows)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    println!(
        "## Meraki v3 beside CloudTrax: {} observations a Meraki post ({} networks of 40 access points), 100 probe requests a CloudTrax report, {} connections, durability {}, {} s each\n",
        options.observations, options.networks, options.concurrency, options.durability, options.seconds
    );
    println!("| round | CloudTrax probe requests/s | Meraki observations/s | Meraki rows/s (ratio to CloudTrax) | p99 ms CloudTrax / Meraki | 503 CloudTrax / Meraki |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    // Enough posts for the run at up to 300,000 rows/s.
    let cloudtrax: Arc<Vec<Post>> = Arc::new(
        Workload {
            probes: 100,
            seed: 24,
            ..Workload::default()
        }
        .posts((300_000 * options.seconds / 100) as usize),
    );
    let meraki_count = (150_000 * options.seconds as usize / options.observations).max(1);
    let meraki = meraki_posts(&options, meraki_count);
    for round in 1..=options.rounds {
        let (ct, _) = measure(&options, "/receive", &cloudtrax, 100, |_| {}).await;
        let (mk, rows) = measure(
            &options,
            "/meraki/bench",
            &meraki,
            options.observations as u64,
            |server| {
                let status = std::process::Command::new(&options.server)
                    .arg("--database")
                    .arg(&server.database)
                    .args(["source", "add", "meraki", "bench", "--validator", "bench"])
                    .args(["--secret", SECRET])
                    .status()
                    .unwrap();
                assert!(status.success(), "source add");
            },
        )
        .await;
        let rows_per_second = rows as f64 / mk.elapsed.as_secs_f64();
        println!(
            "| {round} | {:.0} | {:.0} | {:.0} ({:.2}x) | {:.0} / {:.0} | {} / {} |",
            ct.probes_per_second(),
            mk.probes_per_second(),
            rows_per_second,
            rows_per_second / ct.probes_per_second(),
            ct.latency_ms(0.99),
            mk.latency_ms(0.99),
            ct.shed,
            mk.shed
        );
    }
}
