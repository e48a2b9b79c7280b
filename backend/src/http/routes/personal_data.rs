//! A device owner's requests: what is stored about a MAC, erasing it, opting out.
//! Administrators only (see `auth::access`); every change is in the audit log, naming
//! the MAC by its keyed hash only.

use actix_web::web::{Data, Json, Path, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use api_types::{DeviceData, Erasure, NewOptOut, OptOut, OptOutList};

use super::{mac_parameter, parse_query, AppState};
use crate::cloudtrax::Mac;
use crate::db;
use crate::http::auth::Principal;
use crate::http::error::AppError;

/// Most probe requests and segments `GET /api/v1/devices/{mac}/data` lists.
const DATA_LIMIT: i64 = 100_000;

/// Largest body of `POST /api/v1/opt-outs`.
const MAX_OPT_OUT_BODY: usize = 1024;

pub(crate) fn who(request: &HttpRequest) -> String {
    request
        .extensions()
        .get::<Principal>()
        .map_or_else(|| "unknown".to_string(), Principal::who)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EraseQuery {
    /// Also add the MAC to the opt-out list, so its future observations are dropped
    /// (default true).
    opt_out: Option<bool>,
}

/// Erase a device
///
/// Removes every probe request and presence segment of the client MAC, in every
/// network, and empties the kept body bytes of any rejected report that names it; then
/// (unless `opt_out=false`) adds it to the opt-out list, in the same transaction, so
/// nothing of it is stored again. In `keyed` mode the MAC may be the real one (as its
/// owner gives it) or the pseudonym the API shows. The deleted content is overwritten in
/// the database file; once the server has checkpointed (at the latest when it stops
/// cleanly) no copy remains in its files. It reads the device's own rows and segments
/// (by index) and the rejection log (at most 1,000 rows).
#[utoipa::path(
    delete,
    path = "/api/v1/devices/{mac}",
    tag = "privacy",
    operation_id = "erase_device",
    params(
        ("mac" = String, Path, description = "The client MAC, any case, `:` or `-` separated", example = "48:5a:3f:37:de:f7"),
        EraseQuery,
    ),
    responses(
        (status = 200, description = "What was removed", body = Erasure),
        (status = 400, description = "`mac` or `opt_out` is not acceptable", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable or its write lock is held; nothing was removed, retry", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn erase_device(
    path: Path<String>,
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<Erasure>, AppError> {
    let mac = mac_parameter("mac", &path)?;
    let query: EraseQuery = parse_query(request.query_string())?;
    let opt_out = query.opt_out.unwrap_or(true);
    let caller = who(&request);
    let privacy = state.privacy.clone();
    let stored = privacy.candidates(mac);
    let now = state.clock.now();
    let erased = state
        .db
        .run(move |conn| {
            // The list's entry is the hash of the real MAC. Given a pseudonym (keyed
            // mode, read off a page), that pseudonym is the hash already: the stored MAC
            // found tells which was given.
            let entry = |found: Option<Mac>| privacy.opt_out_entry_of_device(mac, found);
            let erased = db::opt_outs::erase(
                conn,
                &stored,
                opt_out.then_some((now, caller.as_str())),
                &entry,
            )?;
            db::writer::empty_wal(conn);
            Ok(erased)
        })
        .await?;
    tracing::info!(target: "ncompass::audit", who = %who(&request),
        mac_hash = %erased.opted_out.map(|hash| hash.to_string()).unwrap_or_default(),
        probe_requests = erased.probe_requests, presence_segments = erased.presence_segments,
        opt_out, "device erased");
    Ok(Json(Erasure {
        mac: mac.to_string(),
        probe_requests: erased.probe_requests,
        presence_segments: erased.presence_segments,
        rejections_scrubbed: erased.rejections_scrubbed,
        opted_out: opt_out,
    }))
}

/// Everything stored about a device
///
/// For an owner's access request: every probe request (newest first) and presence
/// segment of the client MAC, in every network, and whether it is on the opt-out list.
/// In `keyed` mode the MAC may be the real one or the pseudonym the API shows.
#[utoipa::path(
    get,
    path = "/api/v1/devices/{mac}/data",
    tag = "privacy",
    operation_id = "device_data",
    params(("mac" = String, Path, description = "The client MAC, any case, `:` or `-` separated", example = "48:5a:3f:37:de:f7")),
    responses(
        (status = 200, description = "What is stored", body = DeviceData),
        (status = 400, description = "`mac` is not a MAC", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn device_data(
    path: Path<String>,
    state: Data<AppState>,
) -> Result<Json<DeviceData>, AppError> {
    let mac = mac_parameter("mac", &path)?;
    let privacy = state.privacy.clone();
    let candidates = privacy.candidates(mac);
    let data = state
        .db
        .run(move |conn| {
            let stored = db::probe_requests::stored_mac(conn, &candidates)?;
            let hash = privacy.opt_out_entry_of_device(mac, stored.map(|(stored, _)| stored));
            let opted_out = db::opt_outs::contains(conn, hash)?;
            let (mut probe_requests, truncated, presence_segments) =
                db::opt_outs::data(conn, &candidates, DATA_LIMIT)?;
            let directory = db::places::directory(conn)?;
            probe_requests
                .iter_mut()
                .for_each(|row| directory.label(row));
            db::devices::describe(conn, &mut probe_requests)?;
            Ok(DeviceData {
                mac: mac.to_string(),
                mac_privacy: privacy.mode.as_str().to_string(),
                stored_as: stored
                    .map(|(stored, _)| stored.to_string())
                    .or_else(|| presence_segments.first().map(|segment| segment.mac.clone())),
                opted_out,
                probe_requests,
                truncated,
                presence_segments,
            })
        })
        .await?;
    Ok(Json(data))
}

/// The opt-out list
///
/// The keyed hashes of the client MACs whose observations are dropped at ingest, newest
/// first. The MACs themselves are not kept.
#[utoipa::path(
    get,
    path = "/api/v1/opt-outs",
    tag = "privacy",
    operation_id = "list_opt_outs",
    responses(
        (status = 200, description = "The list", body = OptOutList),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_opt_outs(state: Data<AppState>) -> Result<Json<OptOutList>, AppError> {
    let items = state.db.run(db::opt_outs::list).await?;
    Ok(Json(OptOutList { items }))
}

/// Opt a device out
///
/// Adds the client MAC (by its keyed hash) to the opt-out list: from now on its
/// observations are dropped at ingest, on every instance, and counted in `/metrics`
/// (`ncompass_probe_requests_opted_out_total`). What is stored already stays: erase it
/// with `DELETE /api/v1/devices/{mac}`.
#[utoipa::path(
    post,
    path = "/api/v1/opt-outs",
    tag = "privacy",
    operation_id = "add_opt_out",
    request_body(content = NewOptOut, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = OptOut),
        (status = 200, description = "It was on the list already", body = OptOut),
        (status = 400, description = "The body is not a JSON object with a `mac`", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 1 KiB", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`mac` is not a MAC", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_opt_out(
    request: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body = super::read_body(&request, payload, MAX_OPT_OUT_BODY, state.body_timeout).await?;
    let new: NewOptOut = serde_json::from_slice(&body).map_err(|error| {
        AppError::MalformedBody(format!(
            "the body must be a JSON object with a `mac`: {error}"
        ))
    })?;
    let mac = Mac::parse(&new.mac).ok_or_else(|| AppError::InvalidBody {
        field: Some("mac".to_string()),
        message: format!(
            "must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e, got {:?}",
            new.mac
        ),
    })?;
    let hash = state.privacy.opt_out_entry(mac);
    let caller = who(&request);
    let now = state.clock.now();
    let by = caller.clone();
    let (added, entry) = state
        .db
        .run(move |conn| {
            let added = db::opt_outs::add(conn, hash, now, &by)?;
            // Removed again meanwhile by another administrator: answer what was added.
            let entry = db::opt_outs::get(conn, hash)?.unwrap_or(OptOut {
                mac_hash: hash.to_string(),
                created_at: now,
                created_by: by,
            });
            Ok((added, entry))
        })
        .await?;
    if added {
        tracing::info!(target: "ncompass::audit", who = %caller, mac_hash = %hash, "device opted out");
        Ok(HttpResponse::Created().json(entry))
    } else {
        Ok(HttpResponse::Ok().json(entry))
    }
}

/// Remove an opt-out
///
/// Takes the client MAC off the opt-out list: its observations are stored again from
/// now on. The MAC is given as its owner gives it (or, in `keyed` mode, as the
/// pseudonym the list shows).
#[utoipa::path(
    delete,
    path = "/api/v1/opt-outs/{mac}",
    tag = "privacy",
    operation_id = "remove_opt_out",
    params(("mac" = String, Path, description = "The client MAC (or the entry's `mac_hash`), any case, `:` or `-` separated", example = "48:5a:3f:37:de:f7")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`mac` is not a MAC", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The MAC is not on the list", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_opt_out(
    path: Path<String>,
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mac = mac_parameter("mac", &path)?;
    // The MAC's hash, or the entry itself as the list shows it.
    let entries = [state.privacy.opt_out_entry(mac), mac];
    let removed = state
        .db
        .run(move |conn| {
            for entry in entries {
                if db::opt_outs::remove(conn, entry)? {
                    return Ok(Some(entry));
                }
            }
            Ok(None)
        })
        .await?;
    match removed {
        Some(hash) => {
            tracing::info!(target: "ncompass::audit", who = %who(&request), mac_hash = %hash, "opt-out removed");
            Ok(HttpResponse::NoContent().finish())
        }
        None => Err(AppError::NotFound(format!(
            "{mac} is not on the opt-out list"
        ))),
    }
}
