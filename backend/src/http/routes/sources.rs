//! Vendor sources (`/api/v1/sources`): the Meraki receivers, for administrators only
//! (see `auth::access`). A source's secret is taken once, kept as its SHA-256, and
//! never shown or logged.

use actix_web::web::{Data, Json, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use api_types::{NewSource, Source, SourceList};

use super::personal_data::who;
use super::AppState;
use crate::db;
use crate::http::error::AppError;
use crate::meraki;

/// Largest body of `POST /api/v1/sources`.
const MAX_SOURCE_BODY: usize = 4096;

/// List the sources
///
/// Every vendor source, by name, without its secret.
#[utoipa::path(
    get,
    path = "/api/v1/sources",
    tag = "sources",
    operation_id = "list_sources",
    responses(
        (status = 200, description = "The sources", body = SourceList),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(state: Data<AppState>) -> Result<Json<SourceList>, AppError> {
    let sources = state.db.run(db::sources::list).await?;
    Ok(Json(SourceList {
        items: sources.iter().map(db::sources::Source::shown).collect(),
    }))
}

/// Add a source
///
/// A Meraki receiver at `/meraki/{name}`: give Meraki that URL, the validator it
/// answers and the same secret. Shared by every instance on the database.
#[utoipa::path(
    post,
    path = "/api/v1/sources",
    tag = "sources",
    operation_id = "add_source",
    request_body(content = NewSource, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = Source),
        (status = 400, description = "The body is not a JSON object of the fields", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A source of this name exists (remove it first)", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 4 KiB", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not acceptable; `field` names it", body = api_types::Problem, content_type = "application/problem+json",
         example = json!({"type": "about:blank", "title": "Unprocessable Content", "status": 422,
                          "detail": "must be 8 to 256 bytes, got 3", "field": "secret"})),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    request: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body = super::read_body(&request, payload, MAX_SOURCE_BODY, state.body_timeout).await?;
    let new: NewSource = serde_json::from_slice(&body).map_err(|error| {
        AppError::MalformedBody(format!(
            "the body must be a JSON object with `name`, `vendor`, `validator` and `secret`: {error}"
        ))
    })?;
    meraki::check_source(&new.name, &new.vendor, &new.validator, &new.secret).map_err(|error| {
        AppError::InvalidBody {
            field: Some(error.field.to_string()),
            message: error.message,
        }
    })?;
    let source = db::sources::Source {
        name: new.name,
        vendor: new.vendor,
        validator: new.validator,
        secret_sha256: meraki::secret_digest(&new.secret),
        created_at: state.clock.now(),
        created_by: who(&request),
    };
    let row = source.clone();
    let added = state
        .db
        .run(move |conn| db::sources::add(conn, &row))
        .await?;
    if !added {
        return Err(AppError::Conflict(format!(
            "a source called {:?} exists (remove it first, or pick another name)",
            source.name
        )));
    }
    tracing::info!(target: "ncompass::audit", who = %source.created_by, source = %source.name,
        vendor = %source.vendor, "source added");
    Ok(HttpResponse::Created().json(source.shown()))
}

/// Remove a source
///
/// `/meraki/{name}` answers 404 from then on. What it stored stays.
#[utoipa::path(
    delete,
    path = "/api/v1/sources/{name}",
    tag = "sources",
    operation_id = "remove_source",
    params(("name" = String, Path, description = "The source's name", example = "lobby")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No source has this name", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    name: Path<String>,
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let wanted = name.clone();
    let removed = state
        .db
        .run(move |conn| db::sources::remove(conn, &wanted))
        .await?;
    if !removed {
        return Err(AppError::NotFound(format!(
            "no source is called {:?}",
            name.as_str()
        )));
    }
    tracing::info!(target: "ncompass::audit", who = %who(&request), source = %name.as_str(), "source removed");
    Ok(HttpResponse::NoContent().finish())
}
