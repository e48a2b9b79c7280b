//! Idle work of the writer: merging stored rows into the presence segments while no
//! report waits, and the checkpointer beside it (SQLite's WAL copied into the file on a
//! thread of its own).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::metrics::Metrics;
use crate::db::{self, writer, Conn, FailureKind};

/// Rows the idle writer merges into the presence segments per transaction: a report
/// that arrives meanwhile waits for the chunk in progress (130-260 ms on average on
/// SQLite and PostgreSQL where most rows are new devices: BENCHMARKS.md, `make
/// bench-merge`).
const PRESENCE_CHUNK_ROWS: i64 = 5_000;

/// How long the idle merge waits for a write lock another process holds: merging can
/// wait, and a report arriving meanwhile must not wait behind it for the full
/// busy timeout.
pub(super) const MERGE_BUSY_TIMEOUT: Duration = Duration::from_millis(50);

/// How often the checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Merges stored rows into the presence segments, waiting only briefly for a lock
/// another process holds.
pub(super) fn merge_idle(conn: &mut Conn, metrics: &Metrics) -> db::QueryResult<usize> {
    db::set_lock_wait(conn, MERGE_BUSY_TIMEOUT)?;
    let started = Instant::now();
    let merged = db::presence::catch_up(conn, PRESENCE_CHUNK_ROWS);
    if let Ok(rows) = &merged {
        if i64::try_from(*rows).unwrap_or(0) == PRESENCE_CHUNK_ROWS {
            let per_s = *rows as f64 / started.elapsed().as_secs_f64().max(1e-6);
            metrics
                .presence_merge_rows_per_s
                .store(per_s as u64, Ordering::Relaxed);
        }
    }
    db::set_lock_wait(conn, db::BUSY_TIMEOUT)?;
    match &merged {
        Ok(_) => metrics.merge_failing.store(false, Ordering::Relaxed),
        // Logged when merging starts failing, not on every idle moment after.
        Err(error)
            if FailureKind::of(error) != FailureKind::Busy
                && !metrics.merge_failing.swap(true, Ordering::Relaxed) =>
        {
            tracing::warn!(%error, "could not merge rows into the presence segments; the figures read them from the rows meanwhile");
        }
        Err(_) => {}
    }
    merged
}

/// Publishes how many stored rows wait for the presence segments (two index lookups).
pub(super) fn note_presence_backlog(conn: &mut Conn, metrics: &Metrics) {
    if let Ok(rows) = db::presence::backlog(conn) {
        metrics
            .presence_backlog
            .store(u64::try_from(rows).unwrap_or(0), Ordering::Relaxed);
    }
}

/// Copies committed WAL frames into the database file every CHECKPOINT_INTERVAL, beside
/// the writer rather than inside its commits. PASSIVE never blocks the writer or readers.
pub(super) fn checkpoint(mut conn: Conn, writer_gone: &Receiver<()>) {
    let mut failing = false;
    loop {
        let stop = matches!(
            writer_gone.recv_timeout(CHECKPOINT_INTERVAL),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
        // The last one (the server is stopping) also empties the WAL file: no old
        // page (an erased row's) is left in it.
        match writer::checkpoint(&mut conn, stop) {
            Ok(()) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "checkpoint failed; the writer's own checkpoints take over");
            }
            Err(_) => {}
        }
        if stop {
            return;
        }
    }
}
