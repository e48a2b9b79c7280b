//! The presence merge's rate on the realistic workload (`make bench-merge`, issue 23):
//! a database filled through the storage code ([`bench::fill`]) with rows not yet
//! merged, then merged by `db::presence::catch_up` in the idle writer's chunks until
//! caught up, on SQLite and, with `--postgres URL` (a server's existing database, e.g.
//! `postgres`; `NCOMPASS_BENCH_POSTGRES`), on a new database of that server in the
//! same run. Most of the workload's clients are new devices (random tails,
//! randomized MACs), the case where every merged row makes a segment of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use bench::fill::{fill, Fill};
use bench::{count, Workload};
use clap::Parser;

#[derive(Parser)]
struct Options {
    /// Probe requests to fill and merge.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rows a merge transaction takes (the idle writer's chunk).
    #[arg(long, default_value_t = 5_000)]
    chunk: i64,
    /// Also on a new database of this PostgreSQL server (the URL of one of its
    /// databases, e.g. `postgres`).
    #[arg(long, env = "NCOMPASS_BENCH_POSTGRES")]
    postgres: Option<String>,
}

/// Fills `url` and merges it; prints one table row. Returns rows merged a second.
fn measure(label: &str, url: &str, options: &Options) -> f64 {
    let workload = Workload::default();
    let filled = fill(
        url,
        &workload,
        &Fill {
            rows: options.rows,
            end_before: 3_600,
            merge: true,
            days: 1,
        },
        |_| {},
    );
    let mut conn = ncompass::db::connect(url).unwrap();
    let started = Instant::now();
    let mut merged = 0usize;
    let mut chunks = 0u64;
    let mut last_report = Instant::now();
    loop {
        let rows = ncompass::db::presence::catch_up(&mut conn, options.chunk).unwrap();
        if rows == 0 {
            break;
        }
        merged += rows;
        chunks += 1;
        if last_report.elapsed().as_secs() >= 10 {
            last_report = Instant::now();
            eprintln!("{label}: {merged} of {} rows merged", filled.rows);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(merged as u64, filled.rows, "every row merged once");
    let segments = count(&mut conn, "SELECT count(*) AS n FROM presence_segments");
    let rate = merged as f64 / seconds;
    println!(
        "| {label} | {merged} | {segments} | {seconds:.1} | {:.0} | {rate:.0} |",
        seconds * 1000.0 / chunks as f64
    );
    rate
}

fn main() {
    let options = Options::parse();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("merge.db");
    println!(
        "Presence merge of {} realistic rows in chunks of {} (`catch_up`), {}",
        options.rows,
        options.chunk,
        std::env::consts::ARCH
    );
    println!();
    println!("| database | rows merged | segments | seconds | ms a chunk | rows/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let sqlite_rate = measure("SQLite", sqlite.to_str().unwrap(), &options);
    if let Some(server) = &options.postgres {
        let url = bench::new_postgres_database(server, "merge_bench");
        let postgres_rate = measure("PostgreSQL", &url, &options);
        println!();
        println!(
            "PostgreSQL merges at {:.2}x SQLite's rate.",
            postgres_rate / sqlite_rate
        );
    }
}
