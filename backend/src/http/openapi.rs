//! The OpenAPI document of the REST API and the webhook, generated from the handlers'
//! `#[utoipa::path]` annotations. `openapi.yaml` at the repository root is its committed
//! rendering (`ncompass openapi > openapi.yaml`); a test fails when the two drift apart.

use api_types::Role;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, Ref, RefOr, ResponseBuilder, SecurityRequirement,
};
use utoipa::{Modify, OpenApi};

use crate::http::auth::access::{self, Access};
use crate::http::routes;
use crate::http::routes::places::MAX_LABEL_CHARS;

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
offending JSON path of a request body, `parameter` the offending query or path parameter. \
A method a path does not list is answered 405 with an `Allow` header; every `GET` also \
answers `HEAD`. Query parameters an operation does not name are ignored.\n\n\
**Authentication.** Programs send an API token, created on the server with `ncompass token \
create --name NAME --role viewer`, in the `Authorization` header: `curl -H \"Authorization: \
Bearer $TOKEN\" \"$NCOMPASS_URL/api/v1/probe-requests?limit=10\"`. The dashboard \
signs people in with `POST /api/v1/session` and the `ncompass_session` cookie. The role \
`viewer` reads everything; `admin` also changes data. Each operation lists the role it needs \
under `security`; without a credential it answers 401 (with `WWW-Authenticate: Bearer`), \
with a credential lacking the role 403. The webhook (signed with the shared secret instead), \
`/api/v1/health`, `/api/v1/privacy`, sign-in and this documentation need no credential. While no account and no \
token exist (protected mode) the server answers only clients on its own machine, and those \
need no credential.",
        license(name = "MIT"),
    ),
    paths(
        routes::webhook::receive,
        routes::webhook::receive_legacy,
        routes::meraki::validate,
        routes::meraki::receive,
        routes::probe_requests::list,
        routes::probe_requests::get,
        routes::export::export,
        routes::probe_requests::count,
        routes::nodes::list,
        routes::places::put_node,
        routes::places::forget_node,
        routes::places::list,
        routes::places::put_network,
        routes::samples::create,
        routes::stats::now::now,
        routes::stats::range::summary,
        routes::stats::range::series,
        routes::stats::range::dwell_histogram,
        routes::stats::range::nodes,
        routes::stats::rankings::zones,
        routes::stats::rankings::networks,
        routes::stats::device::device_visits,
        routes::rejections::list,
        routes::session::sign_in,
        routes::session::current,
        routes::session::sign_out,
        routes::personal_data::erase_device,
        routes::personal_data::device_data,
        routes::personal_data::list_opt_outs,
        routes::personal_data::add_opt_out,
        routes::personal_data::remove_opt_out,
        routes::ground_truth::add,
        routes::ground_truth::list,
        routes::ground_truth::remove,
        routes::sources::list,
        routes::sources::add,
        routes::sources::remove,
        routes::health::health,
        routes::health::privacy,
        routes::metrics::metrics,
        routes::docs::openapi_json,
    ),
    components(schemas(
        api_types::ProbeRequest,
        api_types::ProbeRequestPage,
        api_types::ProbeRequestCount,
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
        api_types::ZoneFigures,
        api_types::ZoneRanking,
        api_types::NetworkFigures,
        api_types::NetworkRanking,
        api_types::Compared,
        api_types::FigureChange,
        api_types::DeviceVisit,
        api_types::DeviceVisits,
        api_types::Role,
        api_types::AuthMethod,
        api_types::SessionInfo,
        api_types::SignIn,
        api_types::PrivacySummary,
        api_types::OptOut,
        api_types::OptOutList,
        api_types::NewOptOut,
        api_types::Erasure,
        api_types::StoredSegment,
        api_types::DeviceData,
        api_types::Network,
        api_types::NetworkList,
        api_types::NetworkSettings,
        api_types::NodeSettings,
        api_types::NodeLabel,
        api_types::NowStats,
        api_types::ZoneNow,
        routes::webhook::Report,
        routes::webhook::ReportedProbeRequest,
        api_types::Vendor,
        api_types::Source,
        api_types::SourceList,
        api_types::NewSource,
        api_types::MerakiIngestResult,
    )),
    modifiers(&Security, &Parameters),
    tags(
        (name = "webhook", description = "Where access points post: CloudTrax reports (`/receive`) and Meraki Scanning API posts (`/meraki/{name}`)"),
        (name = "probe requests", description = "The stored observations, and the access points that made them"),
        (name = "analytics", description = "Presence figures computed from the stored probe requests"),
        (name = "places", description = "Networks and access points in the operator's words: names, zones, time zones"),
        (name = "access", description = "Signing in to the dashboard, and who the caller is"),
        (name = "privacy", description = "A device owner's requests: what is stored about a MAC, erasing it, and the opt-out list"),
        (name = "sources", description = "Vendor sources: the Meraki receivers an administrator configures"),
        (name = "service", description = "Health and self-description"),
    )
)]
pub struct ApiDoc;

/// Declares the two ways to authenticate (`bearer`: an API token; `session`: the
/// dashboard's cookie) and, from the guard's own rules ([`access::required`]), what each
/// operation needs: its security requirement names the role, and its 401 and 403
/// answers are added.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`ncp_…`) from `ncompass token create`, as \
                         `Authorization: Bearer TOKEN`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::http::auth::SESSION_COOKIE,
                "The dashboard's session, set by `POST /api/v1/session`",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Delete, &mut item.delete),
                (HttpMethod::Patch, &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let method = match method {
                    HttpMethod::Get => actix_web::http::Method::GET,
                    HttpMethod::Post => actix_web::http::Method::POST,
                    HttpMethod::Put => actix_web::http::Method::PUT,
                    HttpMethod::Delete => actix_web::http::Method::DELETE,
                    _ => actix_web::http::Method::PATCH,
                };
                let Access::Role(role) = access::required(&method, path) else {
                    continue;
                };
                operation.security = Some(vec![
                    SecurityRequirement::new("bearer", [role.as_str()]),
                    SecurityRequirement::new("session", [role.as_str()]),
                ]);
                let responses = &mut operation.responses.responses;
                responses.entry("401".to_string()).or_insert_with(|| {
                    problem("No credential, or one that is unknown, expired or revoked")
                });
                let forbidden = match role {
                    Role::Admin => "The credential lacks the admin role, or the request came from another site's page, or protected mode refused a client away from the server",
                    Role::Viewer => "Protected mode refused a client away from the server",
                };
                responses
                    .entry("403".to_string())
                    .or_insert_with(|| problem(forbidden));
            }
        }
    }
}

/// A MAC as the API takes it: six octets in hex, any case, separated all by `:` or all
/// by `-` (`cloudtrax::Mac::parse`).
pub const MAC_PATTERN: &str =
    "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$|^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}$";

/// The characters a label may not hold (`routes::places` `is_hidden` looks them up in
/// the Unicode character database), as a regular expression's class members: control
/// (Cc) and format (Cf) characters, line and paragraph separators (Zl, Zp), private-use
/// (Co) and unassigned (Cn) code points, and every default-ignorable one (zero-width,
/// fillers, variation selectors, tags).
macro_rules! label_forbidden {
    () => {
        "\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Co}\\p{Cn}\\p{Default_Ignorable_Code_Point}"
    };
}
pub const LABEL_FORBIDDEN: &str = label_forbidden!();

/// A name or zone (`routes::places` `label_problem`): 1 to 100 characters, not blank,
/// none of [`LABEL_FORBIDDEN`], and its first non-space character is not `=`, `+`, `-`
/// or `@` (a spreadsheet would take it for a formula). Unicode property escapes: match
/// it with the `u` flag (ECMA-262).
pub const LABEL_PATTERN: &str = concat!(
    "^[^\\S",
    label_forbidden!(),
    "]*",
    "[^\\s=+@\\-",
    label_forbidden!(),
    "]",
    "[^",
    label_forbidden!(),
    "]*$"
);

/// A cursor as the server hands them out: base64url without padding.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]+$";

/// The contract of the values every operation shares, said once here rather than on
/// each query struct and body: the schemas `Mac` ([`MAC_PATTERN`]), `Label`
/// ([`LABEL_PATTERN`]) and `Cursor`, and every parameter named `mac` or `node_mac`, `zone`
/// or `cursor` (query or path), and the MACs, names and zones of request bodies, refer to
/// them.
struct Parameters;

impl Modify for Parameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
        let string = |description: &str, pattern: &str, min: usize, max: Option<usize>| {
            Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(description))
                    .pattern(Some(pattern))
                    .min_length(Some(min))
                    .max_length(max)
                    .build(),
            )
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(
            "Mac".to_string(),
            RefOr::T(string(
                "A MAC address: six octets in hex, any case, separated all by `:` or all by `-`.",
                MAC_PATTERN,
                17,
                Some(17),
            )),
        );
        components.schemas.insert(
            "Label".to_string(),
            RefOr::T(string(
                "A name or zone: 1 to 100 characters, not blank, with no control or format \
                 characters (bidi overrides, zero-width), line or paragraph separators, \
                 private-use, unassigned or default-ignorable code points (fillers, \
                 variation selectors, tags), as the Unicode character database classes \
                 them; not starting with `=`, `+`, `-` or `@` (a spreadsheet would take it \
                 for a formula). Leading and trailing spaces are trimmed. The pattern uses \
                 Unicode property escapes (ECMA-262 `u` flag).",
                LABEL_PATTERN,
                1,
                Some(MAX_LABEL_CHARS),
            )),
        );
        components.schemas.insert(
            "Cursor".to_string(),
            RefOr::T(string(
                "A page cursor exactly as a previous page's `next_cursor` gave it; any other \
                 value is refused (400).",
                CURSOR_PATTERN,
                1,
                None,
            )),
        );
        let to = |name: &str| RefOr::Ref(Ref::from_schema_name(name));
        // The same, where request bodies hold them (a label there may be null: none).
        let nullable_label = RefOr::T(Schema::OneOf(
            utoipa::openapi::schema::OneOfBuilder::new()
                .item(to("Label"))
                .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)))
                .build(),
        ));
        let bodies = [
            ("Report", "node_mac", to("Mac")),
            ("ReportedProbeRequest", "mac", to("Mac")),
            ("NewOptOut", "mac", to("Mac")),
            ("NodeSettings", "name", nullable_label.clone()),
            ("NodeSettings", "zone", nullable_label.clone()),
            ("NetworkSettings", "name", nullable_label.clone()),
            ("NewGroundTruth", "zone", nullable_label),
            ("NewGroundTruth", "source", to("Label")),
        ];
        for (schema, property, value) in bodies {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) {
                // The property's own words stay beside the shared schema.
                let description = match object.properties.get(property) {
                    Some(RefOr::T(Schema::Object(old))) => old.description.clone(),
                    _ => None,
                };
                let value = match value {
                    RefOr::Ref(mut shared) => {
                        shared.description = description.unwrap_or_default();
                        RefOr::Ref(shared)
                    }
                    RefOr::T(Schema::OneOf(mut either)) => {
                        either.description = description;
                        RefOr::T(Schema::OneOf(either))
                    }
                    other => other,
                };
                object.properties.insert(property.to_string(), value);
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                // A query parameter a path parameter of the same name overrides (the
                // device visits' `network_id`) is not one a client can set.
                if let Some(parameters) = operation.parameters.as_mut() {
                    let in_path: Vec<String> = parameters
                        .iter()
                        .filter(|p| p.parameter_in == ParameterIn::Path)
                        .map(|p| p.name.clone())
                        .collect();
                    parameters.retain(|p| {
                        p.parameter_in == ParameterIn::Path || !in_path.contains(&p.name)
                    });
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    let schema = match parameter.name.as_str() {
                        "mac" | "node_mac" => "Mac",
                        "zone" => "Label",
                        "cursor" => "Cursor",
                        _ => continue,
                    };
                    parameter.schema = Some(to(schema));
                }
            }
        }
    }
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                api_types::PROBLEM_CONTENT_TYPE,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// The document as YAML, exactly as committed in `openapi.yaml`.
pub fn yaml() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    Ok(ApiDoc::openapi().to_yaml()?)
}

/// The document as JSON, as served at `/api/v1/openapi.json`.
pub fn json() -> Result<String, serde_json::Error> {
    ApiDoc::openapi().to_json()
}
