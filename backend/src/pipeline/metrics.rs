//! The instance's metrics, exposed at `/metrics` in the OpenMetrics text format by the
//! Prometheus project's client library.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

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
    /// A Meraki post without its source's secret (403).
    BadSecret,
    TooLarge,
    UnreadableBody,
    /// The body did not arrive within `--body-timeout` (408).
    BodyTimeout,
    Overloaded,
    /// Valid, but the database could not store it (503: full, locked, failing).
    NotStored,
}

impl RejectReason {
    pub const ALL: [RejectReason; 10] = [
        RejectReason::InvalidJson,
        RejectReason::InvalidReport,
        RejectReason::MissingSignature,
        RejectReason::BadSignature,
        RejectReason::BadSecret,
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
            RejectReason::BadSecret => "bad_secret",
            RejectReason::TooLarge => "too_large",
            RejectReason::UnreadableBody => "unreadable_body",
            RejectReason::BodyTimeout => "body_timeout",
            RejectReason::Overloaded => "overloaded",
            RejectReason::NotStored => "not_stored",
        }
    }
}

/// A label set of one label.
type Label = [(&'static str, &'static str); 1];

/// The instance's metrics. Counters and the latency histogram are the Prometheus
/// project's own types (`prometheus-client`): the exposition format, label escaping and
/// histogram semantics are the library's. The gauges other modules keep up to date are
/// plain atomics, read into the exposition at each scrape ([`Metrics::render`]).
pub struct Metrics {
    reports_accepted: Counter,
    /// By `reason` ([`RejectReason::as_str`]).
    rejected: Family<Label, Counter>,
    probe_requests_stored: Counter,
    probe_requests_duplicate: Counter,
    ingest_latency: Histogram,
    batches: Counter,
    /// Failed store transactions, by `kind` ([`FailureKind::as_str`]).
    store_failures: Family<Label, Counter>,
    writer_restarts: Counter,
    /// Batches tried again on a fresh connection after theirs broke under them.
    batches_retried: Counter,
    /// Analytics requests refused because every slot was taken.
    analytics_refused: Counter,
    /// Observations in accepted Meraki posts, by `type` (wifi, bluetooth).
    meraki_observations: Family<Label, Counter>,
    /// Observations of accepted Meraki posts not stored by design (Bluetooth).
    meraki_ignored: Counter,
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
    opted_out: Counter,
    /// Rows deleted by retention, by `table`.
    retention_deleted: Family<Label, Counter>,
    /// `last_seen` of the oldest probe request kept, and the start of the oldest
    /// presence segment's day (Unix seconds; 0: none, or not looked at yet).
    oldest_probe_request: AtomicU64,
    oldest_presence_segment: AtomicU64,
    /// Alert events queued, by `event`: node_silent, node_back.
    alert_events: Family<Label, Counter>,
    alert_delivered: Counter,
    alert_delivery_failures: Counter,
    alert_abandoned: Counter,
    alerts_pending: AtomicU64,
    /// The idle merge failed last time it ran (so its failure is logged once).
    pub merge_failing: std::sync::atomic::AtomicBool,
}

/// The tables retention deletes from, in [`crate::db::retention::Deleted`]'s order.
const RETENTION_TABLES: [&str; 4] = [
    "probe_requests",
    "presence_segments",
    "reports",
    "rejections",
];
const ALERT_EVENTS: [&str; 2] = ["node_silent", "node_back"];

impl Default for Metrics {
    fn default() -> Self {
        let family = |label: &'static str, values: &[&'static str]| {
            let family = Family::<Label, Counter>::default();
            // Every value from the start, at 0: a rate over a series that appears late
            // misses its first increase.
            for value in values {
                let _ = family.get_or_create(&[(label, *value)]);
            }
            family
        };
        let reasons: Vec<&'static str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        let kinds: Vec<&'static str> = FailureKind::ALL.iter().map(|k| k.as_str()).collect();
        Metrics {
            reports_accepted: Counter::default(),
            rejected: family("reason", &reasons),
            probe_requests_stored: Counter::default(),
            probe_requests_duplicate: Counter::default(),
            ingest_latency: Histogram::new(LATENCY_BUCKETS),
            batches: Counter::default(),
            store_failures: family("kind", &kinds),
            writer_restarts: Counter::default(),
            batches_retried: Counter::default(),
            analytics_refused: Counter::default(),
            meraki_observations: family("type", &["wifi", "bluetooth"]),
            meraki_ignored: Counter::default(),
            queued_probe_requests: AtomicU64::default(),
            queued_reports: AtomicU64::default(),
            presence_backlog: AtomicU64::default(),
            presence_merge_rows_per_s: AtomicU64::default(),
            opted_out: Counter::default(),
            retention_deleted: family("table", &RETENTION_TABLES),
            oldest_probe_request: AtomicU64::default(),
            oldest_presence_segment: AtomicU64::default(),
            alert_events: family("event", &ALERT_EVENTS),
            alert_delivered: Counter::default(),
            alert_delivery_failures: Counter::default(),
            alert_abandoned: Counter::default(),
            alerts_pending: AtomicU64::default(),
            merge_failing: std::sync::atomic::AtomicBool::default(),
        }
    }
}

impl Metrics {
    pub fn accepted(&self, stored: i64, duplicates: i64) {
        self.reports_accepted.inc();
        self.probe_requests_stored
            .inc_by(u64::try_from(stored).unwrap_or(0));
        self.probe_requests_duplicate
            .inc_by(u64::try_from(duplicates).unwrap_or(0));
    }

    pub fn rejected(&self, reason: RejectReason) {
        self.rejected
            .get_or_create(&[("reason", reason.as_str())])
            .inc();
    }

    /// Time from a report's arrival to its answer.
    pub fn observe_latency(&self, elapsed: Duration) {
        self.ingest_latency.observe(elapsed.as_secs_f64());
    }

    /// A store transaction committed.
    pub fn batch_committed(&self) {
        self.batches.inc();
    }

    /// A store transaction failed.
    pub fn store_failed(&self, kind: FailureKind) {
        self.store_failures
            .get_or_create(&[("kind", kind.as_str())])
            .inc();
    }

    /// A new writer run started, after a panic or on a fresh connection.
    pub fn writer_restarted(&self) {
        self.writer_restarts.inc();
    }

    pub fn writer_restarts(&self) -> u64 {
        self.writer_restarts.get()
    }

    /// A batch the connection broke under is tried again on a fresh one.
    pub fn batch_retried(&self) {
        self.batches_retried.inc();
    }

    /// A Meraki post was accepted: its observations, of `kind` (`wifi`, `bluetooth`),
    /// and how many of them were not stored by design.
    pub fn meraki_post(&self, kind: &'static str, observations: u64, ignored: u64) {
        self.meraki_observations
            .get_or_create(&[("type", kind)])
            .inc_by(observations);
        self.meraki_ignored.inc_by(ignored);
    }

    /// Observations of opted-out devices were dropped at ingest.
    pub fn opted_out(&self, probe_requests: u64) {
        self.opted_out.inc_by(probe_requests);
    }

    pub fn retention_deleted(&self, deleted: crate::db::retention::Deleted) {
        for (table, rows) in RETENTION_TABLES.iter().zip([
            deleted.probe_requests,
            deleted.presence_segments,
            deleted.reports,
            deleted.rejections,
        ]) {
            self.retention_deleted
                .get_or_create(&[("table", *table)])
                .inc_by(rows);
        }
    }

    pub fn note_oldest(&self, probe_request: Option<i64>, presence_segment: Option<i64>) {
        let seconds = |at: Option<i64>| at.and_then(|at| u64::try_from(at).ok()).unwrap_or(0);
        self.oldest_probe_request
            .store(seconds(probe_request), Ordering::Relaxed);
        self.oldest_presence_segment
            .store(seconds(presence_segment), Ordering::Relaxed);
    }

    /// An alert event queued: `node_silent` or `node_back`.
    pub fn alert_event(&self, event: &str) {
        let event = if event == "node_back" {
            ALERT_EVENTS[1]
        } else {
            ALERT_EVENTS[0]
        };
        self.alert_events.get_or_create(&[("event", event)]).inc();
    }

    pub fn alert_delivered(&self) {
        self.alert_delivered.inc();
    }

    pub fn alert_delivery_failed(&self) {
        self.alert_delivery_failures.inc();
    }

    pub fn alert_abandoned(&self) {
        self.alert_abandoned.inc();
    }

    pub fn set_alerts_pending(&self, pending: i64) {
        self.alerts_pending
            .store(u64::try_from(pending).unwrap_or(0), Ordering::Relaxed);
    }

    /// An analytics request was refused: every slot was taken.
    pub fn analytics_refused(&self) {
        self.analytics_refused.inc();
    }

    /// The OpenMetrics text exposition of this instance's metrics, and of each access
    /// point's last report when `nodes` could be read (`ncompass_database_up` says
    /// whether they could).
    pub fn render(&self, nodes: Option<&[NodeReport]>) -> String {
        let mut registry = Registry::default();
        // The library adds the final full stop to each help text.
        macro_rules! add {
            ($name:expr, $help:expr, $metric:expr) => {
                registry.register($name, $help.trim_end_matches('.'), $metric)
            };
        }
        let load =
            |gauge: &AtomicU64| i64::try_from(gauge.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        add!(
            "ncompass_reports_accepted",
            "Reports stored (including those whose probe requests were all duplicates).",
            self.reports_accepted.clone()
        );
        add!(
            "ncompass_reports_rejected",
            "Reports refused, by reason.",
            self.rejected.clone()
        );
        add!(
            "ncompass_probe_requests_stored",
            "Probe requests stored as new rows.",
            self.probe_requests_stored.clone()
        );
        add!(
            "ncompass_probe_requests_duplicate",
            "Probe requests received again and not stored twice.",
            self.probe_requests_duplicate.clone()
        );
        add!(
            "ncompass_writer_batches",
            "Transactions committed by the writer (each holds one or more reports).",
            self.batches.clone()
        );
        add!("ncompass_store_failures", "Store transactions that failed, by kind: full (disk or page limit), busy (another process held the write lock past the busy timeout), io, report (one report's rows), other.", self.store_failures.clone());
        add!("ncompass_writer_restarts", "Times the writer started anew, after a panic or on a fresh connection after its connection broke.", self.writer_restarts.clone());
        add!("ncompass_batches_retried", "Batches of reports tried again on a fresh connection because theirs broke under them (a database restart or failover): their reports were not refused.", self.batches_retried.clone());
        add!("ncompass_meraki_observations", "Observations (clients) in accepted Meraki Scanning API posts, by type: wifi, bluetooth.", self.meraki_observations.clone());
        add!(
            "ncompass_meraki_observations_ignored",
            "Observations of accepted Meraki posts received but not stored by design (Bluetooth).",
            self.meraki_ignored.clone()
        );
        add!("ncompass_analytics_refused", "Analytics requests refused with 503 because --analytics-concurrency computations were running.", self.analytics_refused.clone());
        add!(
            "ncompass_writer_queue_reports",
            "Reports waiting for the writer.",
            ConstGauge::new(load(&self.queued_reports))
        );
        add!(
            "ncompass_writer_queue_probe_requests",
            "Probe requests waiting for the writer.",
            ConstGauge::new(load(&self.queued_probe_requests))
        );
        add!("ncompass_presence_backlog_probe_requests", "Stored probe requests the idle writer has not merged into the presence segments yet (the figures read them from the rows meanwhile).", ConstGauge::new(load(&self.presence_backlog)));
        add!(
            "ncompass_probe_requests_opted_out",
            "Probe requests of devices on the opt-out list, dropped at ingest and never stored.",
            self.opted_out.clone()
        );
        add!("ncompass_retention_deleted_rows", "Rows deleted because they were older than --keep-probe-requests or --keep-presence, by table.", self.retention_deleted.clone());
        // Absent (a family with no sample) until known.
        let oldest = |gauge: &AtomicU64| {
            let family = Family::<[(&'static str, &'static str); 0], Gauge>::default();
            if let at @ 1.. = load(gauge) {
                family.get_or_create(&[]).set(at);
            }
            Declared(family)
        };
        add!("ncompass_oldest_probe_request_timestamp_seconds", "last_seen of the oldest probe request kept, as the writer last saw after a retention pass (absent without retention, or with no rows).", oldest(&self.oldest_probe_request));
        add!("ncompass_oldest_presence_segment_timestamp_seconds", "UTC midnight of the day of the oldest presence segment kept, as the writer last saw after a retention pass.", oldest(&self.oldest_presence_segment));
        add!("ncompass_alert_events", "Access points this instance found gone silent or back (each change is found by one instance).", self.alert_events.clone());
        add!(
            "ncompass_alert_deliveries",
            "Alert events delivered to a receiver (2xx answer), by this instance.",
            self.alert_delivered.clone()
        );
        add!("ncompass_alert_delivery_failures", "Alert delivery attempts that failed (no 2xx answer in 10 s); each is retried with backoff for up to an hour.", self.alert_delivery_failures.clone());
        add!(
            "ncompass_alert_deliveries_abandoned",
            "Alert events given up on after an hour of failed attempts.",
            self.alert_abandoned.clone()
        );
        add!(
            "ncompass_alert_deliveries_pending",
            "Alert deliveries not made yet (all instances), as this instance last counted.",
            ConstGauge::new(load(&self.alerts_pending))
        );
        add!(
            "ncompass_ingest_latency_seconds",
            "Time from a report's arrival to its answer.",
            self.ingest_latency.clone()
        );
        // Left out when the database could not be read (ncompass_database_up says so).
        if let Some(nodes) = nodes {
            let last_reports = Family::<[(&'static str, String); 4], Gauge>::default();
            for node in nodes {
                last_reports
                    .get_or_create(&[
                        ("network", node.network.to_string()),
                        ("node", node.node.clone()),
                        ("name", node.name.clone().unwrap_or_default()),
                        ("zone", node.zone.clone().unwrap_or_default()),
                    ])
                    .set(node.at);
            }
            add!(
                "ncompass_node_last_report_timestamp_seconds",
                "When the access point's latest report arrived (server clock).",
                Declared(last_reports)
            );
        }
        add!(
            "ncompass_database_up",
            "1 when this scrape could read the database, else 0.",
            ConstGauge::new(i64::from(nodes.is_some()))
        );
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

/// A metric family declared (HELP and TYPE) even while it has no sample, as OpenMetrics
/// allows and the library otherwise skips: dashboards and alert rules find the name
/// before the first sample (the oldest row kept, the first access point).
#[derive(Debug)]
struct Declared<M>(M);

impl<M: EncodeMetric> EncodeMetric for Declared<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_labels_are_escaped() {
        let out = Metrics::default().render(Some(&[NodeReport {
            network: 7,
            node: "ac:00:00:00:00:01".to_string(),
            name: Some("Café \"Nord\"\\1\nx".to_string()),
            zone: None,
            at: 1_764_201_600,
        }]));
        assert!(out.contains(
            "ncompass_node_last_report_timestamp_seconds{network=\"7\",node=\"ac:00:00:00:00:01\",name=\"Café \\\"Nord\\\"\\\\1\\nx\",zone=\"\"} 1764201600\n"
        ), "{out}");
        assert!(out.contains("ncompass_database_up 1\n"), "{out}");
        assert!(out.ends_with("# EOF\n"), "{out}");
        let without = Metrics::default().render(None);
        assert!(without.contains("ncompass_database_up 0\n"), "{without}");
        assert!(!without.contains("ncompass_node_last_report_timestamp_seconds"));
        // Declared with no sample yet.
        let none = Metrics::default().render(Some(&[]));
        assert!(none.contains("# TYPE ncompass_node_last_report_timestamp_seconds gauge\n"));
        assert!(none.contains("# TYPE ncompass_oldest_probe_request_timestamp_seconds gauge\n"));
        assert!(!none.contains("\nncompass_oldest_probe_request_timestamp_seconds "));
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
        metrics.batch_retried();
        let text = metrics.render(Some(&[]));
        for line in [
            "ncompass_reports_accepted_total 2",
            "ncompass_reports_rejected_total{reason=\"bad_signature\"} 1",
            "ncompass_reports_rejected_total{reason=\"invalid_json\"} 0",
            "ncompass_probe_requests_stored_total 5",
            "ncompass_probe_requests_duplicate_total 5",
            "ncompass_ingest_latency_seconds_bucket{le=\"0.001\"} 1",
            "ncompass_ingest_latency_seconds_bucket{le=\"0.025\"} 1",
            "ncompass_ingest_latency_seconds_bucket{le=\"0.05\"} 2",
            "ncompass_ingest_latency_seconds_bucket{le=\"5.0\"} 2",
            "ncompass_ingest_latency_seconds_bucket{le=\"+Inf\"} 3",
            "ncompass_ingest_latency_seconds_count 3",
            "ncompass_presence_backlog_probe_requests 12",
            "ncompass_store_failures_total{kind=\"full\"} 2",
            "ncompass_store_failures_total{kind=\"busy\"} 1",
            "ncompass_store_failures_total{kind=\"io\"} 0",
            "ncompass_store_failures_total{kind=\"other\"} 0",
            "ncompass_batches_retried_total 1",
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
