//! Ingestion on PostgreSQL beside SQLite, and two instances on one PostgreSQL
//! (BENCHMARKS.md, "PostgreSQL and several instances"). Run by `make bench-postgres`,
//! which gives it a throwaway cluster (Debian's pg_virtualenv) in
//! `NCOMPASS_BENCH_POSTGRES`.
//!
//! Runs, each on a new database, 100 probe requests per report, 64 connections:
//! SQLite, one instance (the baseline); PostgreSQL, one instance; PostgreSQL, two
//! instances (the connections split between them); and the raw ceiling: the rows of the
//! PostgreSQL one-instance run inserted into the same schema through one connection in
//! one transaction, a report's rows a statement, with a multi-row `INSERT ... VALUES`
//! and with the writer's `INSERT ... SELECT FROM unnest(...)` by turns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{saturate, LoadResult, Post, Server, Workload};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// A PostgreSQL maintenance database URL; each run creates a database there.
    #[arg(long, env = "NCOMPASS_BENCH_POSTGRES")]
    postgres: String,
    /// Seconds of each saturation run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections of each saturation run (split over the instances).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

const PROBES: u32 = 100;

fn row(name: &str, result: &LoadResult, baseline: f64) -> String {
    format!(
        "| {name} | {:.0} | {:.0} | {:.2}x | {:.1} | {:.1} | {} | {} |",
        result.reports_per_second(),
        result.probes_per_second(),
        result.probes_per_second() / baseline,
        result.latency_ms(0.5),
        result.latency_ms(0.99),
        result.shed,
        result.failed
    )
}

/// Saturates every server at once, `concurrency` connections in all, each server with
/// its own share of the bodies.
async fn saturate_all(servers: &[&Server], bodies: &[Post], options: &Options) -> LoadResult {
    let share = bodies.len() / servers.len();
    let connections = options.concurrency / servers.len();
    let duration = Duration::from_secs(options.seconds);
    let runs: Vec<_> = servers
        .iter()
        .enumerate()
        .map(|(i, server)| {
            let part = Arc::new(bodies[i * share..(i + 1) * share].to_vec());
            let url = server.url("/receive");
            tokio::spawn(async move {
                saturate(&url, part, u64::from(PROBES), connections, duration).await
            })
        })
        .collect();
    let mut total = LoadResult::default();
    let mut elapsed = Duration::ZERO;
    for run in runs {
        let result = run.await.unwrap();
        elapsed = elapsed.max(result.elapsed);
        total.absorb(result);
    }
    total.elapsed = elapsed;
    total
}

/// The rows the run on `database` stored, as inserted.
type Row = (
    i64,
    i64,
    String,
    String,
    i64,
    i32,
    i32,
    i32,
    Option<i32>,
    i64,
    i64,
    bool,
    bool,
);

fn stored_rows(database: &str) -> Vec<Row> {
    use ncompass::db::schema::probe_requests as p;
    let mut source = ncompass::db::connect(database).unwrap();
    p::table
        .order(p::id)
        .select((
            p::report_id,
            p::network_id,
            p::node_mac,
            p::mac,
            p::count,
            p::min_signal,
            p::max_signal,
            p::avg_signal,
            p::last_seen_signal,
            p::first_seen,
            p::last_seen,
            p::associated,
            p::randomized,
        ))
        .load(&mut source)
        .unwrap()
}

/// How the ceiling inserts a report's rows.
#[derive(Clone, Copy)]
enum Statement {
    /// `INSERT ... VALUES (..), (..), ... ON CONFLICT DO NOTHING`: 13 parameters a row
    /// (the writer's statement until 2026-12-07).
    Values,
    /// `INSERT ... SELECT FROM unnest($1::text[], ...) ON CONFLICT DO NOTHING`: a
    /// column an array (the writer's statement since).
    Unnest,
}

/// The ceiling: `rows`, copied into a new database of the same schema through one
/// connection in one transaction, `PROBES` rows a statement as the writer stores a
/// report; the database is named after `run`. Returns seconds.
fn ceiling(options: &Options, rows: &[Row], statement: Statement, run: usize) -> f64 {
    use ncompass::db::schema::probe_requests as p;
    let name = format!("bench_ceiling_{run}");
    let target = bench::new_postgres_database(&options.postgres, &name);
    ncompass::db::migrate(&target).unwrap();
    let ncompass::db::Conn::Postgres(mut conn) = ncompass::db::connect(&target).unwrap() else {
        unreachable!("a PostgreSQL URL")
    };
    conn.batch_execute(
        "INSERT INTO reports (network_id, node_mac, version, received_at, probe_request_count, \
         stored_count, duplicate_count) VALUES (0, '', 1, 0, 0, 0, 0)",
    )
    .unwrap();
    let started = Instant::now();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for chunk in rows.chunks(PROBES as usize) {
            match statement {
                Statement::Values => {
                    let values: Vec<_> = chunk
                        .iter()
                        .map(|r| {
                            (
                                p::report_id.eq(1_i64),
                                p::network_id.eq(r.1),
                                p::node_mac.eq(&r.2),
                                p::mac.eq(&r.3),
                                p::count.eq(r.4),
                                p::min_signal.eq(r.5),
                                p::max_signal.eq(r.6),
                                p::avg_signal.eq(r.7),
                                p::last_seen_signal.eq(r.8),
                                p::first_seen.eq(r.9),
                                p::last_seen.eq(r.10),
                                p::associated.eq(r.11),
                                p::randomized.eq(r.12),
                            )
                        })
                        .collect();
                    diesel::insert_into(p::table)
                        .values(values)
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                Statement::Unnest => {
                    use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
                    fn column<T: Clone>(chunk: &[Row], field: impl Fn(&Row) -> T) -> Vec<T> {
                        chunk.iter().map(field).collect()
                    }
                    diesel::sql_query(
                        "INSERT INTO probe_requests (report_id, network_id, node_mac, mac, \
                         count, min_signal, max_signal, avg_signal, last_seen_signal, \
                         first_seen, last_seen, associated, randomized) \
                         SELECT 1, * FROM unnest($1::int8[], $2::text[], $3::text[], \
                         $4::int8[], $5::int4[], $6::int4[], $7::int4[], $8::int4[], \
                         $9::int8[], $10::int8[], $11::bool[], $12::bool[]) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind::<Array<BigInt>, _>(column(chunk, |r| r.1))
                    .bind::<Array<Text>, _>(column(chunk, |r| r.2.clone()))
                    .bind::<Array<Text>, _>(column(chunk, |r| r.3.clone()))
                    .bind::<Array<BigInt>, _>(column(chunk, |r| r.4))
                    .bind::<Array<Integer>, _>(column(chunk, |r| r.5))
                    .bind::<Array<Integer>, _>(column(chunk, |r| r.6))
                    .bind::<Array<Integer>, _>(column(chunk, |r| r.7))
                    .bind::<Array<Nullable<Integer>>, _>(column(chunk, |r| r.8))
                    .bind::<Array<BigInt>, _>(column(chunk, |r| r.9))
                    .bind::<Array<BigInt>, _>(column(chunk, |r| r.10))
                    .bind::<Array<Bool>, _>(column(chunk, |r| r.11))
                    .bind::<Array<Bool>, _>(column(chunk, |r| r.12))
                    .execute(conn)?;
                }
            }
        }
        Ok(())
    })
    .unwrap();
    started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    let count = (400_000 * options.seconds / u64::from(PROBES)) as usize;
    let bodies = Workload {
        probes: PROBES,
        ..Workload::default()
    }
    .posts(count);
    println!(
        "## Ingestion, {PROBES} probe requests per report, {} connections, {} s each\n",
        options.concurrency, options.seconds
    );
    println!("| run | reports/s | probe requests/s | vs SQLite | p50 ms | p99 ms | 503 | failed |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");

    let sqlite = Server::start(&options.server, "full").await;
    let baseline = saturate_all(&[&sqlite], &bodies, &options).await;
    let base = baseline.probes_per_second();
    println!(
        "{}",
        row("SQLite, one instance (baseline)", &baseline, base)
    );
    sqlite.stop();

    let one = bench::new_postgres_database(&options.postgres, "bench_one");
    let server = Server::start_on(&options.server, "full", Some(PathBuf::from(&one))).await;
    let result = saturate_all(&[&server], &bodies, &options).await;
    println!("{}", row("PostgreSQL, one instance", &result, base));
    server.stop();

    let two = bench::new_postgres_database(&options.postgres, "bench_two");
    let a = Server::start_on(&options.server, "full", Some(PathBuf::from(&two))).await;
    let b = Server::start_on(&options.server, "full", Some(PathBuf::from(&two))).await;
    let result = saturate_all(&[&a, &b], &bodies, &options).await;
    println!("{}", row("PostgreSQL, two instances", &result, base));
    a.stop();
    b.stop();

    // The two statements by turns, twice each: the machine's drift falls on both.
    let rows = stored_rows(&one);
    let mut seconds = [0.0; 2];
    for round in 0..2 {
        seconds[0] += ceiling(&options, &rows, Statement::Values, 2 * round);
        seconds[1] += ceiling(&options, &rows, Statement::Unnest, 2 * round + 1);
    }
    let rate = |seconds: f64| 2.0 * rows.len() as f64 / seconds;
    println!(
        "\nCeiling: the {} rows of the one-instance run into the same schema through one \
         connection, {PROBES} rows a statement, one transaction, two runs of each by turns:\n\
         - multi-row INSERT ... VALUES ... ON CONFLICT DO NOTHING: {:.0} rows/s ({:.2}x the \
         SQLite baseline's probe requests/s)\n\
         - INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING (the writer's): {:.0} \
         rows/s ({:.2}x; {:.2}x the VALUES statement)",
        rows.len(),
        rate(seconds[0]),
        rate(seconds[0]) / base,
        rate(seconds[1]),
        rate(seconds[1]) / base,
        seconds[0] / seconds[1]
    );
}
