use actix_web::web::Data;
use actix_web::HttpResponse;

use super::AppState;

/// Metrics for Prometheus
///
/// Reports accepted and rejected (by reason), probe requests stored and found
/// duplicate, the ingest latency histogram and the writer's queue depth, in the
/// Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain; version=0.0.4", body = String)),
)]
pub async fn metrics(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
