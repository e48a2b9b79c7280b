//! The access points that have reported, with running totals kept at ingestion.

use api_types::Node;
use diesel::prelude::*;

use super::schema::nodes;

/// Every access point, the most recently reporting first.
pub fn list(conn: &mut SqliteConnection) -> QueryResult<Vec<Node>> {
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
    Ok(rows
        .into_iter()
        .map(
            |(network_id, node_mac, first_report_at, last_report_at, reports, probe_requests)| {
                Node {
                    network_id,
                    node_mac,
                    first_report_at,
                    last_report_at,
                    reports,
                    probe_requests,
                }
            },
        )
        .collect())
}
