use actix_web::web::{Data, Json};
use api_types::Health;

use super::AppState;
use crate::db;
use crate::error::AppError;

/// Health check
///
/// Answers 200 when the database answers a query, 503 when it does not.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "service",
    operation_id = "health",
    responses(
        (status = 200, description = "The service and its database are up", body = Health),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn health(state: Data<AppState>) -> Result<Json<Health>, AppError> {
    state
        .db
        .run(db::ping)
        .await
        .map_err(|error| AppError::Unavailable(Box::new(error)))?;
    Ok(Json(Health {
        status: "ok".to_string(),
        database: "ok".to_string(),
    }))
}
