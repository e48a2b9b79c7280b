//! Silence alerts: an access point that has reported before and then sends nothing for
//! `--silence-after` is *silent*; it is *back* when a report of it arrives. Each change
//! is announced to every `--alert-webhook` as a signed JSON event.
//!
//! Two loops on one thread of their own, so that nothing here ever waits in the way of
//! ingestion:
//! - the monitor marks changes in the database (`db::nodes::mark_silent`/`mark_back`)
//!   and queues their events in the outbox (`db::alerts`) in the same transaction: an
//!   event is queued exactly when its change is recorded, by whichever instance saw it,
//!   for the receivers of every running instance (each announces its own, so one
//!   started with other or no `--alert-webhook` still queues what the others deliver);
//! - the deliverer claims due events (a lease), POSTs them, and on failure tries again
//!   with exponential backoff for up to an hour: every event is delivered at least once
//!   (receivers deduplicate by its `id`).

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Serialize;

use crate::clock::Clock;
use crate::db::{self, Database};
use crate::pipeline::metrics::Metrics;

/// How often the monitor looks for changes and the deliverer for due events.
const TICK: Duration = Duration::from_secs(1);
/// How long a claimed delivery is left to its instance before another may try it.
const LEASE_MS: i64 = 30_000;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Backoff after the first failure, doubled after each further one, up to the cap.
const FIRST_RETRY_MS: i64 = 1_000;
const MAX_RETRY_MS: i64 = 300_000;
/// An event not delivered this long after it happened is given up on.
const GIVE_UP_S: i64 = 3_600;
/// Deliveries at once (each holds a connection while its receiver answers).
const CONCURRENT_DELIVERIES: usize = 16;
/// Delivered and abandoned events are forgotten after a week.
const KEEP_DONE_S: i64 = 7 * 86_400;
/// Each instance announces its receivers every minute; an event is queued for every
/// receiver announced within this long (an instance stopped a while ago, or a receiver
/// taken out of the settings, gets no new events after it).
const RECEIVER_SEEN_S: i64 = 600;

/// What the alerts are started with; the application builds it from its settings.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    pub silence_after_s: i64,
    /// Receivers of the events; none: changes are only marked and logged.
    pub webhooks: Vec<String>,
    /// Each receiver's key ([`receiver_key`]), as the outbox names it.
    keys: Vec<String>,
    /// Signs each event's body (`Signature` header); none: unsigned.
    pub secret: Option<Vec<u8>>,
}

impl AlertConfig {
    /// Silence after `silence_after`, announced to `webhooks` (none: only marked and
    /// logged), signed with `secret` (none or empty: unsigned).
    pub fn new(
        silence_after: std::time::Duration,
        webhooks: Vec<String>,
        secret: Option<&str>,
    ) -> AlertConfig {
        AlertConfig {
            silence_after_s: i64::try_from(silence_after.as_secs()).unwrap_or(i64::MAX),
            keys: webhooks.iter().map(|url| receiver_key(url)).collect(),
            webhooks,
            secret: secret
                .filter(|secret| !secret.is_empty())
                .map(|secret| secret.as_bytes().to_vec()),
        }
    }
}

/// How the outbox names a receiver: the SHA-256 of its URL, so that a token in the URL
/// is never stored (the delivering instance finds the URL in its own settings).
pub fn receiver_key(url: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(url.as_bytes()))
}

impl AlertConfig {
    fn url_of(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .position(|k| k == key)
            .map(|i| self.webhooks[i].as_str())
    }
}

/// The JSON body of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Unique per event (the same in every retry and to every receiver), to deduplicate.
    pub id: String,
    /// `node_silent` or `node_back`.
    pub event: &'static str,
    pub network: i64,
    pub node: String,
    pub name: Option<String>,
    pub zone: Option<String>,
    /// node_silent: when its last report arrived; node_back: when the report that
    /// brought it back arrived (Unix seconds).
    pub since: i64,
}

impl Event {
    fn of(
        event: &'static str,
        change: &db::nodes::Change,
        directory: &db::places::Directory,
    ) -> Event {
        Event {
            id: format!(
                "{event}:{}:{}:{}",
                change.network_id, change.node_mac, change.at
            ),
            event,
            network: change.network_id,
            node: change.node_mac.clone(),
            name: directory.node_name(&change.node_mac),
            zone: directory.zone(&change.node_mac),
            since: change.at,
        }
    }
}

/// Starts the monitor and the deliverer on a thread of their own; they stop once
/// `alive` can no longer be upgraded (the server that owns it is gone).
pub fn start(
    db: Database,
    settings: AlertConfig,
    clock: Clock,
    metrics: Arc<Metrics>,
    alive: Weak<()>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("ncompass-alerts".to_string())
        .spawn(move || {
            runtime.block_on(run(db, settings, clock, metrics, alive));
        })
}

async fn run(
    db: Database,
    settings: AlertConfig,
    clock: Clock,
    metrics: Arc<Metrics>,
    alive: Weak<()>,
) {
    let client = match reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        // A new connection per attempt: alerts are rare, and a pooled connection the
        // receiver has just closed (its keep-alive ran out) failed the attempt that
        // picked it up, a spurious failure in the log and /metrics.
        .pool_max_idle_per_host(0)
        .user_agent(concat!("ncompass/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client: no alert will be delivered");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_DELIVERIES));
    let settings = Arc::new(settings);
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut passes: u64 = 0;
    let mut failing = false;
    loop {
        ticks.tick().await;
        if alive.upgrade().is_none() {
            return;
        }
        // Independent: a monitor that cannot write (a lock held, a deadlock between
        // instances) never holds up delivering what is queued.
        let monitored = monitor(&db, &settings, &clock, &metrics);
        let delivered = deliver(&db, &client, &settings, &clock, &metrics, &slots);
        let outcome = monitored.and(delivered);
        match outcome {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("the silence monitor reaches the database again");
            }
            Ok(()) => {}
            // Logged once per outage; the next tick tries again.
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "the silence monitor cannot reach the database");
            }
            Err(_) => {}
        }
        // Housekeeping at start and then hourly (prune) or every minute (give up, and
        // say again which receivers this instance delivers to).
        let now = clock.now();
        if passes % 3_600 == 0 {
            let _ = db.run_blocking(|conn| {
                db::alerts::prune(conn, now - KEEP_DONE_S)?;
                db::alerts::forget_receivers(conn, now - KEEP_DONE_S)
            });
        }
        if passes % 60 == 0 {
            let _ = db.run_blocking(|conn| db::alerts::abandon_expired(conn, now - GIVE_UP_S, now));
            if !settings.keys.is_empty() {
                let _ = db
                    .run_blocking(|conn| db::alerts::announce_receivers(conn, &settings.keys, now));
            }
        }
        passes += 1;
    }
}

/// Marks access points gone silent or back, and queues their events.
fn monitor(
    db: &Database,
    settings: &AlertConfig,
    clock: &Clock,
    metrics: &Metrics,
) -> Result<(), db::StoreError> {
    let now = clock.now();
    let after = settings.silence_after_s;
    // A read first: the write lock is taken only when something changed.
    if !db.run_blocking(|conn| db::nodes::changes_due(conn, now, after))? {
        return Ok(());
    }
    let now_ms = clock.now_ms();
    let events = db.run_blocking(|conn| {
        db::write_transaction(conn, |conn| {
            let back = db::nodes::mark_back(conn)?;
            let silent = db::nodes::mark_silent(conn, now, after)?;
            let directory = db::places::directory(conn)?;
            let events: Vec<Event> = back
                .iter()
                .map(|change| Event::of("node_back", change, &directory))
                .chain(
                    silent
                        .iter()
                        .map(|change| Event::of("node_silent", change, &directory)),
                )
                .collect();
            let receivers = if events.is_empty() {
                Vec::new()
            } else {
                db::alerts::receivers(conn, &settings.keys, now - RECEIVER_SEEN_S)?
            };
            for event in &events {
                db::alerts::enqueue(conn, &receivers, event, now_ms)?;
            }
            Ok(events)
        })
    })?;
    for event in events {
        metrics.alert_event(event.event);
        let name = event.name.as_deref().unwrap_or("");
        if event.event == "node_silent" {
            tracing::warn!(target: "ncompass::alerts", network = event.network, node = %event.node,
                name, last_report_at = event.since, "access point silent");
        } else {
            tracing::info!(target: "ncompass::alerts", network = event.network, node = %event.node,
                name, "access point back");
        }
    }
    Ok(())
}

/// Claims the due deliveries (as many as there are free slots) and sends each on a task
/// of its own.
fn deliver(
    db: &Database,
    client: &reqwest::Client,
    settings: &Arc<AlertConfig>,
    clock: &Clock,
    metrics: &Arc<Metrics>,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Result<(), db::StoreError> {
    let free = i64::try_from(slots.available_permits()).unwrap_or(0);
    let now_ms = clock.now_ms();
    let pending = db.run_blocking(db::alerts::pending_count)?;
    metrics.set_alerts_pending(pending);
    let keys = &settings.keys;
    // Reads first: the write lock is taken only to claim what is due.
    if free == 0
        || pending == 0
        || !db.run_blocking(|conn| db::alerts::any_due(conn, keys, now_ms))?
    {
        return Ok(());
    }
    for due in db.run_blocking(|conn| db::alerts::claim(conn, keys, now_ms, LEASE_MS, free))? {
        let Ok(slot) = Arc::clone(slots).try_acquire_owned() else {
            break;
        };
        let (db, client, settings) = (db.clone(), client.clone(), Arc::clone(settings));
        let (clock, metrics) = (clock.clone(), Arc::clone(metrics));
        tokio::spawn(async move {
            let _slot = slot;
            let outcome = match settings.url_of(&due.receiver) {
                Some(url) => send(&client, url, &due, settings.secret.as_deref()).await,
                None => Err("not a receiver of this instance".to_string()),
            };
            let url = settings.url_of(&due.receiver).unwrap_or("").to_string();
            // Off this thread: a database wait must not stall the other deliveries.
            let _ = tokio::task::spawn_blocking(move || {
                record(&db, &url, &due, outcome, &clock, &metrics);
            })
            .await;
        });
    }
    Ok(())
}

/// One attempt: `Ok` on a 2xx answer, else why not (never naming the URL, which may
/// hold a token).
async fn send(
    client: &reqwest::Client,
    url: &str,
    due: &db::alerts::Due,
    secret: Option<&[u8]>,
) -> Result<(), String> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(due.body.clone());
    if let Some(secret) = secret {
        request = request.header(
            "Signature",
            crate::cloudtrax::sign(secret, due.body.as_bytes()),
        );
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("answered {}", response.status())),
        Err(error) => Err(error.without_url().to_string()),
    }
}

/// Where a receiver's URL points, without its path and query (which may hold a token).
fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
        Err(_) => "?".to_string(),
    }
}

fn record(
    db: &Database,
    url: &str,
    due: &db::alerts::Due,
    outcome: Result<(), String>,
    clock: &Clock,
    metrics: &Metrics,
) {
    let now = clock.now();
    let stored = match outcome {
        Ok(()) => {
            metrics.alert_delivered();
            tracing::debug!(target: "ncompass::alerts", receiver = %origin(url), "alert delivered");
            db.run_blocking(|conn| db::alerts::delivered(conn, due.id, now))
        }
        Err(error) => {
            metrics.alert_delivery_failed();
            let attempts = due.attempts.saturating_add(1);
            let abandoned = now.saturating_sub(due.created_at) >= GIVE_UP_S;
            if abandoned {
                metrics.alert_abandoned();
                tracing::error!(target: "ncompass::alerts", receiver = %origin(url), attempts,
                    %error, "alert not delivered within an hour: given up");
            } else {
                tracing::warn!(target: "ncompass::alerts", receiver = %origin(url), attempts,
                    %error, "alert delivery failed; will retry");
            }
            let next = clock.now_ms().saturating_add(backoff_ms(attempts));
            db.run_blocking(|conn| {
                db::alerts::failed(conn, due.id, &error, next, abandoned.then_some(now))
            })
        }
    };
    // Not recorded: the lease runs out and the delivery is tried again (at least once).
    if let Err(error) = stored {
        tracing::warn!(target: "ncompass::alerts", %error, "cannot record an alert delivery");
    }
}

/// The wait after the `attempts`-th failed attempt: 1 s, 2 s, 4 s, ... at most 5 min.
pub fn backoff_ms(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    FIRST_RETRY_MS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let waits: Vec<i64> = (1..=11).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000
            ]
        );
        assert_eq!(backoff_ms(i32::MAX), 300_000);
        // An hour of retries: about twenty attempts, not thousands.
        let mut elapsed = 0;
        let mut attempts = 0;
        while elapsed < GIVE_UP_S * 1000 {
            attempts += 1;
            elapsed += backoff_ms(attempts);
        }
        assert!((15..=25).contains(&attempts), "{attempts}");
    }

    #[test]
    fn the_url_is_never_logged_whole() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T000/B000/SECRET"),
            "https://hooks.slack.com"
        );
        assert_eq!(origin("not a url"), "?");
        let key = receiver_key("https://hooks.slack.com/services/T000/B000/SECRET");
        assert_eq!(key.len(), 64);
        assert!(!key.contains("SECRET"));
    }

    #[test]
    fn events_name_the_access_point() {
        let change = db::nodes::Change {
            network_id: 7,
            node_mac: "ac:00:00:00:00:01".to_string(),
            at: 1_764_201_600,
        };
        let event = Event::of("node_silent", &change, &db::places::Directory::default());
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"id": "node_silent:7:ac:00:00:00:00:01:1764201600",
                "event": "node_silent", "network": 7, "node": "ac:00:00:00:00:01",
                "name": null, "zone": null, "since": 1_764_201_600})
        );
    }
}
