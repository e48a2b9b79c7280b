use actix_web::web::{Data, Json};
use api_types::{Health, WriterStatus};

use super::AppState;
use crate::db;
use crate::http::error::AppError;

/// How long health waits for the database to answer.
const PING_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

/// Health check
///
/// Answers 200 when the database answers a query and reports can be stored; 503 when
/// the database does not answer (within a second), or ingestion cannot make progress: the writer is
/// restarting, a report has waited longer than the reply timeout (stalled), or its
/// last attempt to store failed in the last minute with nothing stored since (a full
/// disk, a lock held by another process, an I/O error). For an orchestrator's or a
/// load balancer's probe; `HEAD` answers the same without a body.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "service",
    operation_id = "health",
    responses(
        (status = 200, description = "The service, its database and its writer are up", body = Health),
        (status = 503, description = "The database is unavailable or ingestion cannot make progress; `detail` says which", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn health(state: Data<AppState>) -> Result<Json<Health>, AppError> {
    // Within a second whatever the database does: a load balancer's probe must not wait
    // for the pool's own timeout while the database refuses connections.
    match tokio::time::timeout(PING_WITHIN, state.db.run(db::ping)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(AppError::Unavailable(Box::new(error))),
        Err(_) => {
            return Err(AppError::TryLater {
                detail: format!(
                    "the database did not answer within {} ms",
                    PING_WITHIN.as_millis()
                ),
                retry_after: 1,
            })
        }
    }
    let writer = state.ingest.health();
    if let Some(problem) = &writer.problem {
        let last_error = writer
            .last_error
            .as_ref()
            .map(|(message, _)| format!(" (last error: {message})"))
            .unwrap_or_default();
        return Err(AppError::TryLater {
            detail: format!("ingestion cannot make progress: {problem}{last_error}"),
            retry_after: 5,
        });
    }
    let (last_error, last_error_at) = writer.last_error.unzip();
    Ok(Json(Health {
        status: "ok".to_string(),
        database: "ok".to_string(),
        writer: WriterStatus {
            status: "ok".to_string(),
            alive: writer.alive,
            oldest_queued_ms: writer
                .oldest_queued
                .map(|waited| u64::try_from(waited.as_millis()).unwrap_or(u64::MAX)),
            last_error,
            last_error_at,
            restarts: writer.restarts,
        },
        privacy: state.privacy.summary(),
    }))
}

/// What is kept
///
/// The MAC privacy mode and the retention periods, for anyone looking (the dashboard
/// shows them in its footer): open like the health check, and answered even while
/// ingestion is failing.
#[utoipa::path(
    get,
    path = "/api/v1/privacy",
    tag = "service",
    operation_id = "privacy",
    responses(
        (status = 200, description = "What is kept of the devices heard, and for how long", body = api_types::PrivacySummary),
    )
)]
pub async fn privacy(state: Data<AppState>) -> Json<api_types::PrivacySummary> {
    Json(state.privacy.summary())
}
