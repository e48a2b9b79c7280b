//! Reading probe requests: one by id, and filtered pages in keyset order
//! (`last_seen` descending, then `id` descending).

use api_types::ProbeRequest;
use diesel::prelude::*;

use super::Conn;
use super::MultiBackend;
use ncompass_core::cloudtrax::Mac;

use super::schema::probe_requests;

#[derive(Queryable, Selectable)]
#[diesel(table_name = probe_requests)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct Row {
    id: i64,
    network_id: i64,
    node_mac: String,
    mac: String,
    count: i64,
    min_signal: i32,
    max_signal: i32,
    avg_signal: i32,
    last_seen_signal: Option<i32>,
    first_seen: i64,
    last_seen: i64,
    associated: bool,
    randomized: bool,
}

impl From<Row> for ProbeRequest {
    fn from(row: Row) -> Self {
        ProbeRequest {
            id: row.id,
            network_id: row.network_id,
            node_mac: row.node_mac,
            mac: row.mac,
            count: row.count,
            min_signal: row.min_signal,
            max_signal: row.max_signal,
            avg_signal: row.avg_signal,
            last_seen_signal: row.last_seen_signal,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
            associated: row.associated,
            randomized: row.randomized,
            network_name: None,
            node_name: None,
            zone: None,
            source_vendor: api_types::Vendor::default(),
            manufacturer: None,
            os: None,
            ssid: None,
            vendor: None,
        }
    }
}

/// Validated filters; every one is optional and they combine with AND. MACs are
/// canonical (lower case, colons), as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub mac: Option<String>,
    pub node_mac: Option<String>,
    /// Any of these access points (a zone's).
    pub node_macs: Option<Vec<String>>,
    pub network_id: Option<i64>,
    /// Meraki networks are numbered below zero, CloudTrax's from zero up.
    pub source_vendor: Option<api_types::Vendor>,
    pub associated: Option<bool>,
    pub randomized: Option<bool>,
    /// `last_seen >= since`
    pub since: Option<i64>,
    /// `last_seen <= until`
    pub until: Option<i64>,
}

/// Where a page starts: strictly after (older than) this row in keyset order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub last_seen: i64,
    pub id: i64,
}

/// One page of rows, and where the next one starts if there are more.
pub struct Page {
    pub items: Vec<ProbeRequest>,
    pub next: Option<Position>,
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<ProbeRequest>> {
    probe_requests::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()
        .map(|row| row.map(ProbeRequest::from))
}

/// The page's query builders for backend `$db`: [`MultiBackend`] for serving, and
/// SQLite's own for the tests that read SQLite's plans.
macro_rules! page_query_builders {
    ($filtered:ident, $page_queries:ident, $zone_page_queries:ident, $db:ty) => {
        /// [`page_queries`] of the rows of any of `zone`'s access points, for a range scan
        /// of the keyset index: `|| ''` makes the IN list a filter on the rows scanned,
        /// never a reason to seek the access points' index and sort what it finds.
        fn $zone_page_queries(
            filter: &Filter,
            zone: &[String],
            after: Option<Position>,
        ) -> Vec<probe_requests::BoxedQuery<'static, $db>> {
            $page_queries(filter, after)
                .into_iter()
                .map(|query| {
                    query.filter(probe_requests::node_mac.concat("").eq_any(zone.to_vec()))
                })
                .collect()
        }

        /// The filters, without position or order.
        fn $filtered(filter: &Filter) -> probe_requests::BoxedQuery<'static, $db> {
            let mut query = probe_requests::table.into_boxed();
            if let Some(value) = &filter.mac {
                query = query.filter(probe_requests::mac.eq(value.clone()));
            }
            if let Some(value) = &filter.node_mac {
                query = query.filter(probe_requests::node_mac.eq(value.clone()));
            }
            if let Some(value) = filter.network_id {
                query = query.filter(probe_requests::network_id.eq(value));
            }
            // `+ 0`: a filter on the rows the keyset index walks, never a reason to seek
            // the network index and sort (one vendor's rows are most rows, or few).
            match filter.source_vendor {
                Some(api_types::Vendor::Meraki) => {
                    query = query.filter((probe_requests::network_id + 0).lt(0));
                }
                Some(api_types::Vendor::Cloudtrax) => {
                    query = query.filter((probe_requests::network_id + 0).ge(0));
                }
                None => {}
            }
            if let Some(value) = filter.associated {
                query = query.filter(probe_requests::associated.eq(value));
            }
            if let Some(value) = filter.randomized {
                query = query.filter(probe_requests::randomized.eq(value));
            }
            if let Some(value) = filter.since {
                query = query.filter(probe_requests::last_seen.ge(value));
            }
            if let Some(value) = filter.until {
                query = query.filter(probe_requests::last_seen.le(value));
            }
            query
        }

        /// The page's queries. Keyset order is (last_seen DESC, id DESC), and every index ends
        /// in (last_seen, rowid = id). After a cursor, one query would need
        /// `(last_seen, id) < (c.last_seen, c.id)`, which SQLite only seeks on last_seen: it
        /// then walks every row of the cursor's second, thousands when many access points
        /// report at once. Two queries that each seek exactly take its place:
        /// - the rest of the cursor's second: `last_seen = c.last_seen AND id < c.id`;
        /// - everything older: `last_seen < c.last_seen`.
        fn $page_queries(
            filter: &Filter,
            after: Option<Position>,
        ) -> Vec<probe_requests::BoxedQuery<'static, $db>> {
            let newest_first = (probe_requests::last_seen.desc(), probe_requests::id.desc());
            let Some(position) = after else {
                return vec![$filtered(filter).order(newest_first)];
            };
            let same_second = $filtered(filter)
                .filter(probe_requests::last_seen.eq(position.last_seen))
                .filter(probe_requests::id.lt(position.id))
                .order(newest_first);
            // One upper bound on last_seen, never two: given `until` and the cursor, SQLite
            // would seek from either and filter by the other, possibly walking from `until` down
            // to the cursor through every row already served.
            let older = match filter.until {
                Some(until) if until < position.last_seen => $filtered(filter),
                _ => $filtered(&Filter {
                    until: None,
                    ..filter.clone()
                })
                .filter(probe_requests::last_seen.lt(position.last_seen)),
            }
            .order(newest_first);
            vec![same_second, older]
        }
    };
}

page_query_builders!(filtered, page_queries, zone_page_queries, MultiBackend);
#[cfg(test)]
page_query_builders!(
    sqlite_filtered,
    sqlite_page_queries,
    sqlite_zone_page_queries,
    diesel::sqlite::Sqlite
);
#[cfg(test)]
page_query_builders!(
    pg_filtered,
    pg_page_queries,
    pg_zone_page_queries,
    diesel::pg::Pg
);

/// The most access points a filter by several (a zone's) may name (the list, the export,
/// the count): a page of a quiet zone costs an index seek per access point.
pub const MAX_NODES_PER_FILTER: usize = 1024;

/// A page of a zone of more access points than this first looks through a window of the
/// newest rows (see [`zone_rows`]); a smaller zone is walked access point by access point.
const ZONE_WALKS_UP_TO: usize = 16;

/// How many of the newest rows (after the cursor, other filters applied) a large zone's
/// page looks through in one index range scan before walking its access points.
const ZONE_SCAN_WINDOW: i64 = 4096;

/// Up to `limit` rows matching `filter`, newest `last_seen` first, starting after
/// `after`. Costs the same at any depth: no OFFSET, the cursor seeks into an index.
/// A filter by several access points (`node_macs`, a zone's): see [`zone_rows`].
pub fn list(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<Position>,
    limit: u32,
) -> QueryResult<Page> {
    list_in(conn, filter, after, limit, ZONE_SCAN_WINDOW)
}

/// [`list`] with a large zone's scan window given.
fn list_in(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<Position>,
    limit: u32,
    window: i64,
) -> QueryResult<Page> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    // One row more than asked tells whether another page follows.
    let wanted = limit.saturating_add(1);
    let mut rows = match &filter.node_macs {
        None => rows(conn, filter, after, wanted)?,
        Some(nodes) => {
            let nodes: Vec<&String> = match &filter.node_mac {
                Some(node) => nodes.iter().filter(|n| *n == node).collect(),
                None => nodes.iter().collect(),
            };
            let nodes = &nodes[..nodes.len().min(MAX_NODES_PER_FILTER)];
            let filter = Filter {
                node_mac: None,
                node_macs: None,
                ..filter.clone()
            };
            zone_rows(conn, &filter, nodes, after, wanted, window)?
        }
    };
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| Position {
            last_seen: row.last_seen,
            id: row.id,
        })
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(ProbeRequest::from).collect(),
        next,
    })
}

/// Up to `wanted` rows of any of `nodes` (a zone's access points) matching `filter`, in
/// keyset order after `after`. No index serves `node_mac IN (..)` in keyset order, and a
/// sort or a scan of the zone's rows would grow with the table, so:
/// - a zone of many access points is usually a good share of the traffic: its newest
///   rows are looked for among the newest `window` rows of the other filters (one range
///   scan of the keyset index, bounded);
/// - what that window did not hold (a quiet zone, a small one) comes from a walk of each
///   access point's index (`probe_requests_by_node`), keys only, merged; each walk stops
///   at the oldest key the page can still use.
fn zone_rows(
    conn: &mut Conn,
    filter: &Filter,
    nodes: &[&String],
    after: Option<Position>,
    wanted: usize,
    window: i64,
) -> QueryResult<Vec<Row>> {
    if nodes.len() <= ZONE_WALKS_UP_TO {
        return walks(conn, filter, nodes, after, wanted);
    }
    // The last_seen `window` rows into the walk of the other filters: newer rows are
    // found by one range scan. None: fewer rows remain, the scan holds them all.
    let mut ahead = filtered(filter);
    if let Some(position) = after {
        ahead = ahead.filter(probe_requests::last_seen.le(position.last_seen));
    }
    let bound: Option<i64> = ahead
        .order((probe_requests::last_seen.desc(), probe_requests::id.desc()))
        .select(probe_requests::last_seen)
        .offset(window)
        .first(conn)
        .optional()?;
    let window_filter = Filter {
        since: match (filter.since, bound) {
            (Some(since), Some(bound)) => Some(since.max(bound.saturating_add(1))),
            (since, bound) => since.or(bound.map(|bound| bound.saturating_add(1))),
        },
        ..filter.clone()
    };
    let zone: Vec<String> = nodes.iter().map(|node| (*node).clone()).collect();
    let mut found = first_rows(
        conn,
        zone_page_queries(&window_filter, &zone, after),
        wanted,
    )?;
    let Some(bound) = bound else {
        return Ok(found);
    };
    if found.len() == wanted {
        return Ok(found);
    }
    // The rest is at or before the bound.
    let rest = Filter {
        until: Some(filter.until.map_or(bound, |until| until.min(bound))),
        ..filter.clone()
    };
    let missing = wanted - found.len();
    found.extend(walks(conn, &rest, nodes, after, missing)?);
    Ok(found)
}

/// Up to `wanted` rows of any of `nodes` matching `filter`, in keyset order after
/// `after`: each access point's index walked for keys only, merged, then the page's
/// rows read by id.
fn walks(
    conn: &mut Conn,
    filter: &Filter,
    nodes: &[&String],
    after: Option<Position>,
    wanted: usize,
) -> QueryResult<Vec<Row>> {
    let newest_first = |keys: &mut Vec<(i64, i64)>| {
        keys.sort_unstable_by_key(|key| std::cmp::Reverse(*key));
        keys.truncate(wanted);
    };
    let mut keys: Vec<(i64, i64)> = Vec::new();
    for node in nodes {
        // Once the page is full, rows older than its oldest cannot make it.
        let since = match keys.last() {
            Some(&(oldest, _)) if keys.len() >= wanted => {
                Some(filter.since.map_or(oldest, |since| since.max(oldest)))
            }
            _ => filter.since,
        };
        let one = Filter {
            node_mac: Some((*node).clone()),
            since,
            ..filter.clone()
        };
        for query in page_queries(&one, after) {
            let found: Vec<(i64, i64)> = query
                .select((probe_requests::last_seen, probe_requests::id))
                .limit(i64::try_from(wanted).unwrap_or(i64::MAX))
                .load(conn)?;
            let full = found.len() >= wanted;
            keys.extend(found);
            if full {
                break;
            }
        }
        newest_first(&mut keys);
    }
    let (Some(&(newest, _)), Some(&(oldest, _))) = (keys.first(), keys.last()) else {
        return Ok(Vec::new());
    };
    // By id, within the keys' seconds (on PostgreSQL: only their day partitions).
    let mut rows: Vec<Row> = probe_requests::table
        .filter(probe_requests::last_seen.between(oldest, newest))
        .filter(probe_requests::id.eq_any(keys.iter().map(|key| key.1).collect::<Vec<_>>()))
        .select(Row::as_select())
        .load(conn)?;
    rows.sort_unstable_by_key(|row| std::cmp::Reverse((row.last_seen, row.id)));
    Ok(rows)
}

/// How many rows match `filter`, counting no further than `cap`: `(count, exact)`, where
/// `count` is `cap` and `exact` false when more match. Reads at most `cap + 1` ids from an
/// index, so its cost is bounded whatever the table holds. A filter by several access
/// points (a zone's) counts each one's rows, as [`list`] walks them.
pub fn count(conn: &mut Conn, filter: &Filter, cap: u64) -> QueryResult<(u64, bool)> {
    let wanted = cap.saturating_add(1);
    let walks: Vec<Filter> = match &filter.node_macs {
        None => vec![filter.clone()],
        Some(nodes) => nodes
            .iter()
            .filter(|node| filter.node_mac.as_ref().is_none_or(|only| only == *node))
            .take(MAX_NODES_PER_FILTER)
            .map(|node| Filter {
                node_mac: Some(node.clone()),
                node_macs: None,
                ..filter.clone()
            })
            .collect(),
    };
    let mut counted = 0u64;
    for walk in walks {
        let missing = wanted - counted;
        if missing == 0 {
            break;
        }
        let ids: Vec<i64> = filtered(&walk)
            .select(probe_requests::id)
            .limit(i64::try_from(missing).unwrap_or(i64::MAX))
            .load(conn)?;
        counted += ids.len() as u64;
    }
    Ok((counted.min(cap), counted <= cap))
}

/// Up to `wanted` rows of one keyset walk ([`page_queries`]).
fn rows(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<Position>,
    wanted: usize,
) -> QueryResult<Vec<Row>> {
    first_rows(conn, page_queries(filter, after), wanted)
}

/// Up to `wanted` rows of `queries` (a page's, in keyset order), each asked only for
/// what the ones before it left missing.
fn first_rows(
    conn: &mut Conn,
    queries: Vec<probe_requests::BoxedQuery<'static, MultiBackend>>,
    wanted: usize,
) -> QueryResult<Vec<Row>> {
    let mut rows: Vec<Row> = Vec::with_capacity(wanted.min(1001));
    for query in queries {
        let missing = wanted - rows.len();
        if missing == 0 {
            break;
        }
        rows.extend(
            query
                .select(Row::as_select())
                .limit(i64::try_from(missing).unwrap_or(i64::MAX))
                .load::<Row>(conn)?,
        );
    }
    Ok(rows)
}

/// Which of `candidates` (the MACs a device may be stored as, see
/// `privacy::Privacy::candidates`) is stored, in its probe requests or (once those are
/// past retention) its presence segments; with the `randomized` flag of its rows, when
/// it has rows. Index seeks only. `None` when none is.
pub fn stored_mac(conn: &mut Conn, candidates: &[Mac]) -> QueryResult<Option<(Mac, Option<bool>)>> {
    use super::schema::presence_segments;
    for candidate in candidates {
        let found: Option<bool> = probe_requests::table
            .filter(probe_requests::mac.eq(candidate.to_string()))
            .select(probe_requests::randomized)
            .first(conn)
            .optional()?;
        if let Some(randomized) = found {
            return Ok(Some((*candidate, Some(randomized))));
        }
    }
    for candidate in candidates {
        let segment: Option<i64> = presence_segments::table
            .filter(presence_segments::mac.eq(candidate.to_i64()))
            .select(presence_segments::day)
            .first(conn)
            .optional()?;
        if segment.is_some() {
            return Ok(Some((*candidate, None)));
        }
    }
    Ok(None)
}

/// What occupancy-now counts of one probe request.
#[derive(Debug, Clone, Queryable)]
pub struct Heard {
    pub network_id: i64,
    pub node_mac: String,
    pub mac: String,
    pub associated: bool,
    pub randomized: bool,
}

/// Up to `limit` probe requests last seen at or after `since` (of `network_id`, and of
/// one of `node_macs`, if given), by the `last_seen` index.
pub fn heard_since(
    conn: &mut Conn,
    since: i64,
    network_id: Option<i64>,
    node_macs: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<Heard>> {
    let mut query = probe_requests::table
        .filter(probe_requests::last_seen.ge(since))
        .select((
            probe_requests::network_id,
            probe_requests::node_mac,
            probe_requests::mac,
            probe_requests::associated,
            probe_requests::randomized,
        ))
        .limit(limit)
        .into_boxed::<MultiBackend>();
    if let Some(network_id) = network_id {
        query = query.filter(probe_requests::network_id.eq(network_id));
    }
    if let Some(node_macs) = node_macs {
        query = query.filter(probe_requests::node_mac.eq_any(node_macs.to_vec()));
    }
    query.load(conn)
}

/// Up to `limit` rows of any of `macs` (canonical text), newest first.
pub fn of_macs(conn: &mut Conn, macs: &[String], limit: i64) -> QueryResult<Vec<ProbeRequest>> {
    Ok(probe_requests::table
        .filter(probe_requests::mac.eq_any(macs))
        .order((probe_requests::last_seen.desc(), probe_requests::id.desc()))
        .limit(limit)
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(ProbeRequest::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;
    use diesel::sql_types::Text;
    use ncompass_core::cloudtrax::{parse_report, TimeRules};

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// SQLite's plans for the page queries with `filter`, one per query.
    fn plans(conn: &mut Conn, filter: &Filter, after: Option<Position>) -> Vec<String> {
        plans_of(conn, sqlite_page_queries(filter, after))
    }

    /// SQLite's plans for `queries`, one each.
    fn plans_of(
        conn: &mut Conn,
        queries: Vec<probe_requests::BoxedQuery<'static, diesel::sqlite::Sqlite>>,
    ) -> Vec<String> {
        queries
            .into_iter()
            .map(|query| {
                let query = query.select(Row::as_select()).limit(101);
                let debug = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
                // Drop the "-- binds: [...]" suffix; unbound parameters don't change a plan.
                let sql = debug.split(" -- binds:").next().unwrap().to_string();
                let plan = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load::<PlanStep>(conn)
                    .unwrap()
                    .into_iter()
                    .map(|step| step.detail)
                    .collect::<Vec<_>>()
                    .join("\n");
                format!("{sql}\n{plan}")
            })
            .collect()
    }

    #[test]
    fn a_count_is_exact_up_to_its_cap_and_says_when_it_stopped() {
        let (_dir, mut conn) = migrated();
        for (n, node) in ["ac:00:00:00:00:01", "ac:00:00:00:00:02"]
            .iter()
            .enumerate()
        {
            let probes: Vec<serde_json::Value> = (0..5)
                .map(|i| {
                    serde_json::json!({"mac": format!("00:11:22:33:{n:02x}:{i:02x}"),
                    "count": 1, "min_signal": -70, "max_signal": -60, "avg_signal": -65,
                    "first_seen": 1_700_000_000 + i, "last_seen": 1_700_000_000 + i,
                    "associated": i == 0})
                })
                .collect();
            let body = serde_json::json!({"network_id": 1, "node_mac": node, "version": 1,
                "probe_requests": probes});
            let report =
                parse_report(body.to_string().as_bytes(), &TimeRules::at(1_700_000_100)).unwrap();
            crate::reports::store(&mut conn, &report, 1_700_000_100).unwrap();
        }
        let all = Filter::default();
        assert_eq!(count(&mut conn, &all, 100).unwrap(), (10, true));
        assert_eq!(count(&mut conn, &all, 10).unwrap(), (10, true));
        assert_eq!(count(&mut conn, &all, 9).unwrap(), (9, false));
        assert_eq!(count(&mut conn, &all, 0).unwrap(), (0, false));
        let associated = Filter {
            associated: Some(true),
            ..Filter::default()
        };
        assert_eq!(count(&mut conn, &associated, 100).unwrap(), (2, true));
        let since = Filter {
            since: Some(1_700_000_003),
            ..Filter::default()
        };
        assert_eq!(count(&mut conn, &since, 100).unwrap(), (4, true));
        // A zone: each access point's rows, capped across them; none when it has none.
        let zone = Filter {
            node_macs: Some(vec!["ac:00:00:00:00:01".into(), "ac:00:00:00:00:02".into()]),
            ..Filter::default()
        };
        assert_eq!(count(&mut conn, &zone, 100).unwrap(), (10, true));
        assert_eq!(count(&mut conn, &zone, 7).unwrap(), (7, false));
        let one = Filter {
            node_mac: Some("ac:00:00:00:00:02".into()),
            ..zone.clone()
        };
        assert_eq!(count(&mut conn, &one, 100).unwrap(), (5, true));
        let empty = Filter {
            node_macs: Some(Vec::new()),
            ..Filter::default()
        };
        assert_eq!(count(&mut conn, &empty, 100).unwrap(), (0, true));
    }

    /// A zone of more access points than are walked one by one: its pages are the rows
    /// of its access points in keyset order, whether found in the window of the newest
    /// rows, in the walks after it, or both in one page.
    #[test]
    fn a_large_zone_pages_like_a_filter_on_its_access_points() {
        let (_dir, mut conn) = migrated();
        let node = |n: usize| format!("ac:00:00:00:01:{n:02x}");
        // 30 access points: the first 10 busy (a row a second for 200 s, at the end),
        // the others quiet (a few rows, long before).
        for n in 0..30 {
            let (first, rows, step) = if n < 10 {
                (1_700_001_000, 200, 1)
            } else {
                (1_700_000_000 + n as i64, 5, 7)
            };
            for chunk in 0..rows / 5 {
                let probes: Vec<serde_json::Value> = (0..5)
                    .map(|i| {
                        let at = first + (chunk * 5 + i) * step;
                        serde_json::json!({"mac": format!("00:11:22:{n:02x}:{chunk:02x}:{i:02x}"),
                        "count": 1, "min_signal": -70, "max_signal": -60, "avg_signal": -65,
                        "first_seen": at, "last_seen": at, "associated": false})
                    })
                    .collect();
                let body = serde_json::json!({"network_id": 1, "node_mac": node(n),
                    "version": 1, "probe_requests": probes});
                let report = ncompass_core::cloudtrax::parse_report(
                    body.to_string().as_bytes(),
                    &ncompass_core::cloudtrax::TimeRules::at(1_700_001_300),
                )
                .unwrap();
                crate::reports::store(&mut conn, &report, 1_700_001_300).unwrap();
            }
        }
        // Every other access point: 5 busy ones and 10 quiet ones, plus two that never
        // reported.
        let mut zone: Vec<String> = (0..30).step_by(2).map(node).collect();
        zone.extend([
            "ac:00:00:00:02:01".to_string(),
            "ac:00:00:00:02:02".to_string(),
        ]);
        assert!(zone.len() > ZONE_WALKS_UP_TO);
        let all = list(&mut conn, &Filter::default(), None, 10_000)
            .unwrap()
            .items;
        for since in [None, Some(1_700_000_050)] {
            let filter = Filter {
                node_macs: Some(zone.clone()),
                since,
                ..Filter::default()
            };
            let expected: Vec<(i64, i64)> = all
                .iter()
                .filter(|row| zone.contains(&row.node_mac))
                .filter(|row| since.is_none_or(|since| row.last_seen >= since))
                .map(|row| (row.last_seen, row.id))
                .collect();
            assert!(expected.len() > 1_000);
            // No window, a small one (pages from the window, from the walks, and from
            // both), one larger than the table.
            for window in [0, 150, 100_000] {
                for limit in [7, 100] {
                    let mut walked = Vec::new();
                    let mut after = None;
                    loop {
                        let page = list_in(&mut conn, &filter, after, limit, window).unwrap();
                        assert!(page.items.len() <= limit as usize);
                        walked.extend(page.items.iter().map(|row| (row.last_seen, row.id)));
                        match page.next {
                            Some(next) => after = Some(next),
                            None => break,
                        }
                    }
                    assert_eq!(
                        walked, expected,
                        "window {window}, limit {limit}, since {since:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_zone_pages_like_a_filter_on_its_access_points() {
        let (_dir, mut conn) = migrated();
        // Three access points reporting the same seconds, so pages split inside a second.
        for (n, node) in [
            "ac:00:00:00:00:01",
            "ac:00:00:00:00:02",
            "ac:00:00:00:00:03",
        ]
        .iter()
        .enumerate()
        {
            let probes: Vec<serde_json::Value> = (0..40)
                .map(|i| {
                    serde_json::json!({"mac": format!("00:11:22:33:{n:02x}:{i:02x}"),
                    "count": 1, "min_signal": -70, "max_signal": -60, "avg_signal": -65,
                    "first_seen": 1_700_000_000 + i / 3, "last_seen": 1_700_000_000 + i / 3,
                    "associated": false})
                })
                .collect();
            let body = serde_json::json!({"network_id": 1, "node_mac": node, "version": 1,
                "probe_requests": probes});
            let report = ncompass_core::cloudtrax::parse_report(
                body.to_string().as_bytes(),
                &ncompass_core::cloudtrax::TimeRules::at(1_700_000_100),
            )
            .unwrap();
            crate::reports::store(&mut conn, &report, 1_700_000_100).unwrap();
        }
        let zone = Filter {
            node_macs: Some(vec!["ac:00:00:00:00:01".into(), "ac:00:00:00:00:03".into()]),
            ..Filter::default()
        };
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = list(&mut conn, &zone, after, 7).unwrap();
            walked.extend(
                page.items
                    .iter()
                    .map(|row| (row.last_seen, row.id, row.node_mac.clone())),
            );
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<(i64, i64, String)> = list(&mut conn, &Filter::default(), None, 1000)
            .unwrap()
            .items
            .into_iter()
            .filter(|row| row.node_mac != "ac:00:00:00:00:02")
            .map(|row| (row.last_seen, row.id, row.node_mac))
            .collect();
        expected.sort_by_key(|row| std::cmp::Reverse((row.0, row.1)));
        assert_eq!(walked.len(), 80);
        assert_eq!(walked, expected);
        // With one access point named too: that one if in the zone, else none.
        let one = Filter {
            node_mac: Some("ac:00:00:00:00:03".into()),
            ..zone.clone()
        };
        assert_eq!(list(&mut conn, &one, None, 1000).unwrap().items.len(), 40);
        let outside = Filter {
            node_mac: Some("ac:00:00:00:00:02".into()),
            ..zone
        };
        assert!(list(&mut conn, &outside, None, 1000)
            .unwrap()
            .items
            .is_empty());
    }

    /// Every table the plan reads (each day partition and the default table, through
    /// the view) is read through its index ending in `index`.
    fn assert_every_table_uses(plan: &str, index: &str) {
        let reads: Vec<&str> = plan
            .lines()
            .filter(|line| line.starts_with("SCAN ") || line.starts_with("SEARCH "))
            .collect();
        // Today's and tomorrow's partitions, and the default table.
        assert!(reads.len() >= 3, "{plan}");
        for read in reads {
            let table = read.split_whitespace().nth(1).unwrap();
            let wanted = format!("{table}{index}");
            assert!(
                read.contains(" INDEX ") && read.split_whitespace().any(|word| word == wanted),
                "{read} does not use {table}{index}:\n{plan}"
            );
        }
    }

    #[test]
    fn every_filter_is_served_by_an_index_in_keyset_order() {
        let (_dir, mut conn) = migrated();
        let cases = [
            (Filter::default(), "_by_last_seen"),
            (
                Filter {
                    mac: Some("00:1a:2b:3c:4d:5e".into()),
                    ..Filter::default()
                },
                "_by_mac",
            ),
            (
                Filter {
                    node_mac: Some("ac:86:74:61:4f:c0".into()),
                    ..Filter::default()
                },
                "_by_node",
            ),
            (
                Filter {
                    network_id: Some(1),
                    ..Filter::default()
                },
                "_by_network",
            ),
            (
                Filter {
                    associated: Some(true),
                    ..Filter::default()
                },
                "_by_associated",
            ),
            (
                Filter {
                    randomized: Some(false),
                    ..Filter::default()
                },
                "_by_randomized",
            ),
            (
                Filter {
                    since: Some(1),
                    until: Some(2),
                    ..Filter::default()
                },
                "_by_last_seen",
            ),
        ];
        let cursor = Some(Position {
            last_seen: 5,
            id: 9,
        });
        for (filter, index) in cases {
            for after in [None, cursor] {
                for plan in plans(&mut conn, &filter, after) {
                    assert_every_table_uses(&plan, index);
                    assert!(
                        !plan.contains("TEMP B-TREE"),
                        "{filter:?} {after:?} sorts:\n{plan}"
                    );
                    if after.is_some() && plan.contains("last_seen` = ?") {
                        // The cursor's second is a seek on (.., last_seen, rowid), not a walk.
                        assert!(
                            plan.contains("rowid<?"),
                            "{filter:?} walks the second:\n{plan}"
                        );
                    }
                }
            }
        }
    }

    /// A large zone's window is one range scan of the keyset index, filtered by the zone:
    /// no seek into the access points' index, no sort.
    #[test]
    fn a_large_zones_window_is_a_range_scan_without_a_sort() {
        let (_dir, mut conn) = migrated();
        store_rows(&mut conn, 500);
        let zone: Vec<String> = (0..20).map(|n| format!("ac:00:00:00:01:{n:02x}")).collect();
        let filter = Filter {
            since: Some(40),
            ..Filter::default()
        };
        for after in [
            None,
            Some(Position {
                last_seen: 60,
                id: 9,
            }),
        ] {
            for plan in plans_of(&mut conn, sqlite_zone_page_queries(&filter, &zone, after)) {
                assert!(plan.contains("_by_last_seen"), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "sorts:\n{plan}");
            }
        }
    }

    /// `count` rows with last_seen = i / 7: seven rows per second, so that pages end in
    /// the middle of a second.
    fn store_rows(conn: &mut Conn, count: u32) {
        let mut report = parse_report(
            ncompass_core::cloudtrax::samples::V1,
            &TimeRules::at(ncompass_core::clock::unix_now()),
        )
        .unwrap();
        let template = report.probe_requests[0].clone();
        report.probe_requests = (0..count)
            .map(|i| {
                let mut probe = template.clone();
                probe.first_seen = i64::from(i / 7);
                probe.last_seen = i64::from(i / 7);
                let [.., b, c, d] = i.to_be_bytes();
                probe.mac = ncompass_core::cloudtrax::Mac::parse(&format!(
                    "00:00:00:{b:02x}:{c:02x}:{d:02x}"
                ))
                .unwrap();
                probe.randomized = false;
                probe
            })
            .collect();
        crate::reports::store(conn, &report, 1).unwrap();
    }

    #[test]
    fn pages_walk_every_row_once_in_order() {
        let (_dir, mut conn) = migrated();
        store_rows(&mut conn, 250);

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = list(&mut conn, &Filter::default(), after, 30).unwrap();
            seen.extend(page.items.iter().map(|p| (p.last_seen, p.id)));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 250);
        let mut expected = seen.clone();
        expected.sort_by(|a, b| b.cmp(a));
        expected.dedup();
        assert_eq!(seen, expected, "in keyset order, no repeats");
    }

    #[test]
    fn a_time_range_walks_exactly_its_rows() {
        let (_dir, mut conn) = migrated();
        store_rows(&mut conn, 300);
        for (since, until) in [
            (Some(5), Some(30)),
            (None, Some(12)),
            (Some(20), None),
            (Some(3), Some(3)),
        ] {
            let filter = Filter {
                since,
                until,
                ..Filter::default()
            };
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = list(&mut conn, &filter, after, 8).unwrap();
                seen.extend(page.items.iter().map(|p| p.last_seen));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let expected = (0..300i64)
                .map(|i| i / 7)
                .filter(|s| since.is_none_or(|v| *s >= v) && until.is_none_or(|v| *s <= v))
                .count();
            assert_eq!(seen.len(), expected, "{since:?}..{until:?}");
            assert!(seen
                .iter()
                .all(|s| since.is_none_or(|v| *s >= v) && until.is_none_or(|v| *s <= v)));
        }
    }

    #[test]
    fn find_returns_none_when_absent() {
        let (_dir, mut conn) = migrated();
        assert_eq!(find(&mut conn, 1).unwrap(), None);
    }

    /// PostgreSQL's plan of a page query, run (`EXPLAIN ANALYZE`, JSON) with its binds
    /// written in: the plan's nodes, and the rows its scans read.
    fn postgres_plan(conn: &mut Conn, query: String) -> (Vec<String>, f64) {
        #[derive(QueryableByName)]
        struct Plan {
            #[diesel(sql_type = Text)]
            plan: String,
        }
        fn walk(node: &serde_json::Value, kinds: &mut Vec<String>, read: &mut f64) {
            let kind = node["Node Type"].as_str().unwrap_or_default().to_string();
            if kind.contains("Scan") {
                *read += node["Actual Rows"].as_f64().unwrap_or(0.0)
                    * node["Actual Loops"].as_f64().unwrap_or(1.0);
            }
            kinds.push(kind);
            for child in node["Plans"].as_array().into_iter().flatten() {
                walk(child, kinds, read);
            }
        }
        let plan = diesel::sql_query("SELECT plan_of($1)::text AS plan")
            .bind::<Text, _>(&query)
            .get_result::<Plan>(conn)
            .unwrap();
        let plan: serde_json::Value = serde_json::from_str(&plan.plan).unwrap();
        let (mut kinds, mut read) = (Vec::new(), 0.0);
        walk(&plan[0]["Plan"], &mut kinds, &mut read);
        (kinds, read)
    }

    /// `debug_query`'s SQL with its binds in place of `$1`, `$2`, ... (integers, booleans,
    /// strings without quotes or commas, and arrays of those: what this test binds).
    fn with_binds(debug: &str) -> String {
        let (sql, binds) = debug.split_once(" -- binds: [").unwrap();
        let binds = binds.strip_suffix(']').unwrap();
        // Split at the top level only: an array bind is one bind.
        let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
        for c in binds.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        parts.push(current);
        let binds: Vec<String> = parts
            .iter()
            .map(|bind| {
                let bind = bind.trim().replace('"', "'");
                match bind.strip_prefix('[') {
                    Some(array) => format!("ARRAY[{array}"),
                    None => bind,
                }
            })
            .collect();
        let mut sql = sql.to_string();
        for (n, bind) in binds.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", n + 1), bind);
        }
        sql
    }

    /// On PostgreSQL (when the run has one: `NCOMPASS_TEST_POSTGRES`, see
    /// scripts/test-postgres.sh), the page queries the server runs are index scans into
    /// the day partitions and read about a page of rows, whether the page is the first
    /// or 1,500 pages deep in 200,000 rows.
    #[test]
    #[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
    fn postgres_pages_are_index_seeks_at_any_depth() {
        use diesel::connection::SimpleConnection;
        let url = crate::tests::postgres_database("ncompass_plans");
        crate::migrate(&url).unwrap();
        let mut conn = crate::connect(&url).unwrap();
        // 200,000 rows, one every 4 s over nine days, in their day partitions.
        let start = 1_764_000_000_i64;
        for day in 0..10 {
            crate::partitions::ensure(&mut conn, start + day * 86_400).unwrap();
        }
        conn.batch_execute(&format!(
            "INSERT INTO reports (network_id, node_mac, version, received_at, \
               probe_request_count, stored_count, duplicate_count) \
             VALUES (1, 'ac:00:00:00:00:01', 1, {start}, 0, 0, 0);
             INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, \
               min_signal, max_signal, avg_signal, first_seen, last_seen, associated, randomized) \
             SELECT (SELECT min(id) FROM reports), 1 + g % 3, 'ac:00:00:00:00:0' || (g % 8), \
               CASE WHEN g % 10 = 0 THEN '00:11:22:aa:aa:aa' ELSE \
               '00:11:22:' || lpad(to_hex(g / 65536), 2, '0') || ':' || \
               lpad(to_hex((g / 256) % 256), 2, '0') || ':' || lpad(to_hex(g % 256), 2, '0') END, \
               1, -70, -60, -65, {start} + g * 4, {start} + g * 4, g % 2 = 0, g % 5 = 0 \
             FROM generate_series(1, 200000) g;
             ANALYZE probe_requests;
             CREATE FUNCTION plan_of(q text) RETURNS json LANGUAGE plpgsql AS $$
               DECLARE p json;
               BEGIN EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO p; RETURN p; END $$;"
        ))
        .unwrap();
        let filters = [
            Filter::default(),
            Filter {
                node_mac: Some("ac:00:00:00:00:03".into()),
                ..Filter::default()
            },
            Filter {
                network_id: Some(2),
                ..Filter::default()
            },
            Filter {
                associated: Some(true),
                ..Filter::default()
            },
            Filter {
                randomized: Some(false),
                ..Filter::default()
            },
            // A resident device: a row in ten.
            Filter {
                mac: Some("00:11:22:aa:aa:aa".into()),
                ..Filter::default()
            },
            // A passer-by: one row.
            Filter {
                mac: Some("00:11:22:00:10:01".into()),
                ..Filter::default()
            },
            Filter {
                since: Some(start + 100_000),
                until: Some(start + 700_000),
                ..Filter::default()
            },
        ];
        for filter in filters {
            // The first page, and one 150,000 rows in (or the filter's last).
            let first = list(&mut conn, &filter, None, 100).unwrap();
            let mut deep = None;
            if first.next.is_some() {
                let rows = count(&mut conn, &filter, 1_000_000).unwrap().0;
                let depth = rows.saturating_sub(200).min(150_000);
                let row: (i64, i64) = filtered(&filter)
                    .select((probe_requests::last_seen, probe_requests::id))
                    .order((probe_requests::last_seen.desc(), probe_requests::id.desc()))
                    .offset(i64::try_from(depth).unwrap())
                    .first(&mut conn)
                    .unwrap();
                deep = Some(Position {
                    last_seen: row.0,
                    id: row.1,
                });
            }
            for after in [None, deep].into_iter().flatten().map(Some).chain([None]) {
                let page = list(&mut conn, &filter, after, 100).unwrap();
                assert!(!page.items.is_empty() || filter.mac.is_some(), "{filter:?}");
                for query in pg_page_queries(&filter, after) {
                    let query = query.select(Row::as_select()).limit(101);
                    let sql =
                        with_binds(&diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string());
                    // A page, plus the first row of each partition a merge looks at:
                    // an OFFSET, a sort of the filter's rows or a scan of a partition
                    // would read thousands. (PostgreSQL may sort a handful of rows, a
                    // passer-by's, and scans the empty partitions ahead sequentially.)
                    let (kinds, read) = postgres_plan(&mut conn, sql.clone());
                    assert!(
                        read <= 400.0,
                        "{filter:?} after {after:?}: {read} rows read ({kinds:?})\n{sql}"
                    );
                }
            }
        }
        // A large zone's window (five of the eight access points): a range scan of the
        // keyset index reading about a page and a half, at any depth.
        let zone: Vec<String> = (0..5).map(|n| format!("ac:00:00:00:00:0{n}")).collect();
        let deep = Position {
            last_seen: start + 200_000,
            id: 50_000,
        };
        for after in [None, Some(deep)] {
            for query in pg_zone_page_queries(&Filter::default(), &zone, after) {
                let query = query.select(Row::as_select()).limit(101);
                let sql = with_binds(&diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string());
                let (kinds, read) = postgres_plan(&mut conn, sql.clone());
                assert!(
                    read <= 400.0,
                    "zone after {after:?}: {read} rows read ({kinds:?})\n{sql}"
                );
            }
        }
    }
}
