//! Ingestion on data that looks like production (`make bench-capacity`, issue 23): the
//! realistic workload beside the sequential one on an empty database, then the
//! realistic workload on databases already holding millions of rows (filled through the
//! storage code, [`bench::fill`]), each as a ratio to an empty-database run made beside
//! it; and what a stored row costs on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bench::fill::{fill, Fill};
use bench::{saturate, LoadResult, MacSpread, Post, Server, Workload};
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
    /// Probe requests per report.
    #[arg(long, default_value_t = 100)]
    probes: u32,
    /// Rows already stored before each filled run (comma separated), e.g.
    /// 3000000,10000000,30000000.
    #[arg(long, default_value = "3000000,10000000", value_delimiter = ',')]
    stored: Vec<u64>,
    /// Spread each fill over this many days. 1: every filled row is of the hour before
    /// the run (today's partition holds them all, as on a planned deployment's day);
    /// more: the rows are of the days before today, as in a database that has filled
    /// for days (the run's rows go to today's partition).
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// The server's --durability.
    #[arg(long, default_value = "full")]
    durability: String,
    /// Keep the filled databases in this folder (named by their row count) and reuse
    /// one found there: a 30M-row fill is made once for several runs.
    #[arg(long)]
    keep: Option<PathBuf>,
}

fn posts(options: &Options, macs: MacSpread, seed: u64) -> Arc<Vec<Post>> {
    // Enough for the run at up to 400,000 probe requests/s.
    let count = (400_000 * options.seconds / u64::from(options.probes)) as usize;
    Arc::new(
        Workload {
            probes: options.probes,
            macs,
            seed,
            ..Workload::default()
        }
        .posts(count),
    )
}

async fn run(options: &Options, server: &Server, bodies: &Arc<Vec<Post>>) -> LoadResult {
    let result = saturate(
        &server.url("/receive"),
        Arc::clone(bodies),
        u64::from(options.probes),
        options.concurrency,
        Duration::from_secs(options.seconds),
    )
    .await;
    assert_eq!(result.failed, 0, "failed posts");
    result
}

/// The database file's bytes once its WAL is checkpointed into it (the WAL's size
/// depends on when the server last checkpointed, not on what is stored).
fn disk_bytes(database: &Path) -> u64 {
    use diesel::connection::SimpleConnection;
    let mut conn = ncompass::db::connect(database.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    std::fs::metadata(database).unwrap().len()
}

/// Rows in `probe_requests`, read from the file.
fn stored_rows(database: &Path) -> u64 {
    let mut conn = ncompass::db::connect(database.to_str().unwrap()).unwrap();
    bench::count(&mut conn, "SELECT count(*) AS n FROM probe_requests") as u64
}

/// A run of `macs` on an empty database: its result, and the file's bytes a row after
/// it. The realistic one is the baseline each ratio is taken against, measured beside
/// the run it is compared with.
async fn empty_run(options: &Options, macs: MacSpread, seed: u64) -> (LoadResult, f64) {
    let bodies = posts(options, macs, seed);
    let mut server = Server::start(&options.server, &options.durability).await;
    let result = run(options, &server, &bodies).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let bytes = disk_bytes(&server.database) as f64 / stored_rows(&server.database).max(1) as f64;
    server.stop();
    (result, bytes)
}

/// A database of `rows` rows: a fresh fill, or the one kept from an earlier run.
fn filled(options: &Options, rows: u64, dir: &Path) -> PathBuf {
    let folder = options.keep.as_deref().unwrap_or(dir);
    let name = if options.days > 1 {
        format!("filled-{rows}-{}d", options.days)
    } else {
        format!("filled-{rows}")
    };
    let path = folder.join(format!("{name}.db"));
    if options.keep.is_some() && path.exists() {
        eprintln!("reusing {}", path.display());
        return path;
    }
    // Made under another name and renamed once whole: a fill that was stopped is never
    // taken for a finished one.
    let partial = folder.join(format!("filling-{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    let workload = Workload {
        probes: 100,
        seed: 7_000 + rows,
        ..Workload::default()
    };
    let mut said = std::time::Instant::now();
    let done = fill(
        partial.to_str().unwrap(),
        &workload,
        &Fill {
            rows,
            end_before: if options.days > 1 { 86_400 } else { 3_600 },
            merge: false,
            days: options.days,
        },
        |stored| {
            if said.elapsed() >= Duration::from_secs(10) {
                eprintln!("filling: {stored} of {rows} rows");
                said = std::time::Instant::now();
            }
        },
    );
    eprintln!(
        "filled {} rows in {:.0} s, indexes built in {:.0} s",
        done.rows, done.insert_seconds, done.index_seconds
    );
    std::fs::rename(&partial, &path).unwrap();
    path
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    println!(
        "## Ingestion on realistic data: {} probe requests per report, {} connections, durability {}, {} s each\n",
        options.probes, options.concurrency, options.durability, options.seconds
    );
    println!("| run | probe requests/s | vs realistic, empty (beside it) | p50 ms | p99 ms | 503 | bytes a row on disk |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");

    // The two workloads on an empty database, alternated twice.
    for round in 0..2 {
        let mut rates = [0.0; 2];
        for (i, macs) in [MacSpread::Realistic, MacSpread::Sequential]
            .into_iter()
            .enumerate()
        {
            let (result, bytes) = empty_run(&options, macs, 100 + round).await;
            rates[i] = result.probes_per_second();
            println!(
                "| {} MACs, empty database (round {}) | {:.0} | {:.2}x | {:.1} | {:.1} | {} | {bytes:.0} |",
                if macs == MacSpread::Realistic { "realistic" } else { "sequential" },
                round + 1,
                rates[i],
                rates[i] / rates[0],
                result.latency_ms(0.5),
                result.latency_ms(0.99),
                result.shed,
            );
        }
    }

    let dir = tempfile::tempdir().unwrap();
    for &rows in &options.stored {
        let database = filled(&options, rows, dir.path());
        // Each filled run is measured on a copy, so a kept fill stays as it was.
        let copy = dir.path().join("run.db");
        std::fs::copy(&database, &copy).unwrap();
        // On disk before the runs: the copy's write-back (gigabytes) would otherwise
        // compete with the measured run's fsyncs.
        std::fs::File::open(&copy).unwrap().sync_all().unwrap();
        let filled_bytes = std::fs::metadata(&copy).unwrap().len();
        let before = empty_run(&options, MacSpread::Realistic, 200 + rows)
            .await
            .0
            .probes_per_second();
        let bodies = posts(&options, MacSpread::Realistic, 300 + rows);
        let server =
            Server::start_on(&options.server, &options.durability, Some(copy.clone())).await;
        let result = run(&options, &server, &bodies).await;
        server.stop();
        let after = empty_run(&options, MacSpread::Realistic, 400 + rows)
            .await
            .0
            .probes_per_second();
        let baseline = (before + after) / 2.0;
        let total = stored_rows(&copy);
        let bytes = disk_bytes(&copy) as f64 / total.max(1) as f64;
        let filled_bytes = filled_bytes as f64 / (total - result.probes_ok).max(1) as f64;
        println!(
            "| realistic MACs, {rows} rows stored before ({} day(s)) | {:.0} | {:.2}x (empty: {before:.0} before, {after:.0} after) | {:.1} | {:.1} | {} | {bytes:.0} (the fill alone: {filled_bytes:.0}) |",
            options.days,
            result.probes_per_second(),
            result.probes_per_second() / baseline,
            result.latency_ms(0.5),
            result.latency_ms(0.99),
            result.shed,
        );
        std::fs::remove_file(&copy).unwrap();
        for suffix in ["-wal", "-shm", ".key"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
        }
    }
}
