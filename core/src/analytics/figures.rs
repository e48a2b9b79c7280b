//! Figures: what the summary, series and per-access-point answers count of visits.

use api_types::StatsSummary;

use super::{
    estimate, in_range, randomized_share, tally, Estimator, MacId, OpenTimes, Thresholds, Visit,
};

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

/// How a request counts visits: heard by one of `nodes` (sorted) if given, with these
/// thresholds, `days` the time zone's local days over at least the range, and only
/// visits within the `open` hours of their network.
#[derive(Clone, Copy)]
pub struct Counting<'a> {
    pub nodes: Option<&'a [MacId]>,
    pub thresholds: &'a Thresholds,
    pub days: &'a Days,
    pub open: &'a OpenTimes,
}

/// The visits that count in `since..=until`: overlapping it, heard by one of the
/// counting's access points, and within their network's opening hours there.
pub fn counted<'v>(
    visits: &'v [Visit],
    since: i64,
    until: i64,
    counting: &Counting,
) -> Vec<&'v Visit> {
    let mut visits = in_range(visits, since, until, counting.nodes);
    if counting.open.restricts() {
        visits.retain(|visit| counting.open.admits(visit, since, until));
    }
    visits
}

/// The figures for the visits that count in `since..=until` ([`counted`]).
pub fn summary(visits: &[Visit], since: i64, until: i64, counting: &Counting) -> StatsSummary {
    summary_estimated(visits, since, until, counting, None)
}

/// [`summary`], with the `estimate` of `estimator` (and its long dwell) when given,
/// from the same visits.
pub fn summary_estimated(
    visits: &[Visit],
    since: i64,
    until: i64,
    counting: &Counting,
    estimator: Option<(Estimator, i64)>,
) -> StatsSummary {
    let counted = counted(visits, since, until, counting);
    let estimate = estimator.map(|(estimator, long_dwell_s)| {
        let tally = tally(&counted, long_dwell_s);
        estimate(estimator, &tally, long_dwell_s, &randomized_share(&tally))
    });
    let mut summary = summarize(counted, since, until, counting.thresholds, counting.days);
    summary.closed = counting.open.closed(since, until);
    summary.estimate = estimate;
    summary
}

/// The summary of each bucket `[start, end)` of `bounds` (contiguous, in order): a visit
/// counts in every bucket it overlaps (within its network's opening hours there). One
/// pass to place the visits, then one summary per bucket over its own visits.
pub fn series(visits: &[Visit], bounds: &[(i64, i64)], counting: &Counting) -> Vec<StatsSummary> {
    series_estimated(visits, bounds, counting, None)
}

/// [`series`], each bucket with the `estimate` of `estimator` (and its long dwell)
/// when given: `adjusted` scales every bucket by the randomized share of the whole
/// range (a bucket's few associated devices would make it jump).
pub fn series_estimated(
    visits: &[Visit],
    bounds: &[(i64, i64)],
    counting: &Counting,
    estimator: Option<(Estimator, i64)>,
) -> Vec<StatsSummary> {
    let share = match (estimator, bounds.first(), bounds.last()) {
        (Some((_, long_dwell_s)), Some(first), Some(last)) => {
            let all = counted(visits, first.0, last.1 - 1, counting);
            Some(randomized_share(&tally(&all, long_dwell_s)))
        }
        _ => None,
    };
    bounds
        .iter()
        .zip(placed(visits, bounds, counting))
        .map(|((start, end), visits)| {
            let estimate = estimator
                .zip(share.as_ref())
                .map(|((estimator, long), share)| {
                    estimate(estimator, &tally(&visits, long), long, share)
                });
            let mut point = summarize(visits, *start, end - 1, counting.thresholds, counting.days);
            point.closed = counting.open.closed(*start, end - 1);
            point.estimate = estimate;
            point
        })
        .collect()
}

/// The visits that count in each bucket `[start, end)` of `bounds` (contiguous, in
/// order): those overlapping it, within their network's opening hours there.
fn placed<'v>(
    visits: &'v [Visit],
    bounds: &[(i64, i64)],
    counting: &Counting,
) -> Vec<Vec<&'v Visit>> {
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Vec::new();
    };
    let mut placed: Vec<Vec<&Visit>> = vec![Vec::new(); bounds.len()];
    for visit in in_range(visits, first.0, last.1 - 1, counting.nodes) {
        let from = bounds.partition_point(|(_, end)| *end <= visit.start);
        for (k, (start, end)) in bounds.iter().enumerate().skip(from) {
            if *start > visit.end {
                break;
            }
            if counting.open.admits(visit, *start, end - 1) {
                placed[k].push(visit);
            }
        }
    }
    placed
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
        compared: None,
        hours: None,
        closed: false,
        completeness: None,
        estimate: None,
    }
}

/// Time series buckets: 5 or 15 minutes, local hours or local days of a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Bucket {
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "15m")]
    FifteenMinutes,
    #[serde(rename = "hour")]
    Hour,
    #[serde(rename = "day")]
    Day,
}

impl Bucket {
    /// Its name in the API (`bucket=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::FiveMinutes => "5m",
            Bucket::FifteenMinutes => "15m",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    /// Minutes of a bucket shorter than an hour.
    fn minutes(self) -> Option<i8> {
        match self {
            Bucket::FiveMinutes => Some(5),
            Bucket::FifteenMinutes => Some(15),
            Bucket::Hour | Bucket::Day => None,
        }
    }
}

/// The most buckets a series may have: a week of 5-minute buckets (2,016) from any
/// instant, or three weeks of 15-minute ones. The work of a series grows with its
/// buckets, so a month of 5-minute ones is refused, not computed.
pub const MAX_BUCKETS: usize = 2_100;

/// The boundaries `[start, end)` (Unix seconds) of the `bucket`s of `tz` that overlap
/// `since..=until`, first to last. Days run from local midnight to local midnight, so
/// a day with a DST change lasts 23 or 25 hours; hours and minutes are the local
/// clock's (a 15-minute bucket starts at :00, :15, :30 or :45 local, also in a zone
/// offset by 30 or 45 minutes), so the repeated hour of a DST change comes twice.
/// Stops past [`MAX_BUCKETS`] (the caller refuses such a range): the work is bounded
/// whatever the range.
pub fn buckets(
    since: i64,
    until: i64,
    bucket: Bucket,
    tz: &jiff::tz::TimeZone,
) -> Result<Vec<(i64, i64)>, jiff::Error> {
    let first = jiff::Timestamp::from_second(since)?.to_zoned_datetime(tz.clone());
    let mut start = match bucket {
        Bucket::Day => first.start_of_day()?,
        Bucket::Hour | Bucket::FiveMinutes | Bucket::FifteenMinutes => {
            let step = bucket.minutes().unwrap_or(60);
            first
                .with()
                .minute(first.minute() / step * step)
                .second(0)
                .subsec_nanosecond(0)
                .build()?
        }
    };
    let mut out = Vec::new();
    while start.timestamp().as_second() <= until && out.len() <= MAX_BUCKETS {
        let end = match bucket {
            Bucket::Day => start.tomorrow()?.start_of_day()?,
            Bucket::Hour => start.checked_add(jiff::Span::new().hours(1))?,
            Bucket::FiveMinutes | Bucket::FifteenMinutes => {
                start.checked_add(jiff::Span::new().minutes(bucket.minutes().unwrap_or(60)))?
            }
        };
        out.push((start.timestamp().as_second(), end.timestamp().as_second()));
        start = end;
    }
    Ok(out)
}

/// What a range's figures are compared with (`compare=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The period of the same length just before the range.
    Previous,
    /// The same local times seven days before.
    LastWeek,
}

impl Compare {
    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Compare::Previous => "previous",
            Compare::LastWeek => "last_week",
        }
    }

    /// Where the instant `at` of the range `since..=until` falls in the comparison
    /// window: `previous` moves it back by the range's length; `last_week` by seven
    /// local days of `tz` (across a DST change the local time is kept, so the window
    /// may be an hour longer or shorter than the range). Never before 1970.
    pub fn shift(
        self,
        at: i64,
        since: i64,
        until: i64,
        tz: &jiff::tz::TimeZone,
    ) -> Result<i64, jiff::Error> {
        let shifted = match self {
            Compare::Previous => at - (until - since + 1),
            Compare::LastWeek => jiff::Timestamp::from_second(at)?
                .to_zoned_datetime(tz.clone())
                .checked_sub(jiff::Span::new().days(7))?
                .timestamp()
                .as_second(),
        };
        Ok(shifted.max(0))
    }

    /// The comparison window of the range `since..=until` (inclusive, like the range).
    pub fn window(
        self,
        since: i64,
        until: i64,
        tz: &jiff::tz::TimeZone,
    ) -> Result<(i64, i64), jiff::Error> {
        let start = self.shift(since, since, until, tz)?;
        let end = self.shift(until.saturating_add(1), since, until, tz)? - 1;
        Ok((start, end.max(start)))
    }

    /// The comparison buckets of `bounds` (`[start, end)`, of the range `since..=until`):
    /// bucket for bucket, so that each point of a series is compared with its own.
    pub fn buckets(
        self,
        bounds: &[(i64, i64)],
        since: i64,
        until: i64,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Vec<(i64, i64)>, jiff::Error> {
        bounds
            .iter()
            .map(|&(start, end)| {
                let start = self.shift(start, since, until, tz)?;
                let end = self.shift(end, since, until, tz)?;
                Ok((start, end.max(start + 1)))
            })
            .collect()
    }
}

/// `bounds` (from [`buckets`]) cut to the range `since..=until`: the first bucket starts
/// at `since` and the last ends just after `until`, so that no bucket counts what
/// happened outside the range (a 12:00-12:59:59 range's series never holds a 13:00
/// bucket of the hour after it, and a range from 12:30 has a first bucket of half an
/// hour). The buckets keep their local boundaries inside the range.
pub fn clipped(mut bounds: Vec<(i64, i64)>, since: i64, until: i64) -> Vec<(i64, i64)> {
    bounds.retain(|(start, end)| *end > since && *start <= until);
    if let Some(first) = bounds.first_mut() {
        first.0 = first.0.max(since);
    }
    if let Some(last) = bounds.last_mut() {
        last.1 = last.1.min(until.saturating_add(1));
    }
    bounds
}

/// Nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}
