//! Cisco Meraki's Scanning API receivers: `/meraki/{name}`, one per source an operator
//! configured (`ncompass source add`, `/api/v1/sources`). `GET` answers the source's
//! validator; `POST` takes v2 and v3 posts, checks the body's `secret`, validates
//! (`meraki::parse_post`) and stores the post whole through the writer.

use std::time::Instant;

use actix_web::web::{self, Data, Json, Path};
use actix_web::{HttpRequest, HttpResponse};
use api_types::MerakiIngestResult;

use super::AppState;
use crate::cloudtrax::TimeRules;
use crate::db;
use crate::http::error::AppError;
use crate::ingest::Delivery;
use crate::meraki::{self, Kind};

/// The source called `name`, or 404.
async fn source(state: &AppState, name: &str) -> Result<db::sources::Source, AppError> {
    let wanted = name.to_string();
    state
        .db
        .run(move |conn| db::sources::get(conn, &wanted))
        .await?
        .filter(|source| source.vendor == "meraki")
        .ok_or_else(|| AppError::NotFound(format!("no Meraki source is called {name:?}")))
}

/// Validate a Meraki source
///
/// What Meraki asks before it posts: the source's validator, alone, as text/plain.
#[utoipa::path(
    get,
    path = "/meraki/{name}",
    tag = "webhook",
    operation_id = "meraki_validate",
    params(("name" = String, Path, description = "The source's name", example = "lobby")),
    responses(
        (status = 200, description = "The source's validator", body = String, content_type = "text/plain",
         example = "da6a17c407bc11f1d8a5ae7f7e8e3c5a8a6bfa1c"),
        (status = 404, description = "No Meraki source has this name", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn validate(name: Path<String>, state: Data<AppState>) -> Result<HttpResponse, AppError> {
    let source = source(&state, &name).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(source.validator))
}

/// Receive a Meraki Scanning API post
///
/// The URL to give Meraki (Network-wide > General > Location and scanning, "Post URL"),
/// with the source's secret. Takes versions 2.0, 2.1 and 3.0, Wi-Fi and Bluetooth; the
/// body is read as JSON whatever its Content-Type, up to `--meraki-max-body`.
///
/// Each Wi-Fi observation becomes one probe request per access point and record time it
/// holds (v3: the `rssiRecords` of its locations when any has them, else its latest
/// record's nearest access point; v2: the posting `apMac` at `seenEpoch`), signals in
/// dBm (v2 `rssi - 95`), associated when `ssid` is set; its manufacturer, OS and SSID are
/// kept per device; IP addresses and user ids are never read. The Meraki network is
/// stored as an NCompass network of its own (a stable negative id, named after
/// Meraki's id until an operator names it; a v2 post, which names no network, goes to
/// the source's). A post is stored whole or not at all; a record already stored (a
/// re-sent post, or v3 re-sending a client's latest record) is counted as a duplicate.
/// Bluetooth posts are answered and counted, not stored.
#[utoipa::path(
    post,
    path = "/meraki/{name}",
    tag = "webhook",
    operation_id = "meraki_receive",
    params(("name" = String, Path, description = "The source's name", example = "lobby")),
    request_body(
        description = "A Scanning API post (v2 or v3)",
        content_type = "application/json",
        content = Object,
        example = json!({
            "version": "3.0", "secret": "the source's shared secret", "type": "WiFi",
            "data": {"networkId": "L_643802754597887745", "observations": [{
                "clientMac": "00:26:ab:b8:a9:a5", "manufacturer": "Seiko Epson", "os": "Android",
                "ssid": "Guest Wi-Fi", "ipv4": null, "ipv6": null, "userId": null,
                "latestRecord": {"time": "2026-12-07T09:59:50Z", "nearestApMac": "88:15:44:ab:cd:01", "nearestApRssi": -52},
                "locations": [{"time": "2026-12-07T09:59:50Z", "lat": 37.77, "lng": -122.38, "x": 12.4, "y": 3.1,
                               "variance": 6.5, "floorPlanId": "g_727", "floorPlanName": "Level 1",
                               "nearestApTags": ["lobby"],
                               "rssiRecords": [{"apMac": "88:15:44:ab:cd:01", "rssi": -52},
                                               {"apMac": "88:15:44:ab:cd:02", "rssi": -67}]}]
            }]}
        })
    ),
    responses(
        (status = 200, description = "The post is stored (durably, before this answer), or counted (Bluetooth)", body = MerakiIngestResult),
        (status = 400, description = "The body is not JSON", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The body's `secret` is missing or is not the source's; nothing was stored", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No Meraki source has this name", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within `--body-timeout`; the connection is closed", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than `--meraki-max-body`", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body breaks a rule of the Scanning API contract; `field` is the JSON path of the offending value (e.g. `data.observations[3].clientMac`). Times are ISO 8601 with an offset, not before 1970 and at most 86400 s after the post is received; v2 `rssi` 0 to 95, v3 signals -128 to 0 dBm; the whole post is refused", body = api_types::Problem, content_type = "application/problem+json",
         example = json!({"type": "about:blank", "title": "Unprocessable Content", "status": 422,
                          "detail": "must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e, got \"00:26:ab\"",
                          "field": "data.observations[0].clientMac"})),
        (status = 503, description = "The server is overloaded or the database cannot store the post; nothing was stored, retry after `Retry-After` seconds", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    name: Path<String>,
    request: HttpRequest,
    payload: web::Payload,
    state: Data<AppState>,
) -> Result<Json<MerakiIngestResult>, AppError> {
    let started = Instant::now();
    let received_at = state.clock.now();
    let source = source(&state, &name).await?;
    let body = match super::read_body(&request, payload, state.meraki_max_body, state.body_timeout)
        .await
    {
        Ok(body) => body,
        Err(error) => {
            super::webhook::refused(&state, &error, None, received_at);
            return Err(error);
        }
    };
    match accept(&body, &source, &state, received_at).await {
        Ok(result) => {
            state.metrics.observe_latency(started.elapsed());
            Ok(Json(result))
        }
        Err(error) => {
            super::webhook::refused(&state, &error, None, received_at);
            Err(error)
        }
    }
}

async fn accept(
    body: &[u8],
    source: &db::sources::Source,
    state: &AppState,
    received_at: i64,
) -> Result<MerakiIngestResult, AppError> {
    // The secret first: a post without it costs one shallow parse and nothing else.
    // (A body that is not a JSON object is refused as such, 400 or 422.)
    let secret = meraki::read_secret(body)?;
    if !meraki::secret_matches(&source.secret_sha256, secret.as_deref()) {
        return Err(AppError::Forbidden(match secret {
            None => {
                "the body has no `secret`: set the source's shared secret in Meraki's dashboard"
                    .to_string()
            }
            Some(_) => "the body's `secret` is not this source's".to_string(),
        }));
    }
    let envelope = meraki::read_envelope(body)?;
    let rules = TimeRules {
        received_at,
        max_span_s: state.max_span_s,
    };
    let post = meraki::parse_post(body, &envelope, &rules, &source.name)?;
    let kind = match post.kind {
        Kind::WiFi => "wifi",
        Kind::Bluetooth => "bluetooth",
    };
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut result = MerakiIngestResult {
        network_id: post.network.network_id,
        observations: as_i64(post.observations),
        ignored: as_i64(post.ignored),
        probe_requests: i64::try_from(post.probe_requests()).unwrap_or(i64::MAX),
        stored: 0,
        duplicates: 0,
    };
    if post.kind == Kind::WiFi {
        let stored = state
            .ingest
            .deliver(
                Delivery {
                    reports: post.reports,
                    devices: post.devices,
                    network: Some(post.network),
                },
                received_at,
            )
            .await?;
        result.stored = stored.stored;
        result.duplicates = stored.duplicates;
    }
    state
        .metrics
        .meraki_post(kind, post.observations, post.ignored);
    Ok(result)
}
