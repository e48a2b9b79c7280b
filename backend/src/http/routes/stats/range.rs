//! The figures of a range: summary, series, dwell histogram, access points.

use actix_web::web::{Data, Json};
use actix_web::HttpRequest;
use api_types::{
    Compared, DwellBucket, DwellHistogram, NodeStats, NodeStatsList, StatsSeries, StatsSummary,
};

use super::super::{parse_query, AppState};
use super::completeness::Reports;
use super::{load_visits, scope, Scope, SummaryQuery};
use crate::analytics::{self, Bucket, Compare, Estimator};
use crate::cloudtrax::Mac;
use crate::http::error::AppError;

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
    params(SummaryQuery, CompareQuery, EstimatorQuery),
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
    let compare: CompareQuery = parse_query(request.query_string())?;
    let estimator = EstimatorQuery::parse(&request)?;
    let (scope, _) = scope(&state, parse_query(request.query_string())?).await?;
    let mut summary = summary_of(&state, scope.clone(), estimator, true).await?;
    if let Some(compare) = compare.compare {
        let (since, until) = compare
            .window(scope.since, scope.until, &scope.tz)
            .map_err(|error| scope.placing_error(error))?;
        let then = summary_of(&state, scope.during(since, until), None, false).await?;
        summary.compared = Some(Compared::of(compare.as_str(), &summary, &then));
    }
    summary.hours = Some(scope.hours().to_string());
    summary.tz = Some(scope.tz_name);
    Ok(Json(summary))
}

/// The summary's figures of `scope` (its analytics slot held while they are computed,
/// and given back before a comparison window takes one).
async fn summary_of(
    state: &AppState,
    scope: Scope,
    estimator: Option<(Estimator, i64)>,
    complete: bool,
) -> Result<StatsSummary, AppError> {
    let (since, until) = (scope.since, scope.until);
    // The analytics slot first: it bounds the reports counted too.
    let (visits, slot) = load_visits(state, &scope, None).await?;
    let reports = match complete {
        true => Reports::of_scope(state, &scope, since, until, 300).await?,
        false => None,
    };
    let mut summary = actix_web::web::block(move || {
        let _slot = slot;
        scope.counting(since, until, |counting| {
            analytics::summary_estimated(&visits, since, until, counting, estimator)
        })
    })
    .await
    .map_err(AppError::internal)??;
    summary.completeness = reports.map(|reports| reports.all(since, until + 1));
    Ok(summary)
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
    let buckets = scope
        .counting(scope.since, scope.until, |counting| {
            let counted = analytics::counted(&visits, scope.since, scope.until, counting);
            analytics::dwell_histogram(&counted, &scope.thresholds)
        })?
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
    let per_node = scope.counting(scope.since, scope.until, |counting| {
        analytics::per_node(&analytics::counted(
            &visits,
            scope.since,
            scope.until,
            counting,
        ))
    })?;
    let mut items: Vec<NodeStats> = per_node
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

/// The figures of each bucket (`[start, end)`, within `scope`'s range) of `scope`.
async fn points_of(
    state: &AppState,
    scope: Scope,
    bounds: Vec<(i64, i64)>,
    estimator: Option<(Estimator, i64)>,
    complete: bool,
) -> Result<Vec<StatsSummary>, AppError> {
    // Over the buckets (their local days, for "returning"; their opening hours).
    let (since, until) = match (bounds.first(), bounds.last()) {
        (Some(first), Some(last)) => (first.0, last.1 - 1),
        _ => (scope.since, scope.until),
    };
    // Slots no longer than the shortest bucket.
    let finest = if bounds.iter().any(|(start, end)| end - start < 900) {
        300
    } else {
        900
    };
    let (visits, slot) = load_visits(state, &scope, None).await?;
    let reports = match complete {
        true => Reports::of_scope(state, &scope, since, until, finest).await?,
        false => None,
    };
    let buckets = bounds.clone();
    let mut points = actix_web::web::block(move || {
        let _slot = slot;
        scope.counting(since, until, |counting| {
            analytics::series_estimated(&visits, &buckets, counting, estimator)
        })
    })
    .await
    .map_err(AppError::internal)??;
    if let Some(reports) = reports {
        for (point, (start, end)) in points.iter_mut().zip(&bounds) {
            point.completeness = Some(reports.all(*start, *end));
        }
    }
    Ok(points)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// Compare with `previous` (the period of the same length just before the range)
    /// or `last_week` (the same local times seven days before, in `tz`): the figures
    /// (the summary; each bucket of a series, with its own bucket of the comparison
    /// window) gain `compared`, those of the comparison window and the change. Costs a
    /// second computation, over the comparison window.
    #[param(inline)]
    pub(super) compare: Option<Compare>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EstimatorQuery {
    /// `devices`, `non_randomized`, `associated` or `adjusted` (see docs/ESTIMATORS.md):
    /// the figures (the summary; each bucket of a series, whose `adjusted` scales by the
    /// randomized share of the whole range) gain `estimate`, naming the estimator and
    /// the parameters it used.
    #[param(inline)]
    estimator: Option<Estimator>,
    /// `adjusted`: a device with a visit this long or longer (seconds) is a long
    /// dweller (staff, a stationary device) and is left out.
    #[param(minimum = 60, maximum = 86400, default = 14400)]
    long_dwell_s: Option<i64>,
}

impl EstimatorQuery {
    /// The estimator asked for and its long dwell, validated.
    fn parse(request: &HttpRequest) -> Result<Option<(Estimator, i64)>, AppError> {
        let query: EstimatorQuery = parse_query(request.query_string())?;
        let long_dwell_s = query
            .long_dwell_s
            .unwrap_or(analytics::DEFAULT_LONG_DWELL_S);
        if !(60..=86_400).contains(&long_dwell_s) {
            return Err(AppError::parameter(
                "long_dwell_s",
                format!("must be from 60 to 86400 seconds, got {long_dwell_s}"),
            ));
        }
        Ok(query.estimator.map(|estimator| (estimator, long_dwell_s)))
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `5m`, `15m`, `hour` or `day` of the time zone `tz` (minutes and hours of its
    /// local clock). At most 2,100 buckets (a week of `5m`, three weeks of `15m`): a
    /// longer range is refused (400) rather than computed.
    #[param(inline)]
    bucket: Bucket,
}

/// Presence over time
///
/// The summary's figures per local hour or local day of a time zone, over the range
/// (same parameters and definitions as the summary). Bucket boundaries are the zone's:
/// a day with a DST change lasts 23 or 25 hours. The first and last buckets are cut to
/// the range (a range from 12:30 starts with a half-hour bucket; nothing after `until`
/// is counted), so no bucket holds more than the range. A visit counts in every bucket
/// it overlaps.
#[utoipa::path(
    get,
    path = "/api/v1/stats/series",
    tag = "analytics",
    operation_id = "stats_series",
    params(SeriesQuery, SummaryQuery, CompareQuery, EstimatorQuery),
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
    let compare: CompareQuery = parse_query(request.query_string())?;
    let estimator = EstimatorQuery::parse(&request)?;
    let (scope, _) = scope(&state, parse_query(request.query_string())?).await?;
    let bounds = analytics::buckets(scope.since, scope.until, series.bucket, &scope.tz)
        .map_err(|error| scope.placing_error(error))?;
    if bounds.len() > analytics::MAX_BUCKETS {
        return Err(AppError::parameter(
            "bucket",
            format!(
                "this range holds more than {} buckets of {}, the most a series may have: \
                 choose a longer bucket or a shorter range",
                analytics::MAX_BUCKETS,
                series.bucket.as_str()
            ),
        ));
    }
    let bounds = analytics::clipped(bounds, scope.since, scope.until);
    let mut points = points_of(&state, scope.clone(), bounds.clone(), estimator, true).await?;
    if let Some(compare) = compare.compare {
        let placing = |error| scope.placing_error(error);
        let then_bounds = compare
            .buckets(&bounds, scope.since, scope.until, &scope.tz)
            .map_err(placing)?;
        let (since, until) = compare
            .window(scope.since, scope.until, &scope.tz)
            .map_err(placing)?;
        let then = points_of(&state, scope.during(since, until), then_bounds, None, false).await?;
        for (point, then) in points.iter_mut().zip(&then) {
            point.compared = Some(Compared::of(compare.as_str(), point, then));
        }
    }
    Ok(Json(StatsSeries {
        bucket: series.bucket.as_str().to_string(),
        hours: scope.hours().to_string(),
        tz: scope.tz_name,
        points,
    }))
}
