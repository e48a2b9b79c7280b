//! Counters of the ingestion path, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::db::FailureKind;

/// Upper bounds of the ingest latency histogram, seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Why a report was refused; the `reason` label of `ncompass_reports_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    InvalidJson,
    InvalidReport,
    MissingSignature,
    BadSignature,
    TooLarge,
    UnreadableBody,
    /// The body did not arrive within `--body-timeout` (408).
    BodyTimeout,
    Overloaded,
    /// Valid, but the database could not store it (503: full, locked, failing).
    NotStored,
}

impl RejectReason {
    pub const ALL: [RejectReason; 9] = [
        RejectReason::InvalidJson,
        RejectReason::InvalidReport,
        RejectReason::MissingSignature,
        RejectReason::BadSignature,
        RejectReason::TooLarge,
        RejectReason::UnreadableBody,
        RejectReason::BodyTimeout,
        RejectReason::Overloaded,
        RejectReason::NotStored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::InvalidReport => "invalid_report",
            RejectReason::MissingSignature => "missing_signature",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::TooLarge => "too_large",
            RejectReason::UnreadableBody => "unreadable_body",
            RejectReason::BodyTimeout => "body_timeout",
            RejectReason::Overloaded => "overloaded",
            RejectReason::NotStored => "not_stored",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    reports_accepted: AtomicU64,
    rejected: [AtomicU64; 9],
    probe_requests_stored: AtomicU64,
    probe_requests_duplicate: AtomicU64,
    /// Per bucket of LATENCY_BUCKETS, then +Inf.
    latency_buckets: [AtomicU64; 13],
    latency_micros_sum: AtomicU64,
    latency_count: AtomicU64,
    batches: AtomicU64,
    /// Failed store transactions, by [`FailureKind::ALL`].
    store_failures: [AtomicU64; 5],
    writer_restarts: AtomicU64,
    /// Analytics requests refused because every slot was taken.
    analytics_refused: AtomicU64,
    /// Probe requests (at least 1 per report) admitted and not yet committed.
    pub queued_probe_requests: AtomicU64,
    /// Reports admitted and not yet committed.
    pub queued_reports: AtomicU64,
    /// Stored probe requests not yet merged into the presence segments, as the writer
    /// last saw (after each commit and each merge).
    pub presence_backlog: AtomicU64,
    /// How fast the idle writer merged its last full chunk, rows a second (0: not
    /// measured yet): how an analytics refusal tells when its figures will be there.
    pub presence_merge_rows_per_s: AtomicU64,
    /// Probe requests of opted-out devices dropped at ingest.
    opted_out: AtomicU64,
    /// Rows deleted by retention: probe requests, presence segments, reports, rejections.
    retention_deleted: [AtomicU64; 4],
    /// `last_seen` of the oldest probe request kept, and the start of the oldest
    /// presence segment's day (Unix seconds; 0: none, or not looked at yet).
    oldest_probe_request: AtomicU64,
    oldest_presence_segment: AtomicU64,
    /// Alert events queued: node_silent, node_back.
    alert_events: [AtomicU64; 2],
    alert_delivered: AtomicU64,
    alert_delivery_failures: AtomicU64,
    alert_abandoned: AtomicU64,
    alerts_pending: AtomicU64,
    /// The idle merge failed last time it ran (so its failure is logged once).
    pub merge_failing: std::sync::atomic::AtomicBool,
}

impl Metrics {
    pub fn accepted(&self, stored: i64, duplicates: i64) {
        self.reports_accepted.fetch_add(1, Ordering::Relaxed);
        self.probe_requests_stored
            .fetch_add(u64::try_from(stored).unwrap_or(0), Ordering::Relaxed);
        self.probe_requests_duplicate
            .fetch_add(u64::try_from(duplicates).unwrap_or(0), Ordering::Relaxed);
    }

    pub fn rejected(&self, reason: RejectReason) {
        let index = RejectReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.rejected[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Time from a report's arrival to its answer.
    pub fn observe_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_micros_sum.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// A store transaction committed.
    pub fn batch_committed(&self) {
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// A store transaction failed.
    pub fn store_failed(&self, kind: FailureKind) {
        let index = FailureKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(FailureKind::ALL.len() - 1);
        self.store_failures[index].fetch_add(1, Ordering::Relaxed);
    }

    /// A new writer run started, after a panic or on a fresh connection.
    pub fn writer_restarted(&self) {
        self.writer_restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn writer_restarts(&self) -> u64 {
        self.writer_restarts.load(Ordering::Relaxed)
    }

    /// Observations of opted-out devices were dropped at ingest.
    pub fn opted_out(&self, probe_requests: u64) {
        self.opted_out.fetch_add(probe_requests, Ordering::Relaxed);
    }

    pub fn retention_deleted(&self, deleted: crate::db::retention::Deleted) {
        for (counter, rows) in self.retention_deleted.iter().zip([
            deleted.probe_requests,
            deleted.presence_segments,
            deleted.reports,
            deleted.rejections,
        ]) {
            counter.fetch_add(rows, Ordering::Relaxed);
        }
    }

    pub fn note_oldest(&self, probe_request: Option<i64>, presence_segment: Option<i64>) {
        let seconds = |at: Option<i64>| at.and_then(|at| u64::try_from(at).ok()).unwrap_or(0);
        self.oldest_probe_request
            .store(seconds(probe_request), Ordering::Relaxed);
        self.oldest_presence_segment
            .store(seconds(presence_segment), Ordering::Relaxed);
    }

    /// An analytics request was refused: every slot was taken.
    /// An alert event queued: `node_silent` or `node_back`.
    pub fn alert_event(&self, event: &str) {
        let index = usize::from(event == "node_back");
        self.alert_events[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn alert_delivered(&self) {
        self.alert_delivered.fetch_add(1, Ordering::Relaxed);
    }

    pub fn alert_delivery_failed(&self) {
        self.alert_delivery_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn alert_abandoned(&self) {
        self.alert_abandoned.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_alerts_pending(&self, pending: i64) {
        self.alerts_pending
            .store(u64::try_from(pending).unwrap_or(0), Ordering::Relaxed);
    }

    pub fn analytics_refused(&self) {
        self.analytics_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        metric(
            "ncompass_reports_accepted_total",
            "counter",
            "Reports stored (including those whose probe requests were all duplicates).",
            &[(String::new(), load(&self.reports_accepted))],
        );
        let rejected: Vec<(String, u64)> = RejectReason::ALL
            .iter()
            .zip(&self.rejected)
            .map(|(reason, count)| (format!("{{reason=\"{}\"}}", reason.as_str()), load(count)))
            .collect();
        metric(
            "ncompass_reports_rejected_total",
            "counter",
            "Reports refused, by reason.",
            &rejected,
        );
        metric(
            "ncompass_probe_requests_stored_total",
            "counter",
            "Probe requests stored as new rows.",
            &[(String::new(), load(&self.probe_requests_stored))],
        );
        metric(
            "ncompass_probe_requests_duplicate_total",
            "counter",
            "Probe requests received again and not stored twice.",
            &[(String::new(), load(&self.probe_requests_duplicate))],
        );
        metric(
            "ncompass_writer_batches_total",
            "counter",
            "Transactions committed by the writer (each holds one or more reports).",
            &[(String::new(), load(&self.batches))],
        );
        let failures: Vec<(String, u64)> = FailureKind::ALL
            .iter()
            .zip(&self.store_failures)
            .map(|(kind, count)| (format!("{{kind=\"{}\"}}", kind.as_str()), load(count)))
            .collect();
        metric(
            "ncompass_store_failures_total",
            "counter",
            "Store transactions that failed, by kind: full (disk or page limit), busy (another process held the write lock past the busy timeout), io, report (one report's rows), other.",
            &failures,
        );
        metric(
            "ncompass_writer_restarts_total",
            "counter",
            "Times the writer started anew, after a panic or on a fresh connection after its connection broke.",
            &[(String::new(), load(&self.writer_restarts))],
        );
        metric(
            "ncompass_analytics_refused_total",
            "counter",
            "Analytics requests refused with 503 because --analytics-concurrency computations were running.",
            &[(String::new(), load(&self.analytics_refused))],
        );
        metric(
            "ncompass_writer_queue_reports",
            "gauge",
            "Reports waiting for the writer.",
            &[(String::new(), load(&self.queued_reports))],
        );
        metric(
            "ncompass_writer_queue_probe_requests",
            "gauge",
            "Probe requests waiting for the writer.",
            &[(String::new(), load(&self.queued_probe_requests))],
        );
        metric(
            "ncompass_presence_backlog_probe_requests",
            "gauge",
            "Stored probe requests the idle writer has not merged into the presence segments yet (the figures read them from the rows meanwhile).",
            &[(String::new(), load(&self.presence_backlog))],
        );
        metric(
            "ncompass_probe_requests_opted_out_total",
            "counter",
            "Probe requests of devices on the opt-out list, dropped at ingest and never stored.",
            &[(String::new(), load(&self.opted_out))],
        );
        let deleted: Vec<(String, u64)> = [
            "probe_requests",
            "presence_segments",
            "reports",
            "rejections",
        ]
        .iter()
        .zip(&self.retention_deleted)
        .map(|(table, count)| (format!("{{table=\"{table}\"}}"), load(count)))
        .collect();
        metric(
            "ncompass_retention_deleted_rows_total",
            "counter",
            "Rows deleted because they were older than --keep-probe-requests or --keep-presence, by table.",
            &deleted,
        );
        let oldest = |gauge: &AtomicU64| match load(gauge) {
            0 => Vec::new(),
            at => vec![(String::new(), at)],
        };
        metric(
            "ncompass_oldest_probe_request_timestamp_seconds",
            "gauge",
            "last_seen of the oldest probe request kept, as the writer last saw after a retention pass (absent without retention, or with no rows).",
            &oldest(&self.oldest_probe_request),
        );
        metric(
            "ncompass_oldest_presence_segment_timestamp_seconds",
            "gauge",
            "UTC midnight of the day of the oldest presence segment kept, as the writer last saw after a retention pass.",
            &oldest(&self.oldest_presence_segment),
        );
        let events: Vec<(String, u64)> = ["node_silent", "node_back"]
            .iter()
            .zip(&self.alert_events)
            .map(|(event, count)| (format!("{{event=\"{event}\"}}"), load(count)))
            .collect();
        metric(
            "ncompass_alert_events_total",
            "counter",
            "Access points this instance found gone silent or back (each change is found by one instance).",
            &events,
        );
        metric(
            "ncompass_alert_deliveries_total",
            "counter",
            "Alert events delivered to a receiver (2xx answer), by this instance.",
            &[(String::new(), load(&self.alert_delivered))],
        );
        metric(
            "ncompass_alert_delivery_failures_total",
            "counter",
            "Alert delivery attempts that failed (no 2xx answer in 10 s); each is retried with backoff for up to an hour.",
            &[(String::new(), load(&self.alert_delivery_failures))],
        );
        metric(
            "ncompass_alert_deliveries_abandoned_total",
            "counter",
            "Alert events given up on after an hour of failed attempts.",
            &[(String::new(), load(&self.alert_abandoned))],
        );
        metric(
            "ncompass_alert_deliveries_pending",
            "gauge",
            "Alert deliveries not made yet (all instances), as this instance last counted.",
            &[(String::new(), load(&self.alerts_pending))],
        );
        let mut cumulative = 0;
        let mut histogram: Vec<(String, u64)> = LATENCY_BUCKETS
            .iter()
            .zip(&self.latency_buckets)
            .map(|(bound, count)| {
                cumulative += load(count);
                (format!("_bucket{{le=\"{bound}\"}}"), cumulative)
            })
            .collect();
        cumulative += load(&self.latency_buckets[LATENCY_BUCKETS.len()]);
        histogram.push(("_bucket{le=\"+Inf\"}".to_string(), cumulative));
        let _ = writeln!(
            out,
            "# HELP ncompass_ingest_latency_seconds Time from a report's arrival to its answer.\n\
             # TYPE ncompass_ingest_latency_seconds histogram"
        );
        for (suffix, value) in histogram {
            let _ = writeln!(out, "ncompass_ingest_latency_seconds{suffix} {value}");
        }
        let _ = writeln!(
            out,
            "ncompass_ingest_latency_seconds_sum {}\nncompass_ingest_latency_seconds_count {}",
            load(&self.latency_micros_sum) as f64 / 1e6,
            load(&self.latency_count)
        );
        out
    }
}

/// An access point's latest report, as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub network: i64,
    pub node: String,
    pub name: Option<String>,
    pub zone: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// `ncompass_node_last_report_timestamp_seconds`, one sample per access point.
pub fn render_nodes(nodes: &[NodeReport]) -> String {
    let mut out = String::from(
        "# HELP ncompass_node_last_report_timestamp_seconds When the access point's latest report arrived (server clock).\n\
         # TYPE ncompass_node_last_report_timestamp_seconds gauge\n",
    );
    for NodeReport {
        network,
        node,
        name,
        zone,
        at,
    } in nodes
    {
        let _ = writeln!(
            out,
            "ncompass_node_last_report_timestamp_seconds{{network=\"{network}\",node=\"{}\",name=\"{}\",zone=\"{}\"}} {at}",
            label_value(node),
            label_value(name.as_deref().unwrap_or("")),
            label_value(zone.as_deref().unwrap_or(""))
        );
    }
    out
}

/// A label value in the text format: backslash, double quote and line feed escaped.
fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_labels_are_escaped() {
        let out = render_nodes(&[NodeReport {
            network: 7,
            node: "ac:00:00:00:00:01".to_string(),
            name: Some("Café \"Nord\"\\1\nx".to_string()),
            zone: None,
            at: 1_764_201_600,
        }]);
        assert!(out.contains(
            "ncompass_node_last_report_timestamp_seconds{network=\"7\",node=\"ac:00:00:00:00:01\",name=\"Café \\\"Nord\\\"\\\\1\\nx\",zone=\"\"} 1764201600\n"
        ), "{out}");
        assert_eq!(out.lines().count(), 3);
    }

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.accepted(5, 0);
        metrics.accepted(0, 5);
        metrics.rejected(RejectReason::BadSignature);
        metrics.observe_latency(Duration::from_micros(800));
        metrics.observe_latency(Duration::from_millis(30));
        metrics.observe_latency(Duration::from_secs(9));
        metrics.presence_backlog.store(12, Ordering::Relaxed);
        metrics.store_failed(FailureKind::Full);
        metrics.store_failed(FailureKind::Full);
        metrics.store_failed(FailureKind::Busy);
        metrics.writer_restarted();
        let text = metrics.render();
        for line in [
            "ncompass_reports_accepted_total 2",
            "ncompass_reports_rejected_total{reason=\"bad_signature\"} 1",
            "ncompass_reports_rejected_total{reason=\"invalid_json\"} 0",
            "ncompass_probe_requests_stored_total 5",
            "ncompass_probe_requests_duplicate_total 5",
            "ncompass_ingest_latency_seconds_bucket{le=\"0.001\"} 1",
            "ncompass_ingest_latency_seconds_bucket{le=\"0.025\"} 1",
            "ncompass_ingest_latency_seconds_bucket{le=\"0.05\"} 2",
            "ncompass_ingest_latency_seconds_bucket{le=\"5\"} 2",
            "ncompass_ingest_latency_seconds_bucket{le=\"+Inf\"} 3",
            "ncompass_ingest_latency_seconds_count 3",
            "ncompass_presence_backlog_probe_requests 12",
            "ncompass_store_failures_total{kind=\"full\"} 2",
            "ncompass_store_failures_total{kind=\"busy\"} 1",
            "ncompass_store_failures_total{kind=\"io\"} 0",
            "ncompass_store_failures_total{kind=\"other\"} 0",
            "ncompass_writer_restarts_total 1",
            "ncompass_reports_rejected_total{reason=\"body_timeout\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
