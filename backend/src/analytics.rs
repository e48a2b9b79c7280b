//! Presence analytics: visits assembled from stored probe requests, and the figures
//! computed from them. Pure functions of their inputs; nothing is frozen at ingestion,
//! so changing a threshold recomputes from the rows.
//!
//! Definitions (also in the README and the API docs):
//! - A *device* is a client MAC within a network.
//! - A *visit* is a device's run of observations, across all access points of its
//!   network, with no gap longer than the visit gap between one observation's end and
//!   the next one's start. Its dwell is its last `last_seen` minus its first
//!   `first_seen`.
//! - A visit is a *visitor* when its dwell reaches the visitor threshold and its
//!   strongest signal reaches the nearby threshold; otherwise a *passer-by*.
//! - A visit belongs to a range when it overlaps it.
//! - A device is *returning* when it was seen (one of its observations overlaps) on at
//!   least two local days of the range, in the request's time zone.
//!
//! Speed comes from *segments*: a device's observations merged where they lie at most
//! [`SEGMENT_GAP_S`] apart, cut at UTC midnight. The writer keeps them in the same
//! transaction as the rows (`db::presence`), so a day's figures read segments, not
//! probe requests. Visits for any visit gap of at least [`SEGMENT_GAP_S`] are exactly
//! unions of consecutive segments (a cut between two observations at the visit gap is
//! also a cut at the smaller segment gap), and everything a figure needs (span, strongest
//! signal and access point, associated, the access points, the days seen) survives the
//! merge. A smaller visit gap is computed from the probe requests themselves.

use std::cmp::Reverse;

use api_types::StatsSummary;

pub const DEFAULT_VISIT_GAP_S: i64 = 600;
pub const DEFAULT_VISITOR_DWELL_S: i64 = 300;
pub const DEFAULT_NEARBY_SIGNAL_DBM: i32 = -75;
/// The gap up to which the stored segments merge a device's observations. Changing it
/// means merging the segments anew (`db::presence::reset`).
pub const SEGMENT_GAP_S: i64 = 120;
/// Observations this far before and after a range (widened to whole UTC days) are read
/// to assemble the visits that overlap it; a visit longer than this is cut at it.
pub const HORIZON_S: i64 = 86_400;
const DAY_S: i64 = 86_400;
/// The longest observation the analytics take whole ([`crate::cloudtrax::MAX_SPAN_LIMIT_S`],
/// the largest `--max-span`); of a longer one, stored before the webhook refused them,
/// only its last this many seconds count. It also bounds every range query on
/// `last_seen` from above: an observation overlapping `..=until` ends by `until` plus it.
pub const MAX_OBSERVATION_SPAN_S: i64 = crate::cloudtrax::MAX_SPAN_LIMIT_S;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub visit_gap_s: i64,
    pub visitor_dwell_s: i64,
    pub nearby_signal_dbm: i32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            visit_gap_s: DEFAULT_VISIT_GAP_S,
            visitor_dwell_s: DEFAULT_VISITOR_DWELL_S,
            nearby_signal_dbm: DEFAULT_NEARBY_SIGNAL_DBM,
        }
    }
}

/// The UTC days (Unix days) read to assemble the visits overlapping `since..=until`.
pub fn window_days(since: i64, until: i64) -> (i64, i64) {
    (
        since.saturating_sub(HORIZON_S).div_euclid(DAY_S),
        until.saturating_add(HORIZON_S).div_euclid(DAY_S),
    )
}

/// A MAC as a 48-bit number ([`crate::cloudtrax::Mac::to_u64`]): the analytics handle
/// hundreds of thousands of them per request, so no text until the answer.
pub type MacId = u64;

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
    fn stronger_than(&self, other: &Heard) -> bool {
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
    fn absorb(&mut self, other: Heard) {
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

    fn same_device(&self, other: &Visit) -> bool {
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
fn heard_by_any(heard: &[MacId], nodes: &[MacId]) -> bool {
    let (short, long) = if heard.len() <= nodes.len() {
        (heard, nodes)
    } else {
        (nodes, heard)
    };
    short.iter().any(|node| long.binary_search(node).is_ok())
}

/// Upper bounds (exclusive) of the dwell histogram's buckets, seconds; the last bucket
/// is open.
pub const DWELL_BUCKETS_S: [i64; 7] = [60, 300, 900, 1_800, 3_600, 7_200, 14_400];

/// Visits (and of them visitors) per dwell bucket: `[0, 60)`, `[60, 300)`, ...,
/// `[14400, ∞)`.
pub fn dwell_histogram(
    visits: &[&Visit],
    thresholds: &Thresholds,
) -> Vec<(i64, Option<i64>, i64, i64)> {
    let mut buckets: Vec<(i64, Option<i64>, i64, i64)> = std::iter::once(0)
        .chain(DWELL_BUCKETS_S)
        .zip(
            DWELL_BUCKETS_S
                .iter()
                .copied()
                .map(Some)
                .chain(std::iter::once(None)),
        )
        .map(|(from, to)| (from, to, 0, 0))
        .collect();
    for visit in visits {
        let index = DWELL_BUCKETS_S
            .iter()
            .position(|bound| visit.dwell() < *bound)
            .unwrap_or(DWELL_BUCKETS_S.len());
        buckets[index].2 += 1;
        if visit.is_visitor(thresholds) {
            buckets[index].3 += 1;
        }
    }
    buckets
}

/// Per access point: devices and visits it heard, and the devices for which it was the
/// strongest access point (over their visits in range, the strongest signal wins, ties
/// as within a visit).
pub fn per_node(visits: &[&Visit]) -> std::collections::BTreeMap<MacId, (i64, i64, i64)> {
    use std::collections::{BTreeMap, BTreeSet};
    /// A device: its network and client MAC.
    type Device = (i64, MacId);
    // Per access point: the devices and the number of visits it heard.
    let mut heard: BTreeMap<MacId, (BTreeSet<Device>, i64)> = BTreeMap::new();
    // Per device: its strongest visit.
    let mut strongest: BTreeMap<Device, &Visit> = BTreeMap::new();
    for visit in visits {
        for node in &visit.heard.nodes {
            let entry = heard.entry(*node).or_default();
            entry.0.insert((visit.network_id, visit.mac));
            entry.1 += 1;
        }
        let best = strongest
            .entry((visit.network_id, visit.mac))
            .or_insert(visit);
        if visit.heard.stronger_than(&best.heard) {
            *best = visit;
        }
    }
    let mut strongest_for: BTreeMap<MacId, i64> = BTreeMap::new();
    for visit in strongest.values() {
        *strongest_for.entry(visit.heard.strongest_node).or_default() += 1;
    }
    heard
        .into_iter()
        .map(|(node, (devices, visits))| {
            let devices = i64::try_from(devices.len()).unwrap_or(i64::MAX);
            (
                node,
                (
                    devices,
                    visits,
                    strongest_for.get(&node).copied().unwrap_or(0),
                ),
            )
        })
        .collect()
}

/// The local days of a time zone around a range, to tell an instant's day by a binary
/// search rather than a time zone conversion.
#[derive(Debug, Clone)]
pub struct Days {
    starts: Vec<i64>,
}

impl Days {
    pub fn new(since: i64, until: i64, tz: &jiff::tz::TimeZone) -> Result<Days, jiff::Error> {
        Ok(Days {
            starts: buckets(since, until, Bucket::Day, tz)?
                .into_iter()
                .map(|(start, _)| start)
                .collect(),
        })
    }

    /// The day of `at` (within the range given to [`Days::new`]).
    fn of(&self, at: i64) -> usize {
        self.starts
            .partition_point(|start| *start <= at)
            .saturating_sub(1)
    }
}

/// The figures for the visits overlapping `since..=until`, heard by one of `nodes`
/// (sorted) if given; `days` are the time zone's days over at least the range.
pub fn summary(
    visits: &[Visit],
    since: i64,
    until: i64,
    nodes: Option<&[MacId]>,
    thresholds: &Thresholds,
    days: &Days,
) -> StatsSummary {
    summarize(
        in_range(visits, since, until, nodes),
        since,
        until,
        thresholds,
        days,
    )
}

/// The summary of each bucket `[start, end)` of `bounds` (contiguous, in order): a visit
/// counts in every bucket it overlaps. One pass to place the visits, then one summary
/// per bucket over its own visits.
pub fn series(
    visits: &[Visit],
    bounds: &[(i64, i64)],
    nodes: Option<&[MacId]>,
    thresholds: &Thresholds,
    days: &Days,
) -> Vec<StatsSummary> {
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Vec::new();
    };
    let mut placed: Vec<Vec<&Visit>> = vec![Vec::new(); bounds.len()];
    for visit in in_range(visits, first.0, last.1 - 1, nodes) {
        let from = bounds.partition_point(|(_, end)| *end <= visit.start);
        for (k, (start, _)) in bounds.iter().enumerate().skip(from) {
            if *start > visit.end {
                break;
            }
            placed[k].push(visit);
        }
    }
    bounds
        .iter()
        .zip(placed)
        .map(|((start, end), visits)| summarize(visits, *start, end - 1, thresholds, days))
        .collect()
}

/// The figures of `visits` (those overlapping `since..=until`).
fn summarize(
    mut visits: Vec<&Visit>,
    since: i64,
    until: i64,
    thresholds: &Thresholds,
    days: &Days,
) -> StatsSummary {
    // A device's visits side by side, so each device is one run.
    if !visits.is_sorted_by_key(|v| (v.network_id, v.mac)) {
        visits.sort_by_key(|v| (v.network_id, v.mac));
    }
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let mut devices = [0usize; 6];
    const ALL: usize = 0;
    const NON_RANDOMIZED: usize = 1;
    const ASSOCIATED: usize = 2;
    const NON_RANDOMIZED_UNASSOCIATED: usize = 3;
    const RANDOMIZED_UNASSOCIATED: usize = 4;
    const RETURNING: usize = 5;
    for device in visits.chunk_by(|a, b| a.same_device(b)) {
        let randomized = device[0].heard.randomized;
        let associated = device.iter().any(|v| v.heard.associated);
        // The first and last local day of the range it was seen on.
        let (mut first_day, mut last_day) = (usize::MAX, 0);
        for (start, end) in device.iter().flat_map(|v| v.spans()) {
            if end >= since && start <= until {
                first_day = first_day.min(days.of(start.max(since)));
                last_day = last_day.max(days.of(end.min(until)));
            }
        }
        devices[ALL] += 1;
        devices[NON_RANDOMIZED] += usize::from(!randomized);
        devices[ASSOCIATED] += usize::from(associated);
        devices[NON_RANDOMIZED_UNASSOCIATED] += usize::from(!randomized && !associated);
        devices[RANDOMIZED_UNASSOCIATED] += usize::from(randomized && !associated);
        devices[RETURNING] += usize::from(first_day != usize::MAX && last_day > first_day);
    }
    let visitors = visits.iter().filter(|v| v.is_visitor(thresholds)).count();
    let mut dwells: Vec<i64> = visits.iter().map(|v| v.dwell()).collect();
    dwells.sort_unstable();
    StatsSummary {
        since,
        until,
        visit_gap_s: thresholds.visit_gap_s,
        visitor_dwell_s: thresholds.visitor_dwell_s,
        nearby_signal_dbm: thresholds.nearby_signal_dbm,
        devices: count(devices[ALL]),
        devices_non_randomized: count(devices[NON_RANDOMIZED]),
        devices_associated: count(devices[ASSOCIATED]),
        devices_non_randomized_unassociated: count(devices[NON_RANDOMIZED_UNASSOCIATED]),
        devices_randomized_unassociated: count(devices[RANDOMIZED_UNASSOCIATED]),
        visits: count(visits.len()),
        visitors: count(visitors),
        passers_by: count(visits.len() - visitors),
        capture_rate: (!visits.is_empty()).then(|| visitors as f64 / visits.len() as f64),
        dwell_p50_s: percentile(&dwells, 50),
        dwell_p90_s: percentile(&dwells, 90),
        returning_devices: count(devices[RETURNING]),
        tz: None,
    }
}

/// Time series buckets: local hours or local days of a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    Day,
}

/// The boundaries `[start, end)` (Unix seconds) of the `bucket`s of `tz` that overlap
/// `since..=until`, first to last. Days run from local midnight to local midnight, so
/// a day with a DST change lasts 23 or 25 hours; hours are the local clock's, so the
/// repeated hour of a DST change comes twice.
pub fn buckets(
    since: i64,
    until: i64,
    bucket: Bucket,
    tz: &jiff::tz::TimeZone,
) -> Result<Vec<(i64, i64)>, jiff::Error> {
    let first = jiff::Timestamp::from_second(since)?.to_zoned_datetime(tz.clone());
    let mut start = match bucket {
        Bucket::Day => first.start_of_day()?,
        Bucket::Hour => first
            .with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()?,
    };
    let mut out = Vec::new();
    while start.timestamp().as_second() <= until {
        let end = match bucket {
            Bucket::Day => start.tomorrow()?.start_of_day()?,
            Bucket::Hour => start.checked_add(jiff::Span::new().hours(1))?,
        };
        out.push((start.timestamp().as_second(), end.timestamp().as_second()));
        start = end;
    }
    Ok(out)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_115_200; // 2025-11-26 00:00:00 UTC, a day boundary

    /// Visits straight from the observations, as the figures of a small visit gap are.
    fn visits(observations: Vec<Observation>, t: &Thresholds) -> Vec<Visit> {
        visits_of_observations(&observations, t)
    }

    /// The summary with UTC days.
    fn summary(
        visits: &[Visit],
        since: i64,
        until: i64,
        node: Option<&str>,
        t: &Thresholds,
    ) -> StatsSummary {
        let days = Days::new(since, until, &jiff::tz::TimeZone::UTC).unwrap();
        let nodes = node.map(|node| [id(node)]);
        super::summary(
            visits,
            since,
            until,
            nodes.as_ref().map(|n| &n[..]),
            t,
            &days,
        )
    }

    /// A short name as a MAC number (distinct names, distinct numbers).
    fn id(name: &str) -> MacId {
        name.bytes()
            .fold(0, |value, byte| value << 8 | u64::from(byte))
    }

    fn seen(mac: &str, node: &str, first: i64, last: i64, signal: i32) -> Observation {
        Observation {
            network_id: 1,
            mac: id(mac),
            node_mac: id(node),
            first_seen: T0 + first,
            last_seen: T0 + last,
            max_signal: signal,
            associated: false,
            randomized: mac.starts_with("02"),
        }
    }

    #[test]
    fn a_gap_up_to_the_visit_gap_joins_and_one_second_more_splits() {
        let t = Thresholds::default();
        // 0..100, then a gap of exactly 600 s: one visit of 0..800 (dwell 800).
        let joined = visits(
            vec![
                seen("aa", "n1", 0, 100, -60),
                seen("aa", "n1", 700, 800, -60),
            ],
            &t,
        );
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].dwell(), 800);
        // A gap of 601 s: two visits, of 100 s each.
        let split = visits(
            vec![
                seen("aa", "n1", 0, 100, -60),
                seen("aa", "n1", 701, 801, -60),
            ],
            &t,
        );
        assert_eq!(split.len(), 2);
        assert_eq!((split[0].dwell(), split[1].dwell()), (100, 100));
    }

    #[test]
    fn access_points_heard_at_once_make_one_visit() {
        let t = Thresholds::default();
        // Heard by n1 0..200 and n2 100..400 (overlapping), then n1 again 900..1000
        // (gap 500 after 400): one visit 0..1000 over both access points.
        let v = visits(
            vec![
                seen("aa", "n2", 100, 400, -80),
                seen("aa", "n1", 0, 200, -70),
                seen("aa", "n1", 900, 1000, -65),
            ],
            &t,
        );
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].start, v[0].end, v[0].heard.max_signal),
            (T0, T0 + 1000, -65)
        );
        assert_eq!(v[0].heard.nodes.len(), 2);
    }

    #[test]
    fn the_summary_of_a_worked_example() {
        let t = Thresholds::default();
        let mut associated = seen("bb", "n1", 0, 400, -50);
        associated.associated = true;
        let observations = vec![
            // aa: one visit 0..360 at -70: dwell 360 >= 300 and -70 >= -75: visitor.
            seen("aa", "n1", 0, 360, -70),
            // bb: 0..400 at -50, associated: visitor.
            associated,
            // 02..: randomized, 0..30 at -60: passer-by (too short).
            seen("02:cc", "n2", 0, 30, -60),
            // dd: 0..900 at -80: passer-by (too far) though long.
            seen("dd", "n2", 0, 900, -80),
            // aa again a day later: a second visit of 60 s, passer-by; aa returns.
            seen("aa", "n1", 86_400, 86_460, -70),
        ];
        let all = visits(observations, &t);
        let two_days = summary(&all, T0, T0 + 2 * 86_400 - 1, None, &t);
        assert_eq!(two_days.devices, 4);
        assert_eq!(two_days.devices_non_randomized, 3);
        assert_eq!(two_days.devices_associated, 1);
        // bb associated; aa and dd global; 02:cc randomized.
        assert_eq!(two_days.devices_non_randomized_unassociated, 2);
        assert_eq!(two_days.devices_randomized_unassociated, 1);
        assert_eq!(two_days.visits, 5);
        assert_eq!((two_days.visitors, two_days.passers_by), (2, 3));
        assert_eq!(two_days.capture_rate, Some(0.4));
        // Dwells sorted: 30, 60, 360, 400, 900 -> p50 (rank 3) 360, p90 (rank 5) 900.
        assert_eq!(
            (two_days.dwell_p50_s, two_days.dwell_p90_s),
            (Some(360), Some(900))
        );
        assert_eq!(two_days.returning_devices, 1);

        // The first day only: aa's second visit is out, so nobody returns.
        let day_one = summary(&all, T0, T0 + 86_399, None, &t);
        assert_eq!((day_one.visits, day_one.returning_devices), (4, 0));
        // Heard by n2 only: 02:cc and dd.
        let n2 = summary(&all, T0, T0 + 86_399, Some("n2"), &t);
        assert_eq!((n2.devices, n2.visitors), (2, 0));
        // A visit overlapping the range's start belongs to it: dd (0..900) from 800 on.
        let late = summary(&all, T0 + 800, T0 + 1000, None, &t);
        assert_eq!(late.visits, 1);

        // Thresholds recompute: a visitor from 30 s on and -85 dBm makes 02:cc and dd
        // visitors too (aa's second visit, 60 s, as well).
        let lenient = Thresholds {
            visitor_dwell_s: 30,
            nearby_signal_dbm: -85,
            ..t
        };
        assert_eq!(
            summary(&all, T0, T0 + 2 * 86_400 - 1, None, &lenient).visitors,
            5
        );
    }

    #[test]
    fn the_strongest_access_point_and_the_histogram() {
        let t = Thresholds::default();
        let all = visits(
            vec![
                // aa: n1 at -70 then n2 at -50 in one visit of 0..400: strongest n2.
                seen("aa", "n1", 0, 100, -70),
                seen("aa", "n2", 100, 400, -50),
                // bb: n1 only, 0..4000 at -60.
                seen("bb", "n1", 0, 4_000, -60),
                // cc: n2 only, 0..20.
                seen("cc", "n2", 0, 20, -80),
            ],
            &t,
        );
        assert_eq!(
            all.iter()
                .find(|v| v.mac == id("aa"))
                .unwrap()
                .heard
                .strongest_node,
            id("n2")
        );
        let range = in_range(&all, T0, T0 + 86_399, None);
        let nodes = per_node(&range);
        // n1 heard aa and bb, strongest for bb; n2 heard aa and cc, strongest for both.
        assert_eq!(nodes[&id("n1")], (2, 2, 1));
        assert_eq!(nodes[&id("n2")], (2, 2, 2));
        let histogram = dwell_histogram(&range, &t);
        assert_eq!(histogram.len(), 8);
        // cc 20 s in [0, 60); aa 400 s in [300, 900) and a visitor; bb 4000 s in [3600, 7200).
        assert_eq!(histogram[0], (0, Some(60), 1, 0));
        assert_eq!(histogram[2], (300, Some(900), 1, 1));
        assert_eq!(histogram[5], (3_600, Some(7_200), 1, 1));
        assert_eq!(histogram[7], (14_400, None, 0, 0));
        assert_eq!(histogram.iter().map(|b| b.2).sum::<i64>(), 3);
    }

    #[test]
    fn days_and_hours_follow_the_time_zone_across_dst() {
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin. Local midnights:
        // 2026-03-28 00:00 CET = 1774652400, 03-29 00:00 CET = 1774738800,
        // 03-30 00:00 CEST = 1774821600: a 23-hour day.
        let days = buckets(1774652400, 1774821599, Bucket::Day, &berlin).unwrap();
        assert_eq!(days, [(1774652400, 1774738800), (1774738800, 1774821600)]);
        assert_eq!(days[1].1 - days[1].0, 23 * 3600);
        // Hours of that night: 00:00, 01:00, then 03:00 (02:00 does not exist).
        let hours = buckets(1774738800, 1774738800 + 3 * 3600 - 1, Bucket::Hour, &berlin).unwrap();
        assert_eq!(hours.len(), 3);
        assert!(hours.iter().all(|(start, end)| end - start == 3600));
        // A range starting mid-hour starts at that local hour; in UTC too.
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            buckets(T0 + 90, T0 + 3_700, Bucket::Hour, &utc).unwrap(),
            [(T0, T0 + 3_600), (T0 + 3_600, T0 + 7_200)]
        );
        // A zone half an hour off UTC: local hours start at :30 UTC.
        let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        assert_eq!(
            buckets(T0, T0, Bucket::Hour, &kolkata).unwrap(),
            [(T0 - 1_800, T0 + 1_800)]
        );
    }

    #[test]
    fn an_empty_range_has_no_figures() {
        let t = Thresholds::default();
        let none = summary(
            &visits(vec![seen("aa", "n1", 0, 10, -50)], &t),
            T0 + 5_000,
            T0 + 6_000,
            None,
            &t,
        );
        assert_eq!((none.devices, none.visits), (0, 0));
        assert_eq!(
            (none.capture_rate, none.dwell_p50_s, none.dwell_p90_s),
            (None, None, None)
        );
    }

    #[test]
    fn an_observation_makes_at_most_nine_pieces_whatever_its_span() {
        let mut huge = seen("aa", "n1", 0, 0, -50);
        huge.first_seen = 0;
        huge.last_seen = 9_000_000_000_000_000_000;
        let pieces: Vec<Segment> = Segment::pieces(&huge).collect();
        assert_eq!(pieces.len(), 8);
        assert_eq!(pieces.last().unwrap().last_seen, huge.last_seen);
        assert_eq!(
            pieces.first().unwrap().first_seen,
            huge.last_seen - MAX_OBSERVATION_SPAN_S
        );
        huge.last_seen = i64::MAX;
        assert!(Segment::pieces(&huge).count() <= 9);
        // The 1970 clock: the last 7 days of it, not 20,000 days.
        let mut reset = seen("aa", "n1", 0, 0, -50);
        reset.first_seen = 1_000;
        let pieces: Vec<Segment> = Segment::pieces(&reset).collect();
        assert_eq!(pieces.len(), 8);
        assert!(pieces
            .iter()
            .all(|p| p.first_seen >= T0 - MAX_OBSERVATION_SPAN_S));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
    }
}
