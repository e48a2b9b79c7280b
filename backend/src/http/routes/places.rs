//! Networks and access points in the operator's words: names, zones, time zones.

use actix_web::web::{Data, Json, Path, Payload};
use actix_web::HttpRequest;
use api_types::{Network, NetworkList, NetworkSettings, NodeLabel, NodeSettings};

use super::{mac_parameter, AppState};
use crate::db;
use crate::http::error::AppError;

/// Largest body of a PUT here.
const MAX_SETTINGS_BODY: usize = 4 * 1024;
/// Longest name or zone, in characters.
pub(crate) const MAX_LABEL_CHARS: usize = 100;

/// List networks
///
/// Every network that has reported or been given settings, by id: its name, its time
/// zone (presence analytics of the network count its local hours and days), its
/// access points and its latest report.
#[utoipa::path(
    get,
    path = "/api/v1/networks",
    tag = "places",
    operation_id = "list_networks",
    responses(
        (status = 200, description = "The networks", body = NetworkList),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(state: Data<AppState>) -> Result<Json<NetworkList>, AppError> {
    let items = state.db.run(db::places::networks).await?;
    Ok(Json(NetworkList { items }))
}

/// Name a network, set its time zone and opening hours
///
/// Replaces the network's name, time zone and opening hours (a field left out is
/// reset: no name, `UTC`, no opening hours). A network may be set up before it
/// reports. Its time zone is the default of every presence figure of it: hours and
/// days are the network's local ones unless a request gives `tz`. With opening hours
/// (in its time zone), its presence figures count only the visits that overlap them,
/// unless a request asks `hours=all`; the answer is stored and returned in canonical
/// form (intervals sorted, overlapping ones merged).
#[utoipa::path(
    put,
    path = "/api/v1/networks/{network_id}",
    tag = "places",
    operation_id = "put_network",
    params(("network_id" = i64, Path, description = "The network id: CloudTrax's, or negative for a Meraki network", example = 179283)),
    request_body(content = NetworkSettings, content_type = "application/json"),
    responses(
        (status = 200, description = "The network as now set", body = Network),
        (status = 400, description = "`network_id` is not an integer, or the body is not a JSON object", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 4 KiB", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`name`, `time_zone` or `opening_hours` is not acceptable; `field` names it (`opening_hours.mon` for one day's intervals)", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_network(
    path: Path<String>,
    request: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<Json<Network>, AppError> {
    let network_id: i64 = path
        .parse()
        .ok()
        .ok_or_else(|| AppError::parameter("network_id", "must be an integer"))?;
    let settings: NetworkSettings = read_json(&request, payload, &state).await?;
    let name = settings
        .name
        .as_deref()
        .map(|name| label_field("name", name))
        .transpose()?;
    let time_zone = match settings.time_zone.as_deref().map(str::trim) {
        None => db::places::DEFAULT_TIME_ZONE.to_string(),
        Some(text) => time_zone(text).ok_or_else(|| AppError::InvalidBody {
            field: Some("time_zone".to_string()),
            message: format!("{text:?} is not an IANA time zone name, like Europe/Berlin"),
        })?,
    };
    let opening_hours = settings
        .opening_hours
        .as_ref()
        .map(|hours| {
            crate::analytics::Schedule::parse(hours)
                .map(|schedule| schedule.to_api())
                .map_err(|error| AppError::InvalidBody {
                    field: Some(error.field),
                    message: error.message,
                })
        })
        .transpose()?;
    let network = state
        .db
        .run(move |conn| {
            db::places::put_network(
                conn,
                network_id,
                name.as_deref(),
                &time_zone,
                opening_hours.as_ref(),
            )?;
            let networks = db::places::networks(conn)?;
            Ok(networks
                .into_iter()
                .find(|network| network.network_id == network_id))
        })
        .await?
        .ok_or_else(|| AppError::internal("a network just set is missing"))?;
    tracing::info!(target: "ncompass::audit", network_id, name = ?network.name,
        time_zone = %network.time_zone, opening_hours = ?network.opening_hours,
        "network settings changed");
    Ok(Json(network))
}

/// Name an access point and place it in a zone
///
/// Replaces the access point's name and zone (a field left out is reset). Its zone is
/// its current one: every view and filter by zone, past data included, follows a move.
/// An access point may be named before it reports.
#[utoipa::path(
    put,
    path = "/api/v1/nodes/{node_mac}",
    tag = "places",
    operation_id = "put_node",
    params(("node_mac" = String, Path, description = "The access point's MAC, any case, `:` or `-`", example = "ac:86:74:61:4f:c0")),
    request_body(content = NodeSettings, content_type = "application/json"),
    responses(
        (status = 200, description = "The access point's name and zone as now set", body = NodeLabel),
        (status = 400, description = "`node_mac` is not a MAC, or the body is not a JSON object", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 4 KiB", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`name` or `zone` is not acceptable; `field` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put_node(
    path: Path<String>,
    request: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<Json<NodeLabel>, AppError> {
    let node_mac = mac_parameter("node_mac", &path)?.to_string();
    let settings: NodeSettings = read_json(&request, payload, &state).await?;
    let name = settings
        .name
        .as_deref()
        .map(|name| label_field("name", name))
        .transpose()?;
    let zone = settings
        .zone
        .as_deref()
        .map(|zone| label_field("zone", zone))
        .transpose()?;
    let label = state
        .db
        .run(move |conn| db::places::put_node(conn, &node_mac, name.as_deref(), zone.as_deref()))
        .await?;
    tracing::info!(target: "ncompass::audit", node_mac = %label.node_mac, name = ?label.name,
        zone = ?label.zone, "access point settings changed");
    Ok(Json(label))
}

/// Forget an access point
///
/// For an access point taken down, or moved to another network: removes it from
/// `/api/v1/nodes`, the silent list, `/metrics` and its alerts (in every network it
/// reported in). Its stored probe requests and its name and zone stay; it appears again
/// as soon as it reports.
#[utoipa::path(
    delete,
    path = "/api/v1/nodes/{node_mac}",
    tag = "places",
    operation_id = "forget_node",
    params(("node_mac" = String, Path, description = "The access point's MAC, any case, `:` or `-`", example = "ac:86:74:61:4f:c0")),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 400, description = "`node_mac` is not a MAC", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No access point with this MAC has reported", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forget_node(
    path: Path<String>,
    state: Data<AppState>,
) -> Result<actix_web::HttpResponse, AppError> {
    let node_mac = mac_parameter("node_mac", &path)?.to_string();
    let mac = node_mac.clone();
    let removed = state
        .db
        .run(move |conn| db::nodes::forget(conn, &mac))
        .await?;
    if removed == 0 {
        return Err(AppError::NotFound(format!(
            "no access point {node_mac} has reported"
        )));
    }
    tracing::info!(target: "ncompass::audit", node_mac = %node_mac, "access point forgotten");
    Ok(actix_web::HttpResponse::NoContent().finish())
}

async fn read_json<T: serde::de::DeserializeOwned>(
    request: &HttpRequest,
    payload: Payload,
    state: &AppState,
) -> Result<T, AppError> {
    let body = super::read_body(request, payload, MAX_SETTINGS_BODY, state.body_timeout).await?;
    let malformed = |error: &dyn std::fmt::Display| {
        AppError::MalformedBody(format!(
            "the body must be a JSON object with only the fields documented: {error}"
        ))
    };
    // An object, and only an object: serde would also fill a struct of optional fields
    // from an empty array. Read straight into `T` (not through a `Value`, which keeps
    // the last of two same-named keys): a key given twice is refused, as the webhook
    // refuses it.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(malformed(&"it is not an object"));
    }
    serde_json::from_slice(&body).map_err(|e| malformed(&e))
}

/// The canonical IANA name of `text` (any case), if it names a time zone.
pub fn time_zone(text: &str) -> Option<String> {
    let zone = jiff::tz::TimeZone::get(text).ok()?;
    Some(zone.iana_name().unwrap_or(text).to_string())
}

/// Why `text` cannot be a name or a zone, if it cannot.
pub(crate) fn label_problem(text: &str) -> Option<String> {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        Some("must not be empty (leave it out, or send null, for none)".to_string())
    } else if chars > MAX_LABEL_CHARS {
        Some(format!(
            "must be at most {MAX_LABEL_CHARS} characters, got {chars}"
        ))
    } else if text.chars().any(char::is_control) {
        Some("must not hold control characters (line breaks, tabs)".to_string())
    } else if let Some(hidden) = text.chars().find(|c| is_hidden(*c)) {
        // Invisible characters (bidi overrides, zero-width, fillers, tags) let one name
        // pass for another; unassigned and private-use ones show as anything.
        Some(format!(
            "must not hold invisible, unassigned or private-use characters (format \
             characters, line or paragraph separators, default-ignorable ones): \
             U+{:04X} is one",
            u32::from(hidden)
        ))
    } else if text.trim_start().starts_with(['=', '+', '-', '@']) {
        // A spreadsheet opening the CSV export would take it for a formula.
        Some("must not start with =, +, - or @".to_string())
    } else {
        None
    }
}

/// Whether a label may not hold `c`: the classes of
/// [`LABEL_FORBIDDEN`](crate::http::openapi::LABEL_FORBIDDEN), looked up in the Unicode
/// character database of regex-syntax (the regex crate's own tables), never a list of
/// our own.
fn is_hidden(c: char) -> bool {
    static RANGES: std::sync::LazyLock<Vec<(char, char)>> = std::sync::LazyLock::new(|| {
        let class = format!("[{}]", crate::http::openapi::LABEL_FORBIDDEN);
        match regex_syntax::parse(&class).map(|hir| hir.into_kind()) {
            Ok(regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class))) => {
                class
                    .ranges()
                    .iter()
                    .map(|r| (r.start(), r.end()))
                    .collect()
            }
            // The class is a constant that a unit test parses: this cannot happen.
            _ => Vec::new(),
        }
    });
    let ranges = &*RANGES;
    let at = ranges.partition_point(|(_, end)| *end < c);
    ranges.get(at).is_some_and(|(start, _)| *start <= c)
}

/// A name or zone of a request body, trimmed.
fn label_field(field: &str, text: &str) -> Result<String, AppError> {
    match label_problem(text) {
        Some(message) => Err(AppError::InvalidBody {
            field: Some(field.to_string()),
            message,
        }),
        None => Ok(text.trim().to_string()),
    }
}

/// A name or zone given as a query parameter, trimmed.
pub(crate) fn label_parameter(parameter: &str, text: &str) -> Result<String, AppError> {
    match label_problem(text) {
        Some(message) => Err(AppError::parameter(parameter, message)),
        None => Ok(text.trim().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(label_field("name", "  Entrance ").unwrap(), "Entrance");
        assert_eq!(label_field("name", "Café 2").unwrap(), "Café 2");
        for bad in [
            "",
            "   ",
            "a\nb",
            "=cmd()",
            "-1",
            "@x",
            "Caf\u{202E}e",
            "a\u{200B}b",
            // Found by a red team past the old hand-written list.
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{034F}b",
            "a\u{3164}b",
            "a\u{FFA0}b",
            "a\u{E0041}b",
            "a\u{E000}b",
            "a\u{0378}b",
            &"x".repeat(101),
        ] {
            assert!(label_field("name", bad).is_err(), "{bad:?}");
        }
        assert!(label_field("name", &"é".repeat(100)).is_ok());
        for good in [
            "Café ☕",
            "東京 1F",
            "Zürich Süd",
            "Кафе",
            "مقهى",
            "a\u{00A0}b",
        ] {
            assert!(label_field("name", good).is_ok(), "{good:?}");
        }
        assert!(is_hidden('\u{200B}') && is_hidden('\u{0000}') && !is_hidden('a'));
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            time_zone("America/New_York").as_deref(),
            Some("America/New_York")
        );
        assert_eq!(time_zone("UTC").as_deref(), Some("UTC"));
        assert_eq!(time_zone("Mars/Olympus"), None);
        assert_eq!(time_zone(""), None);
    }
}
