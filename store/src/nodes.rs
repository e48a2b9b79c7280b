//! The access points that have reported, with running totals kept at ingestion.

use std::collections::HashMap;

use api_types::Node;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::places::Directory;
use super::Conn;

use super::schema::{nodes, reports};

/// The window of [`Node::reports_last_hour`], in seconds.
pub const RECENT_WINDOW_SECS: i64 = 3600;

/// Every access point, the most recently reporting first, named from `directory`; `now`
/// is Unix seconds; one that has sent nothing for `silence_after_s` is silent.
pub fn list(
    conn: &mut Conn,
    now: i64,
    silence_after_s: i64,
    directory: &Directory,
) -> QueryResult<Vec<Node>> {
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
                let silent = is_silent(last_report_at, now, silence_after_s);
                Node {
                    network_id,
                    vendor: directory.vendor(network_id),
                    name: directory.node_name(&node_mac),
                    zone: directory.zone(&node_mac),
                    network_name: directory.network_name(network_id),
                    silent,
                    silent_since: silent.then_some(last_report_at),
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

/// An access point's reporting history: (network, MAC, first and last report time,
/// reports).
pub type History = (i64, String, i64, i64, i64);

/// Every access point's reporting history, for the completeness of figures.
pub fn histories(conn: &mut Conn) -> QueryResult<Vec<History>> {
    nodes::table
        .select((
            nodes::network_id,
            nodes::node_mac,
            nodes::first_report_at,
            nodes::last_report_at,
            nodes::reports,
        ))
        .load(conn)
}

/// Whether an access point whose last report arrived at `last_report_at` is silent at
/// `now`: nothing for `silence_after_s` or longer.
pub fn is_silent(last_report_at: i64, now: i64, silence_after_s: i64) -> bool {
    now.saturating_sub(last_report_at) >= silence_after_s
}

/// An access point whose silence began or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub network_id: i64,
    pub node_mac: String,
    /// Its last report's time: when it fell silent, or the report that brought it back.
    pub at: i64,
}

/// Marks silent every access point not yet marked whose last report is
/// `silence_after_s` or more before `now`, and returns them. Each is returned by one
/// call only, whichever instance makes it (the update re-checks the mark).
pub fn mark_silent(conn: &mut Conn, now: i64, silence_after_s: i64) -> QueryResult<Vec<Change>> {
    let cutoff = now.saturating_sub(silence_after_s);
    let target = nodes::table
        .filter(nodes::silent_since.is_null())
        .filter(nodes::last_report_at.le(cutoff));
    let rows: Vec<(i64, String, i64)> = on_each_backend!(conn, |conn| diesel::update(target)
        .set(nodes::silent_since.eq(nodes::last_report_at.nullable()))
        .returning((nodes::network_id, nodes::node_mac, nodes::last_report_at))
        .get_results(conn)?);
    Ok(changes(rows))
}

/// Clears the mark of every silent access point that has reported since it was marked,
/// and returns them (each once, as [`mark_silent`]).
pub fn mark_back(conn: &mut Conn) -> QueryResult<Vec<Change>> {
    let target = nodes::table
        .filter(nodes::silent_since.is_not_null())
        .filter(nodes::last_report_at.nullable().gt(nodes::silent_since));
    let rows: Vec<(i64, String, i64)> = on_each_backend!(conn, |conn| diesel::update(target)
        .set(nodes::silent_since.eq(None::<i64>))
        .returning((nodes::network_id, nodes::node_mac, nodes::last_report_at))
        .get_results(conn)?);
    Ok(changes(rows))
}

fn changes(mut rows: Vec<(i64, String, i64)>) -> Vec<Change> {
    rows.sort();
    rows.into_iter()
        .map(|(network_id, node_mac, at)| Change {
            network_id,
            node_mac,
            at,
        })
        .collect()
}

/// Whether [`mark_silent`] or [`mark_back`] would change anything (a read, so that the
/// monitor takes the write lock only when they would).
pub fn changes_due(conn: &mut Conn, now: i64, silence_after_s: i64) -> QueryResult<bool> {
    let cutoff = now.saturating_sub(silence_after_s);
    let newly_silent = diesel::select(diesel::dsl::exists(
        nodes::table
            .filter(nodes::silent_since.is_null())
            .filter(nodes::last_report_at.le(cutoff)),
    ))
    .get_result::<bool>(conn)?;
    if newly_silent {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        nodes::table
            .filter(nodes::silent_since.is_not_null())
            .filter(nodes::last_report_at.nullable().gt(nodes::silent_since)),
    ))
    .get_result(conn)
}

/// Forgets an access point taken down or moved to another network: its rows of `nodes`
/// (its totals, its silence), in every network. Its probe requests, reports and name
/// stay; it reappears when it reports again. Returns the rows removed.
pub fn forget(conn: &mut Conn, node_mac: &str) -> QueryResult<usize> {
    diesel::delete(nodes::table.filter(nodes::node_mac.eq(node_mac))).execute(conn)
}

/// Every access point's last report, for `/metrics`: (network, node, Unix seconds).
pub fn last_reports(conn: &mut Conn) -> QueryResult<Vec<(i64, String, i64)>> {
    nodes::table
        .select((nodes::network_id, nodes::node_mac, nodes::last_report_at))
        .order((nodes::network_id, nodes::node_mac))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;
    use ncompass_core::cloudtrax::{parse_report, Report, TimeRules};

    /// The sample report with every observation `n` seconds later: a new report (the
    /// same one again would be a re-send, no sign of life).
    fn later(report: &Report, n: i64) -> Report {
        let mut report = report.clone();
        for probe in &mut report.probe_requests {
            probe.first_seen += n;
            probe.last_seen += n;
        }
        report
    }

    #[test]
    fn counts_the_last_hours_reports_per_node() {
        let (_dir, mut conn) = migrated();
        let report = parse_report(
            ncompass_core::cloudtrax::samples::V1,
            &TimeRules::at(ncompass_core::clock::unix_now()),
        )
        .unwrap();
        let now = 1_000_000;
        for received_at in [now - 7200, now - 3601, now - 3600, now - 10, now] {
            crate::reports::store(&mut conn, &later(&report, received_at), received_at).unwrap();
        }
        let directory = Directory::default();
        let nodes = list(&mut conn, now, 300, &directory).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!((nodes[0].reports, nodes[0].reports_last_hour), (5, 3));
        assert!(!nodes[0].silent);
        let later = list(&mut conn, now + 7200, 300, &directory).unwrap();
        assert_eq!(later[0].reports_last_hour, 0);
        assert_eq!((later[0].silent, later[0].silent_since), (true, Some(now)));
    }

    #[test]
    fn silence_is_marked_and_cleared_once() {
        let (_dir, mut conn) = migrated();
        let report = parse_report(
            ncompass_core::cloudtrax::samples::V1,
            &TimeRules::at(ncompass_core::clock::unix_now()),
        )
        .unwrap();
        let t = 1_000_000;
        crate::reports::store(&mut conn, &report, t).unwrap();
        assert!(!changes_due(&mut conn, t + 299, 300).unwrap());
        assert!(mark_silent(&mut conn, t + 299, 300).unwrap().is_empty());
        assert!(changes_due(&mut conn, t + 300, 300).unwrap());
        let silent = mark_silent(&mut conn, t + 300, 300).unwrap();
        assert_eq!(silent.len(), 1);
        assert_eq!(silent[0].at, t);
        // Marked once: a second pass, or another instance's, finds nothing new.
        assert!(mark_silent(&mut conn, t + 900, 300).unwrap().is_empty());
        assert!(mark_back(&mut conn).unwrap().is_empty());
        assert!(!changes_due(&mut conn, t + 900, 300).unwrap());
        crate::reports::store(&mut conn, &later(&report, 1000), t + 1000).unwrap();
        assert!(changes_due(&mut conn, t + 1000, 300).unwrap());
        let back = mark_back(&mut conn).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(
            (back[0].at, back[0].node_mac.as_str()),
            (t + 1000, silent[0].node_mac.as_str())
        );
        assert!(mark_back(&mut conn).unwrap().is_empty());
        assert_eq!(last_reports(&mut conn).unwrap()[0].2, t + 1000);
    }
}
