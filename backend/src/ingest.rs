//! The ingestion pipeline: one writer thread owns the only writing connection and
//! commits the reports that arrived while it was busy together, in one transaction
//! (group commit). Each request waits for its own report's commit before it is
//! answered, so a 2xx means "stored, durably". Admission is bounded: when the writer
//! falls behind by more than the queue limit, reports are refused with 503 instead of
//! piling up in memory. When nothing is queued, the writer merges stored rows into
//! the presence segments (`db::presence::catch_up`), so analytics never slow ingestion.
//!
//! The writer is supervised: a panic ends one run of it, not the thread, and the next
//! run starts on a fresh connection, as does a run whose connection broke. Nothing
//! waits for it forever (a request's reply times out into a 503), every report's room
//! in the queue is given back however the report ends ([`Reservation`]), and
//! [`Ingest::health`] says whether ingestion can make progress.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use api_types::IngestResult;
use tokio::sync::oneshot;

use crate::cloudtrax::Report;
use crate::db::opt_outs::OptOutCache;
use crate::db::retention::{self, Cutoffs};
use crate::db::writer;
use crate::db::{self, rejections::NewRejection, Conn, FailureKind, OpenError};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::privacy::Privacy;

/// A batch stops growing past this many probe requests: a bound on how long one
/// transaction holds the write lock (and on the latency of the first report in it).
const MAX_BATCH_PROBE_REQUESTS: u64 = 20_000;

/// Rows the idle writer merges into the presence segments per transaction: a report
/// that arrives meanwhile waits for one such chunk at most (a few tens of ms).
const PRESENCE_CHUNK_ROWS: i64 = 5_000;

/// How long the idle merge waits for a write lock another process holds: merging can
/// wait, and a report arriving meanwhile must not wait behind it for the full
/// busy timeout.
const MERGE_BUSY_TIMEOUT: Duration = Duration::from_millis(50);

/// How often a batch is tried when PostgreSQL fails it for a deadlock or a
/// serialization conflict with another instance.
const MAX_ATTEMPTS: u32 = 4;

/// How often an idle writer makes sure the coming days' partitions exist (PostgreSQL).
const PARTITION_CHECK_INTERVAL: Duration = Duration::from_secs(3_600);

/// How often the checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Pause before a new run of the writer after a panic or a failed open: a fault that
/// repeats at once does not spin a core.
const RESTART_PAUSE: Duration = Duration::from_millis(500);

/// How long a store failure keeps `/api/v1/health` at 503 when no later commit has
/// succeeded: long enough for an orchestrator to see it, short enough that an instance
/// no report reaches (its health failing) is tried again.
const FAILURE_MEMORY: Duration = Duration::from_secs(60);

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot start the writer's threads: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Why a report was not stored although it was valid: a condition of the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WriteFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl WriteFailure {
    fn of(error: &db::QueryError) -> WriteFailure {
        WriteFailure {
            kind: FailureKind::of(error),
            message: error.to_string(),
        }
    }

    /// The 503 a client gets, with what it may be told.
    fn into_app_error(self) -> AppError {
        let (reason, retry_after) = match self.kind {
            FailureKind::Full => ("the database's disk is full", 30),
            FailureKind::Busy => ("another process holds the database's write lock", 5),
            FailureKind::Io => ("the database file cannot be written", 10),
            FailureKind::Report | FailureKind::Other => ("the database failed", 5),
        };
        AppError::NotStored {
            reason: reason.to_string(),
            retry_after,
        }
    }
}

/// What the writer is asked to do.
enum Job {
    Store {
        report: Report,
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

/// A job's room in the queue: its probe requests (at least 1) and one report, and its
/// time of arrival. Given back when dropped, so room is never leaked, whether the job
/// is committed, refused, skipped, or dropped by a writer run that panicked.
pub struct Reservation {
    weight: u64,
    sequence: u64,
    shared: Arc<Shared>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let metrics = &self.shared.metrics;
        metrics
            .queued_probe_requests
            .fetch_sub(self.weight, Ordering::SeqCst);
        metrics.queued_reports.fetch_sub(1, Ordering::SeqCst);
        self.shared.queued().remove(&self.sequence);
    }
}

/// What the HTTP side and the writer share.
struct Shared {
    metrics: Arc<Metrics>,
    /// MAC pseudonyms, the opt-out list's hashes and the retention periods.
    privacy: Arc<Privacy>,
    /// A writer run is going (false between a failure and the next run).
    alive: AtomicBool,
    /// When each queued job arrived, by sequence: the first is the oldest.
    queued: Mutex<BTreeMap<u64, Instant>>,
    next_sequence: AtomicU64,
    /// The last store failure, cleared by the next successful commit.
    failure: Mutex<Option<Failure>>,
    /// The last error of any kind, kept for `/api/v1/health`.
    last_error: Mutex<Option<(String, i64)>>,
}

#[derive(Debug, Clone)]
struct Failure {
    kind: FailureKind,
    at: Instant,
}

impl Shared {
    fn queued(&self) -> MutexGuard<'_, BTreeMap<u64, Instant>> {
        // The map stays consistent whatever panicked while it was held.
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn failure(&self) -> MutexGuard<'_, Option<Failure>> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn note_error(&self, message: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((message, crate::unix_now()));
    }

    /// Records a failed batch; logs it when it starts a run of failures (or changes
    /// their kind), not once per report.
    fn failed(&self, error: &WriteFailure) {
        self.metrics.store_failed(error.kind);
        let mut failure = self.failure();
        if failure.as_ref().map(|f| f.kind) != Some(error.kind) {
            tracing::error!(kind = error.kind.as_str(), error = %error.message,
                "the writer cannot store reports; they are answered 503 until it can");
        }
        *failure = Some(Failure {
            kind: error.kind,
            at: Instant::now(),
        });
        drop(failure);
        self.note_error(format!("{} ({})", error.message, error.kind.as_str()));
    }

    /// Records a committed batch; logs the recovery from a run of failures.
    fn succeeded(&self) {
        let mut failure = self.failure();
        if let Some(previous) = failure.take() {
            tracing::info!(
                kind = previous.kind.as_str(),
                "the writer stores reports again"
            );
        }
    }
}

/// The writer as `/api/v1/health` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterHealth {
    /// A writer run is going.
    pub alive: bool,
    /// How long the oldest report waiting for the writer has waited.
    pub oldest_queued: Option<Duration>,
    /// The last error of the writer and when (Unix seconds).
    pub last_error: Option<(String, i64)>,
    /// Runs started after a panic or a broken connection.
    pub restarts: u64,
    /// `None` when ingestion can make progress, else why not.
    pub problem: Option<String>,
}

/// The HTTP side's handle on the writer.
pub struct Ingest {
    jobs: Sender<Job>,
    limit: u64,
    reply_timeout: Duration,
    shared: Arc<Shared>,
}

pub use crate::db::writer::Durability;

/// How the writer opens its connection, again after each failure.
#[derive(Clone)]
struct WriterConfig {
    path: String,
    durability: Durability,
    /// SQL the tests ask to run on every connection the writer opens.
    #[cfg(test)]
    extra_sql: Vec<String>,
}

impl WriterConfig {
    fn open(&self) -> Result<Conn, OpenError> {
        #[cfg(test)]
        let extra_sql = &self.extra_sql;
        #[cfg(not(test))]
        let extra_sql = &[];
        writer::open(&self.path, self.durability, extra_sql)
    }
}

impl Ingest {
    /// Opens the writer's own connection to `path` (already migrated) and starts the
    /// writer thread. `queue_limit` is in probe requests; `reply_timeout` bounds how
    /// long a report waits for its commit. The thread ends once every `Ingest` handle
    /// is dropped and the queue is drained.
    pub fn start(
        path: &str,
        queue_limit: u64,
        durability: Durability,
        reply_timeout: Duration,
        metrics: Arc<Metrics>,
        privacy: Arc<Privacy>,
    ) -> Result<(Ingest, JoinHandle<()>), StartError> {
        let config = WriterConfig {
            path: path.to_string(),
            durability,
            #[cfg(test)]
            extra_sql: Vec::new(),
        };
        // The first connection is opened here, so a database that cannot be written
        // stops the start-up with a clear error instead of a writer that keeps failing.
        let conn = config.open()?;
        // SQLite's WAL is checkpointed by a thread of its own; PostgreSQL checkpoints
        // by itself.
        let checkpoint_conn = match db::Kind::of(path) {
            db::Kind::Sqlite => Some(db::connect(path)?),
            db::Kind::Postgres => None,
        };
        let spawn_error = StartError::Spawn;
        let shared = Arc::new(Shared {
            metrics,
            privacy,
            alive: AtomicBool::new(true),
            queued: Mutex::new(BTreeMap::new()),
            next_sequence: AtomicU64::new(0),
            failure: Mutex::new(None),
            last_error: Mutex::new(None),
        });
        // The writer holds `alive`; when it ends, the checkpointer sees the channel
        // close, checkpoints one last time and ends too.
        let (alive, writer_gone) = mpsc::channel::<()>();
        if let Some(checkpoint_conn) = checkpoint_conn {
            std::thread::Builder::new()
                .name("ncompass-checkpointer".to_string())
                .spawn(move || checkpoint(checkpoint_conn, &writer_gone))
                .map_err(spawn_error)?;
        }
        let (jobs, queue) = mpsc::channel();
        let writer_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ncompass-writer".to_string())
            .spawn(move || {
                let _alive = alive;
                supervise(config, conn, &queue, &writer_shared);
            })
            .map_err(spawn_error)?;
        Ok((
            Ingest {
                jobs,
                limit: queue_limit,
                reply_timeout,
                shared,
            },
            thread,
        ))
    }

    /// Stores `report` and waits for its commit. `Err(Overloaded)` at once when the
    /// writer is further behind than the queue limit; a 503 when the database cannot
    /// store it or the writer does not answer within the reply timeout.
    /// In `keyed` mode the report's client MACs are replaced by their pseudonyms here,
    /// before anything is queued, stored or logged.
    pub async fn store(
        &self,
        mut report: Report,
        received_at: i64,
    ) -> Result<IngestResult, AppError> {
        self.shared.privacy.apply(&mut report);
        let weight = u64::try_from(report.probe_requests.len())
            .unwrap_or(u64::MAX)
            .max(1);
        let reservation = self.admit(weight).ok_or(AppError::Overloaded)?;
        let (reply, answer) = oneshot::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let job = Job::Store {
            report,
            received_at,
            reply,
            abandoned: Arc::clone(&abandoned),
            reservation,
        };
        self.jobs.send(job).map_err(|_| AppError::NotStored {
            reason: "the writer has stopped".to_string(),
            retry_after: 1,
        })?;
        match tokio::time::timeout(self.reply_timeout, answer).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(error))) => Err(error.into_app_error()),
            // The writer run that had it panicked; its replacement is starting.
            Ok(Err(_)) => Err(AppError::NotStored {
                reason: "the writer failed while storing it and is restarting".to_string(),
                retry_after: 1,
            }),
            Err(_) => {
                abandoned.store(true, Ordering::SeqCst);
                Err(AppError::NotStored {
                    reason: format!(
                        "the writer did not store it within {} s",
                        self.reply_timeout.as_secs()
                    ),
                    retry_after: 5,
                })
            }
        }
    }

    /// Records a refused report for diagnosis, without waiting. Dropped (the metric
    /// still counts it) when the writer is behind: rejections never push out reports.
    pub fn reject(&self, rejection: NewRejection) {
        if let Some(reservation) = self.admit(1) {
            let _ = self.jobs.send(Job::Reject {
                rejection,
                reservation,
            });
        }
    }

    /// Whether ingestion can make progress, and what the writer is doing.
    pub fn health(&self) -> WriterHealth {
        let shared = &self.shared;
        let alive = shared.alive.load(Ordering::SeqCst);
        let oldest = shared
            .queued()
            .values()
            .next()
            .map(|arrived| arrived.elapsed());
        let failure = shared
            .failure()
            .clone()
            .filter(|failure| failure.at.elapsed() < FAILURE_MEMORY);
        let problem = if !alive {
            Some("the writer is restarting".to_string())
        } else if let Some(waited) = oldest.filter(|waited| *waited >= self.reply_timeout) {
            Some(format!(
                "the writer is stalled: a report has waited {} s",
                waited.as_secs()
            ))
        } else {
            failure.map(|failure| {
                format!(
                    "the writer's last attempt to store failed ({}); nothing has been stored since",
                    failure.kind.as_str()
                )
            })
        };
        WriterHealth {
            alive,
            oldest_queued: oldest,
            last_error: shared
                .last_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            restarts: shared.metrics.writer_restarts(),
            problem,
        }
    }

    /// Reserves room for `weight` probe requests in the queue. A lone report larger
    /// than the whole limit is still admitted into an empty queue.
    fn admit(&self, weight: u64) -> Option<Reservation> {
        let metrics = &self.shared.metrics;
        let queued = &metrics.queued_probe_requests;
        let before = queued.fetch_add(weight, Ordering::SeqCst);
        if before > 0 && before.saturating_add(weight) > self.limit {
            queued.fetch_sub(weight, Ordering::SeqCst);
            return None;
        }
        metrics.queued_reports.fetch_add(1, Ordering::SeqCst);
        let sequence = self.shared.next_sequence.fetch_add(1, Ordering::SeqCst);
        self.shared.queued().insert(sequence, Instant::now());
        Some(Reservation {
            weight,
            sequence,
            shared: Arc::clone(&self.shared),
        })
    }

    /// Test fault: the writer run panics when it takes this job.
    #[cfg(test)]
    pub(crate) fn inject_panic(&self) {
        if let Some(reservation) = self.admit(1) {
            let _ = self.jobs.send(Job::Panic(reservation));
        }
    }

    /// Test fault: the writer stalls for `duration` when it takes this job.
    #[cfg(test)]
    pub(crate) fn inject_stall(&self, duration: Duration) {
        if let Some(reservation) = self.admit(1) {
            let _ = self.jobs.send(Job::Stall(duration, reservation));
        }
    }

    /// Test fault: runs `sql` on the writer's connection now, and if `persist` on every
    /// connection it opens later; resolves once it ran.
    #[cfg(test)]
    pub(crate) async fn writer_sql(&self, sql: &str, persist: bool) {
        let (done, ran) = oneshot::channel();
        if let Some(reservation) = self.admit(1) {
            let _ = self.jobs.send(Job::Sql {
                sql: sql.to_string(),
                persist,
                reservation,
                done,
            });
            let _ = ran.await;
        }
    }
}

/// How a writer run ended.
enum Exit {
    /// Every `Ingest` handle is gone and the queue is drained.
    Closed,
    /// The connection is broken: the next run opens a fresh one.
    Reconnect,
}

/// Runs the writer until every `Ingest` handle is gone, starting a new run on a fresh
/// connection after a run panics or its connection breaks. Jobs a panicking run held
/// are dropped: their requests get 503 and their room in the queue is given back.
fn supervise(mut config: WriterConfig, conn: Conn, queue: &Receiver<Job>, shared: &Arc<Shared>) {
    let mut conn = Some(conn);
    loop {
        let Some(mut current) = conn.take() else {
            match config.open() {
                Ok(fresh) => {
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
                    // Answer what waits meanwhile instead of letting it time out.
                    if refuse_until(queue, Instant::now() + RESTART_PAUSE, &error) {
                        return;
                    }
                    continue;
                }
            }
        };
        shared.alive.store(true, Ordering::SeqCst);
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            write(&mut current, queue, shared, &mut config)
        }));
        match run {
            Ok(Exit::Closed) => break,
            Ok(Exit::Reconnect) => {
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

fn refuse(job: Job, error: &WriteFailure) {
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

/// One writer run: take what is queued, commit it together, answer, repeat; with
/// nothing queued, merge stored rows into the presence segments, a chunk at a time.
fn write(
    conn: &mut Conn,
    queue: &Receiver<Job>,
    shared: &Shared,
    config: &mut WriterConfig,
) -> Exit {
    let metrics = &shared.metrics;
    let mut partitions_checked = Instant::now();
    // Loaded in the first batch's transaction, and again whenever the list changes.
    let mut opt_outs = OptOutCache::default();
    let mut retention = Retention::new(&shared.privacy, config.durability);
    let mut retention_first = false;
    'jobs: loop {
        let first = match queue.try_recv() {
            Ok(job) => job,
            Err(mpsc::TryRecvError::Disconnected) => return Exit::Closed,
            Err(mpsc::TryRecvError::Empty) => 'idle: {
                if partitions_checked.elapsed() >= PARTITION_CHECK_INTERVAL {
                    partitions_checked = Instant::now();
                    if let Err(error) = db::partitions::ensure(conn, crate::unix_now()) {
                        tracing::warn!(%error, "cannot create the coming days' partitions; rows go to the default partition meanwhile");
                    }
                }
                // Merging and retention take turns, so that under a steady load (new
                // rows to merge at every idle moment) deletion keeps pace too. A merge
                // chunk takes up to ~100 ms; retention gets as long, in chunks of ~20 ms
                // with a look at the queue between them.
                retention_first = !retention_first;
                if retention_first {
                    match retention.slice(conn, &shared.privacy, metrics, queue) {
                        Slice::Idle => {}
                        Slice::Worked => continue 'jobs,
                        Slice::Arrived(job) => break 'idle job,
                        Slice::Closed => return Exit::Closed,
                    }
                }
                let merged = merge_idle(conn, metrics);
                note_presence_backlog(conn, metrics);
                if matches!(merged, Ok(rows) if rows > 0) {
                    continue 'jobs;
                }
                if !retention_first && retention.step(conn, &shared.privacy, metrics) {
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
        match commit(conn, batch, shared, &mut opt_outs) {
            Ok(()) => {}
            Err(error) if error.kind == FailureKind::Busy => {
                // Another process holds the lock: what queued meanwhile has waited
                // already, and would wait a whole busy timeout more. Answer it now.
                while let Ok(job) = queue.try_recv() {
                    refuse(job, &error);
                }
            }
            Err(_) => {
                if !writer::usable(conn) {
                    return Exit::Reconnect;
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

fn job_weight(job: &Job) -> u64 {
    match job {
        Job::Store { reservation, .. } | Job::Reject { reservation, .. } => reservation.weight,
        #[cfg(test)]
        Job::Panic(reservation) | Job::Stall(_, reservation) | Job::Sql { reservation, .. } => {
            reservation.weight
        }
    }
}

/// Merges stored rows into the presence segments, waiting only briefly for a lock
/// another process holds.
fn merge_idle(conn: &mut Conn, metrics: &Metrics) -> db::QueryResult<usize> {
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
fn note_presence_backlog(conn: &mut Conn, metrics: &Metrics) {
    if let Ok(rows) = db::presence::backlog(conn) {
        metrics
            .presence_backlog
            .store(u64::try_from(rows).unwrap_or(0), Ordering::Relaxed);
    }
}

/// Copies committed WAL frames into the database file every CHECKPOINT_INTERVAL, beside
/// the writer rather than inside its commits. PASSIVE never blocks the writer or readers.
fn checkpoint(mut conn: Conn, writer_gone: &Receiver<()>) {
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

/// A store job taken apart.
struct Store {
    report: Report,
    received_at: i64,
    reply: oneshot::Sender<Result<IngestResult, WriteFailure>>,
}

/// Commits `batch`, frees its room in the queue, then answers: a client that has its
/// answer sees the queue without its report. A failure that belongs to one report
/// (a constraint) is retried report by report; any other fails the whole batch at
/// once and is returned.
fn commit(
    conn: &mut Conn,
    batch: Vec<Job>,
    shared: &Shared,
    opt_outs: &mut OptOutCache,
) -> Result<(), WriteFailure> {
    let metrics = &shared.metrics;
    let mut stores = Vec::new();
    let mut rejections = Vec::new();
    let mut reservations = Vec::new();
    for job in batch {
        match job {
            Job::Store {
                report,
                received_at,
                reply,
                abandoned,
                reservation,
            } => {
                reservations.push(reservation);
                // Its request was answered 503 already: storing it now would make
                // that answer wrong.
                if !abandoned.load(Ordering::SeqCst) {
                    stores.push(Store {
                        report,
                        received_at,
                        reply,
                    });
                }
            }
            Job::Reject {
                rejection,
                reservation,
            } => {
                reservations.push(reservation);
                rejections.push(rejection);
            }
            #[cfg(test)]
            Job::Panic(reservation) | Job::Stall(_, reservation) | Job::Sql { reservation, .. } => {
                reservations.push(reservation);
            }
        }
    }
    // Reports in one fixed order (their access point, then their first observation),
    // as their rows are within each report: two instances storing the same reports at
    // once then take the observations' index locks in the same order and never wait
    // on each other in a circle.
    stores.sort_by_key(|store| db::reports::order_key(&store.report));
    let reports: Vec<(&Report, i64)> = stores
        .iter()
        .map(|store| (&store.report, store.received_at))
        .collect();
    // SQLite rolls a transaction back by itself on a full disk or an I/O error, and
    // diesel's own ROLLBACK then fails and is what it returns: keep the first error.
    let mut cause: Option<WriteFailure>;
    let mut attempt = 1;
    let together = loop {
        cause = None;
        let together = db::write_transaction(conn, |conn| {
            let stored = store_kept(conn, &reports, &shared.privacy, opt_outs).and_then(
                |(results, opted_out)| {
                    let rejections = kept_rejections(&rejections, &shared.privacy, opt_outs);
                    db::rejections::record(conn, &rejections)?;
                    Ok((results, opted_out))
                },
            );
            if let Err(error) = &stored {
                cause = Some(WriteFailure::of(error));
            }
            stored
        });
        match &together {
            // PostgreSQL broke a deadlock or a serialization conflict with another
            // instance by failing this transaction: it is safe to run it again.
            Err(error) if db::is_retryable(error) && attempt < MAX_ATTEMPTS => {
                tracing::debug!(%error, attempt, "retrying the batch");
                attempt += 1;
            }
            _ => break together,
        }
    };
    drop(reservations);
    match together {
        Ok((results, opted_out)) => {
            metrics.batch_committed();
            metrics.opted_out(opted_out);
            shared.succeeded();
            for (store, result) in stores.into_iter().zip(results) {
                metrics.accepted(result.stored, result.duplicates);
                let _ = store.reply.send(Ok(result));
            }
            Ok(())
        }
        Err(error)
            if cause
                .as_ref()
                .map_or(FailureKind::of(&error), |cause| cause.kind)
                == FailureKind::Report
                && stores.len() > 1 =>
        {
            // One report must not sink the others: retry each on its own.
            tracing::warn!(%error, reports = stores.len(), "a report of the batch failed; committing them one by one");
            for store in stores {
                let result = db::write_transaction(conn, |conn| {
                    store_kept(
                        conn,
                        &[(&store.report, store.received_at)],
                        &shared.privacy,
                        opt_outs,
                    )
                })
                .map(|(mut results, opted_out)| {
                    metrics.opted_out(opted_out);
                    results.remove(0)
                })
                .map_err(|error| {
                    let error = WriteFailure::of(&error);
                    metrics.store_failed(error.kind);
                    error
                });
                if let Ok(stored) = &result {
                    metrics.batch_committed();
                    metrics.accepted(stored.stored, stored.duplicates);
                }
                let _ = store.reply.send(result);
            }
            shared.succeeded();
            Ok(())
        }
        Err(error) => {
            let error = cause.unwrap_or_else(|| WriteFailure::of(&error));
            if error.kind == FailureKind::Report {
                // The report's own fault: the writer is as able to store as before.
                metrics.store_failed(error.kind);
                tracing::error!(error = %error.message, "a report could not be stored");
            } else {
                shared.failed(&error);
            }
            if stores.is_empty() {
                tracing::debug!(error = %error.message, "could not record rejections");
            }
            for store in stores {
                let _ = store.reply.send(Err(error.clone()));
            }
            Err(error)
        }
    }
}

/// Stores `reports` in the caller's transaction, leaving out the observations of
/// opted-out devices (the list is brought up to date first, in the same transaction:
/// see `db::opt_outs`). Returns each report's result and how many were left out.
fn store_kept(
    conn: &mut Conn,
    reports: &[(&Report, i64)],
    privacy: &Privacy,
    opt_outs: &mut OptOutCache,
) -> db::QueryResult<(Vec<IngestResult>, u64)> {
    opt_outs.refresh(conn, privacy.mode.as_str())?;
    if opt_outs.is_empty() {
        return Ok((db::reports::store_in_transaction(conn, reports)?, 0));
    }
    let mut opted_out = 0;
    let kept: Vec<(Report, i64)> = reports
        .iter()
        .map(|(report, received_at)| {
            let mut report = (*report).clone();
            report.probe_requests.retain(|probe| {
                let keep = !opt_outs.contains(privacy.opt_out_entry_of_stored(probe.mac));
                opted_out += u64::from(!keep);
                keep
            });
            (report, *received_at)
        })
        .collect();
    let kept: Vec<(&Report, i64)> = kept.iter().map(|(report, at)| (report, *at)).collect();
    Ok((db::reports::store_in_transaction(conn, &kept)?, opted_out))
}

/// `rejections`, with the body bytes and detail emptied of any that names an opted-out
/// device (raw mode keeps a refused body's first bytes; keyed mode keeps none).
fn kept_rejections<'a>(
    rejections: &'a [NewRejection],
    privacy: &Privacy,
    opt_outs: &OptOutCache,
) -> std::borrow::Cow<'a, [NewRejection]> {
    if opt_outs.is_empty() {
        return std::borrow::Cow::Borrowed(rejections);
    }
    let names_opted_out = |rejection: &NewRejection| {
        [&rejection.body_prefix, &rejection.detail]
            .into_iter()
            .flat_map(|text| crate::privacy::macs_in(text))
            .any(|mac| opt_outs.contains(privacy.opt_out_entry_of_stored(mac)))
    };
    let naming: Vec<bool> = rejections.iter().map(names_opted_out).collect();
    if !naming.contains(&true) {
        return std::borrow::Cow::Borrowed(rejections);
    }
    std::borrow::Cow::Owned(
        rejections
            .iter()
            .zip(naming)
            .map(|(rejection, names)| {
                let mut rejection = rejection.clone();
                if names {
                    rejection.body_prefix.clear();
                    rejection.detail.clear();
                }
                rejection
            })
            .collect(),
    )
}

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
enum Slice {
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
struct Retention {
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
    fn new(privacy: &Privacy, durability: Durability) -> Retention {
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
    fn slice(
        &mut self,
        conn: &mut Conn,
        privacy: &Privacy,
        metrics: &Metrics,
        queue: &Receiver<Job>,
    ) -> Slice {
        let end = Instant::now() + RETENTION_SLICE;
        let mut worked = false;
        while Instant::now() < end && self.step(conn, privacy, metrics) {
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
    fn until_next_pass(&self) -> Option<Duration> {
        self.enabled
            .then(|| self.next_pass.saturating_duration_since(Instant::now()))
            .map(|wait| wait.max(Duration::from_millis(10)))
    }

    /// Does one bounded step of a due pass. True when there is more to do at once.
    fn step(&mut self, conn: &mut Conn, privacy: &Privacy, metrics: &Metrics) -> bool {
        if !self.enabled || (!self.running && Instant::now() < self.next_pass) {
            return false;
        }
        self.running = true;
        let cutoffs = Cutoffs::at(privacy, crate::unix_now());
        let more = self.delete(conn, cutoffs, metrics);
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

    fn delete(&mut self, conn: &mut Conn, cutoffs: Cutoffs, metrics: &Metrics) -> bool {
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
            match retention::drop_partitions(conn, cutoff, crate::unix_now()) {
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
mod retention_tests {
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
