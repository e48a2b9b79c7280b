//! Retention: the idle writer's passes that delete what is past the retention
//! periods, in chunks sized to a few tens of milliseconds, taking turns with the
//! presence merge and stopping at once when a report arrives.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::idle::MERGE_BUSY_TIMEOUT;
use super::metrics::Metrics;
use super::writer::Job;
use crate::clock::Clock;
use crate::db::retention::{self, Cutoffs};
use crate::db::writer::{self, Durability};
use crate::db::{self, Conn, FailureKind};
use crate::privacy::Privacy;

/// How often the idle writer looks for rows past the retention periods: rows are
/// deleted within this (plus the pass itself) of passing the limit.
const RETENTION_INTERVAL: Duration = Duration::from_secs(5);

/// How long one retention transaction should take: a report arriving meanwhile waits
/// for one such chunk at most. Old rows' index pages are cold and scattered (a MAC's
/// entries lie among everyone's), so a delete costs several times an insert: the chunk
/// size adapts to the time it took ([`next_chunk`]), from `RETENTION_FIRST_CHUNK` rows
/// within `RETENTION_CHUNK_ROWS`.
const RETENTION_CHUNK_TIME: Duration = Duration::from_millis(20);
const RETENTION_FIRST_CHUNK: i64 = 200;
const RETENTION_CHUNK_ROWS: std::ops::RangeInclusive<i64> = 20..=5_000;

/// Free pages given back to the file system per idle step (8 MiB of 4 KiB pages).
const RELEASE_PAGES: u32 = 2_048;

/// How long retention's turn in the idle writer lasts at most (about one merge chunk).
const RETENTION_SLICE: Duration = Duration::from_millis(100);

/// How a turn of retention ended.
pub(super) enum Slice {
    /// Nothing was due.
    Idle,
    /// Chunks were deleted; there may be more.
    Worked,
    /// A job arrived meanwhile: store it first.
    Arrived(Job),
    /// Every `Ingest` handle is gone.
    Closed,
}

/// The idle writer's retention passes: every [`RETENTION_INTERVAL`], chunks of deletes
/// until nothing is past the limits, then the freed pages go back to the file system.
pub(super) struct Retention {
    enabled: bool,
    next_pass: Instant,
    /// Inside a pass (deleting, then releasing pages).
    running: bool,
    /// Rows per table the next chunk deletes at most.
    chunk: i64,
    /// The writer's own durability, restored after each chunk (SQLite): a retention
    /// commit does not wait for the disk, since one lost to a power cut is redone.
    durability: Durability,
    /// The partitions were looked at for dropping in this pass (PostgreSQL).
    partitions_dropped: bool,
    /// Where the scan of the cutoff day's presence segments stopped.
    segment_cursor: Option<retention::SegmentKey>,
}

impl Retention {
    pub(super) fn new(privacy: &Privacy, durability: Durability) -> Retention {
        Retention {
            enabled: privacy.keep_probe_requests.is_some() || privacy.keep_presence.is_some(),
            next_pass: Instant::now(),
            running: false,
            chunk: RETENTION_FIRST_CHUNK,
            durability,
            partitions_dropped: false,
            segment_cursor: None,
        }
    }

    /// Chunks of a due pass for up to [`RETENTION_SLICE`], stopping as soon as a job
    /// arrives.
    pub(super) fn slice(
        &mut self,
        conn: &mut Conn,
        privacy: &Privacy,
        clock: &Clock,
        metrics: &Metrics,
        queue: &Receiver<Job>,
    ) -> Slice {
        let end = Instant::now() + RETENTION_SLICE;
        let mut worked = false;
        while Instant::now() < end && self.step(conn, privacy, clock, metrics) {
            worked = true;
            match queue.try_recv() {
                Ok(job) => return Slice::Arrived(job),
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => return Slice::Closed,
            }
        }
        if worked {
            Slice::Worked
        } else {
            Slice::Idle
        }
    }

    /// How long until the next pass is due; `None` without retention.
    pub(super) fn until_next_pass(&self) -> Option<Duration> {
        self.enabled
            .then(|| self.next_pass.saturating_duration_since(Instant::now()))
            .map(|wait| wait.max(Duration::from_millis(10)))
    }

    /// Does one bounded step of a due pass. True when there is more to do at once.
    pub(super) fn step(
        &mut self,
        conn: &mut Conn,
        privacy: &Privacy,
        clock: &Clock,
        metrics: &Metrics,
    ) -> bool {
        if !self.enabled || (!self.running && Instant::now() < self.next_pass) {
            return false;
        }
        self.running = true;
        let now = clock.now();
        let cutoffs = Cutoffs::at(privacy, now);
        let more = self.delete(conn, cutoffs, now, metrics);
        if !more {
            self.running = false;
            self.partitions_dropped = false;
            self.segment_cursor = None;
            self.next_pass = Instant::now() + RETENTION_INTERVAL;
            if let Ok((probe_requests, segments)) = retention::oldest(conn) {
                metrics.note_oldest(probe_requests, segments);
            }
        }
        more
    }

    fn delete(&mut self, conn: &mut Conn, cutoffs: Cutoffs, now: i64, metrics: &Metrics) -> bool {
        if db::set_lock_wait(conn, MERGE_BUSY_TIMEOUT).is_err() {
            return false;
        }
        if writer::relax_sync(conn, true, self.durability).is_err() {
            return false;
        }
        let mut more = false;
        // Whole day partitions first (PostgreSQL; nothing to drop on SQLite).
        if let (false, Some(cutoff)) = (self.partitions_dropped, cutoffs.probe_requests) {
            self.partitions_dropped = true;
            match retention::drop_partitions(conn, cutoff, now) {
                Ok(rows) => metrics.retention_deleted(retention::Deleted {
                    probe_requests: rows,
                    ..retention::Deleted::default()
                }),
                Err(error) => {
                    tracing::warn!(%error, "cannot drop the partitions past the retention period")
                }
            }
        }
        let started = Instant::now();
        match retention::delete_chunk(conn, cutoffs, self.chunk, &mut self.segment_cursor) {
            Ok(deleted) => {
                metrics.retention_deleted(deleted);
                more = deleted.more();
                tracing::debug!(
                    rows = self.chunk,
                    ?deleted,
                    took_ms = started.elapsed().as_millis(),
                    "retention chunk"
                );
                if more {
                    self.chunk = next_chunk(self.chunk, started.elapsed());
                }
            }
            Err(error) if FailureKind::of(&error) == FailureKind::Busy => {
                tracing::debug!(%error, "retention chunk: the write lock is taken");
            }
            Err(error) => {
                tracing::warn!(%error, "cannot delete the rows past the retention period now; trying again later")
            }
        }
        if !more {
            more = matches!(writer::free_pages(conn), Ok(pages) if pages > 0)
                && retention::release_free_pages(conn, RELEASE_PAGES).is_ok();
        }
        // Failing, the connection is broken and the next batch finds out.
        let _ = writer::relax_sync(conn, false, self.durability);
        let _ = db::set_lock_wait(conn, db::BUSY_TIMEOUT);
        more
    }
}

/// The next retention chunk's size: scaled toward [`RETENTION_CHUNK_TIME`] by the last
/// one's time, at most halved or doubled at once.
fn next_chunk(rows: i64, took: Duration) -> i64 {
    let took = took.as_secs_f64().max(1e-4);
    let scaled = rows as f64 * RETENTION_CHUNK_TIME.as_secs_f64() / took;
    let next = scaled.clamp(rows as f64 / 2.0, rows as f64 * 2.0) as i64;
    next.clamp(*RETENTION_CHUNK_ROWS.start(), *RETENTION_CHUNK_ROWS.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_adapt_to_their_time_within_bounds() {
        // Twice the target: halved; a tenth: doubled (no more at once).
        assert_eq!(next_chunk(1_000, Duration::from_millis(40)), 500);
        assert_eq!(next_chunk(1_000, Duration::from_millis(2)), 2_000);
        assert_eq!(next_chunk(1_000, Duration::from_millis(25)), 800);
        assert_eq!(next_chunk(4_000, Duration::ZERO), 5_000);
        assert_eq!(next_chunk(30, Duration::from_secs(1)), 20);
    }
}
