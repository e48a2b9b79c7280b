use actix_web::web::Data;
use actix_web::HttpResponse;

use super::AppState;

/// Metrics for Prometheus
///
/// Reports accepted and rejected (by reason), probe requests stored and found
/// duplicate, the ingest latency histogram, the writer's queue depth, alert deliveries
/// and each access point's last report
/// (`ncompass_node_last_report_timestamp_seconds{network,node,name,zone}`), in the
/// OpenMetrics text format (written by the Prometheus project's `prometheus-client`).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    operation_id = "metrics",
    responses((status = 200, description = "OpenMetrics 1.0 text exposition", content_type = "application/openmetrics-text; version=1.0.0", body = String)),
)]
pub async fn metrics(state: Data<AppState>) -> HttpResponse {
    let nodes = state
        .db
        .run(|conn| {
            let directory = crate::db::places::directory(conn)?;
            Ok(crate::db::nodes::last_reports(conn)?
                .into_iter()
                .map(|(network, node, at)| crate::pipeline::metrics::NodeReport {
                    network,
                    name: directory.node_name(&node),
                    zone: directory.zone(&node),
                    node,
                    at,
                })
                .collect::<Vec<_>>())
        })
        .await;
    // Without the database the instance's own counters still tell what is wrong, and
    // ncompass_database_up says why the access points' series are missing (so an alert
    // on their age does not quietly resolve during an outage).
    let nodes = nodes
        .inspect_err(
            |error| tracing::warn!(%error, "/metrics without the access points' last reports"),
        )
        .ok();
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(state.metrics.render(nodes.as_deref()))
}

/// OpenMetrics 1.0, which Prometheus asks for first.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
