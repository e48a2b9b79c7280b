//! The view's state as it lives in the URL. The query string uses the API's own
//! parameter names, so a dashboard URL and an API URL say the same thing, and the
//! original receiver's `/?limit=100` and `/filter?mac=..&node_mac=..` keep working.

use api_types::{ProbeRequestQuery, MAX_PAGE_SIZE};

/// Reads a query string (with or without the leading `?`) leniently: a value that
/// cannot be right (a limit of `ten`, a negative network) is left out rather than
/// breaking the page. MACs are kept as typed; the server judges them.
pub fn parse(query_string: &str) -> ProbeRequestQuery {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query_string.trim_start_matches('?')).unwrap_or_default();
    let mut query = ProbeRequestQuery::default();
    for (key, value) in pairs {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let non_negative = || value.parse::<i64>().ok().filter(|v| *v >= 0);
        match key.as_str() {
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit))
            }
            "cursor" => query.cursor = Some(value.to_string()),
            "mac" => query.mac = Some(value.to_string()),
            "node_mac" => query.node_mac = Some(value.to_string()),
            "zone" => query.zone = Some(value.to_string()),
            // Meraki networks are numbered below zero.
            "network_id" => query.network_id = value.parse().ok(),
            "source_vendor" => query.source_vendor = api_types::Vendor::parse(value),
            "associated" => query.associated = boolean(value),
            "randomized" => query.randomized = boolean(value),
            "since" => query.since = non_negative(),
            "until" => query.until = non_negative(),
            _ => {}
        }
    }
    query
}

fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// The query string for `query`, without `?`; empty for the default view.
pub fn to_query_string(query: &ProbeRequestQuery) -> String {
    serde_urlencoded::to_string(query).unwrap_or_default()
}

/// The dashboard's page number in a query string (`page`, 2 or more; only with a
/// `cursor`): the label of a page opened from a link. The API never sees it.
pub fn page_number(query_string: &str) -> Option<usize> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query_string.trim_start_matches('?')).unwrap_or_default();
    pairs
        .into_iter()
        .find(|(key, _)| key == "page")
        .and_then(|(_, value)| value.trim().parse().ok())
        .filter(|number| *number >= 2)
}

/// The URL's query pairs for `query` shown as page `page` (the dashboard's own `page`
/// after the API's parameters; none for the newest page).
pub fn url_pairs(query: &ProbeRequestQuery, page: Option<usize>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&to_query_string(query)).unwrap_or_default();
    if let Some(number) = page.filter(|number| *number >= 2 && query.cursor.is_some()) {
        pairs.push(("page".to_string(), number.to_string()));
    }
    pairs
}

/// The same filters, from the first page.
pub fn first_page(query: &ProbeRequestQuery) -> ProbeRequestQuery {
    ProbeRequestQuery {
        cursor: None,
        ..query.clone()
    }
}

/// The view's filters alone: every page, whatever its size.
pub fn filters(query: &ProbeRequestQuery) -> ProbeRequestQuery {
    ProbeRequestQuery {
        limit: None,
        cursor: None,
        ..query.clone()
    }
}

/// The export of every row the view's filters match (all pages), in `format`.
pub fn export_url(query: &ProbeRequestQuery, format: &str) -> String {
    match to_query_string(&filters(query)).as_str() {
        "" => format!("/api/v1/probe-requests/export?format={format}"),
        rest => format!("/api/v1/probe-requests/export?format={format}&{rest}"),
    }
}

/// How many rows that export has (counted up to the server's cap).
pub fn count_url(query: &ProbeRequestQuery) -> String {
    match to_query_string(&filters(query)).as_str() {
        "" => "/api/v1/probe-requests/count".to_string(),
        rest => format!("/api/v1/probe-requests/count?{rest}"),
    }
}

/// Whether any filter narrows the view (page size and position aside).
pub fn is_filtered(query: &ProbeRequestQuery) -> bool {
    first_page(query)
        != ProbeRequestQuery {
            limit: query.limit,
            ..ProbeRequestQuery::default()
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_urls_open_the_equivalent_view() {
        let query = parse("?limit=100");
        assert_eq!(query.limit, Some(100));
        assert!(!is_filtered(&query));
        let query = parse("mac=00:1a:2b:3c:4d:5e&node_mac=AC:86:74:61:4F:C0");
        assert_eq!(query.mac.as_deref(), Some("00:1a:2b:3c:4d:5e"));
        assert_eq!(query.node_mac.as_deref(), Some("AC:86:74:61:4F:C0"));
        assert!(is_filtered(&query));
    }

    #[test]
    fn round_trips_through_the_url() {
        let query = ProbeRequestQuery {
            limit: Some(50),
            cursor: Some("MTQ1NTg0NTgxOToy".into()),
            mac: Some("00:1a:2b:3c:4d:5e".into()),
            node_mac: Some("ac:86:74:61:4f:c0".into()),
            zone: Some("Ground floor".into()),
            network_id: Some(179283),
            source_vendor: Some(api_types::Vendor::Meraki),
            associated: Some(true),
            randomized: Some(false),
            since: Some(1_455_845_000),
            until: Some(1_455_846_000),
        };
        assert_eq!(parse(&to_query_string(&query)), query);
        assert_eq!(to_query_string(&ProbeRequestQuery::default()), "");
    }

    #[test]
    fn bad_values_are_left_out() {
        let query = parse(
            "limit=ten&network_id=x&associated=maybe&since=yesterday&mac=&x=1&source_vendor=aruba",
        );
        assert_eq!(query, ProbeRequestQuery::default());
        assert_eq!(
            parse("network_id=-4").network_id,
            Some(-4),
            "a Meraki network"
        );
        assert_eq!(parse("limit=0").limit, None);
        assert_eq!(parse("limit=1001").limit, None);
        assert_eq!(parse("limit=1000").limit, Some(1000));
        assert_eq!(parse("associated=1&randomized=0").associated, Some(true));
    }

    #[test]
    fn the_export_takes_the_filters_but_not_the_paging() {
        let query = parse("cursor=abc&limit=20&mac=00:1a:2b:3c:4d:5e&associated=true");
        assert_eq!(
            export_url(&query, "csv"),
            "/api/v1/probe-requests/export?format=csv&mac=00%3A1a%3A2b%3A3c%3A4d%3A5e&associated=true"
        );
        assert_eq!(
            export_url(&ProbeRequestQuery::default(), "ndjson"),
            "/api/v1/probe-requests/export?format=ndjson"
        );
        assert_eq!(
            count_url(&query),
            "/api/v1/probe-requests/count?mac=00%3A1a%3A2b%3A3c%3A4d%3A5e&associated=true"
        );
        assert_eq!(
            count_url(&ProbeRequestQuery::default()),
            "/api/v1/probe-requests/count"
        );
    }

    #[test]
    fn the_page_number_rides_along_in_the_url_but_not_in_the_query() {
        let query = parse("cursor=abc&limit=20&page=3");
        assert_eq!(query.cursor.as_deref(), Some("abc"));
        assert_eq!(page_number("cursor=abc&limit=20&page=3"), Some(3));
        assert_eq!(page_number("?page=1"), None);
        assert_eq!(page_number("page=x"), None);
        let pairs = url_pairs(&query, Some(3));
        assert_eq!(
            serde_urlencoded::to_string(&pairs).unwrap(),
            "limit=20&cursor=abc&page=3"
        );
        assert_eq!(
            serde_urlencoded::to_string(url_pairs(&first_page(&query), Some(3))).unwrap(),
            "limit=20",
            "the newest page has no number in its URL"
        );
    }

    #[test]
    fn first_page_drops_only_the_cursor() {
        let query = parse("cursor=abc&mac=00:1a:2b:3c:4d:5e&limit=20");
        let first = first_page(&query);
        assert_eq!(first.cursor, None);
        assert_eq!(first.limit, Some(20));
        assert_eq!(first.mac, query.mac);
        assert!(!is_filtered(&parse("cursor=abc&limit=20")));
    }
}
