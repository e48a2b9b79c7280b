//! Listing and reading stored probe requests.

use actix_web::web::{Data, Json, Path};
use actix_web::HttpRequest;
use api_types::{
    ProbeRequest, ProbeRequestCount, ProbeRequestPage, ProbeRequestQuery, DEFAULT_PAGE_SIZE,
    MAX_COUNT, MAX_PAGE_SIZE,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::{mac_parameter, non_negative, parse_query, AppState};
use crate::db;
use crate::db::probe_requests::{Filter, Position};
use crate::http::error::AppError;

/// List probe requests
///
/// Stored probe requests, newest `last_seen` first (ties: newest stored first), one page
/// at a time. Follow `next_cursor` for older pages: a page costs the same at any depth,
/// and rows stored while you walk never make a row repeat or go missing.
#[utoipa::path(
    get,
    path = "/api/v1/probe-requests",
    tag = "probe requests",
    operation_id = "list_probe_requests",
    params(ProbeRequestQuery),
    responses(
        (status = 200, description = "One page of probe requests", body = ProbeRequestPage),
        (status = 400, description = "A query parameter is not acceptable (`zone` empty or longer than 100 characters); `parameter` names it", body = api_types::Problem, content_type = "application/problem+json",
         example = json!({"type": "about:blank", "title": "Bad Request", "status": 400,
                          "detail": "must be from 1 to 1000, got 0", "parameter": "limit"})),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<ProbeRequestPage>, AppError> {
    let query: ProbeRequestQuery = parse_query(request.query_string())?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(AppError::parameter(
            "limit",
            format!("must be from 1 to {MAX_PAGE_SIZE}, got {limit}"),
        ));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = resolved_filter(&state, &query).await?;
    let page = state
        .db
        .run(move |conn| {
            let mut page = db::probe_requests::list(conn, &filter, after, limit)?;
            let directory = db::places::directory(conn)?;
            page.items.iter_mut().for_each(|row| directory.label(row));
            db::devices::describe(conn, &mut page.items)?;
            Ok(page)
        })
        .await?;
    let mut items = page.items;
    items.iter_mut().for_each(|row| state.label_vendor(row));
    Ok(Json(ProbeRequestPage {
        items,
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// The list's filters without paging: the query parameters of the export and the count.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// Client MAC, exact match; any case, `:` or `-` separators.
    mac: Option<String>,
    /// Access point MAC, exact match; any case, `:` or `-` separators.
    node_mac: Option<String>,
    /// Only probe requests heard by the access points now in this zone.
    zone: Option<String>,
    /// Network id: CloudTrax's, or negative for a Meraki network.
    network_id: Option<i64>,
    /// Only rows reported by this vendor's access points.
    source_vendor: Option<api_types::Vendor>,
    /// Only clients connected (`true`) or not (`false`).
    associated: Option<bool>,
    /// Only randomized (`true`) or globally unique (`false`) client MACs.
    randomized: Option<bool>,
    /// Only probe requests last seen at or after this time, Unix seconds.
    #[param(minimum = 0)]
    since: Option<i64>,
    /// Only probe requests last seen at or before this time, Unix seconds.
    #[param(minimum = 0)]
    until: Option<i64>,
}

impl FilterQuery {
    /// The validated filter, with the client MAC as stored and the zone as its access
    /// points.
    pub(super) async fn resolve(self, state: &AppState) -> Result<Filter, AppError> {
        let query = ProbeRequestQuery {
            mac: self.mac,
            node_mac: self.node_mac,
            zone: self.zone,
            network_id: self.network_id,
            source_vendor: self.source_vendor,
            associated: self.associated,
            randomized: self.randomized,
            since: self.since,
            until: self.until,
            ..ProbeRequestQuery::default()
        };
        resolved_filter(state, &query).await
    }
}

/// The validated filter of `query`, with the client MAC as stored and the zone as its
/// access points (the list's, the export's and the count's).
async fn resolved_filter(state: &AppState, query: &ProbeRequestQuery) -> Result<Filter, AppError> {
    let filter = super::stored_filter(state, filter(query)?).await?;
    super::zone_filter(state, filter, query.zone.as_deref()).await
}

/// Count probe requests
///
/// How many probe requests match the filters (the same as the list's and the export's),
/// counted up to 100,000: past that, `count` is 100000 and `exact` is false. Tells a
/// client how big an export will be before it starts one.
#[utoipa::path(
    get,
    path = "/api/v1/probe-requests/count",
    tag = "probe requests",
    operation_id = "count_probe_requests",
    params(FilterQuery),
    responses(
        (status = 200, description = "The number of matching rows", body = ProbeRequestCount),
        (status = 400, description = "A filter is not acceptable; `parameter` names it", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn count(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<Json<ProbeRequestCount>, AppError> {
    let filters: FilterQuery = parse_query(request.query_string())?;
    let filter = filters.resolve(&state).await?;
    let (count, exact) = state
        .db
        .run(move |conn| db::probe_requests::count(conn, &filter, MAX_COUNT))
        .await?;
    Ok(Json(ProbeRequestCount { count, exact }))
}

/// Get one probe request
#[utoipa::path(
    get,
    path = "/api/v1/probe-requests/{id}",
    tag = "probe requests",
    operation_id = "get_probe_request",
    params(("id" = i64, Path, description = "The probe request's `id`", example = 42)),
    responses(
        (status = 200, description = "The probe request", body = ProbeRequest),
        (status = 400, description = "`id` is not an integer", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No probe request has this id", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(id: Path<String>, state: Data<AppState>) -> Result<Json<ProbeRequest>, AppError> {
    let id: i64 = id.parse().map_err(|_| {
        AppError::parameter("id", format!("must be an integer, got {:?}", id.as_str()))
    })?;
    state
        .db
        .run(move |conn| {
            let mut row = db::probe_requests::find(conn, id)?;
            if let Some(row) = row.as_mut() {
                db::places::directory(conn)?.label(row);
                db::devices::describe(conn, std::slice::from_mut(row))?;
            }
            Ok(row)
        })
        .await?
        .map(|mut row| {
            state.label_vendor(&mut row);
            Json(row)
        })
        .ok_or_else(|| AppError::NotFound(format!("no probe request has id {id}")))
}

/// The validated filters of a query (shared with the export).
pub(super) fn filter(query: &ProbeRequestQuery) -> Result<Filter, AppError> {
    let mac = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|text| mac_parameter(name, text).map(|mac| mac.to_string()))
            .transpose()
    };
    let filter = Filter {
        mac: mac("mac", &query.mac)?,
        node_mac: mac("node_mac", &query.node_mac)?,
        node_macs: None,
        network_id: query.network_id,
        source_vendor: query.source_vendor,
        associated: query.associated,
        randomized: query.randomized,
        since: non_negative("since", query.since)?,
        until: non_negative("until", query.until)?,
    };
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since > until {
            return Err(AppError::parameter(
                "until",
                format!("must not be before since ({until} < {since})"),
            ));
        }
    }
    Ok(filter)
}

/// Cursors are opaque to clients: base64url of `last_seen:id` of the last row served.
fn encode_cursor(position: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", position.last_seen, position.id))
}

fn decode_cursor(cursor: &str) -> Result<Position, AppError> {
    let invalid = || {
        AppError::parameter(
            "cursor",
            "is not a cursor this server handed out; pass next_cursor from a previous page unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (last_seen, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok(Position {
        last_seen: last_seen.parse().map_err(|_| invalid())?,
        id: id.parse().map_err(|_| invalid())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let position = Position {
            last_seen: 1455845811,
            id: 42,
        };
        assert_eq!(decode_cursor(&encode_cursor(position)).unwrap(), position);
        for bad in ["", "abc", "MTIz", "!!!!", &URL_SAFE_NO_PAD.encode("1:x")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let parameter = |query: &str| match parse_query(query).and_then(|q| filter(&q)) {
            Err(AppError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("{query}: {other:?}"),
        };
        // Meraki networks are numbered below zero.
        let meraki = parse_query("network_id=-1&source_vendor=meraki").and_then(|q| filter(&q));
        assert!(
            matches!(&meraki, Ok(f) if f.network_id == Some(-1) && f.source_vendor == Some(api_types::Vendor::Meraki)),
            "{meraki:?}"
        );
        assert_eq!(parameter("limit=abc"), "limit");
        assert_eq!(parameter("limit=-1"), "limit");
        assert_eq!(parameter("network_id=x"), "network_id");
        assert_eq!(parameter("source_vendor=aruba"), "source_vendor");
        assert_eq!(parameter("associated=yes"), "associated");
        assert_eq!(parameter("randomized=2"), "randomized");
        assert_eq!(parameter("since=yesterday"), "since");
        assert_eq!(parameter("since=10&until=5"), "until");
        assert_eq!(parameter("mac=00:11"), "mac");
        assert_eq!(parameter("node_mac=zz:zz:zz:zz:zz:zz"), "node_mac");
    }

    #[test]
    fn macs_are_matched_canonically() {
        let query =
            parse_query("mac=00-1A-2B-3C-4D-5E&node_mac=AC%3A86%3A74%3A61%3A4F%3AC0&unknown=1")
                .unwrap();
        let filter = filter(&query).unwrap();
        assert_eq!(filter.mac.as_deref(), Some("00:1a:2b:3c:4d:5e"));
        assert_eq!(filter.node_mac.as_deref(), Some("ac:86:74:61:4f:c0"));
    }
}
