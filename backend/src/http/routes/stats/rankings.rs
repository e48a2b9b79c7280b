//! Rankings over a range: the figures of each zone (all its access points together)
//! and of each network, so that the busiest places and the stores of a chain compare at
//! a glance.

use actix_web::web::{Data, Json};
use actix_web::HttpRequest;
use api_types::{Compared, NetworkFigures, NetworkRanking, StatsSummary, ZoneFigures, ZoneRanking};

use super::super::{parse_query, AppState};
use super::completeness::Reports;
use super::range::CompareQuery;
use super::{load_visits, scope, Scope, SummaryQuery};
use crate::analytics::{self, Counting, MacId, Visit};
use crate::cloudtrax::Mac;
use crate::db;
use crate::http::error::AppError;

/// The most zones one ranking computes: the work is a pass over the range's visits a
/// zone.
pub const MAX_ZONES: usize = 500;

/// What one entry of a ranking counts.
#[derive(Clone)]
enum Group {
    /// The visits heard by one of these access points (sorted).
    Nodes(Vec<MacId>),
    /// The visits of this network (within the scope's access points, if any).
    Network(i64),
}

/// Zones ranked
///
/// Each zone's figures over the range, all its access points together (a device heard
/// by two of them counts once; a visit heard in two zones counts in both), most
/// visitors first. The same parameters and definitions as the summary; `network_id`
/// keeps the zones with an access point that reported in that network, `zone` and
/// `node_mac` narrow the access points counted. With `compare`, each zone's figures
/// carry its comparison window's and the change.
#[utoipa::path(
    get,
    path = "/api/v1/stats/zones",
    tag = "analytics",
    operation_id = "stats_zones",
    params(SummaryQuery, CompareQuery),
    responses(
        (status = 200, description = "One entry per zone, most visitors first", body = ZoneRanking),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn zones(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<ZoneRanking>, AppError> {
    let compare: CompareQuery = parse_query(request.query_string())?;
    let (scope, directory) = scope(&state, parse_query(request.query_string())?).await?;
    let in_network: Option<Vec<String>> = match scope.network_id {
        None => None,
        Some(network_id) => Some(
            state
                .db
                .run(move |conn| db::places::nodes_of_network(conn, network_id))
                .await?,
        ),
    };
    let zones: Vec<(String, Vec<String>, Vec<MacId>)> = directory
        .zones()
        .into_iter()
        .filter_map(|(zone, macs)| {
            let macs: Vec<String> = macs
                .into_iter()
                .filter(|mac| in_network.as_ref().is_none_or(|nodes| nodes.contains(mac)))
                .collect();
            let mut ids: Vec<MacId> = macs
                .iter()
                .filter_map(|mac| Mac::parse(mac))
                .map(|mac| mac.to_u64())
                .filter(|id| {
                    scope
                        .nodes()
                        .is_none_or(|nodes| nodes.binary_search(id).is_ok())
                })
                .collect();
            ids.sort_unstable();
            (!ids.is_empty()).then_some((zone, macs, ids))
        })
        .collect();
    if zones.len() > MAX_ZONES {
        return Err(AppError::parameter(
            "network_id",
            format!(
                "{} zones are in scope, more than the {MAX_ZONES} a ranking computes: narrow it to a network",
                zones.len()
            ),
        ));
    }
    let groups = zones
        .iter()
        .map(|(_, _, ids)| Group::Nodes(ids.clone()))
        .collect();
    let figures = ranked(&state, &scope, compare, groups).await?;
    let mut items: Vec<ZoneFigures> = zones
        .into_iter()
        .zip(figures)
        .map(|((zone, access_points, _), figures)| ZoneFigures {
            zone,
            access_points,
            figures,
        })
        .collect();
    items.sort_by(|a, b| busiest_first(&a.figures, &b.figures).then_with(|| a.zone.cmp(&b.zone)));
    Ok(Json(ZoneRanking {
        since: scope.since,
        until: scope.until,
        hours: scope.hours().to_string(),
        tz: scope.tz_name,
        items,
    }))
}

/// Networks ranked
///
/// Each network's figures over the range, most visitors first: every network that has
/// reported or been named (one with no visit in the range shows zeros). The same
/// parameters and definitions as the summary (`network_id` keeps that one; `zone` and
/// `node_mac` narrow the access points counted). With `compare`, each network's
/// figures carry its comparison window's and the change.
#[utoipa::path(
    get,
    path = "/api/v1/stats/networks",
    tag = "analytics",
    operation_id = "stats_networks",
    params(SummaryQuery, CompareQuery),
    responses(
        (status = 200, description = "One entry per network, most visitors first", body = NetworkRanking),
        (status = 400, description = "A parameter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Every analytics slot is taken (`--analytics-concurrency`), the range's rows are still being merged into the presence segments (`detail` says when the figures will be available), or the database is unavailable; retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn networks(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<NetworkRanking>, AppError> {
    let compare: CompareQuery = parse_query(request.query_string())?;
    let (scope, directory) = scope(&state, parse_query(request.query_string())?).await?;
    let mut ids = state.db.run(db::places::reporting_networks).await?;
    ids.extend(directory.network_ids());
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| scope.network_id.is_none_or(|only| only == *id));
    let groups = ids.iter().map(|id| Group::Network(*id)).collect();
    let figures = ranked(&state, &scope, compare, groups).await?;
    let mut items: Vec<NetworkFigures> = ids
        .into_iter()
        .zip(figures)
        .map(|(network_id, figures)| NetworkFigures {
            network_id,
            name: directory.network_name(network_id),
            figures,
        })
        .collect();
    items.sort_by(|a, b| {
        busiest_first(&a.figures, &b.figures).then(a.network_id.cmp(&b.network_id))
    });
    Ok(Json(NetworkRanking {
        since: scope.since,
        until: scope.until,
        hours: scope.hours().to_string(),
        tz: scope.tz_name,
        items,
    }))
}

/// A ranking's order: most visitors first, then most devices.
fn busiest_first(a: &StatsSummary, b: &StatsSummary) -> std::cmp::Ordering {
    b.visitors.cmp(&a.visitors).then(b.devices.cmp(&a.devices))
}

/// The summary of each group over the scope's range, and with `compare` over its
/// comparison window too (one analytics slot at a time).
async fn ranked(
    state: &AppState,
    scope: &Scope,
    compare: CompareQuery,
    groups: Vec<Group>,
) -> Result<Vec<StatsSummary>, AppError> {
    let mut figures = figures_of(state, scope.clone(), groups.clone(), true).await?;
    if let Some(compare) = compare.compare {
        let (since, until) = compare
            .window(scope.since, scope.until, &scope.tz)
            .map_err(|error| scope.placing_error(error))?;
        let then = figures_of(state, scope.during(since, until), groups, false).await?;
        for (now, then) in figures.iter_mut().zip(&then) {
            now.compared = Some(Compared::of(compare.as_str(), now, then));
        }
    }
    Ok(figures)
}

/// The summary of each group over `scope`: the visits are loaded once (a network's
/// are a slice of them).
async fn figures_of(
    state: &AppState,
    scope: Scope,
    groups: Vec<Group>,
    complete: bool,
) -> Result<Vec<StatsSummary>, AppError> {
    let (visits, slot) = load_visits(state, &scope, None).await?;
    let reports = match complete {
        true => Reports::of_scope(state, &scope, scope.since, scope.until, 300).await?,
        false => None,
    };
    actix_web::web::block(move || {
        let _slot = slot;
        let (since, until) = (scope.since, scope.until);
        let complete = |group: &Group| {
            reports.as_ref().map(|reports| match group {
                Group::Nodes(nodes) => reports.of(since, until + 1, |_, node| {
                    nodes.binary_search(&node).is_ok()
                }),
                Group::Network(id) => reports.of(since, until + 1, |network, _| network == *id),
            })
        };
        scope.counting(since, until, |counting| {
            let summary = |visits: &[Visit], nodes: Option<&[MacId]>| {
                analytics::summary(visits, since, until, &Counting { nodes, ..*counting })
            };
            groups
                .iter()
                .map(|group| {
                    let mut figures = match group {
                        Group::Nodes(nodes) => summary(&visits, Some(nodes)),
                        Group::Network(id) => {
                            let mut figures =
                                summary(analytics::of_network(&visits, *id), counting.nodes);
                            figures.closed = counting.open.closed_in(*id, since, until);
                            figures
                        }
                    };
                    figures.completeness = complete(group);
                    figures
                })
                .collect()
        })
    })
    .await
    .map_err(AppError::internal)?
}
