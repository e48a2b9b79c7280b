//! Visits: a device's segments joined where they lie at most the visit gap apart.

use super::{segments, Heard, MacId, Observation, Segment, Thresholds};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub network_id: i64,
    pub mac: MacId,
    pub start: i64,
    pub end: i64,
    pub heard: Heard,
    /// Its segments' spans when it has more than one (when it was actually seen, for
    /// the days it was seen on); empty for a visit of one segment, the common case,
    /// which then costs no allocation. See [`Visit::spans`].
    pub segment_spans: Vec<(i64, i64)>,
}

impl Visit {
    pub fn dwell(&self) -> i64 {
        self.end - self.start
    }

    pub fn is_visitor(&self, thresholds: &Thresholds) -> bool {
        self.dwell() >= thresholds.visitor_dwell_s
            && self.heard.max_signal >= thresholds.nearby_signal_dbm
    }

    pub(crate) fn same_device(&self, other: &Visit) -> bool {
        self.network_id == other.network_id && self.mac == other.mac
    }

    /// When it was actually seen: its segments' spans.
    pub fn spans(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let whole = self
            .segment_spans
            .is_empty()
            .then_some((self.start, self.end));
        whole.into_iter().chain(self.segment_spans.iter().copied())
    }

    fn absorb(&mut self, segment: Segment) {
        let end_before = self.end;
        self.end = self.end.max(segment.last_seen);
        self.heard.absorb(segment.heard);
        if self.segment_spans.is_empty() {
            self.segment_spans.push((self.start, end_before));
        }
        self.segment_spans
            .push((segment.first_seen, segment.last_seen));
    }
}

/// Assembles visits from segments made at a gap no larger than the visit gap (as
/// [`segments`] makes them, or as stored): per device, in order of start, a new visit
/// wherever the next segment starts more than the visit gap after the visit's end.
/// The visits come out grouped by device, each device's in order of start.
pub fn visits(mut segments: Vec<Segment>, thresholds: &Thresholds) -> Vec<Visit> {
    // Stable: the stored segments come day by day, each day in device order, and the
    // stable sort merges such sorted runs in linear time.
    segments.sort_by_key(|segment| (segment.network_id, segment.mac, segment.first_seen));
    let mut visits: Vec<Visit> = Vec::new();
    for segment in segments {
        match visits.last_mut() {
            Some(visit)
                if visit.network_id == segment.network_id
                    && visit.mac == segment.mac
                    && segment.first_seen - visit.end <= thresholds.visit_gap_s =>
            {
                visit.absorb(segment);
            }
            _ => visits.push(Visit {
                network_id: segment.network_id,
                mac: segment.mac,
                start: segment.first_seen,
                end: segment.last_seen,
                heard: segment.heard,
                segment_spans: Vec::new(),
            }),
        }
    }
    visits
}

/// The visits of one network among `visits` as [`visits`] makes them (grouped by
/// network, in order of network id): a slice of them, nothing copied.
pub fn of_network(visits: &[Visit], network_id: i64) -> &[Visit] {
    let start = visits.partition_point(|visit| visit.network_id < network_id);
    let len = visits[start..].partition_point(|visit| visit.network_id == network_id);
    &visits[start..start + len]
}

/// Visits straight from probe requests, for any visit gap (the segments at the visit
/// gap itself, then joined).
pub fn visits_of_observations(observations: &[Observation], thresholds: &Thresholds) -> Vec<Visit> {
    visits(segments(observations, thresholds.visit_gap_s), thresholds)
}

/// The visits overlapping `since..=until`, heard by one of `nodes` (sorted) if given.
pub fn in_range<'v>(
    visits: &'v [Visit],
    since: i64,
    until: i64,
    nodes: Option<&[MacId]>,
) -> Vec<&'v Visit> {
    visits
        .iter()
        .filter(|v| v.end >= since && v.start <= until)
        .filter(|v| nodes.is_none_or(|nodes| heard_by_any(&v.heard.nodes, nodes)))
        .collect()
}

/// Whether the sorted lists `heard` and `nodes` share an access point.
pub(crate) fn heard_by_any(heard: &[MacId], nodes: &[MacId]) -> bool {
    let (short, long) = if heard.len() <= nodes.len() {
        (heard, nodes)
    } else {
        (nodes, heard)
    };
    short.iter().any(|node| long.binary_search(node).is_ok())
}
