//! Segments: a device's observations merged where they lie at most a gap apart, per
//! UTC day. What the writer stores and every figure reads.

use std::cmp::Reverse;

use super::{MacId, DAY_S, MAX_OBSERVATION_SPAN_S};

/// One stored probe request, as far as presence is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub network_id: i64,
    pub mac: MacId,
    pub node_mac: MacId,
    pub first_seen: i64,
    pub last_seen: i64,
    pub max_signal: i32,
    pub associated: bool,
    pub randomized: bool,
}

/// A device's observations merged where they lie at most a gap apart, within one UTC
/// day (an observation across midnight gives a piece to each day, the two touching at
/// midnight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub network_id: i64,
    pub mac: MacId,
    /// The UTC day (Unix seconds / 86,400) the segment lies in.
    pub day: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub heard: Heard,
}

/// What was heard of a device over a segment or a visit; merging two is the same for
/// both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The strongest signal, the access point that heard it and when that observation
    /// began. On equal signals the earlier observation wins, then the smaller access
    /// point MAC, so the result does not depend on the order rows arrive in.
    pub max_signal: i32,
    pub strongest_node: MacId,
    pub strongest_first_seen: i64,
    pub associated: bool,
    pub randomized: bool,
    /// The access points that heard it, sorted, each once.
    pub nodes: Vec<MacId>,
}

impl Heard {
    /// Whether its strongest observation beats `other`'s.
    pub(crate) fn stronger_than(&self, other: &Heard) -> bool {
        (
            self.max_signal,
            Reverse(self.strongest_first_seen),
            Reverse(self.strongest_node),
        ) > (
            other.max_signal,
            Reverse(other.strongest_first_seen),
            Reverse(other.strongest_node),
        )
    }

    /// Takes `other` in.
    pub(crate) fn absorb(&mut self, other: Heard) {
        if other.stronger_than(self) {
            self.max_signal = other.max_signal;
            self.strongest_node = other.strongest_node;
            self.strongest_first_seen = other.strongest_first_seen;
        }
        self.associated |= other.associated;
        self.randomized |= other.randomized;
        merge_sorted(&mut self.nodes, other.nodes);
    }
}

impl Segment {
    /// The observation's pieces, one per UTC day it overlaps. Only its last
    /// [`MAX_OBSERVATION_SPAN_S`] count: the webhook refuses longer observations, and
    /// one stored before it did (a clock reset to 1970) must not become a piece per day
    /// since then. So an observation makes at most 9 pieces, whatever its times.
    pub fn pieces(observation: &Observation) -> impl Iterator<Item = Segment> + '_ {
        let first_seen = observation
            .first_seen
            .max(observation.last_seen.saturating_sub(MAX_OBSERVATION_SPAN_S));
        let (first_day, last_day) = (
            first_seen.div_euclid(DAY_S),
            observation.last_seen.div_euclid(DAY_S),
        );
        (first_day..=last_day).map(move |day| Segment {
            network_id: observation.network_id,
            mac: observation.mac,
            day,
            first_seen: first_seen.max(day.saturating_mul(DAY_S)),
            last_seen: observation
                .last_seen
                .min(day.saturating_add(1).saturating_mul(DAY_S)),
            heard: Heard {
                max_signal: observation.max_signal,
                strongest_node: observation.node_mac,
                strongest_first_seen: observation.first_seen,
                associated: observation.associated,
                randomized: observation.randomized,
                nodes: vec![observation.node_mac],
            },
        })
    }

    /// Whether `other` is of the same device and day and at most `gap` away.
    pub fn touches(&self, other: &Segment, gap: i64) -> bool {
        self.network_id == other.network_id
            && self.mac == other.mac
            && self.day == other.day
            && other.first_seen <= self.last_seen.saturating_add(gap)
            && self.first_seen <= other.last_seen.saturating_add(gap)
    }

    /// Takes `other` (of the same device and day) in.
    pub fn absorb(&mut self, other: Segment) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.heard.absorb(other.heard);
    }
}

/// Adds the sorted distinct `other` to the sorted distinct `into`.
fn merge_sorted(into: &mut Vec<MacId>, other: Vec<MacId>) {
    if other.iter().all(|node| into.binary_search(node).is_ok()) {
        return;
    }
    into.extend(other);
    into.sort_unstable();
    into.dedup();
}

/// The segments of `observations` at `gap`: per device and UTC day, pieces in order of
/// `first_seen`, merged while the next starts at most `gap` after the merged end.
pub fn segments(observations: &[Observation], gap: i64) -> Vec<Segment> {
    merge(observations.iter().flat_map(Segment::pieces).collect(), gap)
}

/// Segments (or pieces) merged per device and UTC day where they lie at most `gap`
/// apart: of segments made at `gap` from some rows and pieces of others, the segments
/// of all the rows.
pub fn merge(mut pieces: Vec<Segment>, gap: i64) -> Vec<Segment> {
    pieces.sort_unstable_by(|a, b| {
        (a.network_id, a.mac, a.day, a.first_seen).cmp(&(b.network_id, b.mac, b.day, b.first_seen))
    });
    let mut out: Vec<Segment> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match out.last_mut() {
            Some(last) if last.touches(&piece, gap) => last.absorb(piece),
            _ => out.push(piece),
        }
    }
    out
}
