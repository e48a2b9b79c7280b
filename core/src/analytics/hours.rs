//! Opening hours: when a network is open, in its local time, and the instants that
//! makes open over a range. Visitor figures count the visits that overlap them.

use std::collections::HashMap;

use api_types::OpeningHours;

use super::Visit;

const DAY_MIN: u16 = 24 * 60;
/// The most intervals a weekday may have.
pub const MAX_INTERVALS_A_DAY: usize = 8;

/// Which hours figures count (`hours=`): `open`, within each network's opening hours
/// (where it has them), or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Hours {
    Open,
    All,
}

impl Hours {
    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Hours::Open => "open",
            Hours::All => "all",
        }
    }
}

/// A week of opening hours, validated: per weekday (Monday first) its intervals in
/// minutes from local midnight, sorted, overlapping ones joined while the join lasts at
/// most a day; an end past 1440 runs into the next day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    days: [Vec<(u16, u16)>; 7],
}

/// Why opening hours were refused: the field (`opening_hours.mon`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursError {
    pub field: String,
    pub message: String,
}

impl Schedule {
    /// Validates opening hours as the API takes them. A week with no interval at all
    /// is closed all week (no opening hours at all is `null`).
    pub fn parse(hours: &OpeningHours) -> Result<Schedule, HoursError> {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for ((name, texts), day) in OpeningHours::DAYS
            .iter()
            .zip(hours.days())
            .zip(days.iter_mut())
        {
            let field = format!("opening_hours.{name}");
            if texts.len() > MAX_INTERVALS_A_DAY {
                return Err(HoursError {
                    field,
                    message: format!(
                        "has {} intervals; at most {MAX_INTERVALS_A_DAY} a day",
                        texts.len()
                    ),
                });
            }
            for text in texts {
                let interval = interval(text).ok_or_else(|| HoursError {
                    field: field.clone(),
                    message: format!(
                        "{text:?} is not an interval like \"09:00-21:00\" (24-hour clock, \
                         two digits each; 24:00 ends at midnight; \"22:00-02:00\" runs past \
                         midnight)"
                    ),
                })?;
                day.push(interval);
            }
            day.sort_unstable();
            // Overlapping intervals are joined while the join stays within 24 hours
            // (one interval can say no more); beyond, they stay apart and overlap
            // (`00:00-24:00` with `23:00-01:00`), which the instants join anyway.
            let mut joined: Vec<(u16, u16)> = Vec::with_capacity(day.len());
            for (start, end) in day.drain(..) {
                match joined.last_mut() {
                    Some(last) if start <= last.1 && last.1.max(end) - last.0 <= DAY_MIN => {
                        last.1 = last.1.max(end);
                    }
                    _ => joined.push((start, end)),
                }
            }
            *day = joined;
        }
        Ok(Schedule { days })
    }

    /// The canonical form, as stored and answered: intervals sorted and merged.
    pub fn to_api(&self) -> OpeningHours {
        let mut hours = OpeningHours::default();
        for (texts, day) in hours.days_mut().into_iter().zip(&self.days) {
            *texts = day
                .iter()
                .map(|&(start, end)| format!("{}-{}", clock(start), clock_end(end)))
                .collect();
        }
        hours
    }

    /// The open intervals `[start, end)` (Unix seconds) in `tz` that overlap
    /// `since..=until`, sorted and disjoint (an interval past midnight that meets the
    /// next day's is joined to it). A local time skipped by a DST change is taken as
    /// the instant after the gap.
    pub fn intervals(
        &self,
        since: i64,
        until: i64,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Vec<(i64, i64)>, jiff::Error> {
        let first = jiff::Timestamp::from_second(since)?
            .to_zoned_datetime(tz.clone())
            .date()
            .yesterday()?;
        let last = jiff::Timestamp::from_second(until)?
            .to_zoned_datetime(tz.clone())
            .date();
        // Day by day, each day's in order: sorted by start already.
        let mut out: Vec<(i64, i64)> = Vec::new();
        let mut date = first;
        while date <= last {
            let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
            for &(start, end) in &self.days[weekday] {
                let start = at(date, start, tz)?;
                let end = at(date, end, tz)?;
                if end > since && start <= until && end > start {
                    out.push((start, end));
                }
            }
            date = date.tomorrow()?;
        }
        Ok(merged(out))
    }
}

/// Intervals sorted by start, with those that overlap or meet joined.
fn merged<T: Ord + Copy>(sorted: impl IntoIterator<Item = (T, T)>) -> Vec<(T, T)> {
    let mut out: Vec<(T, T)> = Vec::new();
    for (start, end) in sorted {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// `minutes` after the local midnight of `date` (past 1440: on a later day), as a Unix
/// second.
fn at(date: jiff::civil::Date, minutes: u16, tz: &jiff::tz::TimeZone) -> Result<i64, jiff::Error> {
    let date = date.checked_add(jiff::Span::new().days(i64::from(minutes / DAY_MIN)))?;
    let minutes = minutes % DAY_MIN;
    let time = jiff::civil::time(
        i8::try_from(minutes / 60).unwrap_or(0),
        i8::try_from(minutes % 60).unwrap_or(0),
        0,
        0,
    );
    Ok(date
        .to_datetime(time)
        .to_zoned_datetime(tz.clone())?
        .timestamp()
        .as_second())
}

/// `HH:MM-HH:MM` as minutes from midnight; an end at or before the start runs into the
/// next day (at the start itself: 24 hours), `24:00` ends at midnight.
fn interval(text: &str) -> Option<(u16, u16)> {
    let (start, end) = text.trim().split_once('-')?;
    let start = minutes(start.trim())?;
    let end = minutes(end.trim())?;
    if start >= DAY_MIN {
        return None;
    }
    Some(if end > start {
        (start, end)
    } else {
        (start, end + DAY_MIN)
    })
}

/// `HH:MM` (`24:00` allowed) as minutes from midnight.
fn minutes(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
        return None;
    }
    Some(hours * 60 + minutes)
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// An interval's end: `24:00` at midnight, the next day's clock past it.
fn clock_end(minutes: u16) -> String {
    if minutes == DAY_MIN {
        "24:00".to_string()
    } else {
        clock(minutes % DAY_MIN)
    }
}

/// The instants the networks of a request are open, over its range: what restricts
/// figures to opening hours. Networks without opening hours are never restricted.
#[derive(Debug, Clone, Default)]
pub struct OpenTimes {
    /// Per network with opening hours: its open intervals `[start, end)`, sorted and
    /// disjoint.
    by_network: HashMap<i64, Vec<(i64, i64)>>,
    /// When every network of the scope has opening hours: the union of theirs (a
    /// bucket outside it is closed); `None` when one of them is open at every hour.
    scope: Option<Vec<(i64, i64)>>,
}

impl OpenTimes {
    /// Every hour counts (no opening hours, or `hours=all`).
    pub fn always() -> OpenTimes {
        OpenTimes::default()
    }

    /// `by_network`: the open intervals of each network with opening hours (as
    /// [`Schedule::intervals`] gives them); `scope_networks`: the networks the request
    /// covers, to tell whether a stretch of time is closed for all of them.
    pub fn new(by_network: HashMap<i64, Vec<(i64, i64)>>, scope_networks: &[i64]) -> OpenTimes {
        let scope = (!scope_networks.is_empty()
            && scope_networks.iter().all(|id| by_network.contains_key(id)))
        .then(|| {
            let mut union: Vec<(i64, i64)> = scope_networks
                .iter()
                .flat_map(|id| by_network[id].iter().copied())
                .collect();
            union.sort_unstable();
            merged(union)
        });
        OpenTimes { by_network, scope }
    }

    /// Whether some network's figures are restricted to its opening hours.
    pub fn restricts(&self) -> bool {
        !self.by_network.is_empty()
    }

    /// Whether `visit` counts in `from..=to`: it overlaps its network's opening hours
    /// there (any visit of a network without them).
    pub fn admits(&self, visit: &Visit, from: i64, to: i64) -> bool {
        match self.by_network.get(&visit.network_id) {
            None => true,
            Some(open) => overlaps(open, visit.start.max(from), visit.end.min(to)),
        }
    }

    /// Whether `from..=to` lies wholly outside the opening hours of `network_id` (never
    /// for a network without them).
    pub fn closed_in(&self, network_id: i64, from: i64, to: i64) -> bool {
        self.by_network
            .get(&network_id)
            .is_some_and(|open| !overlaps(open, from, to))
    }

    /// Whether `from..=to` lies wholly outside the opening hours of every network of
    /// the scope.
    pub fn closed(&self, from: i64, to: i64) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|open| !overlaps(open, from, to))
    }
}

/// Whether the sorted, disjoint `[start, end)` intervals meet `from..=to`.
fn overlaps(intervals: &[(i64, i64)], from: i64, to: i64) -> bool {
    if from > to {
        return false;
    }
    let next = intervals.partition_point(|(_, end)| *end <= from);
    intervals.get(next).is_some_and(|(start, _)| *start <= to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(days: &[(&str, &[&str])]) -> OpeningHours {
        let mut hours = OpeningHours::default();
        for (name, intervals) in days {
            let index = OpeningHours::DAYS.iter().position(|d| d == name).unwrap();
            *hours.days_mut()[index] = intervals.iter().map(|s| s.to_string()).collect();
        }
        hours
    }

    #[test]
    fn parses_merges_and_writes_back() {
        let hours = week(&[
            ("mon", &["14:00-18:00", "09:00-12:00", "11:30-13:00"]),
            ("fri", &["22:00-02:00"]),
            ("sat", &["06:00-06:00"]),
            ("sun", &["00:00-24:00"]),
        ]);
        let schedule = Schedule::parse(&hours).unwrap();
        let back = schedule.to_api();
        assert_eq!(back.mon, ["09:00-13:00", "14:00-18:00"]);
        assert_eq!(back.fri, ["22:00-02:00"]);
        assert_eq!(back.sat, ["06:00-06:00"]);
        assert_eq!(back.sun, ["00:00-24:00"]);
        assert!(back.tue.is_empty());
        // Closed all week is a schedule too.
        let closed = Schedule::parse(&OpeningHours::default()).unwrap();
        let tz = jiff::tz::TimeZone::UTC;
        assert!(closed.intervals(0, 30 * 86_400, &tz).unwrap().is_empty());
        assert_eq!(Schedule::parse(&back).unwrap(), schedule);
    }

    #[test]
    fn intervals_that_would_join_into_more_than_a_day_stay_apart() {
        let tz = jiff::tz::TimeZone::UTC;
        // Monday 2026-03-23 00:00 UTC.
        let monday = 1_774_224_000;
        for (given, kept) in [
            (
                ["00:00-24:00", "23:00-01:00"],
                ["00:00-24:00", "23:00-01:00"],
            ),
            (
                ["06:00-06:00", "05:00-07:00"],
                ["05:00-07:00", "06:00-06:00"],
            ),
        ] {
            let schedule = Schedule::parse(&week(&[("mon", &given)])).unwrap();
            let back = schedule.to_api();
            assert_eq!(back.mon, kept);
            assert_eq!(Schedule::parse(&back).unwrap(), schedule);
            // As instants they are one stretch.
            let open = schedule.intervals(monday, monday + 86_399, &tz).unwrap();
            assert_eq!(open.len(), 1, "{given:?}: {open:?}");
        }
        let open = Schedule::parse(&week(&[("mon", &["00:00-24:00", "23:00-01:00"])]))
            .unwrap()
            .intervals(monday, monday + 2 * 86_400, &tz)
            .unwrap();
        assert_eq!(open, [(monday, monday + 25 * 3_600)]);
    }

    #[test]
    fn refuses_what_is_not_an_interval() {
        for bad in [
            "9:00-17:00",
            "09:00",
            "24:00-02:00",
            "09:60-10:00",
            "25:00-26:00",
            "09:00-24:30",
            "",
            "-",
            "0a:00-10:00",
        ] {
            let error = Schedule::parse(&week(&[("tue", &[bad])])).unwrap_err();
            assert_eq!(error.field, "opening_hours.tue", "{bad:?}");
        }
        let many: Vec<&str> = vec!["01:00-02:00"; 9];
        assert!(Schedule::parse(&week(&[("wed", &many)])).is_err());
    }

    #[test]
    fn intervals_follow_the_local_clock_and_weekdays() {
        let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        // Mon 2026-03-23 .. Sun 2026-03-29 (DST starts Sun 29 March at 02:00).
        let schedule = Schedule::parse(&week(&[
            ("mon", &["09:00-17:00"]),
            ("sat", &["23:00-03:00"]),
        ]))
        .unwrap();
        let local = |text: &str| {
            text.parse::<jiff::civil::DateTime>()
                .unwrap()
                .to_zoned_datetime(tz.clone())
                .unwrap()
                .timestamp()
                .as_second()
        };
        let since = local("2026-03-23T00:00");
        let until = local("2026-03-30T00:00") - 1;
        let open = schedule.intervals(since, until, &tz).unwrap();
        assert_eq!(
            open,
            [
                (local("2026-03-23T09:00"), local("2026-03-23T17:00")),
                // Four local hours, three real ones: 02:00-03:00 does not exist.
                (local("2026-03-28T23:00"), local("2026-03-29T03:00")),
            ]
        );
        assert_eq!(open[1].1 - open[1].0, 3 * 3_600);
        // The Saturday-night interval of the week before reaches into this range.
        let from_sunday = schedule
            .intervals(local("2026-03-22T00:00"), local("2026-03-22T12:00"), &tz)
            .unwrap();
        assert_eq!(
            from_sunday,
            [(local("2026-03-21T23:00"), local("2026-03-22T03:00"))]
        );
    }

    #[test]
    fn open_times_admit_overlapping_visits_and_tell_closed() {
        let visit = |network_id, start, end| Visit {
            network_id,
            mac: 1,
            start,
            end,
            heard: super::super::Heard {
                max_signal: -60,
                strongest_node: 1,
                strongest_first_seen: start,
                associated: false,
                randomized: false,
                nodes: vec![1],
            },
            segment_spans: Vec::new(),
        };
        let by_network = HashMap::from([(1, vec![(100, 200), (300, 400)])]);
        let one = OpenTimes::new(by_network.clone(), &[1]);
        assert!(one.restricts());
        assert!(one.admits(&visit(1, 150, 160), 0, 1_000));
        assert!(one.admits(&visit(1, 50, 100), 0, 1_000));
        assert!(!one.admits(&visit(1, 200, 299), 0, 1_000));
        // Open at 350, but not within the bucket asked.
        assert!(!one.admits(&visit(1, 250, 350), 0, 299));
        assert!(one.admits(&visit(2, 250, 260), 0, 1_000));
        assert!(one.closed(200, 299));
        assert!(!one.closed(200, 300));
        // A network of the scope without opening hours: never closed.
        let two = OpenTimes::new(by_network, &[1, 2]);
        assert!(!two.closed(200, 299));
        assert!(!OpenTimes::always().closed(0, 10));
        assert!(!OpenTimes::always().restricts());
    }
}
