//! Presence figures computed from the stored probe requests: what every range answer
//! shares (the query, its scope and bounds, the analytics slots, loading the visits)
//! here; the answers by kind in [`range`] (summary, series, dwell histogram, access
//! points), [`rankings`] (zones and networks), [`device`] (one device's visits) and
//! [`now`] (occupancy now).

mod completeness;
pub mod device;
pub mod now;
pub mod range;
pub mod rankings;

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::{mac_parameter, non_negative};
use crate::analytics::{
    self, Counting, Days, Hours, MacId, OpenTimes, Schedule, Thresholds, Visit, SEGMENT_GAP_S,
};
use crate::cloudtrax::Mac;
use crate::db::{self, presence::PresenceRead};
use crate::http::error::AppError;

/// The longest range one request may ask for.
const MAX_RANGE_S: i64 = 31 * 86_400;
/// The latest `since` or `until`: 9999-12-28, so the range with a day around it stays
/// within the calendar (year 9999) in any time zone. Written out in the parameters'
/// `maximum`.
const MAX_TIME: i64 = 253_401_948_000;
/// The longest `visit_gap_s`: visits are assembled from a day around the range.
const MAX_VISIT_GAP_S: i64 = 86_400;
/// The most presence segments (or, for a visit gap under [`SEGMENT_GAP_S`], probe
/// requests) one request may compute over: a bound on its memory (about 200 bytes each)
/// and time. Larger ranges are refused with a way to narrow them.
pub const MAX_OBSERVATIONS: i64 = 1_000_000;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Start of the range, Unix seconds (default: 24 hours before `until`).
    #[param(minimum = 0, maximum = 253401948000_i64)]
    since: Option<i64>,
    /// End of the range, Unix seconds, inclusive (default: now). Not before `since`, and
    /// at most 31 days (2678400 s) after it.
    #[param(minimum = 0, maximum = 253401948000_i64)]
    until: Option<i64>,
    /// Only this network (negative: a Meraki network).
    network_id: Option<i64>,
    /// Only visits heard by this access point (any case, `:` or `-`).
    node_mac: Option<String>,
    /// Only visits heard by the access points now in this zone (exact name).
    zone: Option<String>,
    /// Longest gap inside a visit, seconds.
    #[param(minimum = 0, maximum = 86400, default = 600)]
    visit_gap_s: Option<i64>,
    /// Shortest dwell of a visitor, seconds.
    #[param(minimum = 0, maximum = 2678400, default = 300)]
    visitor_dwell_s: Option<i64>,
    /// Weakest strongest-signal of a visitor, dBm.
    #[param(minimum = -128, maximum = 0, default = -75)]
    nearby_signal_dbm: Option<i32>,
    /// IANA time zone whose local days count for `returning_devices` and bound the
    /// series' buckets. Default: the network's (`PUT /api/v1/networks/{network_id}`);
    /// over several networks, theirs if they share one, else `UTC`. A name the server's
    /// time zone database does not know is refused (400).
    #[param(example = "Europe/Berlin")]
    tz: Option<String>,
    /// `open` (the default): the visits of a network with opening hours
    /// (`PUT /api/v1/networks/{network_id}`) count only where they overlap them, in the
    /// network's time zone; `all`: every hour counts. The answer's `hours` says which.
    #[param(inline)]
    hours: Option<Hours>,
}

/// A validated range, scope and thresholds.
#[derive(Clone)]
struct Scope {
    since: i64,
    until: i64,
    network_id: Option<i64>,
    /// Visits heard by one of these access points (sorted) only: `node_mac`, the
    /// `zone`'s, or both.
    nodes: Option<Vec<MacId>>,
    thresholds: Thresholds,
    tz_name: String,
    tz: jiff::tz::TimeZone,
    /// The opening hours that restrict the figures, per network with them, in its
    /// time zone: none with `hours=all`.
    schedules: Vec<(i64, Schedule, jiff::tz::TimeZone)>,
    /// The networks the request covers (to tell a closed stretch of time).
    networks: Vec<i64>,
    /// The access points of the scope that have reported: what its figures' reports
    /// should have come from.
    reporters: Vec<completeness::Reporter>,
}

impl Scope {
    fn nodes(&self) -> Option<&[MacId]> {
        self.nodes.as_deref()
    }

    /// `open` when the opening hours of a network of the scope restrict the figures,
    /// else `all` (the answers' `hours`).
    fn hours(&self) -> &'static str {
        let restricted = self
            .schedules
            .iter()
            .any(|(id, _, _)| self.networks.contains(id));
        if restricted {
            Hours::Open.as_str()
        } else {
            Hours::All.as_str()
        }
    }

    /// When each network with opening hours is open over `since..=until`.
    fn open_times(&self, since: i64, until: i64) -> Result<OpenTimes, AppError> {
        if self.schedules.is_empty() {
            return Ok(OpenTimes::always());
        }
        let by_network = self
            .schedules
            .iter()
            .map(|(id, schedule, tz)| Ok((*id, schedule.intervals(since, until, tz)?)))
            .collect::<Result<_, jiff::Error>>()
            .map_err(|error| self.placing_error(error))?;
        Ok(OpenTimes::new(by_network, &self.networks))
    }

    /// Computes `figures` with the scope's counting over `since..=until` (local days and
    /// opening hours over it).
    fn counting<T>(
        &self,
        since: i64,
        until: i64,
        figures: impl FnOnce(&Counting) -> T,
    ) -> Result<T, AppError> {
        let days = Days::new(since, until, &self.tz).map_err(|error| self.placing_error(error))?;
        let open = self.open_times(since, until)?;
        Ok(figures(&Counting {
            nodes: self.nodes(),
            thresholds: &self.thresholds,
            days: &days,
            open: &open,
        }))
    }

    /// The same scope over another range (a comparison window).
    fn during(&self, since: i64, until: i64) -> Scope {
        Scope {
            since,
            until,
            ..self.clone()
        }
    }

    /// An error of placing the range in its time zone, as the 400 it is.
    fn placing_error(&self, error: jiff::Error) -> AppError {
        AppError::parameter(
            "since",
            format!("cannot be placed in {}: {error}", self.tz_name),
        )
    }
}

/// The validated scope of a query, with the names of every access point and network.
async fn scope(
    state: &AppState,
    query: SummaryQuery,
) -> Result<(Scope, db::places::Directory), AppError> {
    let zone = query
        .zone
        .as_deref()
        .map(|zone| super::places::label_parameter("zone", zone))
        .transpose()?;
    let given_tz = query.tz.clone();
    let all_hours = query.hours == Some(Hours::All);
    let mut scope = validate(query, state.clock.now())?;
    let (network_id, node) = (scope.network_id, scope.nodes.clone());
    let (directory, zone_nodes, networks, histories) = state
        .db
        .run(move |conn| {
            let directory = db::places::directory(conn)?;
            let zone_nodes = zone
                .map(|zone| db::places::zone_nodes(conn, &zone))
                .transpose()?;
            let scope_nodes: Option<Vec<String>> = match (&zone_nodes, node) {
                (Some(names), _) => Some(names.clone()),
                (None, Some(node)) => {
                    Some(node.iter().map(|n| Mac::from_u64(*n).to_string()).collect())
                }
                (None, None) => None,
            };
            let networks = db::places::scope_networks(conn, network_id, scope_nodes.as_deref())?;
            let histories = db::nodes::histories(conn)?;
            Ok((directory, zone_nodes, networks, histories))
        })
        .await?;
    let default_tz = given_tz
        .is_none()
        .then(|| db::places::default_time_zone(&directory, &networks));
    if !all_hours {
        scope.schedules = schedules(&directory);
    }
    scope.networks = networks;
    if let Some(zone_nodes) = zone_nodes {
        let mut ids: Vec<MacId> = zone_nodes
            .iter()
            .filter_map(|mac| Mac::parse(mac))
            .map(|mac| mac.to_u64())
            .collect();
        ids.sort_unstable();
        if let Some(node) = &scope.nodes {
            ids.retain(|id| node.contains(id));
        }
        scope.nodes = Some(ids);
    }
    scope.reporters = completeness::reporters(histories, scope.network_id, scope.nodes());
    if let Some(tz_name) = default_tz {
        match jiff::tz::TimeZone::get(&tz_name) {
            Ok(tz) => {
                scope.tz = tz;
                scope.tz_name = tz_name;
            }
            // Stored by a server whose time zone database knew it: count in UTC (the
            // answer's `tz` says so) rather than fail.
            Err(error) => tracing::warn!(%error, time_zone = %tz_name,
                "a network's time zone is unknown to this server; counting in UTC"),
        }
    }
    Ok((scope, directory))
}

/// The opening hours of every network that has them, each in its time zone.
fn schedules(directory: &db::places::Directory) -> Vec<(i64, Schedule, jiff::tz::TimeZone)> {
    directory
        .networks_with_hours()
        .filter_map(|(id, hours)| {
            // Stored after validation: one this version refuses counts as none.
            let schedule = Schedule::parse(hours).ok()?;
            let tz =
                jiff::tz::TimeZone::get(directory.time_zone(id)).unwrap_or(jiff::tz::TimeZone::UTC);
            Some((id, schedule, tz))
        })
        .collect()
}

/// `value`, when given, is at most `most`.
fn at_most(name: &str, value: Option<i64>, most: i64) -> Result<(), AppError> {
    match value {
        Some(value) if value > most => Err(AppError::parameter(
            name,
            format!("must be at most {most}, got {value}"),
        )),
        _ => Ok(()),
    }
}

/// The checks that need no database; `now` is the range's end when none is given.
fn validate(query: SummaryQuery, now: i64) -> Result<Scope, AppError> {
    non_negative("since", query.since)?;
    non_negative("until", query.until)?;
    at_most("since", query.since, MAX_TIME)?;
    at_most("until", query.until, MAX_TIME)?;
    at_most("visit_gap_s", query.visit_gap_s, MAX_VISIT_GAP_S)?;
    at_most("visitor_dwell_s", query.visitor_dwell_s, MAX_RANGE_S)?;
    let until = query.until.unwrap_or(now);
    let since = query.since.unwrap_or(until.saturating_sub(86_400)).max(0);
    if until < since {
        return Err(AppError::parameter(
            "until",
            format!("must not be before since ({until} < {since})"),
        ));
    }
    if until - since > MAX_RANGE_S {
        return Err(AppError::parameter(
            "until",
            "the range may span at most 31 days",
        ));
    }
    let defaults = Thresholds::default();
    let thresholds = Thresholds {
        visit_gap_s: query.visit_gap_s.unwrap_or(defaults.visit_gap_s),
        visitor_dwell_s: query.visitor_dwell_s.unwrap_or(defaults.visitor_dwell_s),
        nearby_signal_dbm: query
            .nearby_signal_dbm
            .unwrap_or(defaults.nearby_signal_dbm),
    };
    non_negative("visit_gap_s", Some(thresholds.visit_gap_s))?;
    non_negative("visitor_dwell_s", Some(thresholds.visitor_dwell_s))?;
    if !(-128..=0).contains(&thresholds.nearby_signal_dbm) {
        return Err(AppError::parameter(
            "nearby_signal_dbm",
            "must be from -128 to 0",
        ));
    }
    let node = query
        .node_mac
        .as_deref()
        .map(|text| mac_parameter("node_mac", text).map(|mac| mac.to_u64()))
        .transpose()?;
    let tz_name = query.tz.unwrap_or_else(|| "UTC".to_string());
    let tz = jiff::tz::TimeZone::get(&tz_name).map_err(|_| {
        AppError::parameter(
            "tz",
            format!("{tz_name:?} is not an IANA time zone, like Europe/Berlin"),
        )
    })?;
    Ok(Scope {
        since,
        until,
        network_id: query.network_id,
        nodes: node.map(|node| vec![node]),
        thresholds,
        tz_name,
        tz,
        schedules: Vec::new(),
        networks: Vec::new(),
        reporters: Vec::new(),
    })
}

/// A slot to compute analytics in (at most `--analytics-concurrency` at once), or a
/// 503 when every slot is taken. The slot travels with the work onto the blocking
/// threads, so the bound holds even for requests whose client went away.
fn analytics_slot(state: &AppState) -> Result<OwnedSemaphorePermit, AppError> {
    Arc::clone(&state.analytics)
        .try_acquire_owned()
        .map_err(|_| {
            state.metrics.analytics_refused();
            AppError::TryLater {
                detail: "the server is computing as many analytics requests as it runs at once \
                         (--analytics-concurrency); retry shortly"
                    .to_string(),
                retry_after: 2,
            }
        })
}

/// Why the visits were not assembled: too much to compute over.
enum TooMuch {
    /// More than MAX_OBSERVATIONS of these: narrow the request.
    Rows(&'static str),
    /// The range's rows are still being merged into the presence segments.
    Merging { backlog: i64 },
}

/// Assembles the visits around the scope's range (of one device if `mac` is given):
/// from the presence segments of the range's days and a day either side (with the rows
/// not merged into them yet), or for a visit gap under [`SEGMENT_GAP_S`] from the probe
/// requests themselves. The work is done off the async workers, in an analytics slot
/// ([`analytics_slot`]) that comes back with the visits, for the caller's computation.
async fn load_visits(
    state: &AppState,
    scope: &Scope,
    mac: Option<Mac>,
) -> Result<(Vec<Visit>, OwnedSemaphorePermit), AppError> {
    let slot = analytics_slot(state)?;
    let (first_day, last_day) = analytics::window_days(scope.since, scope.until);
    let network_id = scope.network_id;
    let thresholds = scope.thresholds;
    let (segments, slot) = state
        .db
        .run(move |conn| {
            if thresholds.visit_gap_s >= SEGMENT_GAP_S {
                let read = db::presence::presence(
                    conn,
                    first_day,
                    last_day,
                    network_id,
                    mac.map(|mac| mac.to_u64()),
                    MAX_OBSERVATIONS,
                )?;
                let segments = match read {
                    PresenceRead::Segments(segments) => Ok(segments),
                    PresenceRead::TooManySegments => Err(TooMuch::Rows("presence segments")),
                    PresenceRead::Merging { backlog } => Err(TooMuch::Merging { backlog }),
                };
                return Ok((segments, slot));
            }
            let observations = db::presence::observations(
                conn,
                first_day * 86_400,
                (last_day + 1) * 86_400 - 1,
                network_id,
                mac.map(|mac| mac.canonical())
                    .as_ref()
                    .map(|mac| mac.as_str()),
                MAX_OBSERVATIONS + 1,
            )?;
            if observations.len() as i64 > MAX_OBSERVATIONS {
                return Ok((Err(TooMuch::Rows("probe requests")), slot));
            }
            let mut segments = analytics::segments(&observations, thresholds.visit_gap_s);
            segments.retain(|segment| (first_day..=last_day).contains(&segment.day));
            Ok((Ok(segments), slot))
        })
        .await?;
    let segments = segments.map_err(|too_much| match too_much {
        TooMuch::Rows(what) => AppError::parameter(
            "since",
            format!(
                "the range (with a day around it, to assemble visits) holds more than \
                 {MAX_OBSERVATIONS} {what}; shorten it or narrow it to one network_id"
            ),
        ),
        TooMuch::Merging { backlog } => {
            let rate = state
                .metrics
                .presence_merge_rows_per_s
                .load(std::sync::atomic::Ordering::Relaxed);
            // Seconds until every waiting row is merged, at the rate of the last chunk.
            let seconds = u64::try_from(backlog)
                .unwrap_or(0)
                .checked_div(rate)
                .map(|seconds| seconds + 1);
            let eta = match seconds {
                Some(seconds) => {
                    format!("at the rate the server merges them, in about {seconds} s at most")
                }
                None => "once the writer has merged them (it does so whenever no report waits)"
                    .to_string(),
            };
            let retry_after = seconds.unwrap_or(60);
            AppError::TryLater {
                detail: format!(
                    "the range holds more than {MAX_OBSERVATIONS} probe requests not yet merged \
                     into the presence segments ({backlog} rows wait in all); the figures will \
                     be available {eta}, or narrow the range or the network_id now"
                ),
                retry_after: u32::try_from(retry_after.clamp(1, 3_600)).unwrap_or(3_600),
            }
        }
    })?;
    actix_web::web::block(move || (analytics::visits(segments, &thresholds), slot))
        .await
        .map_err(AppError::internal)
}
