//! The hostile-input figures of BENCHMARKS.md (`make bench-hostile`), on the release
//! binary and an SQLite file:
//! 1. signed reports at a fixed rate alone, beside the same reports while an attacker
//!    posts refused bodies (unsigned, holding a NUL byte) at ten times their rate: the
//!    legitimate reports lost (must be 0) and their latency, as ratios to the run alone;
//! 2. the server's resident memory idle, then with 200 exports whose clients read
//!    nothing, then with 5,000 idle connections and 500 trickling a body a byte a second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench::{fixed_rate, resident_memory_mib, LoadResult, Post, Server, Workload};
use clap::Parser;

#[derive(Parser)]
struct Options {
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/ncompass")]
    server: PathBuf,
    /// Seconds of each run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Legitimate reports a second (100 probe requests each) on SQLite.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Legitimate reports a second on PostgreSQL: under what one instance stores on
    /// this machine (about 2,300 probe requests/s), so that latency measures the
    /// attacker, not a queue.
    #[arg(long, default_value_t = 15.0)]
    postgres_rate: f64,
    /// Rounds of the alone / attacked pair (the order alternates).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Also run the pairs on PostgreSQL: a URL of an existing database on the server
    /// (each run gets a new database beside it). The NUL byte of the attacker's bodies
    /// is what PostgreSQL's text refuses.
    #[arg(long)]
    postgres: Option<String>,
}

const SECRET: &str = "bench-secret";

/// A refused body: unsigned, and holding a NUL byte (PostgreSQL's text refuses it).
fn attack_posts(count: usize) -> Arc<Vec<Post>> {
    Arc::new(
        (0..count)
            .map(|n| {
                (
                    format!(
                        "{{\"network_id\": {n}, \"node_mac\": \"\u{0}\", \"probe_requests\": []}}"
                    ),
                    None,
                )
            })
            .collect(),
    )
}

fn row(name: &str, legit: &LoadResult, alone: Option<&LoadResult>) -> String {
    let ratio = |value: f64, base: f64| {
        if base > 0.0 {
            format!("{:.2}x", value / base)
        } else {
            "-".to_string()
        }
    };
    format!(
        "| {name} | {} | {} | {} | {:.1} ({}) | {:.1} ({}) |",
        legit.ok,
        legit.shed,
        legit.failed,
        legit.latency_ms(0.5),
        alone.map_or("1.00x".to_string(), |a| ratio(
            legit.latency_ms(0.5),
            a.latency_ms(0.5)
        )),
        legit.latency_ms(0.99),
        alone.map_or("1.00x".to_string(), |a| ratio(
            legit.latency_ms(0.99),
            a.latency_ms(0.99)
        )),
    )
}

async fn legitimate_run(
    options: &Options,
    round: usize,
    attacked: bool,
    postgres: Option<&str>,
) -> (LoadResult, u64) {
    let database = postgres.map(|server| {
        PathBuf::from(bench::new_postgres_database(
            server,
            &format!("hostile_{round}_{}", u8::from(attacked)),
        ))
    });
    let rate = if postgres.is_some() {
        options.postgres_rate
    } else {
        options.rate
    };
    let server = Server::start_with(&options.server, "full", database, &["--secret", SECRET]).await;
    let count = (rate * options.seconds as f64) as usize + 1;
    let posts = Arc::new(
        Workload {
            secret: Some(SECRET.to_string()),
            seed: 7 + round as u64,
            ..Workload::default()
        }
        .posts(count),
    );
    let duration = Duration::from_secs(options.seconds);
    let url = server.url("/receive");
    let attacker = attacked.then(|| {
        let url = url.clone();
        let rate = rate * 10.0;
        let posts = attack_posts((rate * options.seconds as f64) as usize + 1);
        tokio::spawn(async move { fixed_rate(&url, posts, 0, rate, duration).await })
    });
    let legit = fixed_rate(&url, posts, 100, rate, duration).await;
    let refused = match attacker {
        Some(attacker) => attacker.await.unwrap().failed,
        None => 0,
    };
    server.stop();
    (legit, refused)
}

fn rss(server: &Server) -> f64 {
    resident_memory_mib(server.child.id()).map_or(f64::NAN, |(rss, _)| rss)
}

async fn memory(options: &Options) {
    // 200,000 rows, so that an export outlasts the socket buffers of a client that
    // reads nothing.
    let seeded = Server::start(&options.server, "normal").await;
    let posts = Arc::new(Workload::default().posts(2_000));
    bench::saturate(
        &seeded.url("/receive"),
        posts,
        100,
        16,
        Duration::from_secs(120),
    )
    .await;
    // Stopped, then copied with its WAL and MAC key (dropping the server removes its
    // folder; a file is refused under another key, even in raw mode).
    let mut seeded = seeded;
    seeded.child.kill().unwrap();
    seeded.child.wait().unwrap();
    let kept = std::env::temp_dir().join(format!("hostile-bench-{}.db", std::process::id()));
    std::fs::copy(&seeded.database, &kept).unwrap();
    for suffix in ["-wal", ".key"] {
        let beside = |path: &std::path::Path| PathBuf::from(format!("{}{suffix}", path.display()));
        if beside(&seeded.database).exists() {
            std::fs::copy(beside(&seeded.database), beside(&kept)).unwrap();
        }
    }
    seeded.stop();
    let server = Server::start_on(&options.server, "normal", Some(kept.clone())).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss(&server);

    let port = server.port;
    let exports: Vec<(TcpStream, bool)> = (0..200)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                stream,
                "GET /api/v1/probe-requests/export?format=ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            .unwrap();
            (stream, true)
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut buffer = [0u8; 64];
    let mut streaming = 0;
    for (stream, _) in &exports {
        use std::io::Read;
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut stream = stream;
        if let Ok(n) = stream.read(&mut buffer) {
            if buffer[..n].starts_with(b"HTTP/1.1 200") {
                streaming += 1;
            }
        }
    }
    let with_exports = rss(&server);
    drop(exports);

    // Past what the server accepts, a connection waits in the listen queue: give up on
    // it after a second.
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let connect = || TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok();
    let started = Instant::now();
    let idle_connections: Vec<TcpStream> = (0..5_000).filter_map(|_| connect()).collect();
    let mut tricklers: Vec<TcpStream> = (0..500)
        .filter_map(|_| {
            let mut stream = connect()?;
            write!(
                stream,
                "POST /receive HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .ok()?;
            Some(stream)
        })
        .collect();
    for _ in 0..5 {
        for stream in &mut tricklers {
            let _ = stream.write_all(b"1\r\n \r\n");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let with_connections = rss(&server);
    let health = reqwest::Client::new()
        .get(server.url("/api/v1/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().as_u16());
    println!(
        "\n| server state | resident MiB | ratio to idle |\n| --- | ---: | ---: |\n\
         | idle, 200,000 rows | {idle:.0} | 1.00x |\n\
         | 200 exports whose clients read nothing ({streaming} streaming, the rest 503) | {with_exports:.0} | {:.2}x |\n\
         | {} idle + {} trickling connections ({:.0} s) | {with_connections:.0} | {:.2}x |\n\n\
         health meanwhile: {health:?}",
        with_exports / idle,
        idle_connections.len(),
        tricklers.len(),
        started.elapsed().as_secs_f64(),
        with_connections / idle,
    );
    drop(idle_connections);
    drop(tricklers);
    server.stop();
    for suffix in ["", "-wal", "-shm", ".key"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", kept.display()));
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    println!(
        "| run (reports/s of 100: {} on SQLite, {} on PostgreSQL; {} s; attacker 10x as many refused posts) | stored | 503 | other | p50 ms (ratio) | p99 ms (ratio) |\n| --- | ---: | ---: | ---: | ---: | ---: |",
        options.rate, options.postgres_rate, options.seconds
    );
    let databases = std::iter::once(("SQLite", None)).chain(
        options
            .postgres
            .as_deref()
            .map(|url| ("PostgreSQL", Some(url))),
    );
    for (name, postgres) in databases {
        for round in 0..options.rounds {
            let order = if round % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            let mut alone = None;
            let mut attacked = None;
            for attack in order {
                let result = legitimate_run(&options, round, attack, postgres).await;
                if attack {
                    attacked = Some(result);
                } else {
                    alone = Some(result);
                }
            }
            let (alone, _) = alone.unwrap();
            let (attacked, refused) = attacked.unwrap();
            println!(
                "{}",
                row(&format!("{name}, round {round}: alone"), &alone, None)
            );
            println!(
                "{}",
                row(
                    &format!("{name}, round {round}: attacked ({refused} refusals answered)"),
                    &attacked,
                    Some(&alone)
                )
            );
        }
    }
    memory(&options).await;
}
