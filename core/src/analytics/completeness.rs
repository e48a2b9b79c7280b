//! Completeness: how many of the reports the access points of a scope should have sent
//! over a range arrived. A quiet hour and an access point that stopped reporting look
//! the same in the figures; this tells them apart.
//!
//! Reports are counted per access point and UTC slot (5 minutes, a quarter hour or an
//! hour: [`slot_for`]). An access point's cadence is learned from those counts: the
//! median count of the slots it reported in gives its reports a slot (a CloudTrax
//! access point reports every 30 or 60 s: 10 or 5 in 5 minutes); with fewer than
//! [`MIN_SLOTS`] such slots, its average since its first report. Nothing is expected
//! of it before its first report, nor after now.

use api_types::Completeness;

use crate::mac::Mac;

use super::MacId;

/// The slot widths, finest first: every zone's offset is a multiple of 15 minutes, so
/// local 5-minute, quarter-hour and hour marks (and midnights, for zones on whole
/// hours) fall on slot boundaries of the first width that is not longer than a bucket.
pub const SLOT_WIDTHS_S: [i64; 3] = [300, 900, 3_600];
/// The most (access point, slot) counts one answer computes over.
pub const MAX_SLOTS: i64 = 2_000_000;
/// The slots an access point must have reported in for its cadence to be learned
/// from them.
pub const MIN_SLOTS: usize = 3;
/// Below this share of its expected reports, an access point counts as silent in a
/// range.
pub const SILENT_BELOW: f64 = 0.5;

/// The finest slot width at which `nodes` access points over `since..=until` stay
/// within [`MAX_SLOTS`] counts, no coarser than `finest` (a series of 5-minute buckets
/// needs 5-minute slots); `None` when even hours are too many.
pub fn slot_for(nodes: usize, since: i64, until: i64, finest: i64) -> Option<i64> {
    let nodes = i64::try_from(nodes).unwrap_or(i64::MAX).max(1);
    SLOT_WIDTHS_S
        .iter()
        .copied()
        .filter(|width| *width >= finest)
        .find(|width| nodes.saturating_mul((until - since) / width + 2) <= MAX_SLOTS)
}

/// One access point's reports over a range, counted per slot.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReports {
    pub network_id: i64,
    pub node: MacId,
    /// When it first reported, Unix seconds.
    pub first_report_at: i64,
    /// Its average seconds between reports since its first report, if known.
    pub lifetime_interval_s: Option<f64>,
    /// `(slot start, reports)`, by slot start, only slots with reports.
    pub slots: Vec<(i64, i64)>,
}

impl NodeReports {
    /// Its reports a second, learned as the module says; 1/60 (a report a minute,
    /// CloudTrax's slower cadence) when nothing is known.
    pub fn rate(&self, slot_s: i64) -> f64 {
        if self.slots.len() >= MIN_SLOTS {
            let mut counts: Vec<i64> = self.slots.iter().map(|(_, count)| *count).collect();
            counts.sort_unstable();
            return counts[counts.len() / 2] as f64 / slot_s as f64;
        }
        match self.lifetime_interval_s {
            Some(interval) if interval >= 1.0 => 1.0 / interval,
            _ => 1.0 / 60.0,
        }
    }

    /// Its reports received in slots starting within `[start, end)`.
    fn received(&self, start: i64, end: i64) -> i64 {
        let from = self.slots.partition_point(|(slot, _)| *slot < start);
        let to = self.slots.partition_point(|(slot, _)| *slot < end);
        self.slots[from..to].iter().map(|(_, count)| count).sum()
    }
}

/// The completeness of the reports of `nodes` over `[start, end)`: what `slot_s`-wide
/// slots counted (a slot counts in the range its start falls in), against what each
/// access point's cadence expects from its first report (or `start`) to `now` (or
/// `end`).
pub fn completeness<'a>(
    nodes: impl IntoIterator<Item = &'a NodeReports>,
    start: i64,
    end: i64,
    now: i64,
    slot_s: i64,
) -> Completeness {
    // Slot-aligned, so that a slot is counted and expected over the same seconds.
    let aligned_start = start - start.rem_euclid(slot_s);
    let mut expected = 0.0;
    let mut received = 0;
    let mut silent = Vec::new();
    for node in nodes {
        let from = aligned_start.max(node.first_report_at);
        let to = end.min(now);
        let node_expected = if to > from {
            (to - from) as f64 * node.rate(slot_s)
        } else {
            0.0
        };
        let node_received = node.received(aligned_start, end);
        if node_expected >= 1.0 && (node_received as f64) < SILENT_BELOW * node_expected {
            silent.push(Mac::from_u64(node.node).to_string());
        }
        expected += node_expected;
        received += node_received;
    }
    silent.sort_unstable();
    let expected_reports = expected.round() as i64;
    Completeness {
        expected_reports,
        received_reports: received,
        share: (expected_reports > 0).then(|| (received as f64 / expected).min(1.0)),
        silent_nodes: silent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_115_200;

    /// An access point reporting every `every` seconds over `[from, to)` (received at
    /// the times a real one would be), counted in `slot_s` slots.
    fn reporting(
        node: MacId,
        first: i64,
        spans: &[(i64, i64)],
        every: i64,
        slot_s: i64,
    ) -> NodeReports {
        let mut slots: std::collections::BTreeMap<i64, i64> = Default::default();
        for &(from, to) in spans {
            let mut at = from;
            while at < to {
                *slots.entry(at - at.rem_euclid(slot_s)).or_default() += 1;
                at += every;
            }
        }
        NodeReports {
            network_id: 1,
            node,
            first_report_at: first,
            lifetime_interval_s: None,
            slots: slots.into_iter().collect(),
        }
    }

    #[test]
    fn an_access_point_silent_for_an_hour_is_named_and_the_share_exact() {
        // Two access points, one every 30 s, one every 60 s, over three hours; the
        // second silent in the second hour.
        let a = reporting(0xa, T0, &[(T0, T0 + 3 * 3_600)], 30, 300);
        let b = reporting(
            0xb,
            T0,
            &[(T0, T0 + 3_600), (T0 + 7_200, T0 + 3 * 3_600)],
            60,
            300,
        );
        assert!((a.rate(300) - 1.0 / 30.0).abs() < 1e-9);
        assert!((b.rate(300) - 1.0 / 60.0).abs() < 1e-9);
        let now = T0 + 10 * 3_600;
        let hour = |k: i64| completeness([&a, &b], T0 + k * 3_600, T0 + (k + 1) * 3_600, now, 300);
        let first = hour(0);
        assert_eq!((first.expected_reports, first.received_reports), (180, 180));
        assert_eq!(first.share, Some(1.0));
        assert!(first.silent_nodes.is_empty());
        let second = hour(1);
        assert_eq!(
            (second.expected_reports, second.received_reports),
            (180, 120)
        );
        assert!((second.share.unwrap() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(second.silent_nodes, ["00:00:00:00:00:0b"]);
        // The whole range: 60 of 540 missing, and b sent two thirds: not silent.
        let all = completeness([&a, &b], T0, T0 + 3 * 3_600, now, 300);
        assert_eq!((all.expected_reports, all.received_reports), (540, 480));
        assert!(all.silent_nodes.is_empty());
    }

    #[test]
    fn nothing_is_expected_before_the_first_report_or_after_now() {
        let a = reporting(0xa, T0 + 3_600, &[(T0 + 3_600, T0 + 7_200)], 60, 300);
        let before = completeness([&a], T0, T0 + 3_600, T0 + 7_200, 300);
        assert_eq!((before.expected_reports, before.share), (0, None));
        // Now is half way through the hour: half an hour expected, half received.
        let a = reporting(0xa, T0, &[(T0, T0 + 1_800)], 60, 300);
        let half = completeness([&a], T0, T0 + 3_600, T0 + 1_800, 300);
        assert_eq!((half.expected_reports, half.received_reports), (30, 30));
        assert_eq!(half.share, Some(1.0));
    }

    #[test]
    fn a_cadence_from_too_few_slots_falls_back_to_the_lifetime_average() {
        let mut a = reporting(0xa, T0, &[(T0, T0 + 300)], 30, 300);
        a.lifetime_interval_s = Some(45.0);
        assert!((a.rate(300) - 1.0 / 45.0).abs() < 1e-9);
        a.lifetime_interval_s = None;
        assert!((a.rate(300) - 1.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn slots_coarsen_to_stay_within_the_budget() {
        assert_eq!(slot_for(10, T0, T0 + 86_400, 300), Some(300));
        assert_eq!(slot_for(10, T0, T0 + 86_400, 900), Some(900));
        // 2,000 access points over a week: quarter hours; over a month: hours.
        assert_eq!(slot_for(2_000, T0, T0 + 7 * 86_400, 300), Some(900));
        assert_eq!(slot_for(2_000, T0, T0 + 31 * 86_400, 300), Some(3_600));
        assert_eq!(slot_for(100_000, T0, T0 + 31 * 86_400, 300), None);
    }
}
