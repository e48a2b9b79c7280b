use actix_web::web::{Data, Json};
use actix_web::HttpRequest;
use api_types::RejectionList;

use super::AppState;
use crate::db;
use crate::http::error::AppError;

/// Largest and default `limit` of the rejection log.
const MAX_LIMIT: i64 = db::rejections::KEPT;
const DEFAULT_LIMIT: i64 = 100;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RejectionQuery {
    /// How many to return, newest first: 1 to 1000 (the log keeps the newest 1000).
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
}

/// List rejected reports
///
/// The most recent reports the webhook refused (bad signature, invalid field, not JSON,
/// too large), with the reason, the field, the access point when the body names one,
/// and the first bytes of the body: why an access point's reports fail. Reports
/// refused because the server was overloaded are only counted in `/metrics`.
#[utoipa::path(
    get,
    path = "/api/v1/rejections",
    tag = "webhook",
    operation_id = "list_rejections",
    params(RejectionQuery),
    responses(
        (status = 200, description = "The newest rejections first", body = RejectionList),
        (status = 400, description = "`limit` is not acceptable", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<RejectionList>, AppError> {
    let query: RejectionQuery = super::parse_query(request.query_string())?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::parameter(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}, got {limit}"),
        ));
    }
    let items = state
        .db
        .run(move |conn| {
            let mut items = db::rejections::list(conn, limit)?;
            let directory = db::places::directory(conn)?;
            items
                .iter_mut()
                .for_each(|item| directory.label_rejection(item));
            Ok(items)
        })
        .await?;
    Ok(Json(RejectionList { items }))
}
