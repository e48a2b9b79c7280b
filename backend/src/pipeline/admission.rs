//! Admission: the HTTP side's handle on the writer ([`Ingest`]). A report is admitted
//! into a bounded queue (its room counted in probe requests, [`Reservation`]) or refused
//! at once; admitted, it waits for its own commit, at most the reply timeout. What
//! `/api/v1/health` says of the writer comes from here too.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use api_types::IngestResult;
use tokio::sync::oneshot;

use super::commit::WriteFailure;
use super::idle::checkpoint;
use super::metrics::Metrics;
use super::writer::{supervise, Job, WriterConfig};
use crate::clock::Clock;
use crate::cloudtrax::Report;
use crate::db::writer::Durability;
use crate::db::{self, rejections::NewRejection, FailureKind, OpenError};
use crate::meraki::{self, Device};
use crate::privacy::Privacy;

/// What one accepted post hands the writer, stored in one transaction: the reports of
/// the access points it speaks for (a CloudTrax post is one; a Meraki post one per
/// access point that heard something), what it says of the devices, and the Meraki
/// network to register.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    pub reports: Vec<Report>,
    pub devices: Vec<Device>,
    pub network: Option<meraki::Network>,
}

impl Delivery {
    /// A CloudTrax report.
    pub fn of(report: Report) -> Delivery {
        Delivery {
            reports: vec![report],
            ..Delivery::default()
        }
    }

    /// Its probe requests, all reports together.
    pub fn probe_requests(&self) -> usize {
        self.reports.iter().map(|r| r.probe_requests.len()).sum()
    }
}

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

/// Why a valid report was not stored. Nothing of it was; the client may retry (the
/// HTTP layer turns each into a 503 with a retry hint).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The writer is further behind than the queue limit: load is shed.
    #[error("the writer is further behind than the queue limit")]
    Overloaded,
    /// The writer has stopped (the server is stopping).
    #[error("the writer has stopped")]
    Stopped,
    /// The writer run that held the report panicked; its replacement is starting.
    #[error("the writer failed while storing it and is restarting")]
    Restarting,
    /// The writer did not answer within the reply timeout; the report is skipped if
    /// it has not been stored yet.
    #[error("the writer did not store it within {} s", .0.as_secs())]
    TimedOut(Duration),
    /// The database refused the batch; the writer logged the cause once.
    #[error("the database could not store it ({})", .0.as_str())]
    NotStored(FailureKind),
}

/// What the pipeline is started with; the application builds it from its settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The database, already migrated: an SQLite path or a PostgreSQL URL.
    pub database: String,
    /// How many probe requests may wait for the writer before reports are refused.
    pub queue_limit: u64,
    pub durability: Durability,
    /// How long a report waits for its commit before it is answered 503.
    pub reply_timeout: Duration,
}

/// A job's room in the queue: its probe requests (at least 1) and one report, and its
/// time of arrival. Given back when dropped, so room is never leaked, whether the job
/// is committed, refused, skipped, or dropped by a writer run that panicked.
pub struct Reservation {
    pub(super) weight: u64,
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
pub(super) struct Shared {
    pub(super) metrics: Arc<Metrics>,
    /// MAC pseudonyms, the opt-out list's hashes and the retention periods.
    pub(super) privacy: Arc<Privacy>,
    /// The server's clock: retention cutoffs, partitions, error times.
    pub(super) clock: Clock,
    /// A writer run is going (false between a failure and the next run).
    pub(super) alive: AtomicBool,
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

    pub(super) fn note_error(&self, message: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((message, self.clock.now()));
    }

    /// Records a failed batch; logs it when it starts a run of failures (or changes
    /// their kind), not once per report.
    pub(super) fn failed(&self, error: &WriteFailure) {
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

    /// The writer opened a fresh, working connection: a failure to reach the database
    /// (kind `io`: refused connections, a connection lost mid-transaction) is over.
    /// Other kinds (a full disk, a held lock) are not mended by a new connection and are
    /// kept until a report is stored.
    pub(super) fn reconnected(&self) {
        let mut failure = self.failure();
        if failure.as_ref().is_some_and(|f| f.kind == FailureKind::Io) {
            *failure = None;
            tracing::info!("the writer has a working connection to the database again");
        }
    }

    /// Records a committed batch; logs the recovery from a run of failures.
    pub(super) fn succeeded(&self) {
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

impl Ingest {
    /// Opens the writer's own connection to the configured database (already migrated)
    /// and starts the writer thread (and, on SQLite, the checkpointer). `clock` decides
    /// retention's cutoffs and the coming days' partitions. The thread ends once every
    /// `Ingest` handle is dropped and the queue is drained.
    pub fn start(
        config: &IngestConfig,
        metrics: Arc<Metrics>,
        privacy: Arc<Privacy>,
        clock: Clock,
    ) -> Result<(Ingest, JoinHandle<()>), StartError> {
        let path = config.database.as_str();
        let writer_config = WriterConfig {
            path: path.to_string(),
            durability: config.durability,
            #[cfg(test)]
            extra_sql: Vec::new(),
        };
        // The first connection is opened here, so a database that cannot be written
        // stops the start-up with a clear error instead of a writer that keeps failing.
        let conn = writer_config.open()?;
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
            clock,
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
                supervise(writer_config, conn, &queue, &writer_shared);
            })
            .map_err(spawn_error)?;
        Ok((
            Ingest {
                jobs,
                limit: config.queue_limit,
                reply_timeout: config.reply_timeout,
                shared,
            },
            thread,
        ))
    }

    /// Stores `report` and waits for its commit. [`IngestError::Overloaded`] at once when
    /// the writer is further behind than the queue limit; another [`IngestError`] when
    /// the database cannot store it or the writer does not answer within the reply
    /// timeout.
    /// In `keyed` mode the report's client MACs are replaced by their pseudonyms here,
    /// before anything is queued, stored or logged.
    pub async fn store(
        &self,
        report: Report,
        received_at: i64,
    ) -> Result<IngestResult, IngestError> {
        self.deliver(Delivery::of(report), received_at).await
    }

    /// [`Ingest::store`] of a whole delivery, all or nothing: its result sums its
    /// reports' (`report_id` is its first report's).
    pub async fn deliver(
        &self,
        mut delivery: Delivery,
        received_at: i64,
    ) -> Result<IngestResult, IngestError> {
        let privacy = &self.shared.privacy;
        for report in &mut delivery.reports {
            privacy.apply(report);
        }
        for device in &mut delivery.devices {
            device.mac = privacy.stored(device.mac);
        }
        let weight = u64::try_from(delivery.probe_requests())
            .unwrap_or(u64::MAX)
            .max(1);
        let reservation = self.admit(weight).ok_or(IngestError::Overloaded)?;
        let (reply, answer) = oneshot::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let job = Job::Store {
            delivery,
            received_at,
            reply,
            abandoned: Arc::clone(&abandoned),
            reservation,
        };
        self.jobs.send(job).map_err(|_| IngestError::Stopped)?;
        match tokio::time::timeout(self.reply_timeout, answer).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(WriteFailure { kind, .. }))) => Err(IngestError::NotStored(kind)),
            // The writer run that had it panicked; its replacement is starting.
            Ok(Err(_)) => Err(IngestError::Restarting),
            Err(_) => {
                abandoned.store(true, Ordering::SeqCst);
                Err(IngestError::TimedOut(self.reply_timeout))
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
