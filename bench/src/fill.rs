//! A database that has filled for hours, made in minutes: millions of the
//! [`Workload`]'s rows stored through the storage code
//! (`db::reports::store_in_transaction`, as the writer stores them), so that ingestion and
//! queries are measured where production runs them: on a database already holding
//! millions of rows, not on an empty one.
//!
//! What makes it fast, none of which changes what is stored:
//! - the probe requests' secondary indexes (every one but the idempotency key, which
//!   the inserts need) are dropped first and built again at the end: one sort each
//!   instead of a random B-tree insert per row;
//! - large transactions, a large page cache, and on SQLite `synchronous = OFF` for the
//!   fill's own connection (a fill that dies is made again, not recovered).
//!
//! The rows are marked merged into the presence segments unless asked otherwise (the
//! ingestion figures then measure the writer, not a backlog of millions of rows that a
//! running server would have merged as they came).

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use crate::Workload;
use ncompass::db::Conn;

/// Rows per transaction of the fill.
const ROWS_PER_TRANSACTION: u64 = 100_000;

/// What a fill did.
#[derive(Debug, Clone, Copy)]
pub struct Filled {
    /// Probe requests stored (new rows).
    pub rows: u64,
    pub reports: u64,
    /// Storing the rows, and building the indexes again.
    pub insert_seconds: f64,
    pub index_seconds: f64,
}

/// How to fill.
#[derive(Debug, Clone)]
pub struct Fill {
    /// The probe requests to store (rounded up to whole reports).
    pub rows: u64,
    /// The newest row is this many seconds old: the measured run's own rows, timed now,
    /// come after the filled ones instead of among them.
    pub end_before: i64,
    /// Leave the rows for the server's presence merge instead of marking them merged.
    pub merge: bool,
    /// Spread the rows evenly over this many days (at least 1): the newest day's rows
    /// end `end_before` seconds ago, each earlier day's a day before. A database that
    /// has filled for days has them in as many day partitions.
    pub days: u32,
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

/// The secondary indexes of `probe_requests` that the inserts do not need (all but the
/// unique ones and the primary key): their names and the SQL that makes each again.
fn droppable_indexes(conn: &mut Conn) -> Vec<Index> {
    let sql = match conn {
        // Every table of the view: the day partitions and the default table.
        Conn::Sqlite(_) => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
             AND tbl_name LIKE 'probe\\_requests\\_%' ESCAPE '\\' \
             AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name"
        }
        Conn::Postgres(_) => {
            "SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'probe_requests' \
             AND indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname"
        }
    };
    diesel::sql_query(sql).load(conn).unwrap()
}

/// Fills the migrated database at `url` with `fill.rows` probe requests of `workload`
/// (its `start` is set so that the rows end `fill.end_before` seconds ago). Calls
/// `progress` with the rows stored so far after each transaction.
pub fn fill(url: &str, workload: &Workload, fill: &Fill, mut progress: impl FnMut(u64)) -> Filled {
    ncompass::db::migrate(url).unwrap();
    let mut conn = ncompass::db::connect(url).unwrap();
    let days = u64::from(fill.days.max(1));
    let reports_a_day = fill
        .rows
        .div_ceil(days)
        .div_ceil(u64::from(workload.probes.max(1)));
    let nodes = u64::from(workload.nodes.max(1));
    let periods = i64::try_from(reports_a_day.div_ceil(nodes)).unwrap();
    let now = ncompass::unix_now();
    // Oldest day first, so that ids grow with time as a server's do.
    let workloads: Vec<Workload> = (0..days)
        .rev()
        .map(|k| Workload {
            start: Some(now - fill.end_before - 86_400 * k as i64 - 30 * periods),
            seed: workload.seed + k,
            secret: None,
            ..workload.clone()
        })
        .collect();
    match &mut conn {
        Conn::Sqlite(_) => conn
            .batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -4000000; PRAGMA temp_store = MEMORY;")
            .unwrap(),
        Conn::Postgres(_) => {
            conn.batch_execute("SET statement_timeout = 0; SET maintenance_work_mem = '1GB'; SET synchronous_commit = off;")
                .unwrap();
        }
    }
    // The day partitions of the filled hours exist before their rows come, so that
    // their indexes are dropped with the others.
    let mut day = workloads[0].start.unwrap_or_default();
    while day <= now + 86_400 {
        ncompass::db::partitions::ensure(&mut conn, day).unwrap();
        day += 86_400;
    }
    let indexes = droppable_indexes(&mut conn);
    for index in &indexes {
        conn.batch_execute(&format!("DROP INDEX {}", index.name))
            .unwrap();
    }

    let started = Instant::now();
    let rules = ncompass::cloudtrax::TimeRules::at(i64::MAX / 4);
    let mut stored = 0u64;
    let mut batch: Vec<(ncompass::cloudtrax::Report, i64)> = Vec::new();
    let mut batch_rows = 0u64;
    for workload in &workloads {
        let mut posts = workload
            .iter(usize::try_from(reports_a_day).unwrap())
            .peekable();
        while posts.peek().is_some() {
            for (body, _) in posts.by_ref() {
                let report = ncompass::cloudtrax::parse_report(body.as_bytes(), &rules).unwrap();
                // Received as it was heard: its day's partition is a recent day's.
                let received_at = report
                    .probe_requests
                    .iter()
                    .map(|probe| probe.last_seen)
                    .max()
                    .unwrap_or_default()
                    + 5;
                batch_rows += report.probe_requests.len() as u64;
                batch.push((report, received_at));
                if batch_rows >= ROWS_PER_TRANSACTION {
                    break;
                }
            }
            let chunk: Vec<(&ncompass::cloudtrax::Report, i64)> =
                batch.iter().map(|(report, at)| (report, *at)).collect();
            let results = ncompass::db::write_transaction(&mut conn, |conn| {
                ncompass::db::reports::store_in_transaction(conn, &chunk)
            })
            .unwrap();
            stored += results.iter().map(|r| r.stored as u64).sum::<u64>();
            batch.clear();
            batch_rows = 0;
            progress(stored);
        }
    }
    let reports = reports_a_day * days;
    let insert_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for index in &indexes {
        conn.batch_execute(&index.sql).unwrap();
    }
    if !fill.merge {
        conn.batch_execute(
            "UPDATE presence_progress SET through_id = \
             coalesce((SELECT id FROM probe_requests ORDER BY id DESC LIMIT 1), 0)",
        )
        .unwrap();
    }
    conn.batch_execute("ANALYZE").unwrap();
    if let Conn::Sqlite(_) = &conn {
        // The fill's pages reach the file before the server opens it.
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    Filled {
        rows: stored,
        reports,
        insert_seconds,
        index_seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::count;

    #[test]
    fn a_fill_stores_the_workload_whole_with_every_index_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fill.db");
        let url = path.to_str().unwrap();
        ncompass::db::migrate(url).unwrap();
        let before = droppable_indexes(&mut ncompass::db::connect(url).unwrap());
        assert!(before.len() >= 5, "{} indexes", before.len());
        let workload = Workload {
            nodes: 50,
            ..Workload::default()
        };
        let mut seen = Vec::new();
        let filled = fill(
            url,
            &workload,
            &Fill {
                rows: 250_000,
                end_before: 3_600,
                merge: false,
                days: 1,
            },
            |rows| seen.push(rows),
        );
        assert_eq!(filled.reports, 2_500);
        // Passers-by are new devices; a resident seen twice in one period is not.
        assert!(filled.rows > 249_000, "{filled:?}");
        assert_eq!(seen.last(), Some(&filled.rows));
        assert!(seen.len() >= 3, "progress after each transaction: {seen:?}");
        let mut conn = ncompass::db::connect(url).unwrap();
        let after = droppable_indexes(&mut conn);
        let names = |indexes: &[Index]| indexes.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        // Those of the partitions there were, and of any the fill's hour made.
        let (before, after) = (names(&before), names(&after));
        assert!(
            before.iter().all(|name| after.contains(name)),
            "{before:?} {after:?}"
        );
        assert_eq!(after.len() % 7, 0, "{after:?}");
        let rows = count(&mut conn, "SELECT count(*) AS n FROM probe_requests");
        assert_eq!(u64::try_from(rows).unwrap(), filled.rows);
        assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM reports"), 2_500);
        assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM nodes"), 50);
        // Timed before now by the asked hour, and merged.
        let newest = count(&mut conn, "SELECT max(last_seen) AS n FROM probe_requests");
        let age = ncompass::unix_now() - newest;
        assert!((3_600..3_700).contains(&age), "{age}");
        assert_eq!(
            count(&mut conn, "SELECT through_id AS n FROM presence_progress"),
            count(&mut conn, "SELECT max(id) AS n FROM probe_requests")
        );
        // The indexes answer: a filter by client MAC uses its index.
        let mac = workload.resident_mac(7, 1);
        assert!(
            count(
                &mut conn,
                &format!("SELECT count(*) AS n FROM probe_requests WHERE mac = '{mac}'")
            ) > 0
        );
    }
}
