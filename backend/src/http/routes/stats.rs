//! Presence figures computed from the stored probe requests.

use std::sync::Arc;

use actix_web::web::Path;
use actix_web::web::{Data, Json};
use actix_web::HttpRequest;
use api_types::{
    DeviceVisit, DeviceVisits, DwellBucket, DwellHistogram, NodeStats, NodeStatsList, NowStats,
    StatsSeries, StatsSummary, ZoneNow,
};
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::{mac_parameter, non_negative, parse_query};
use crate::analytics::{self, Bucket, Days, MacId, Thresholds, Visit, SEGMENT_GAP_S};
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
    /// Only this network.
    #[param(minimum = 0)]
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
}

/// A validated range, scope and thresholds.
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
}

impl Scope {
    /// The local days of the range.
    fn days(&self) -> Result<Days, AppError> {
        Days::new(self.since, self.until, &self.tz).map_err(|error| {
            AppError::parameter(
                "since",
                format!("cannot be placed in {}: {error}", self.tz_name),
            )
        })
    }
}

impl Scope {
    fn nodes(&self) -> Option<&[MacId]> {
        self.nodes.as_deref()
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
    let mut scope = validate(query, state.clock.now())?;
    let (network_id, node) = (scope.network_id, scope.nodes.clone());
    let (directory, zone_nodes, default_tz) = state
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
            let default_tz = match given_tz {
                Some(_) => None,
                None => Some(db::places::default_time_zone(
                    conn,
                    &directory,
                    network_id,
                    scope_nodes.as_deref(),
                )?),
            };
            Ok((directory, zone_nodes, default_tz))
        })
        .await?;
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
    non_negative("network_id", query.network_id)?;
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

/// Presence summary
///
/// For a range: devices (all, non-randomized, associated), visits, visitors and
/// passers-by, capture rate, dwell percentiles and returning devices. A *device* is a
/// client MAC within a network; a *visit* is a device's run of observations across the
/// network's access points with no gap longer than `visit_gap_s`; a visit is a
/// *visitor* when it lasts at least `visitor_dwell_s` and its strongest signal reaches
/// `nearby_signal_dbm`, else a *passer-by*; a visit belongs to the range when it
/// overlaps it. Randomized MACs change over time and inflate `devices`:
/// `devices_non_randomized` is the figure to follow across days. Computed from the
/// stored rows on each request, so other thresholds give other figures at once.
#[utoipa::path(
    get,
    path = "/api/v1/stats/summary",
    tag = "analytics",
    operation_id = "stats_summary",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The figures, with the range and thresholds used", body = StatsSummary),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn summary(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<StatsSummary>, AppError> {
    let (scope, _) = scope(&state, parse_query(request.query_string())?).await?;
    let days = scope.days()?;
    let (visits, slot) = load_visits(&state, &scope, None).await?;
    let tz = scope.tz_name.clone();
    let mut summary = actix_web::web::block(move || {
        let _slot = slot;
        analytics::summary(
            &visits,
            scope.since,
            scope.until,
            scope.nodes(),
            &scope.thresholds,
            &days,
        )
    })
    .await
    .map_err(AppError::internal)?;
    summary.tz = Some(tz);
    Ok(Json(summary))
}

/// Dwell-time histogram
///
/// The visits overlapping the range by dwell time: under 1 min, 1-5 min, 5-15 min,
/// 15-30 min, 30-60 min, 1-2 h, 2-4 h, 4 h and more; with the visitors of each bucket.
/// Same parameters and definitions as the summary.
#[utoipa::path(
    get,
    path = "/api/v1/stats/dwell-histogram",
    tag = "analytics",
    operation_id = "stats_dwell_histogram",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The buckets, shortest dwell first", body = DwellHistogram),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn dwell_histogram(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<DwellHistogram>, AppError> {
    let (scope, _) = scope(&state, parse_query(request.query_string())?).await?;
    let (visits, _slot) = load_visits(&state, &scope, None).await?;
    let in_range = analytics::in_range(&visits, scope.since, scope.until, scope.nodes());
    let buckets = analytics::dwell_histogram(&in_range, &scope.thresholds)
        .into_iter()
        .map(|(from_s, to_s, visits, visitors)| DwellBucket {
            from_s,
            to_s,
            visits,
            visitors,
        })
        .collect();
    Ok(Json(DwellHistogram {
        since: scope.since,
        until: scope.until,
        buckets,
    }))
}

/// Per access point figures
///
/// For each access point that heard a visit overlapping the range: its devices, its
/// visits (a visit heard by several access points counts for each), and the devices
/// for which it is the strongest access point. Most devices first.
#[utoipa::path(
    get,
    path = "/api/v1/stats/nodes",
    tag = "analytics",
    operation_id = "stats_nodes",
    params(SummaryQuery),
    responses(
        (status = 200, description = "One entry per access point", body = NodeStatsList),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn nodes(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<NodeStatsList>, AppError> {
    let (scope, directory) = scope(&state, parse_query(request.query_string())?).await?;
    let (visits, _slot) = load_visits(&state, &scope, None).await?;
    let in_range = analytics::in_range(&visits, scope.since, scope.until, scope.nodes());
    let mut items: Vec<NodeStats> = analytics::per_node(&in_range)
        .into_iter()
        // A visit heard in the zone was heard elsewhere too: list the zone's own.
        .filter(|(node, _)| {
            scope
                .nodes()
                .is_none_or(|nodes| nodes.binary_search(node).is_ok())
        })
        .map(|(node_mac, (devices, visits, strongest_for_devices))| {
            let node_mac = Mac::from_u64(node_mac).to_string();
            NodeStats {
                name: directory.node_name(&node_mac),
                zone: directory.zone(&node_mac),
                node_mac,
                devices,
                visits,
                strongest_for_devices,
            }
        })
        .collect();
    items.sort_by(|a, b| b.devices.cmp(&a.devices).then(a.node_mac.cmp(&b.node_mac)));
    Ok(Json(NodeStatsList {
        since: scope.since,
        until: scope.until,
        items,
    }))
}

/// A device's visits
///
/// The visits of one device (a client MAC within a network) overlapping the range,
/// oldest first: start, end, dwell, strongest access point and signal. Its raw probe
/// requests are at `/api/v1/probe-requests?network_id=..&mac=..`.
#[utoipa::path(
    get,
    path = "/api/v1/devices/{network_id}/{mac}/visits",
    tag = "analytics",
    operation_id = "device_visits",
    params(
        ("network_id" = i64, Path, minimum = 0, description = "The device's network"),
        ("mac" = String, Path, description = "The client MAC, any case, `:` or `-`", example = "48:5a:3f:37:de:f7"),
        SummaryQuery,
    ),
    responses(
        (status = 200, description = "The device's visits", body = DeviceVisits),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn device_visits(
    path: Path<(String, String)>,
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<DeviceVisits>, AppError> {
    let (network_id, mac) = path.into_inner();
    let network_id: i64 = network_id
        .parse()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| AppError::parameter("network_id", "must be a non-negative integer"))?;
    let given = mac_parameter("mac", &mac)?;
    let mut query: SummaryQuery = parse_query(request.query_string())?;
    query.network_id = Some(network_id);
    let (scope, directory) = scope(&state, query).await?;
    // In `keyed` mode the rows hold the pseudonym; the answer names the device as given.
    let (mac, stored_randomized) = super::stored_mac(&state, given).await?;
    let (visits, _slot) = load_visits(&state, &scope, Some(mac)).await?;
    let thresholds = scope.thresholds;
    let visits = analytics::in_range(&visits, scope.since, scope.until, scope.nodes())
        .into_iter()
        .map(|visit| DeviceVisit {
            start: visit.start,
            end: visit.end,
            dwell_s: visit.dwell(),
            strongest_node_name: directory
                .node_name(&Mac::from_u64(visit.heard.strongest_node).to_string()),
            strongest_node_mac: Mac::from_u64(visit.heard.strongest_node).to_string(),
            max_signal: visit.heard.max_signal,
            associated: visit.heard.associated,
            visitor: visit.is_visitor(&thresholds),
        })
        .collect();
    Ok(Json(DeviceVisits {
        network_id,
        network_name: directory.network_name(network_id),
        mac: mac.to_string(),
        randomized: stored_randomized.unwrap_or_else(|| given.is_randomized()),
        since: scope.since,
        until: scope.until,
        visits,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `hour` or `day` of the time zone `tz`.
    #[param(inline)]
    bucket: Bucket,
}

/// Presence over time
///
/// The summary's figures per local hour or local day of a time zone, over the range
/// (same parameters and definitions as the summary). Bucket boundaries are the zone's:
/// a day with a DST change lasts 23 or 25 hours. A visit counts in every bucket it
/// overlaps.
#[utoipa::path(
    get,
    path = "/api/v1/stats/series",
    tag = "analytics",
    operation_id = "stats_series",
    params(SeriesQuery, SummaryQuery),
    responses(
        (status = 200, description = "One summary per bucket, oldest first", body = StatsSeries),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn series(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<StatsSeries>, AppError> {
    let series: SeriesQuery = parse_query(request.query_string())?;
    let (scope, _) = scope(&state, parse_query(request.query_string())?).await?;
    let bounds = analytics::buckets(scope.since, scope.until, series.bucket, &scope.tz).map_err(
        |error| {
            AppError::parameter(
                "since",
                format!("cannot be placed in {}: {error}", scope.tz_name),
            )
        },
    )?;
    // The buckets may start before `since` (at its local hour or day): days over them.
    let days = match (bounds.first(), bounds.last()) {
        (Some(first), Some(last)) => Days::new(first.0, last.1 - 1, &scope.tz),
        _ => Days::new(scope.since, scope.until, &scope.tz),
    }
    .map_err(AppError::internal)?;
    let (visits, slot) = load_visits(&state, &scope, None).await?;
    let (nodes, thresholds) = (scope.nodes.clone(), scope.thresholds);
    let points = actix_web::web::block(move || {
        let _slot = slot;
        analytics::series(&visits, &bounds, nodes.as_deref(), &thresholds, &days)
    })
    .await
    .map_err(AppError::internal)?;
    Ok(Json(StatsSeries {
        bucket: match series.bucket {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
        .to_string(),
        tz: scope.tz_name,
        points,
    }))
}

/// The default and the largest window of occupancy now, seconds.
const DEFAULT_NOW_WINDOW_S: i64 = 300;
const MAX_NOW_WINDOW_S: i64 = 3_600;
/// The most probe requests one occupancy-now answer reads (its memory bound).
const MAX_NOW_ROWS: i64 = 500_000;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NowQuery {
    /// Only this network.
    #[param(minimum = 0)]
    network_id: Option<i64>,
    /// Only the access points now in this zone (exact name).
    zone: Option<String>,
    /// Only this access point (any case, `:` or `-`).
    node_mac: Option<String>,
    /// The window, seconds before now.
    #[param(minimum = 1, maximum = 3600, default = 300)]
    window_s: Option<i64>,
}

/// Occupancy now
///
/// The distinct devices (client MACs within a network) heard in the last `window_s`
/// seconds, i.e. with a probe request whose `last_seen` is at or after `since`
/// (access points whose clock runs a little ahead count too): all, associated, and the
/// unassociated split by randomized MAC; and the same per zone. Read from the probe
/// requests by their `last_seen` index: it costs the window's rows, not the table's.
#[utoipa::path(
    get,
    path = "/api/v1/stats/now",
    tag = "analytics",
    operation_id = "stats_now",
    params(NowQuery),
    responses(
        (status = 200, description = "The devices heard in the window", body = NowStats),
        (status = 400, description = "A parameter is not acceptable, or the window holds more than 500,000 probe requests; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`) or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn now(request: HttpRequest, state: Data<AppState>) -> Result<Json<NowStats>, AppError> {
    let query: NowQuery = parse_query(request.query_string())?;
    non_negative("network_id", query.network_id)?;
    let window_s = query.window_s.unwrap_or(DEFAULT_NOW_WINDOW_S);
    if !(1..=MAX_NOW_WINDOW_S).contains(&window_s) {
        return Err(AppError::parameter(
            "window_s",
            format!("must be from 1 to {MAX_NOW_WINDOW_S} seconds, got {window_s}"),
        ));
    }
    let zone = query
        .zone
        .as_deref()
        .map(|zone| super::places::label_parameter("zone", zone))
        .transpose()?;
    let node = query
        .node_mac
        .as_deref()
        .map(|text| mac_parameter("node_mac", text).map(|mac| mac.to_string()))
        .transpose()?;
    let slot = analytics_slot(&state)?;
    let until = state.clock.now();
    let since = until - window_s;
    let network_id = query.network_id;
    let (rows, directory) = state
        .db
        .run(move |conn| {
            let _slot = slot;
            let directory = db::places::directory(conn)?;
            let mut nodes = zone
                .map(|zone| db::places::zone_nodes(conn, &zone))
                .transpose()?;
            if let Some(node) = node {
                nodes = Some(match nodes {
                    Some(zone) => zone.into_iter().filter(|n| *n == node).collect(),
                    None => vec![node],
                });
            }
            let rows = db::probe_requests::heard_since(
                conn,
                since,
                network_id,
                nodes.as_deref(),
                MAX_NOW_ROWS + 1,
            )?;
            Ok((rows, directory))
        })
        .await?;
    if rows.len() as i64 > MAX_NOW_ROWS {
        return Err(AppError::parameter(
            "window_s",
            format!(
                "the window holds more than {MAX_NOW_ROWS} probe requests; shorten it or \
                 narrow it to a network_id or a zone"
            ),
        ));
    }
    let counts = occupancy(&rows, &directory);
    let total = counts.get(&None).cloned().unwrap_or_default();
    let mut zones: Vec<ZoneNow> = counts
        .into_iter()
        .filter_map(|(key, figures)| key.map(|zone| figures.into_zone(zone)))
        .collect();
    zones.sort_by(|a, b| b.devices.cmp(&a.devices).then_with(|| a.zone.cmp(&b.zone)));
    Ok(Json(NowStats {
        since,
        until,
        window_s,
        devices: total.devices,
        devices_associated: total.associated,
        devices_non_randomized_unassociated: total.non_randomized_unassociated,
        devices_randomized_unassociated: total.randomized_unassociated,
        zones,
    }))
}

/// Devices of a set, split as occupancy now splits them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Occupancy {
    devices: i64,
    associated: i64,
    non_randomized_unassociated: i64,
    randomized_unassociated: i64,
}

impl Occupancy {
    fn into_zone(self, zone: Option<String>) -> ZoneNow {
        ZoneNow {
            zone,
            devices: self.devices,
            devices_associated: self.associated,
            devices_non_randomized_unassociated: self.non_randomized_unassociated,
            devices_randomized_unassociated: self.randomized_unassociated,
        }
    }
}

/// What occupancy now counts over: everything (`None`) or one zone (`Some(zone)`,
/// `Some(None)` for access points in no zone).
type Over = Option<Option<String>>;

/// Counts the distinct devices of `rows`, in all and per zone ([`Over`]). A device is
/// associated if any of its rows says so.
fn occupancy(
    rows: &[db::probe_requests::Heard],
    directory: &db::places::Directory,
) -> std::collections::HashMap<Over, Occupancy> {
    use std::collections::HashMap;
    // (over, network, mac) -> (associated, randomized)
    let mut devices: HashMap<(Over, i64, &str), (bool, bool)> = HashMap::new();
    let mut zones: HashMap<&str, Option<String>> = HashMap::new();
    for row in rows {
        let zone = zones
            .entry(row.node_mac.as_str())
            .or_insert_with(|| directory.zone(&row.node_mac))
            .clone();
        for scope in [None, Some(zone)] {
            let entry = devices
                .entry((scope, row.network_id, row.mac.as_str()))
                .or_insert((false, row.randomized));
            entry.0 |= row.associated;
        }
    }
    let mut counts: HashMap<Over, Occupancy> = HashMap::new();
    counts.entry(None).or_default();
    for ((scope, _, _), (associated, randomized)) in devices {
        let figures = counts.entry(scope).or_default();
        figures.devices += 1;
        figures.associated += i64::from(associated);
        figures.non_randomized_unassociated += i64::from(!associated && !randomized);
        figures.randomized_unassociated += i64::from(!associated && randomized);
    }
    counts
}
