//! The OpenAPI document of the REST API and the webhook, generated from the handlers'
//! `#[utoipa::path]` annotations. `openapi.yaml` at the repository root is its committed
//! rendering (`ncompass openapi > openapi.yaml`); a test fails when the two drift apart.

use utoipa::OpenApi;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "NCompass",
        description = "Receives CloudTrax Presence Reporting posts (the webhook), stores every probe \
request, and serves them as JSON.\n\n\
All times are Unix seconds (UTC). MACs are returned in canonical form (lower case, colon \
separated) and accepted in any case with `:` or `-` separators. A *randomized* MAC is a \
locally administered one (bit 0x02 of the first octet set), as phones use while scanning.\n\n\
Every error response is an RFC 9457 `application/problem+json` document; `field` names the \
offending JSON path of a request body, `parameter` the offending query or path parameter.",
        license(name = "MIT"),
    ),
    paths(
        routes::webhook::receive,
        routes::webhook::receive_legacy,
        routes::probe_requests::list,
        routes::probe_requests::get,
        routes::export::export,
        routes::nodes::list,
        routes::samples::create,
        routes::stats::summary,
        routes::stats::series,
        routes::stats::dwell_histogram,
        routes::stats::nodes,
        routes::stats::device_visits,
        routes::rejections::list,
        routes::health::health,
        routes::metrics::metrics,
        routes::docs::openapi_json,
    ),
    components(schemas(
        api_types::ProbeRequest,
        api_types::ProbeRequestPage,
        api_types::Node,
        api_types::NodeList,
        api_types::IngestResult,
        api_types::Health,
        api_types::WriterStatus,
        api_types::Problem,
        api_types::Rejection,
        api_types::RejectionList,
        routes::export::ExportFormat,
        api_types::StatsSummary,
        api_types::StatsSeries,
        api_types::DwellBucket,
        api_types::DwellHistogram,
        api_types::NodeStats,
        api_types::NodeStatsList,
        api_types::DeviceVisit,
        api_types::DeviceVisits,
    )),
    tags(
        (name = "webhook", description = "Where CloudTrax access points post their reports"),
        (name = "probe requests", description = "The stored observations, and the access points that made them"),
        (name = "analytics", description = "Presence figures computed from the stored probe requests"),
        (name = "service", description = "Health and self-description"),
    )
)]
pub struct ApiDoc;

/// The document as YAML, exactly as committed in `openapi.yaml`.
pub fn yaml() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    Ok(ApiDoc::openapi().to_yaml()?)
}

/// The document as JSON, as served at `/api/v1/openapi.json`.
pub fn json() -> Result<String, serde_json::Error> {
    ApiDoc::openapi().to_json()
}
