use actix_web::web::Data;
use actix_web::HttpResponse;

use super::AppState;

/// Metrics for Prometheus
///
/// Reports accepted and rejected (by reason), probe requests stored and found
/// duplicate, the ingest latency histogram, the writer's queue depth, alert deliveries
/// and each access point's last report
/// (`ncompass_node_last_report_timestamp_seconds{network,node,name,zone}`), in the
/// Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain; version=0.0.4", body = String)),
)]
pub async fn metrics(state: Data<AppState>) -> HttpResponse {
    let mut body = state.metrics.render();
    let nodes = state
        .db
        .run(|conn| {
            let directory = crate::db::places::directory(conn)?;
            Ok(crate::db::nodes::last_reports(conn)?
                .into_iter()
                .map(|(network, node, at)| crate::metrics::NodeReport {
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
    let up = match nodes {
        Ok(nodes) => {
            body.push_str(&crate::metrics::render_nodes(&nodes));
            1
        }
        Err(error) => {
            tracing::warn!(%error, "/metrics without the access points' last reports");
            0
        }
    };
    body.push_str(&format!(
        "# HELP ncompass_database_up 1 when this scrape could read the database, else 0.\n\
         # TYPE ncompass_database_up gauge\nncompass_database_up {up}\n"
    ));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
