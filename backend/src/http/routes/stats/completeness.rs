//! The completeness of a request's figures: the reports its access points were
//! expected to send over the range (or each bucket, or each ranked place) against
//! those received (`analytics::completeness`).

use api_types::Completeness;

use super::{AppState, Scope};
use crate::analytics::{self, MacId, NodeReports};
use crate::cloudtrax::Mac;
use crate::db;
use crate::http::error::AppError;

/// The most reports one answer counts (estimated from each access point's cadence
/// before asking): a scope larger than this is answered without `completeness`.
pub const MAX_REPORTS: f64 = 5_000_000.0;

/// An access point of a scope: its network, MAC, first report and average interval.
#[derive(Debug, Clone)]
pub struct Reporter {
    network_id: i64,
    node: MacId,
    first_report_at: i64,
    lifetime_interval_s: Option<f64>,
}

/// The access points of the scope (one network's, or of `nodes` (sorted), or all)
/// among every access point's history (`db::nodes::histories`). Meraki's (negative
/// networks) are left out: Meraki posts only for access points that heard someone, so
/// a quiet one is not a silent one.
pub fn reporters(
    histories: Vec<db::nodes::History>,
    network_id: Option<i64>,
    nodes: Option<&[MacId]>,
) -> Vec<Reporter> {
    histories
        .into_iter()
        .filter(|(network, ..)| network_id.is_none_or(|id| id == *network))
        .filter(|(network, ..)| *network >= 0)
        .filter_map(|(network_id, mac, first, last, reports)| {
            let node = Mac::parse(&mac)?.to_u64();
            nodes
                .is_none_or(|nodes| nodes.binary_search(&node).is_ok())
                .then(|| Reporter {
                    network_id,
                    node,
                    first_report_at: first,
                    lifetime_interval_s: (reports > 1)
                        .then(|| (last - first) as f64 / (reports - 1) as f64),
                })
        })
        .collect()
}

impl Reporter {
    /// Its MAC, as stored.
    pub fn mac(&self) -> String {
        Mac::from_u64(self.node).to_string()
    }
}

/// The reports of the scope's access points over `since..=until`, per slot (at least
/// `finest` seconds wide), to compute the completeness of any part of the range; `None`
/// when the scope is too large to count them (the answers then carry no completeness).
/// Nothing is expected before the oldest report retention kept (older ranges keep
/// their presence figures but not their reports).
pub struct Reports {
    nodes: Vec<NodeReports>,
    slot_s: i64,
    now: i64,
}

impl Reports {
    /// Of the access points of `scope`.
    pub async fn of_scope(
        state: &AppState,
        scope: &Scope,
        since: i64,
        until: i64,
        finest: i64,
    ) -> Result<Option<Reports>, AppError> {
        // Narrowed to some access points (a zone, one access point): count only theirs.
        let nodes = scope
            .nodes
            .as_ref()
            .map(|_| scope.reporters.iter().map(Reporter::mac).collect());
        Reports::load(
            state,
            &scope.reporters,
            scope.network_id,
            nodes,
            since,
            until,
            finest,
        )
        .await
    }

    /// Of `reporters` (of `network_id`, of `node_macs`, if given).
    pub async fn load(
        state: &AppState,
        reporters: &[Reporter],
        network_id: Option<i64>,
        node_macs: Option<Vec<String>>,
        since: i64,
        until: i64,
        finest: i64,
    ) -> Result<Option<Reports>, AppError> {
        let Some(slot_s) = analytics::slot_for(reporters.len(), since, until, finest) else {
            return Ok(None);
        };
        let span = (until - since + 1) as f64;
        let estimate: f64 = reporters
            .iter()
            .map(|r| span / r.lifetime_interval_s.unwrap_or(60.0).max(1.0))
            .sum();
        if estimate > MAX_REPORTS {
            return Ok(None);
        }
        let from = since - since.rem_euclid(slot_s);
        let (counts, oldest) = state
            .db
            .run(move |conn| {
                let counts = db::reports::slot_counts(
                    conn,
                    from,
                    until + 1,
                    slot_s,
                    network_id,
                    node_macs.as_deref(),
                )?;
                Ok((counts, db::reports::oldest_received(conn)?))
            })
            .await?;
        let kept_from = oldest.unwrap_or(i64::MAX);
        let mut nodes: Vec<NodeReports> = reporters
            .iter()
            .map(|r| NodeReports {
                network_id: r.network_id,
                node: r.node,
                first_report_at: r.first_report_at.max(kept_from),
                lifetime_interval_s: r.lifetime_interval_s,
                slots: Vec::new(),
            })
            .collect();
        nodes.sort_by_key(|n| (n.network_id, n.node));
        for count in counts {
            let Some(mac) = Mac::parse(&count.node_mac) else {
                continue;
            };
            let key = (count.network_id, mac.to_u64());
            if let Ok(at) = nodes.binary_search_by_key(&key, |n| (n.network_id, n.node)) {
                nodes[at].slots.push((count.slot, count.reports));
            }
        }
        for node in &mut nodes {
            node.slots.sort_unstable();
        }
        Ok(Some(Reports {
            nodes,
            slot_s,
            now: state.clock.now(),
        }))
    }

    /// Over `[start, end)`, of the access points `keep` admits.
    pub fn of(&self, start: i64, end: i64, keep: impl Fn(i64, MacId) -> bool) -> Completeness {
        analytics::completeness(
            self.nodes.iter().filter(|n| keep(n.network_id, n.node)),
            start,
            end,
            self.now,
            self.slot_s,
        )
    }

    /// Over `[start, end)`, of every access point of the scope.
    pub fn all(&self, start: i64, end: i64) -> Completeness {
        self.of(start, end, |_, _| true)
    }
}
