//! One device's visits over a range.

use actix_web::web::{Data, Json, Path};
use actix_web::HttpRequest;
use api_types::{DeviceVisit, DeviceVisits};

use super::super::{mac_parameter, parse_query, AppState};
use super::{load_visits, scope, SummaryQuery};
use crate::analytics;
use crate::cloudtrax::Mac;
use crate::http::error::AppError;

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
        ("network_id" = i64, Path, description = "The device's network (negative: a Meraki network)"),
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
        .ok_or_else(|| AppError::parameter("network_id", "must be an integer"))?;
    let given = mac_parameter("mac", &mac)?;
    let mut query: SummaryQuery = parse_query(request.query_string())?;
    query.network_id = Some(network_id);
    let (scope, directory) = scope(&state, query).await?;
    // In `keyed` mode the rows hold the pseudonym; the answer names the device as given.
    let (mac, stored_randomized) = super::super::stored_mac(&state, given).await?;
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
