//! Presence figures computed from the stored probe requests.

use actix_web::web::{Data, Json};
use actix_web::HttpRequest;
use api_types::StatsSummary;

use super::probe_requests::parse_query_string;
use super::AppState;
use crate::analytics::{self, Thresholds, HORIZON_S};
use crate::cloudtrax::Mac;
use crate::db;
use crate::error::AppError;

/// The longest range one request may ask for.
const MAX_RANGE_S: i64 = 31 * 86_400;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Start of the range, Unix seconds (default: 24 hours before `until`).
    #[param(minimum = 0)]
    since: Option<i64>,
    /// End of the range, Unix seconds, inclusive (default: now). At most 31 days after `since`.
    #[param(minimum = 0)]
    until: Option<i64>,
    /// Only this network.
    #[param(minimum = 0)]
    network_id: Option<i64>,
    /// Only visits heard by this access point (any case, `:` or `-`).
    node_mac: Option<String>,
    /// Longest gap inside a visit, seconds.
    #[param(minimum = 0, default = 600)]
    visit_gap_s: Option<i64>,
    /// Shortest dwell of a visitor, seconds.
    #[param(minimum = 0, default = 300)]
    visitor_dwell_s: Option<i64>,
    /// Weakest strongest-signal of a visitor, dBm.
    #[param(minimum = -128, maximum = 0, default = -75)]
    nearby_signal_dbm: Option<i32>,
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
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn summary(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<StatsSummary>, AppError> {
    let query: SummaryQuery = parse_query_string(request.query_string())?;
    let until = query.until.unwrap_or_else(crate::unix_now);
    let since = query.since.unwrap_or(until - 86_400).max(0);
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
    for (name, value) in [
        ("since", query.since),
        ("until", query.until),
        ("network_id", query.network_id),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(AppError::parameter(name, "must not be negative"));
        }
    }
    let defaults = Thresholds::default();
    let thresholds = Thresholds {
        visit_gap_s: query.visit_gap_s.unwrap_or(defaults.visit_gap_s),
        visitor_dwell_s: query.visitor_dwell_s.unwrap_or(defaults.visitor_dwell_s),
        nearby_signal_dbm: query
            .nearby_signal_dbm
            .unwrap_or(defaults.nearby_signal_dbm),
    };
    if thresholds.visit_gap_s < 0 {
        return Err(AppError::parameter("visit_gap_s", "must not be negative"));
    }
    if thresholds.visitor_dwell_s < 0 {
        return Err(AppError::parameter(
            "visitor_dwell_s",
            "must not be negative",
        ));
    }
    if !(-128..=0).contains(&thresholds.nearby_signal_dbm) {
        return Err(AppError::parameter(
            "nearby_signal_dbm",
            "must be from -128 to 0",
        ));
    }
    let node = query
        .node_mac
        .as_deref()
        .map(|text| {
            Mac::parse(text).map(|mac| mac.to_string()).ok_or_else(|| {
                AppError::parameter(
                    "node_mac",
                    "must be a MAC address of 6 octets, like ac:86:74:61:4f:c0",
                )
            })
        })
        .transpose()?;
    let network_id = query.network_id;
    let observations = state
        .db
        .run(move |conn| {
            db::analytics::observations(
                conn,
                since - HORIZON_S,
                until.saturating_add(HORIZON_S),
                network_id,
            )
        })
        .await?;
    let summary = actix_web::web::block(move || {
        let visits = analytics::visits(observations, &thresholds);
        analytics::summary(&visits, since, until, node.as_deref(), &thresholds)
    })
    .await
    .map_err(AppError::internal)?;
    Ok(Json(summary))
}
