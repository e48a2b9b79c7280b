use actix_web::web::{Data, Json};
use api_types::NodeList;

use super::AppState;
use crate::db;
use crate::http::error::AppError;

/// List access points
///
/// Every access point ("node") that has posted a report, most recently reporting first,
/// with its network, name and zone, when it first and last reported, how many reports
/// it sent in all and in the last hour (a feed's health at a glance), how many probe
/// requests of it are stored, and whether it is silent (nothing for
/// `--silence-after`).
#[utoipa::path(
    get,
    path = "/api/v1/nodes",
    tag = "probe requests",
    operation_id = "list_nodes",
    responses(
        (status = 200, description = "The access points", body = NodeList),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(state: Data<AppState>) -> Result<Json<NodeList>, AppError> {
    let now = state.clock.now();
    let silence_after_s = state.silence_after_s;
    let items = state
        .db
        .run(move |conn| {
            let directory = db::places::directory(conn)?;
            db::nodes::list(conn, now, silence_after_s, &directory)
        })
        .await?;
    Ok(Json(NodeList { items }))
}
