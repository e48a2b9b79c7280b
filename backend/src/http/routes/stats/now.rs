//! Occupancy now: the devices heard in the last minutes, in all and per zone.

use actix_web::web::{Data, Json};
use actix_web::HttpRequest;
use api_types::{NowStats, ZoneNow};

use super::super::{mac_parameter, parse_query, AppState};
use super::analytics_slot;
use super::completeness::{self, Reports};
use crate::analytics::MacId;
use crate::cloudtrax::Mac;
use crate::db;
use crate::http::error::AppError;

/// The default and the largest window of occupancy now, seconds.
const DEFAULT_NOW_WINDOW_S: i64 = 300;
const MAX_NOW_WINDOW_S: i64 = 3_600;
/// The most probe requests one occupancy-now answer reads (its memory bound).
const MAX_NOW_ROWS: i64 = 500_000;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NowQuery {
    /// Only this network (negative: a Meraki network).
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
/// `completeness` says how many of the reports the access points should have sent in
/// the window arrived (a silent one's devices are missing from the count).
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
        .map(|zone| super::super::places::label_parameter("zone", zone))
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
    let (rows, directory, reporters, ids) = state
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
            // The window's access points, for its completeness.
            let mut ids: Option<Vec<MacId>> = nodes.map(|nodes| {
                nodes
                    .iter()
                    .filter_map(|mac| Mac::parse(mac))
                    .map(|mac| mac.to_u64())
                    .collect()
            });
            if let Some(ids) = &mut ids {
                ids.sort_unstable();
            }
            let reporters =
                completeness::reporters(db::nodes::histories(conn)?, network_id, ids.as_deref());
            Ok((rows, directory, reporters, ids))
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
    let node_macs = ids
        .as_ref()
        .map(|_| reporters.iter().map(|r| r.mac()).collect::<Vec<String>>());
    let completeness = Reports::load(&state, &reporters, network_id, node_macs, since, until, 300)
        .await?
        .map(|reports| reports.all(since, until + 1));
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
        completeness,
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
