//! Retention on SQLite's day partitions (`make bench-retention`, issue 23): the oldest
//! day of a filled file dropped whole (`db::retention::drop_partitions`, what the
//! writer does once a day is past the limit and merged) beside the same day's rows
//! deleted by the chunk (`db::retention::delete_chunk`, what it does for the cutoff's
//! own day and the default table), each on its own copy of the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use ncompass::db::retention::{self, Cutoffs};

#[derive(Parser)]
struct Options {
    /// A file filled over several days (`capacity-bench --days 4 --keep DIR` leaves
    /// one), its rows merged. Never changed: each measure runs on a copy. Without it, a
    /// file of `--rows` rows over two days is filled first.
    #[arg(long)]
    database: Option<PathBuf>,
    /// Rows of the fill when no --database is given (half of them the oldest day's).
    #[arg(long, default_value_t = 5_000_000)]
    rows: u64,
    /// Rows a chunk of the chunked delete (the writer sizes its chunks to ~20 ms).
    #[arg(long, default_value_t = 5_000)]
    chunk: i64,
    /// How long the chunked delete runs (its rate is extrapolated to the whole day).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

fn copy(database: &std::path::Path, name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(database, &path).unwrap();
    (dir, path.to_str().unwrap().to_string())
}

fn main() {
    let options = Options::parse();
    let now = ncompass::unix_now();
    let filled_dir = tempfile::tempdir().unwrap();
    let database = match &options.database {
        Some(database) => database.clone(),
        None => {
            let path = filled_dir.path().join("filled.db");
            let filled = bench::fill::fill(
                path.to_str().unwrap(),
                &bench::Workload::default(),
                &bench::fill::Fill {
                    rows: options.rows,
                    end_before: 86_400,
                    merge: false,
                    days: 2,
                },
                |_| {},
            );
            eprintln!(
                "filled {} rows in {:.0} s",
                filled.rows, filled.insert_seconds
            );
            path
        }
    };

    let (_dropped_dir, url) = copy(&database, "drop.db");
    let mut conn = ncompass::db::connect(&url).unwrap();
    let oldest = ncompass::db::partitions::tables(&mut conn)
        .unwrap()
        .into_iter()
        .find_map(|table| table.day)
        .expect("a day partition in the file");
    let name = ncompass::db::partitions::name(oldest);
    let rows = diesel::sql_query(format!("SELECT count(*) AS rows FROM {name}"))
        .get_result::<Count>(&mut conn)
        .unwrap()
        .rows;
    let cutoff = (oldest + 1) * 86_400;
    let started = Instant::now();
    let dropped = retention::drop_partitions(&mut conn, cutoff, now).unwrap();
    let drop_seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        dropped,
        u64::try_from(rows).unwrap(),
        "the day's rows, counted"
    );
    drop(conn);

    let (_deleted_dir, url) = copy(&database, "delete.db");
    let mut conn = ncompass::db::connect(&url).unwrap();
    let cutoffs = Cutoffs {
        probe_requests: Some(cutoff),
        presence: None,
    };
    let mut deleted = 0u64;
    let mut cursor = None;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(options.seconds) {
        let chunk =
            retention::delete_chunk(&mut conn, cutoffs, options.chunk, &mut cursor).unwrap();
        if chunk.probe_requests == 0 {
            break;
        }
        deleted += chunk.probe_requests;
    }
    let rate = deleted as f64 / started.elapsed().as_secs_f64();

    println!("| day of {rows} rows ({name}) | seconds | rows/s | vs dropping |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| dropped whole (drop_partitions) | {drop_seconds:.2} | {:.0} | 1.00x |",
        rows as f64 / drop_seconds
    );
    println!(
        "| deleted by chunks of {} ({deleted} rows in {:.0} s, the day extrapolated) | {:.0} | {rate:.0} | {:.0}x slower |",
        options.chunk,
        started.elapsed().as_secs_f64(),
        rows as f64 / rate,
        (rows as f64 / rate) / drop_seconds
    );
}
