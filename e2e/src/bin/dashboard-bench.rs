//! The dashboard's size and speed, as reported in BENCHMARKS.md (`make bench-dashboard`).
//!
//! - Bundle: every .wasm, .js and .css file of dist/, raw and gzipped (level 9, what the
//!   backend serves to browsers that accept gzip), against the 350 KB budget.
//! - Time from navigation to a rendered table of 100 rows in headless Chromium on
//!   localhost: the `ncompass:table-rendered` performance mark, which the table sets the
//!   first time it shows rows. Cold (fresh browser profile, nothing cached) and warm
//!   (the same browser navigating again), median of several runs; beside it, as the
//!   baseline on the same machine in the same run, the load time of a plain document
//!   of the same server (`/api/v1/openapi.json`; before 2026-11-28 it was `/api/docs`,
//!   then a server-rendered page, now Swagger UI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::Write as _;

use e2e::{client_mac, dist_dir, probe, report, Harness};
use flate2::write::GzEncoder;
use flate2::Compression;

const COLD_RUNS: usize = 5;
const WARM_RUNS: usize = 15;
const BUDGET_GZIPPED: u64 = 350 * 1024;

#[actix_web::main]
async fn main() {
    bundle();
    render().await;
}

fn gzipped_len(bytes: &[u8]) -> u64 {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len() as u64
}

fn bundle() {
    let dir = dist_dir();
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => "wasm",
            Some("js") => "js",
            Some("css") => "css",
            Some("html") => "html",
            _ => continue,
        };
        let bytes = std::fs::read(&path).unwrap();
        rows.push((kind, name, bytes.len() as u64, gzipped_len(&bytes)));
    }
    rows.sort();
    println!("## Bundle (dist/)\n");
    println!("| file | kind | raw | gzipped |\n| --- | --- | ---: | ---: |");
    for (kind, name, raw, gzipped) in &rows {
        println!("| {name} | {kind} | {} | {} |", kib(*raw), kib(*gzipped));
    }
    let raw: u64 = rows.iter().map(|r| r.2).sum();
    let gzipped: u64 = rows.iter().map(|r| r.3).sum();
    println!("| **total** | | **{}** | **{}** |", kib(raw), kib(gzipped));
    println!(
        "\nBudget: {} gzipped; used {:.0}%.\n",
        kib(BUDGET_GZIPPED),
        gzipped as f64 * 100.0 / BUDGET_GZIPPED as f64
    );
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

async fn seed(h: &Harness) {
    let probes = (0..150u32)
        .map(|i| {
            probe(
                &client_mac(i),
                1_700_000_000 + i64::from(i),
                1_700_000_030 + i64::from(i),
                i % 4 == 0,
            )
        })
        .collect();
    h.post_report(&report(1, "AC:86:74:00:00:01", probes)).await;
}

/// Navigates to the dashboard and returns the ms from navigation start to 100 rows.
async fn time_to_table(h: &Harness) -> f64 {
    h.open("/?limit=100").await;
    let rendered = h
        .eventually("the table-rendered mark", || async {
            h.js(
                "const m = performance.getEntriesByName('ncompass:table-rendered'); \
                  return m.length ? m[0].startTime : null",
            )
            .await
            .as_f64()
        })
        .await;
    assert_eq!(h.row_ids().await.len(), 100);
    rendered
}

/// Navigates to the OpenAPI document (a plain document, no script of ours) and returns
/// ms to its load event.
async fn time_to_static_page(h: &Harness) -> f64 {
    h.open("/api/v1/openapi.json").await;
    h.eventually("the load event", || async {
        h.js("const n = performance.getEntriesByType('navigation')[0]; \
              return n && n.loadEventEnd > 0 ? n.loadEventEnd : null")
            .await
            .as_f64()
    })
    .await
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

async fn render() {
    let mut cold = Vec::new();
    let mut cold_baseline = Vec::new();
    for _ in 0..COLD_RUNS {
        // A fresh profile: the plain page first (it shares no file with the dashboard),
        // then the dashboard with nothing of it cached.
        let h = Harness::start().await;
        seed(&h).await;
        cold_baseline.push(time_to_static_page(&h).await);
        cold.push(time_to_table(&h).await);
        h.finish().await;
    }
    let h = Harness::start().await;
    seed(&h).await;
    time_to_table(&h).await;
    time_to_static_page(&h).await;
    let mut warm = Vec::new();
    let mut warm_baseline = Vec::new();
    for _ in 0..WARM_RUNS {
        warm.push(time_to_table(&h).await);
        warm_baseline.push(time_to_static_page(&h).await);
    }
    h.finish().await;
    let rows = [
        (
            "cold (fresh profile)",
            median(cold),
            median(cold_baseline),
            COLD_RUNS,
        ),
        (
            "warm (cached)",
            median(warm),
            median(warm_baseline),
            WARM_RUNS,
        ),
    ];
    println!("## Navigation to a rendered table of 100 rows (headless Chromium, localhost)\n");
    println!(
        "| run | dashboard, median | baseline: /api/v1/openapi.json load, median | ratio | runs |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, dashboard, baseline, runs) in rows {
        println!(
            "| {name} | {dashboard:.0} ms | {baseline:.0} ms | {:.1}x | {runs} |",
            dashboard / baseline
        );
    }
}
