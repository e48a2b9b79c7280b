//! The access points that have reported, with running totals kept at ingestion.

use std::collections::HashMap;

use api_types::Node;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::Conn;

use super::schema::{nodes, reports};

/// The window of [`Node::reports_last_hour`], in seconds.
pub const RECENT_WINDOW_SECS: i64 = 3600;

/// Every access point, the most recently reporting first; `now` is Unix seconds.
pub fn list(conn: &mut Conn, now: i64) -> QueryResult<Vec<Node>> {
    let rows: Vec<(i64, String, i64, i64, i64, i64)> = nodes::table
        .select((
            nodes::network_id,
            nodes::node_mac,
            nodes::first_report_at,
            nodes::last_report_at,
            nodes::reports,
            nodes::probe_requests,
        ))
        .order((
            nodes::last_report_at.desc(),
            nodes::network_id,
            nodes::node_mac,
        ))
        .load(conn)?;
    // Served by reports_by_received_at: reads only the last hour's reports.
    let recent: HashMap<(i64, String), i64> = reports::table
        .filter(reports::received_at.ge(now - RECENT_WINDOW_SECS))
        .group_by((reports::network_id, reports::node_mac))
        .select((reports::network_id, reports::node_mac, count_star()))
        .load::<(i64, String, i64)>(conn)?
        .into_iter()
        .map(|(network_id, node_mac, count)| ((network_id, node_mac), count))
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(network_id, node_mac, first_report_at, last_report_at, reports, probe_requests)| {
                let reports_last_hour = recent
                    .get(&(network_id, node_mac.clone()))
                    .copied()
                    .unwrap_or(0);
                Node {
                    network_id,
                    node_mac,
                    first_report_at,
                    last_report_at,
                    reports,
                    reports_last_hour,
                    probe_requests,
                }
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrax::{parse_report, TimeRules};
    use crate::db::tests::migrated;

    #[test]
    fn counts_the_last_hours_reports_per_node() {
        let (_dir, mut conn) = migrated();
        let report = parse_report(
            include_bytes!("../../samples/sample-v1.json"),
            &TimeRules::at(crate::unix_now()),
        )
        .unwrap();
        let now = 1_000_000;
        for received_at in [now - 7200, now - 3601, now - 3600, now - 10, now] {
            crate::db::reports::store(&mut conn, &report, received_at).unwrap();
        }
        let nodes = list(&mut conn, now).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!((nodes[0].reports, nodes[0].reports_last_hour), (5, 3));
        assert_eq!(list(&mut conn, now + 7200).unwrap()[0].reports_last_hour, 0);
    }
}
