//! Every path the server answers, listed once in [`configure`]; one module per resource.

pub mod dashboard;
pub mod docs;
pub mod export;
pub mod ground_truth;
pub mod health;
pub mod meraki;
pub mod metrics;
pub mod nodes;
pub mod pages;
pub mod personal_data;
pub mod places;
pub mod probe_requests;
pub mod rejections;
pub mod samples;
pub mod session;
pub mod sources;
pub mod stats;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{guard, web, HttpRequest, HttpResponse, Resource, Route};
use futures_util::StreamExt as _;

use crate::cloudtrax::Mac;
use crate::db::Database;
use crate::http::error::AppError;
use crate::pipeline::metrics::Metrics;
use crate::pipeline::Ingest;

/// What every handler may use.
pub struct AppState {
    /// For reading: a pool of connections.
    pub db: Database,
    /// For writing: this instance's writer thread, fed through a bounded queue (other
    /// instances on the same PostgreSQL database have their own).
    pub ingest: Ingest,
    pub metrics: Arc<Metrics>,
    /// The webhook's shared secrets, any of which may sign a report (rotation); none
    /// leaves ingestion open.
    pub secrets: Vec<Vec<u8>>,
    /// Largest webhook body accepted, in bytes.
    pub max_body: usize,
    /// Largest Meraki post accepted, in bytes (`--meraki-max-body`).
    pub meraki_max_body: usize,
    /// How long a webhook body may take to arrive.
    pub body_timeout: std::time::Duration,
    /// The longest span of one probe request, seconds (`--max-span`).
    pub max_span_s: i64,
    /// Slots for streaming exports (`--max-exports`), and how many there are.
    pub exports: Arc<tokio::sync::Semaphore>,
    pub max_exports: usize,
    /// The connections open now and how many may be (`--max-connections`).
    pub connections: Arc<crate::http::limits::Connections>,
    /// Slots for analytics computations (`--analytics-concurrency`).
    pub analytics: Arc<tokio::sync::Semaphore>,
    /// The OpenAPI document as JSON, rendered once at start-up.
    pub openapi_json: String,
    /// The built dashboard; `None` when it was not built.
    pub dashboard: Option<dashboard::Dashboard>,
    /// MAC privacy mode, key and retention periods.
    pub privacy: Arc<crate::privacy::Privacy>,
    /// The IEEE registry of MAC blocks: each row's `vendor`.
    pub oui: Arc<ncompass_core::oui::Registry>,
    /// Access control: sessions, sign-in slow-down, protected mode.
    pub auth: crate::http::auth::Auth,
    /// The server's clock: when a report was received, what "now" is in a query.
    pub clock: crate::clock::Clock,
    /// When an access point counts as silent (`--silence-after`), seconds.
    pub silence_after_s: i64,
    /// Held while the server runs: the alert thread stops once it is dropped.
    pub alerts_alive: Arc<()>,
}

impl AppState {
    /// Fills in the vendor of a row's MAC; none where MACs are stored keyed (a
    /// pseudonym's first bytes are nobody's block).
    pub fn label_vendor(&self, row: &mut api_types::ProbeRequest) {
        if self.privacy.mode == crate::privacy::MacPrivacy::Keyed {
            return;
        }
        row.vendor = crate::cloudtrax::Mac::parse(&row.mac)
            .and_then(|mac| self.oui.vendor(mac))
            .map(str::to_string);
    }
}

/// Registers every route of the application.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg
        // The CloudTrax webhook, under both spellings the original receiver answered.
        .service(resource("/receive").route(web::post().to(webhook::receive)))
        .service(resource("/recieve").route(web::post().to(webhook::receive_legacy)))
        // Meraki's Scanning API, one receiver per configured source.
        .service(
            resource("/meraki/{name}")
                .route(get().to(meraki::validate))
                .route(web::post().to(meraki::receive)),
        )
        // The REST API.
        .service(resource("/api/v1/probe-requests").route(get().to(probe_requests::list)))
        // Before `{id}`, which would take "export" for an id.
        .service(resource("/api/v1/probe-requests/export").route(get().to(export::export)))
        .service(resource("/api/v1/probe-requests/count").route(get().to(probe_requests::count)))
        .service(resource("/api/v1/probe-requests/{id}").route(get().to(probe_requests::get)))
        .service(resource("/api/v1/nodes").route(get().to(nodes::list)))
        .service(
            resource("/api/v1/nodes/{node_mac}")
                .route(web::put().to(places::put_node))
                .route(web::delete().to(places::forget_node)),
        )
        .service(resource("/api/v1/networks").route(get().to(places::list)))
        .service(
            resource("/api/v1/networks/{network_id}").route(web::put().to(places::put_network)),
        )
        .service(resource("/api/v1/samples").route(web::post().to(samples::create)))
        .service(resource("/api/v1/stats/summary").route(get().to(stats::range::summary)))
        .service(resource("/api/v1/stats/now").route(get().to(stats::now::now)))
        .service(resource("/api/v1/stats/series").route(get().to(stats::range::series)))
        .service(
            resource("/api/v1/stats/dwell-histogram")
                .route(get().to(stats::range::dwell_histogram)),
        )
        .service(resource("/api/v1/stats/nodes").route(get().to(stats::range::nodes)))
        .service(resource("/api/v1/stats/zones").route(get().to(stats::rankings::zones)))
        .service(resource("/api/v1/stats/networks").route(get().to(stats::rankings::networks)))
        .service(
            resource("/api/v1/devices/{network_id}/{mac}/visits")
                .route(get().to(stats::device::device_visits)),
        )
        .service(
            resource("/api/v1/ground-truth")
                .route(get().to(ground_truth::list))
                .route(web::post().to(ground_truth::add)),
        )
        .service(
            resource("/api/v1/ground-truth/{id}").route(web::delete().to(ground_truth::remove)),
        )
        .service(resource("/api/v1/rejections").route(get().to(rejections::list)))
        .service(
            resource("/api/v1/devices/{mac}").route(web::delete().to(personal_data::erase_device)),
        )
        .service(resource("/api/v1/devices/{mac}/data").route(get().to(personal_data::device_data)))
        .service(
            resource("/api/v1/opt-outs")
                .route(get().to(personal_data::list_opt_outs))
                .route(web::post().to(personal_data::add_opt_out)),
        )
        .service(
            resource("/api/v1/opt-outs/{mac}")
                .route(web::delete().to(personal_data::remove_opt_out)),
        )
        .service(
            resource("/api/v1/sources")
                .route(get().to(sources::list))
                .route(web::post().to(sources::add)),
        )
        .service(resource("/api/v1/sources/{name}").route(web::delete().to(sources::remove)))
        .service(
            resource("/api/v1/session")
                .route(get().to(session::current))
                .route(web::post().to(session::sign_in))
                .route(web::delete().to(session::sign_out)),
        )
        .service(resource("/api/v1/health").route(get().to(health::health)))
        .service(resource("/api/v1/privacy").route(get().to(health::privacy)))
        .service(resource("/metrics").route(get().to(metrics::metrics)))
        .service(resource("/api/v1/openapi.json").route(get().to(docs::openapi_json)))
        .service(resource("/api/docs").route(get().to(docs::reference)))
        // The dashboard at `/` and its files; every other page path loads the app.
        .default_service(web::to(dashboard::serve));
}

/// A route for GET and HEAD: the same handler answers both, and actix sends no body to
/// a HEAD (the headers, Content-Length included, are those of the GET).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A resource that answers 405 problem+json, with `Allow`, to methods it has no route for.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(request: HttpRequest) -> Result<HttpResponse, AppError> {
    let allow = match request.path() {
        "/receive" | "/recieve" | "/api/v1/samples" => "POST",
        "/api/v1/session" => "GET, HEAD, POST, DELETE",
        "/api/v1/opt-outs" | "/api/v1/sources" => "GET, HEAD, POST",
        path if path.starts_with("/meraki/") => "GET, HEAD, POST",
        path if path.starts_with("/api/v1/sources/") => "DELETE",
        path if path.starts_with("/api/v1/opt-outs/") => "DELETE",
        path if path.starts_with("/api/v1/nodes/") => "PUT, DELETE",
        path if path.starts_with("/api/v1/networks/") => "PUT",
        path if path.starts_with("/api/v1/devices/")
            && !path.ends_with("/data")
            && !path.ends_with("/visits") =>
        {
            "DELETE"
        }
        _ => "GET, HEAD",
    };
    Err(AppError::MethodNotAllowed(allow))
}

/// The query string as typed parameters. A value of the wrong type, or a required one
/// missing, is a 400 naming the parameter.
pub(crate) fn parse_query<T: serde::de::DeserializeOwned>(
    query_string: &str,
) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query_string.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        // serde reports a missing field at the root of the query, naming it in the message.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        match missing {
            Some(field) if path == "." => AppError::parameter(field, "is required"),
            _ => AppError::parameter(path, message),
        }
    })
}

/// A MAC parameter, any case, `:` or `-` separated.
pub(crate) fn mac_parameter(name: &str, text: &str) -> Result<Mac, AppError> {
    Mac::parse(text).ok_or_else(|| {
        AppError::parameter(
            name,
            format!("must be a MAC address of 6 octets, like 00:1a:2b:3c:4d:5e, got {text:?}"),
        )
    })
}

/// The MAC a device named by `mac` is stored under: in `keyed` mode a MAC given to the
/// API may be a real one (its pseudonym is stored) or a pseudonym read off a page (see
/// `privacy::Privacy::candidates`); an index seek tells which. Also its stored
/// `randomized` flag, when it has rows.
pub(crate) async fn stored_mac(
    state: &AppState,
    mac: Mac,
) -> Result<(Mac, Option<bool>), AppError> {
    let candidates = state.privacy.candidates(mac);
    if let [only] = candidates.as_slice() {
        return Ok((*only, None));
    }
    let found = state
        .db
        .run(move |conn| crate::db::probe_requests::stored_mac(conn, &candidates))
        .await?;
    Ok(match found {
        Some((stored, randomized)) => (stored, randomized),
        None => (state.privacy.stored(mac), None),
    })
}

/// A filter's MAC as stored ([`stored_mac`]).
pub(crate) async fn stored_filter(
    state: &AppState,
    mut filter: crate::db::probe_requests::Filter,
) -> Result<crate::db::probe_requests::Filter, AppError> {
    if let Some(mac) = filter.mac.as_deref().and_then(Mac::parse) {
        filter.mac = Some(stored_mac(state, mac).await?.0.to_string());
    }
    Ok(filter)
}

/// A filter narrowed to the access points now in `zone` (none: no row matches).
pub(crate) async fn zone_filter(
    state: &AppState,
    mut filter: crate::db::probe_requests::Filter,
    zone: Option<&str>,
) -> Result<crate::db::probe_requests::Filter, AppError> {
    if let Some(zone) = zone {
        let zone = places::label_parameter("zone", zone)?;
        let nodes = state
            .db
            .run(move |conn| crate::db::places::zone_nodes(conn, &zone))
            .await?;
        let most = crate::db::probe_requests::MAX_NODES_PER_FILTER;
        if nodes.len() > most {
            return Err(AppError::parameter(
                "zone",
                format!(
                    "the zone has {} access points; the list, the count and the export take \
                     zones of at most {most} (filter by node_mac or network_id instead)",
                    nodes.len()
                ),
            ));
        }
        filter.node_macs = Some(nodes);
    }
    Ok(filter)
}

/// An optional integer parameter that must not be negative.
pub(crate) fn non_negative(name: &str, value: Option<i64>) -> Result<Option<i64>, AppError> {
    match value {
        Some(v) if v < 0 => Err(AppError::parameter(
            name,
            format!("must not be negative, got {v}"),
        )),
        other => Ok(other),
    }
}

/// Reads the whole body, refusing it as soon as it exceeds `limit` bytes (or announces
/// that it will), so that an oversized post never sits in memory, and when it has not
/// arrived within `timeout`. The buffer grows with the bytes that arrive, never by the
/// length a client announces.
pub(crate) async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    timeout: Duration,
) -> Result<BytesMut, AppError> {
    let too_large = AppError::PayloadTooLarge { limit };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large);
    }
    // One timer for the whole body, not one per chunk.
    tokio::time::timeout(timeout, async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|error| AppError::UnreadableBody(error.to_string()))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
    .await
    .unwrap_or(Err(AppError::BodyTimeout {
        limit_s: timeout.as_secs(),
    }))
}
