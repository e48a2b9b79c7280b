//! Ground truth: counts of people taken by other means (a door counter, a manual
//! tally) over a window, recorded by administrators, to check estimates against.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::{GroundTruth, GroundTruthList, NewGroundTruth};

use super::personal_data::who;
use super::AppState;
use crate::db;
use crate::http::error::AppError;

/// Largest body of a POST here.
const MAX_BODY: usize = 4 * 1024;
/// The longest window a count may cover.
pub const MAX_WINDOW_S: i64 = 31 * 86_400;
/// The most people one count may hold.
pub const MAX_PEOPLE: i64 = 10_000_000;

/// Why a count is refused: the field and the reason.
pub type Refusal = (String, String);

/// Checks a count as given (API or CSV), `now` the server's clock; trims its texts.
pub fn check(mut entry: NewGroundTruth, now: i64) -> Result<NewGroundTruth, Refusal> {
    let refuse = |field: &str, message: String| Err((field.to_string(), message));
    if entry.since < 0 {
        return refuse(
            "since",
            format!("must not be negative, got {}", entry.since),
        );
    }
    if entry.until < entry.since {
        return refuse(
            "until",
            format!(
                "must not be before since ({} < {})",
                entry.until, entry.since
            ),
        );
    }
    if entry.until - entry.since > MAX_WINDOW_S {
        return refuse(
            "until",
            "must be at most 31 days after since (a window of at most 31 days)".to_string(),
        );
    }
    if entry.until > now {
        return refuse(
            "until",
            format!("must not be in the future (now is {now}): count a window once it is over"),
        );
    }
    if !(0..=MAX_PEOPLE).contains(&entry.people) {
        return refuse(
            "people",
            format!("must be from 0 to {MAX_PEOPLE}, got {}", entry.people),
        );
    }
    if let Some(problem) = super::places::label_problem(&entry.source) {
        return refuse("source", problem);
    }
    entry.source = entry.source.trim().to_string();
    if let Some(zone) = &entry.zone {
        if let Some(problem) = super::places::label_problem(zone) {
            return refuse("zone", problem);
        }
        entry.zone = Some(zone.trim().to_string());
    }
    Ok(entry)
}

/// Record a ground-truth count
///
/// A count of people taken by other means (a door counter, a manual tally) over a
/// window of a network (or one zone of it), to check and calibrate the estimates
/// against. Answers the stored entry with its `id`.
#[utoipa::path(
    post,
    path = "/api/v1/ground-truth",
    tag = "analytics",
    operation_id = "add_ground_truth",
    request_body(content = NewGroundTruth, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = GroundTruth),
        (status = 400, description = "The body is not a JSON object of the fields", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 4 KiB", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable (a window backwards, longer than 31 days or not over yet; people out of range; an empty source); `field` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    request: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body = super::read_body(&request, payload, MAX_BODY, state.body_timeout).await?;
    let entry: NewGroundTruth = serde_json::from_slice(&body).map_err(|error| {
        AppError::MalformedBody(format!(
            "the body must be a JSON object with `network_id`, `since`, `until`, `people`, \
             `source` and optionally `zone`: {error}"
        ))
    })?;
    let now = state.clock.now();
    let entry = check(entry, now).map_err(|(field, message)| AppError::InvalidBody {
        field: Some(field),
        message,
    })?;
    let by = who(&request);
    let (row, by_audit) = (entry.clone(), by.clone());
    let id = state
        .db
        .run(move |conn| db::ground_truth::add_all(conn, std::slice::from_ref(&row), now, &by))
        .await?
        .first()
        .copied()
        .ok_or_else(|| AppError::internal("a count just stored has no id"))?;
    tracing::info!(target: "ncompass::audit", who = %by_audit, id, network_id = entry.network_id,
        people = entry.people, "ground truth recorded");
    Ok(HttpResponse::Created().json(GroundTruth {
        id,
        network_id: entry.network_id,
        zone: entry.zone,
        since: entry.since,
        until: entry.until,
        people: entry.people,
        source: entry.source,
        created_at: now,
        created_by: by_audit,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this network's counts.
    network_id: Option<i64>,
    /// The most counts answered, newest window first.
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
}

/// List ground-truth counts
///
/// The counts recorded (of one network if asked), newest window first, at most
/// `limit`.
#[utoipa::path(
    get,
    path = "/api/v1/ground-truth",
    tag = "analytics",
    operation_id = "list_ground_truth",
    params(ListQuery),
    responses(
        (status = 200, description = "The counts", body = GroundTruthList),
        (status = 400, description = "`network_id` is not an integer", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<actix_web::web::Json<GroundTruthList>, AppError> {
    let query: ListQuery = super::parse_query(request.query_string())?;
    let network_id = query.network_id;
    let limit = query.limit.unwrap_or(1_000);
    if !(1..=10_000).contains(&limit) {
        return Err(AppError::parameter(
            "limit",
            format!("must be from 1 to 10000, got {limit}"),
        ));
    }
    let items = state
        .db
        .run(move |conn| db::ground_truth::list(conn, network_id, limit))
        .await?;
    Ok(actix_web::web::Json(GroundTruthList { items }))
}

/// Remove a ground-truth count
#[utoipa::path(
    delete,
    path = "/api/v1/ground-truth/{id}",
    tag = "analytics",
    operation_id = "remove_ground_truth",
    params(("id" = i64, Path, description = "The count's id", example = 12)),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`id` is not an integer", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No count has this id", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    request: HttpRequest,
    path: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| {
        AppError::parameter("id", format!("must be an integer, got {:?}", path.as_str()))
    })?;
    let removed = state
        .db
        .run(move |conn| db::ground_truth::remove(conn, id))
        .await?;
    if !removed {
        return Err(AppError::NotFound(format!(
            "no ground-truth count has id {id}"
        )));
    }
    tracing::info!(target: "ncompass::audit", who = %who(&request), id, "ground truth removed");
    Ok(HttpResponse::NoContent().finish())
}
