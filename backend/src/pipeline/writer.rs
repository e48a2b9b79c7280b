//! The writer: one thread owns the writing connection, takes what is queued, commits
//! it together ([`super::commit`]) and answers, and with nothing queued does the idle
//! work ([`super::idle`], [`super::retention`]). Supervised: a panic ends one run of
//! it, not the thread, and the next run starts on a fresh connection.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::IngestResult;
use tokio::sync::oneshot;

use super::admission::Delivery;
use super::admission::{Reservation, Shared};
use super::commit::{commit, Batch, OnBroken, Unstored, WriteFailure};
use super::idle::{merge_idle, note_presence_backlog};
use super::retention::{Retention, Slice};
use crate::db::opt_outs::OptOutCache;
use crate::db::writer::{self, Durability};
use crate::db::{self, rejections::NewRejection, Conn, FailureKind, OpenError};

/// A batch stops growing past this many probe requests: a bound on how long one
/// transaction holds the write lock (and on the latency of the first report in it).
const MAX_BATCH_PROBE_REQUESTS: u64 = 20_000;

/// How often an idle writer makes sure the coming days' partitions exist (PostgreSQL).
const PARTITION_CHECK_INTERVAL: Duration = Duration::from_secs(3_600);

/// Pause before a new run of the writer after a panic or a failed open: a fault that
/// repeats at once does not spin a core.
const RESTART_PAUSE: Duration = Duration::from_millis(500);

/// What the writer is asked to do.
pub(super) enum Job {
    Store {
        delivery: Delivery,
        received_at: i64,
        reply: oneshot::Sender<Result<IngestResult, WriteFailure>>,
        /// Set when the request stopped waiting (its reply timed out): it was told 503,
        /// so the writer skips the report if it has not stored it yet.
        abandoned: Arc<AtomicBool>,
        reservation: Reservation,
    },
    Reject {
        rejection: NewRejection,
        reservation: Reservation,
    },
    /// Fault injection for the tests: makes the writer run panic.
    #[cfg(test)]
    Panic(Reservation),
    /// Fault injection for the tests: the writer stalls this long (a disk that hangs).
    #[cfg(test)]
    Stall(Duration, Reservation),
    /// Fault injection for the tests: runs SQL on the writer's connection, now and on
    /// every connection it opens later (e.g. `PRAGMA max_page_count`).
    #[cfg(test)]
    Sql {
        sql: String,
        /// Also on every connection the writer opens later.
        persist: bool,
        reservation: Reservation,
        done: oneshot::Sender<()>,
    },
}

/// How the writer opens its connection, again after each failure.
#[derive(Clone)]
pub(super) struct WriterConfig {
    pub(super) path: String,
    pub(super) durability: Durability,
    /// SQL the tests ask to run on every connection the writer opens.
    #[cfg(test)]
    pub(super) extra_sql: Vec<String>,
}

impl WriterConfig {
    pub(super) fn open(&self) -> Result<Conn, OpenError> {
        #[cfg(test)]
        let extra_sql = &self.extra_sql;
        #[cfg(not(test))]
        let extra_sql = &[];
        writer::open(&self.path, self.durability, extra_sql)
    }
}

/// How a writer run ended.
enum Exit {
    /// Every `Ingest` handle is gone and the queue is drained.
    Closed,
    /// The connection is broken: the next run opens a fresh one, and starts with what
    /// the broken connection was found with, if anything (not answered yet).
    Reconnect(Option<Carried>),
}

/// What a broken connection was found with, carried to the next run unanswered.
enum Carried {
    /// Found by the check after an idle moment, before anything was tried.
    Job(Job),
    /// Failed by the broken connection: tried once more, on the fresh one.
    Batch(Batch),
}

impl Carried {
    fn refuse(self, error: &WriteFailure) {
        match self {
            Carried::Job(job) => refuse(job, error),
            Carried::Batch(batch) => batch.refuse(error),
        }
    }
}

/// Runs the writer until every `Ingest` handle is gone, starting a new run on a fresh
/// connection after a run panics or its connection breaks. Jobs a panicking run held
/// are dropped: their requests get 503 and their room in the queue is given back.
pub(super) fn supervise(
    mut config: WriterConfig,
    conn: Conn,
    queue: &Receiver<Job>,
    shared: &Arc<Shared>,
) {
    let mut conn = Some(conn);
    // What found the connection broken: the next run stores it, or it is answered 503
    // if no connection can be opened.
    let mut carried: Option<Carried> = None;
    loop {
        let Some(mut current) = conn.take() else {
            match config.open() {
                Ok(mut fresh) => {
                    // A lost connection (a database that restarted or was unreachable)
                    // is mended by a fresh one: health says so now, not only once a
                    // report has been stored.
                    if writer::usable(&mut fresh) {
                        shared.reconnected();
                    }
                    conn = Some(fresh);
                    continue;
                }
                Err(error) => {
                    let error = WriteFailure {
                        kind: FailureKind::Io,
                        message: error.to_string(),
                    };
                    shared.alive.store(false, Ordering::SeqCst);
                    shared.failed(&error);
                    if let Some(carried) = carried.take() {
                        carried.refuse(&error);
                    }
                    // Answer what waits meanwhile instead of letting it time out.
                    if refuse_until(queue, Instant::now() + RESTART_PAUSE, &error) {
                        return;
                    }
                    continue;
                }
            }
        };
        shared.alive.store(true, Ordering::SeqCst);
        let first = carried.take();
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            write(&mut current, queue, shared, &mut config, first)
        }));
        match run {
            Ok(Exit::Closed) => break,
            Ok(Exit::Reconnect(what)) => {
                carried = what;
                shared.metrics.writer_restarted();
                tracing::warn!(
                    "the writer's connection broke; the writer goes on with a fresh one"
                );
            }
            Err(panic) => {
                shared.alive.store(false, Ordering::SeqCst);
                shared.metrics.writer_restarted();
                let message = panic_message(panic.as_ref());
                shared.note_error(format!("the writer panicked: {message}"));
                tracing::error!(panic = %message, "the writer panicked; it restarts on a fresh connection (the reports it held were answered 503)");
                std::thread::sleep(RESTART_PAUSE);
            }
        }
        // `current` is dropped here: the next run opens a fresh connection.
    }
    shared.alive.store(false, Ordering::SeqCst);
    tracing::debug!("the writer has stopped: no more reports can arrive");
}

/// Answers every job arriving until `deadline` with a 503 (no connection to store
/// them). Returns true when every `Ingest` handle is gone.
fn refuse_until(queue: &Receiver<Job>, deadline: Instant, error: &WriteFailure) -> bool {
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        match queue.recv_timeout(wait) {
            Ok(job) => refuse(job, error),
            Err(RecvTimeoutError::Timeout) => return false,
            Err(RecvTimeoutError::Disconnected) => return true,
        }
    }
}

pub(super) fn refuse(job: Job, error: &WriteFailure) {
    match job {
        Job::Store { reply, .. } => {
            let _ = reply.send(Err(error.clone()));
        }
        Job::Reject { .. } => {}
        #[cfg(test)]
        Job::Panic(_) | Job::Stall(..) | Job::Sql { .. } => {}
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// One writer run: take what is queued (`carried` first), commit it together, answer,
/// repeat; with nothing queued, merge stored rows into the presence segments, a chunk
/// at a time.
fn write(
    conn: &mut Conn,
    queue: &Receiver<Job>,
    shared: &Shared,
    config: &mut WriterConfig,
    carried: Option<Carried>,
) -> Exit {
    let metrics = &shared.metrics;
    let mut partitions_checked = Instant::now();
    // Loaded in the first batch's transaction, and again whenever the list changes.
    let mut opt_outs = OptOutCache::default();
    let mut retention = Retention::new(&shared.privacy, config.durability);
    let mut retention_first = false;
    let mut carried = match carried {
        Some(Carried::Job(job)) => Some(job),
        // Tried once more, and answered whatever happens: a batch is never carried twice.
        Some(Carried::Batch(batch)) => {
            if commit(conn, batch, shared, &mut opt_outs, OnBroken::Answer).is_err()
                && !writer::usable(conn)
            {
                return Exit::Reconnect(None);
            }
            None
        }
        None => None,
    };
    // Set when the writer found its queue empty and nothing has proved its connection
    // since: it may have been lost meanwhile (a database restarted while nothing
    // arrived) or left unusable by failed idle work, and is checked before the next
    // batch. A merge chunk that committed proves it, and clears it.
    let mut check_connection = false;
    'jobs: loop {
        let first = match carried.take().map_or_else(|| queue.try_recv(), Ok) {
            Ok(job) => job,
            Err(mpsc::TryRecvError::Disconnected) => return Exit::Closed,
            Err(mpsc::TryRecvError::Empty) => 'idle: {
                check_connection = true;
                if partitions_checked.elapsed() >= PARTITION_CHECK_INTERVAL {
                    partitions_checked = Instant::now();
                    if let Err(error) = db::partitions::ensure(conn, shared.clock.now()) {
                        tracing::warn!(%error, "cannot create the coming days' partitions; rows go to the default partition meanwhile");
                    }
                }
                // Merging and retention take turns, so that under a steady load (new
                // rows to merge at every idle moment) deletion keeps pace too. A merge
                // chunk takes up to ~100 ms; retention gets as long, in chunks of ~20 ms
                // with a look at the queue between them.
                retention_first = !retention_first;
                if retention_first {
                    match retention.slice(conn, &shared.privacy, &shared.clock, metrics, queue) {
                        Slice::Idle => {}
                        Slice::Worked => continue 'jobs,
                        Slice::Arrived(job) => break 'idle job,
                        Slice::Closed => return Exit::Closed,
                    }
                }
                let merged = merge_idle(conn, metrics);
                note_presence_backlog(conn, metrics);
                if matches!(merged, Ok(rows) if rows > 0) {
                    check_connection = false;
                    continue 'jobs;
                }
                if !retention_first && retention.step(conn, &shared.privacy, &shared.clock, metrics)
                {
                    continue 'jobs;
                }
                // Caught up (or failing): wait for a report, or the next retention pass.
                match retention.until_next_pass() {
                    None => match queue.recv() {
                        Ok(job) => job,
                        Err(_) => return Exit::Closed,
                    },
                    Some(wait) => match queue.recv_timeout(wait) {
                        Ok(job) => job,
                        Err(RecvTimeoutError::Timeout) => continue 'jobs,
                        Err(RecvTimeoutError::Disconnected) => return Exit::Closed,
                    },
                }
            }
        };
        // One round trip after an idle moment that proved nothing (a wait, failed idle
        // work), never under load: a report that arrives after an outage is stored on a
        // fresh connection instead of failing on the dead one.
        if std::mem::take(&mut check_connection) && !writer::usable(conn) {
            return Exit::Reconnect(Some(Carried::Job(first)));
        }
        let mut weight = 0;
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if let Some(job) = take_fault(job, conn, config) {
                weight += job_weight(&job);
                batch.push(job);
            }
            if weight < MAX_BATCH_PROBE_REQUESTS {
                next = queue.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        match commit(
            conn,
            Batch::of(batch),
            shared,
            &mut opt_outs,
            OnBroken::HandBack,
        ) {
            Ok(()) => {}
            Err(Unstored::Broken(batch)) => {
                shared.metrics.batch_retried();
                return Exit::Reconnect(Some(Carried::Batch(batch)));
            }
            Err(Unstored::Answered(error)) if error.kind == FailureKind::Busy => {
                // Another process holds the lock: what queued meanwhile has waited
                // already, and would wait a whole busy timeout more. Answer it now.
                while let Ok(job) = queue.try_recv() {
                    refuse(job, &error);
                }
            }
            Err(Unstored::Answered(_)) => {
                if !writer::usable(conn) {
                    return Exit::Reconnect(None);
                }
            }
        }
        note_presence_backlog(conn, metrics);
    }
}

/// Carries out a test's fault job; any other job is returned for the batch.
#[cfg(test)]
fn take_fault(job: Job, conn: &mut Conn, config: &mut WriterConfig) -> Option<Job> {
    match job {
        Job::Panic(_reservation) => panic!("injected fault: the writer dies"),
        Job::Stall(duration, _reservation) => {
            std::thread::sleep(duration);
            None
        }
        Job::Sql {
            sql, persist, done, ..
        } => {
            if let Err(error) = writer::execute(conn, &sql) {
                tracing::warn!(%error, "injected SQL failed");
            }
            if persist {
                config.extra_sql.push(sql);
            }
            let _ = done.send(());
            None
        }
        job => Some(job),
    }
}

#[cfg(not(test))]
fn take_fault(job: Job, _conn: &mut Conn, _config: &mut WriterConfig) -> Option<Job> {
    Some(job)
}

pub(super) fn job_weight(job: &Job) -> u64 {
    match job {
        Job::Store { reservation, .. } | Job::Reject { reservation, .. } => reservation.weight,
        #[cfg(test)]
        Job::Panic(reservation) | Job::Stall(_, reservation) | Job::Sql { reservation, .. } => {
            reservation.weight
        }
    }
}
