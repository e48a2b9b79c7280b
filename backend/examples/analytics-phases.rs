//! Times each phase of the presence figures of one UTC day on an existing database:
//! reading the segments, assembling the visits, the summary and the hourly series.
//! For profiling what `make bench-presence` measures end to end:
//!
//! ```sh
//! cargo run --release -p bench --bin presence-bench -- --rows 1000000 --keep /tmp
//! cargo run --release -p ncompass --example analytics-phases -- /tmp/presence-1007256.db 1764028800
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use ncompass::analytics::{self, Bucket, Days, Thresholds};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: analytics-phases DATABASE [DAY_START]");
    let since: i64 = args
        .next()
        .map_or(1_764_028_800, |day| day.parse().unwrap());
    let until = since + 86_399;
    let mut conn = ncompass::db::connect(&path).unwrap();
    if let Ok(pragmas) = std::env::var("PRAGMAS") {
        diesel::connection::SimpleConnection::batch_execute(&mut conn, &pragmas).unwrap();
    }
    let utc = jiff::tz::TimeZone::UTC;
    let thresholds = Thresholds::default();
    let days = Days::new(since, until, &utc).unwrap();
    let bounds = analytics::buckets(since, until, Bucket::Hour, &utc).unwrap();
    let (first_day, last_day) = analytics::window_days(since, until);
    for _ in 0..5 {
        let started = Instant::now();
        let segments =
            ncompass::db::presence::segments(&mut conn, first_day, last_day, None, None, i64::MAX)
                .unwrap();
        let read = started.elapsed();
        let count = segments.len();
        let visits = analytics::visits(segments, &thresholds);
        let assembled = started.elapsed();
        let always = analytics::OpenTimes::always();
        let counting = analytics::Counting {
            nodes: None,
            thresholds: &thresholds,
            days: &days,
            open: &always,
        };
        let summary = analytics::summary(&visits, since, until, &counting);
        let summarized = started.elapsed();
        let series = analytics::series(&visits, &bounds, &counting);
        let done = started.elapsed();
        println!(
            "{count} segments, {} visits, {} devices, {} buckets: read {read:.1?}, visits {:.1?}, summary {:.1?}, series {:.1?}",
            visits.len(),
            summary.devices,
            series.len(),
            assembled - read,
            summarized - assembled,
            done - summarized,
        );
    }
}
