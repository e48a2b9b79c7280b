//! The ingestion pipeline: one writer thread owns the only writing connection and
//! commits the reports that arrived while it was busy together, in one transaction
//! (group commit). Each request waits for its own report's commit before it is
//! answered, so a 2xx means "stored, durably". Admission is bounded: when the writer
//! falls behind by more than the queue limit, reports are refused with 503 instead of
//! piling up in memory. When nothing is queued, the writer merges stored rows into
//! the presence segments (`db::presence::catch_up`), so analytics never slow ingestion.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use api_types::IngestResult;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use tokio::sync::oneshot;

use crate::cloudtrax::Report;
use crate::db::{self, rejections::NewRejection, OpenError};
use crate::error::AppError;
use crate::metrics::Metrics;

/// A batch stops growing past this many probe requests: a bound on how long one
/// transaction holds the write lock (and on the latency of the first report in it).
const MAX_BATCH_PROBE_REQUESTS: u64 = 20_000;

/// Rows the idle writer merges into the presence segments per transaction: a report
/// that arrives meanwhile waits for one such chunk at most (a few tens of ms).
const PRESENCE_CHUNK_ROWS: i64 = 5_000;

/// How often the checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
/// The writer checkpoints by itself only past this many WAL pages (64 MiB of 4 KiB
/// pages): a bound on the WAL should the checkpointer fall behind.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// What the writer is asked to do.
enum Job {
    Store {
        report: Report,
        received_at: i64,
        reply: oneshot::Sender<Result<IngestResult, diesel::result::Error>>,
    },
    Reject(NewRejection),
}

impl Job {
    /// Its weight against the queue limit: its probe requests, at least 1.
    fn weight(&self) -> u64 {
        match self {
            Job::Store { report, .. } => u64::try_from(report.probe_requests.len())
                .unwrap_or(u64::MAX)
                .max(1),
            Job::Reject(_) => 1,
        }
    }
}

/// The HTTP side's handle on the writer.
pub struct Ingest {
    jobs: Sender<Job>,
    limit: u64,
    metrics: Arc<Metrics>,
}

/// How the writer's connection commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=FULL`: a 2xx survives a power loss (one fsync per batch).
    Full,
    /// `synchronous=NORMAL`: a 2xx survives a crash of the process; a power loss may
    /// take back the last commits (never corrupts the file).
    Normal,
}

impl Ingest {
    /// Opens the writer's own connection to `path` (already migrated) and starts the
    /// writer thread. `queue_limit` is in probe requests. The thread ends once every
    /// `Ingest` handle is dropped and the queue is drained.
    pub fn start(
        path: &str,
        queue_limit: u64,
        durability: Durability,
        metrics: Arc<Metrics>,
    ) -> Result<(Ingest, JoinHandle<()>), OpenError> {
        let mut conn = SqliteConnection::establish(path).map_err(|source| OpenError::Connect {
            path: path.to_string(),
            source,
        })?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        // Checkpoints run on their own thread (and core), not inside the writer's
        // commits; the writer's own auto-checkpoint is only a backstop.
        conn.batch_execute(&format!(
            "{} PRAGMA synchronous = {synchronous}; PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES};",
            db::connection_pragmas()
        ))
        .map_err(|source| OpenError::Setup {
            path: path.to_string(),
            source,
        })?;
        let mut checkpoint_conn =
            SqliteConnection::establish(path).map_err(|source| OpenError::Connect {
                path: path.to_string(),
                source,
            })?;
        checkpoint_conn
            .batch_execute(&db::connection_pragmas())
            .map_err(|source| OpenError::Setup {
                path: path.to_string(),
                source,
            })?;
        let spawn_error = |source: std::io::Error| OpenError::Setup {
            path: path.to_string(),
            source: diesel::result::Error::QueryBuilderError(Box::new(source)),
        };
        // The writer holds `alive`; when it ends, the checkpointer sees the channel
        // close, checkpoints one last time and ends too.
        let (alive, writer_gone) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("ncompass-checkpointer".to_string())
            .spawn(move || checkpoint(checkpoint_conn, &writer_gone))
            .map_err(spawn_error)?;
        let (jobs, queue) = mpsc::channel();
        let writer_metrics = Arc::clone(&metrics);
        let thread = std::thread::Builder::new()
            .name("ncompass-writer".to_string())
            .spawn(move || {
                let _alive = alive;
                write(conn, queue, &writer_metrics);
            })
            .map_err(spawn_error)?;
        Ok((
            Ingest {
                jobs,
                limit: queue_limit,
                metrics,
            },
            thread,
        ))
    }

    /// Stores `report` and waits for its commit. `Err(Overloaded)` at once when the
    /// writer is further behind than the queue limit.
    pub async fn store(&self, report: Report, received_at: i64) -> Result<IngestResult, AppError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Store {
            report,
            received_at,
            reply,
        };
        if !self.admit(job.weight()) {
            return Err(AppError::Overloaded);
        }
        self.jobs
            .send(job)
            .map_err(|_| AppError::internal("the writer has stopped"))?;
        match answer.await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(error)) => Err(db::database_error(error)),
            Err(_) => Err(AppError::internal("the writer dropped a report")),
        }
    }

    /// Records a refused report for diagnosis, without waiting. Dropped (the metric
    /// still counts it) when the writer is behind: rejections never push out reports.
    pub fn reject(&self, rejection: NewRejection) {
        let job = Job::Reject(rejection);
        if self.admit(job.weight()) {
            let _ = self.jobs.send(job);
        }
    }

    /// Reserves room for `weight` probe requests in the queue. A lone report larger
    /// than the whole limit is still admitted into an empty queue.
    fn admit(&self, weight: u64) -> bool {
        let queued = &self.metrics.queued_probe_requests;
        let before = queued.fetch_add(weight, Ordering::SeqCst);
        if before > 0 && before + weight > self.limit {
            queued.fetch_sub(weight, Ordering::SeqCst);
            return false;
        }
        self.metrics.queued_reports.fetch_add(1, Ordering::SeqCst);
        true
    }
}

/// The writer thread: take what is queued, commit it together, answer, repeat; with
/// nothing queued, merge stored rows into the presence segments, a chunk at a time.
fn write(mut conn: SqliteConnection, queue: Receiver<Job>, metrics: &Metrics) {
    loop {
        let first = match queue.try_recv() {
            Ok(job) => job,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                let merged = db::presence::catch_up(&mut conn, PRESENCE_CHUNK_ROWS)
                    .inspect_err(|error| {
                        tracing::warn!(%error, "could not merge rows into the presence segments; the figures read them from the rows meanwhile");
                    });
                note_presence_backlog(&mut conn, metrics);
                if matches!(merged, Ok(rows) if rows > 0) {
                    continue;
                }
                // Caught up (or failing): wait for a report.
                match queue.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            }
        };
        let mut weight = first.weight();
        let mut batch = vec![first];
        while weight < MAX_BATCH_PROBE_REQUESTS {
            match queue.try_recv() {
                Ok(job) => {
                    weight += job.weight();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        commit(&mut conn, batch, weight, metrics);
        note_presence_backlog(&mut conn, metrics);
    }
    tracing::debug!("the writer has stopped: no more reports can arrive");
}

/// Publishes how many stored rows wait for the presence segments (two index lookups).
fn note_presence_backlog(conn: &mut SqliteConnection, metrics: &Metrics) {
    if let Ok(rows) = db::presence::backlog(conn) {
        metrics
            .presence_backlog
            .store(u64::try_from(rows).unwrap_or(0), Ordering::Relaxed);
    }
}

/// Copies committed WAL frames into the database file every CHECKPOINT_INTERVAL, beside
/// the writer rather than inside its commits. PASSIVE never blocks the writer or readers.
fn checkpoint(mut conn: SqliteConnection, writer_gone: &Receiver<()>) {
    loop {
        let stop = matches!(
            writer_gone.recv_timeout(CHECKPOINT_INTERVAL),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
        if let Err(error) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(%error, "checkpoint failed; the writer's own checkpoints take over");
        }
        if stop {
            return;
        }
    }
}

fn release(counter: &AtomicU64, amount: u64) {
    counter.fetch_sub(amount, Ordering::SeqCst);
}

/// Commits `batch` (of total `weight`), frees its room in the queue, then answers: a
/// client that has its answer sees the queue without its report.
fn commit(conn: &mut SqliteConnection, batch: Vec<Job>, weight: u64, metrics: &Metrics) {
    let jobs = u64::try_from(batch.len()).unwrap_or(u64::MAX);
    let mut stores = Vec::new();
    let mut rejections = Vec::new();
    for job in batch {
        match job {
            Job::Store {
                report,
                received_at,
                reply,
            } => stores.push((report, received_at, reply)),
            Job::Reject(rejection) => rejections.push(rejection),
        }
    }
    let reports: Vec<(&Report, i64)> = stores
        .iter()
        .map(|(report, received_at, _)| (report, *received_at))
        .collect();
    let together = conn.immediate_transaction(|conn| {
        let results = db::reports::store_in_transaction(conn, &reports)?;
        db::rejections::record(conn, &rejections)?;
        Ok::<_, diesel::result::Error>(results)
    });
    metrics.batch_committed();
    release(&metrics.queued_probe_requests, weight);
    release(&metrics.queued_reports, jobs);
    match together {
        Ok(results) => {
            for ((_, _, reply), result) in stores.into_iter().zip(results) {
                metrics.accepted(result.stored, result.duplicates);
                let _ = reply.send(Ok(result));
            }
        }
        Err(error) if stores.len() > 1 => {
            // One report must not sink the others: retry each on its own.
            tracing::warn!(%error, reports = stores.len(), "batch failed; committing its reports one by one");
            for (report, received_at, reply) in stores {
                let result = db::reports::store(conn, &report, received_at);
                if let Ok(stored) = &result {
                    metrics.accepted(stored.stored, stored.duplicates);
                }
                let _ = reply.send(result);
            }
        }
        Err(error) => match stores.into_iter().next() {
            Some((_, _, reply)) => {
                let _ = reply.send(Err(error));
            }
            None => tracing::warn!(%error, "could not record rejections"),
        },
    }
}
