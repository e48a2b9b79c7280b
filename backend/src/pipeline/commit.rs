//! Commit: a batch of reports (and rejections) stored in one transaction, each
//! report's request answered with its own result. A report that fails on its own (a
//! constraint) is retried alone, so it never sinks the others; a deadlock or
//! serialization conflict with another instance is retried whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use api_types::IngestResult;
use tokio::sync::oneshot;

use super::admission::{Delivery, Reservation, Shared};
use super::writer::Job;
use crate::cloudtrax::Report;
use crate::db::opt_outs::OptOutCache;
use crate::db::{self, rejections::NewRejection, writer, Conn, FailureKind};
use crate::privacy::{macs_in, Privacy};

/// How often a batch is tried when PostgreSQL fails it for a deadlock or a
/// serialization conflict with another instance.
const MAX_ATTEMPTS: u32 = 4;

/// Why a report was not stored although it was valid: a condition of the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WriteFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl WriteFailure {
    pub(super) fn of(error: &db::QueryError) -> WriteFailure {
        let message = match error {
            // diesel's own words ("The transaction manager is broken") tell an operator
            // nothing.
            db::QueryError::BrokenTransactionManager => {
                "the connection to the database was lost during a transaction; the writer \
                 opens a new one"
                    .to_string()
            }
            error => error.to_string(),
        };
        WriteFailure {
            kind: FailureKind::of(error),
            message,
        }
    }
}

/// A store job taken apart.
pub(super) struct Store {
    delivery: Delivery,
    received_at: i64,
    reply: oneshot::Sender<Result<IngestResult, WriteFailure>>,
    abandoned: Arc<AtomicBool>,
}

/// Jobs taken off the queue together, not yet answered: their reports, the refusals
/// to log, and their room in the queue (given back when they are answered).
pub(super) struct Batch {
    stores: Vec<Store>,
    rejections: Vec<NewRejection>,
    reservations: Vec<Reservation>,
}

impl Batch {
    pub(super) fn of(jobs: Vec<Job>) -> Batch {
        let mut batch = Batch {
            stores: Vec::new(),
            rejections: Vec::new(),
            reservations: Vec::new(),
        };
        for job in jobs {
            match job {
                Job::Store {
                    delivery,
                    received_at,
                    reply,
                    abandoned,
                    reservation,
                } => {
                    batch.reservations.push(reservation);
                    batch.stores.push(Store {
                        delivery,
                        received_at,
                        reply,
                        abandoned,
                    });
                }
                Job::Reject {
                    rejection,
                    reservation,
                } => {
                    batch.reservations.push(reservation);
                    batch.rejections.push(rejection);
                }
                #[cfg(test)]
                Job::Panic(reservation)
                | Job::Stall(_, reservation)
                | Job::Sql { reservation, .. } => batch.reservations.push(reservation),
            }
        }
        batch
    }

    /// Answers every report of the batch with `error` (nothing of it was stored).
    pub(super) fn refuse(self, error: &WriteFailure) {
        drop(self.reservations);
        for store in self.stores {
            let _ = store.reply.send(Err(error.clone()));
        }
    }
}

/// Whether a batch that failed on a broken connection is handed back to be tried again
/// on a fresh one, or answered with the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnBroken {
    HandBack,
    Answer,
}

/// Why `commit` did not store a batch.
pub(super) enum Unstored {
    /// Answered with this failure.
    Answered(WriteFailure),
    /// The connection broke (a database restarted, a failover, a transaction left
    /// open): nothing is answered yet, and the batch is tried again on a fresh one
    /// (a refused report is lost: access points never send it again). Should the
    /// broken COMMIT have landed after all, the retry finds its reports stored and
    /// answers them as duplicates (`stored: 0`); its refusals, which have no key, are
    /// then logged twice.
    Broken(Batch),
}

/// Commits `batch`, frees its room in the queue, then answers: a client that has its
/// answer sees the queue without its report. A failure that belongs to one report
/// (a constraint) is retried report by report; one that left the connection unusable
/// hands the batch back, unanswered, when `on_broken` says so; any other fails the
/// whole batch at once and is returned.
pub(super) fn commit(
    conn: &mut Conn,
    batch: Batch,
    shared: &Shared,
    opt_outs: &mut OptOutCache,
    on_broken: OnBroken,
) -> Result<(), Unstored> {
    let metrics = &shared.metrics;
    // A request answered 503 already (it waited too long, perhaps for a reconnection):
    // storing its report now would make that answer wrong.
    let Batch {
        mut stores,
        rejections,
        reservations,
    } = batch;
    stores.retain(|store| !store.abandoned.load(Ordering::SeqCst));
    let deliveries: Vec<(&Delivery, i64)> = stores
        .iter()
        .map(|store| (&store.delivery, store.received_at))
        .collect();
    // SQLite rolls a transaction back by itself on a full disk or an I/O error, and
    // diesel's own ROLLBACK then fails and is what it returns: keep the first error.
    let mut cause: Option<WriteFailure>;
    let mut attempt = 1;
    let together = loop {
        cause = None;
        let together = db::write_transaction(conn, |conn| {
            let stored = store_kept(conn, &deliveries, &shared.privacy, opt_outs).map(
                |(results, opted_out)| {
                    // In a savepoint of its own: a refusal that cannot be logged costs
                    // the log entry, never a report of the batch.
                    let rejections = kept_rejections(&rejections, &shared.privacy, opt_outs);
                    if let Err(error) = db::rejections::record(conn, &rejections) {
                        tracing::warn!(%error, count = rejections.len(), "refused reports not logged");
                    }
                    (results, opted_out)
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
    match together {
        Ok((results, opted_out)) => {
            drop(reservations);
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
            drop(reservations);
            // One report must not sink the others: retry each on its own.
            tracing::warn!(%error, reports = stores.len(), "a report of the batch failed; committing them one by one");
            for store in stores {
                let result = db::write_transaction(conn, |conn| {
                    store_kept(
                        conn,
                        &[(&store.delivery, store.received_at)],
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
            if error.kind != FailureKind::Report
                && on_broken == OnBroken::HandBack
                && !writer::usable(conn)
            {
                tracing::warn!(error = %error.message, reports = stores.len(),
                    "the connection broke under a batch; it is tried again on a fresh one");
                return Err(Unstored::Broken(Batch {
                    stores,
                    rejections,
                    reservations,
                }));
            }
            drop(reservations);
            if error.kind == FailureKind::Report {
                // The report's own fault: the writer is as able to store as before.
                metrics.store_failed(error.kind);
                tracing::error!(error = %error.message, "a report could not be stored");
            } else {
                shared.failed(&error);
            }
            for store in stores {
                let _ = store.reply.send(Err(error.clone()));
            }
            Err(Unstored::Answered(error))
        }
    }
}

/// Stores `deliveries` in the caller's transaction, leaving out the observations and
/// descriptions of opted-out devices (the list is brought up to date first, in the same
/// transaction: see `db::opt_outs`). Returns each delivery's result (its reports'
/// summed) and how many observations were left out.
///
/// Every report of the batch is stored in one fixed order (its access point, then its
/// first observation), as its rows are within it: two instances storing the same
/// reports at once then take the observations' index locks in the same order and never
/// wait on each other in a circle.
fn store_kept(
    conn: &mut Conn,
    deliveries: &[(&Delivery, i64)],
    privacy: &Privacy,
    opt_outs: &mut OptOutCache,
) -> db::QueryResult<(Vec<IngestResult>, u64)> {
    opt_outs.refresh(conn, privacy.mode.as_str())?;
    let mut opted_out = 0;
    let kept =
        |mac| opt_outs.is_empty() || !opt_outs.contains(privacy.opt_out_entry_of_stored(mac));
    // (delivery, report) in storing order; reports copied only when some rows go.
    let mut reports: Vec<(usize, std::borrow::Cow<'_, Report>, i64)> = Vec::new();
    let mut descriptions = Vec::new();
    for (index, (delivery, received_at)) in deliveries.iter().enumerate() {
        for report in &delivery.reports {
            let report = if report.probe_requests.iter().all(|probe| kept(probe.mac)) {
                std::borrow::Cow::Borrowed(report)
            } else {
                let mut report = report.clone();
                report.probe_requests.retain(|probe| {
                    let keep = kept(probe.mac);
                    opted_out += u64::from(!keep);
                    keep
                });
                std::borrow::Cow::Owned(report)
            };
            reports.push((index, report, *received_at));
        }
        descriptions.extend(
            delivery
                .devices
                .iter()
                .filter(|device| kept(device.mac))
                .map(|device| db::devices::Description {
                    mac: device.mac.to_string(),
                    manufacturer: device.manufacturer.clone(),
                    os: device.os.clone(),
                    ssid: device.ssid.clone(),
                    seen_at: device.seen,
                }),
        );
        if let Some(network) = &delivery.network {
            db::places::register_meraki_network(conn, network.network_id, &network.meraki_id)?;
        }
    }
    reports.sort_by_key(|(_, report, _)| db::reports::order_key(report));
    let stored = db::reports::store_in_transaction(
        conn,
        &reports
            .iter()
            .map(|(_, report, at)| (report.as_ref(), *at))
            .collect::<Vec<_>>(),
    )?;
    db::devices::remember(conn, &descriptions)?;
    let mut results: Vec<Option<IngestResult>> = vec![None; deliveries.len()];
    for ((index, _, _), result) in reports.iter().zip(stored) {
        results[*index] = Some(match results[*index].take() {
            None => result,
            Some(sum) => IngestResult {
                report_id: sum.report_id,
                received: sum.received + result.received,
                stored: sum.stored + result.stored,
                duplicates: sum.duplicates + result.duplicates,
            },
        });
    }
    // A delivery without a report (a Bluetooth post) stores nothing.
    let results = results
        .into_iter()
        .map(|result| {
            result.unwrap_or(IngestResult {
                report_id: 0,
                received: 0,
                stored: 0,
                duplicates: 0,
            })
        })
        .collect();
    Ok((results, opted_out))
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
            .flat_map(|text| macs_in(text))
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
