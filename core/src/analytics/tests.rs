use api_types::StatsSummary;

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
    let counting = Counting {
        nodes: nodes.as_ref().map(|n| &n[..]),
        thresholds: t,
        days: &days,
        open: &OpenTimes::always(),
    };
    super::summary(visits, since, until, &counting)
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
fn minute_buckets_follow_the_local_clock_and_are_bounded() {
    let utc = jiff::tz::TimeZone::UTC;
    // "Last hour" from 12:07:30: the 5-minute buckets from 12:05, twelve and a bit.
    let since = T0 + 450;
    let fives = buckets(since, since + 3_599, Bucket::FiveMinutes, &utc).unwrap();
    assert_eq!(fives.first(), Some(&(T0 + 300, T0 + 600)));
    assert_eq!(fives.len(), 13);
    assert!(fives.iter().all(|(start, end)| end - start == 300));
    let clipped_fives = clipped(fives, since, since + 3_599);
    assert_eq!(clipped_fives.first(), Some(&(since, T0 + 600)));
    assert_eq!(clipped_fives.last(), Some(&(T0 + 3_900, since + 3_600)));
    // Quarter hours of the local clock in a zone 5:45 off UTC (Kathmandu): T0 is 05:45
    // there, so 05:46:40 falls in 05:45-06:00.
    let kathmandu = jiff::tz::TimeZone::get("Asia/Kathmandu").unwrap();
    assert_eq!(
        buckets(T0 + 100, T0 + 100, Bucket::FifteenMinutes, &kathmandu).unwrap(),
        [(T0, T0 + 900)]
    );
    // A month of 5-minute buckets is cut short past the bound (the API refuses it).
    let month = buckets(T0, T0 + 31 * 86_400, Bucket::FiveMinutes, &utc).unwrap();
    assert_eq!(month.len(), MAX_BUCKETS + 1);
    // A week of them is within it, from any instant.
    assert_eq!(
        buckets(T0, T0 + 7 * 86_400 - 1, Bucket::FiveMinutes, &utc)
            .unwrap()
            .len(),
        2_016
    );
    assert_eq!(
        buckets(T0 + 1, T0 + 7 * 86_400, Bucket::FiveMinutes, &utc)
            .unwrap()
            .len(),
        2_017
    );
}

#[test]
fn comparison_windows_previous_and_last_week() {
    let utc = jiff::tz::TimeZone::UTC;
    // Today so far (00:00-14:59:59) against the same length before, and last week's.
    let (since, until) = (T0, T0 + 15 * 3_600 - 1);
    assert_eq!(
        Compare::Previous.window(since, until, &utc).unwrap(),
        (T0 - 15 * 3_600, T0 - 1)
    );
    assert_eq!(
        Compare::LastWeek.window(since, until, &utc).unwrap(),
        (T0 - 7 * 86_400, T0 - 7 * 86_400 + 15 * 3_600 - 1)
    );
    // Bucket for bucket.
    let hours = [(T0, T0 + 3_600), (T0 + 3_600, T0 + 7_200)];
    assert_eq!(
        Compare::Previous
            .buckets(&hours, T0, T0 + 7_199, &utc)
            .unwrap(),
        [(T0 - 7_200, T0 - 3_600), (T0 - 3_600, T0)]
    );
    // Across Berlin's spring change (2026-03-29): Monday 30th 09:00-10:00 CEST is
    // compared with Monday 23rd 09:00-10:00 CET: the same local hour, 7 days less an
    // hour of clock time before.
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let monday_nine = 1774854000; // 2026-03-30 09:00 CEST
    assert_eq!(
        Compare::LastWeek
            .window(monday_nine, monday_nine + 3_599, &berlin)
            .unwrap(),
        (
            monday_nine - 7 * 86_400 + 3_600,
            monday_nine - 7 * 86_400 + 3_600 + 3_599
        )
    );
    // Never before 1970.
    assert_eq!(Compare::Previous.window(10, 100, &utc).unwrap(), (0, 9));
}

#[test]
fn a_networks_visits_are_a_slice_of_the_assembled_ones() {
    let t = Thresholds::default();
    let at = |mac: &str, first: i64| seen(mac, "ac:86:74:00:00:01", first, first + 60, -60);
    let mut observations = Vec::new();
    for (network, mac) in [
        (9, "00:11:22:33:44:01"),
        (3, "00:11:22:33:44:02"),
        (9, "00:11:22:33:44:03"),
        (5, "00:11:22:33:44:04"),
    ] {
        let mut observation = at(mac, 0);
        observation.network_id = network;
        observations.push(observation);
    }
    let all = visits(observations, &t);
    let networks =
        |id: i64| -> Vec<i64> { of_network(&all, id).iter().map(|v| v.network_id).collect() };
    assert_eq!(networks(9), [9, 9]);
    assert_eq!(networks(3), [3]);
    assert_eq!(networks(5), [5]);
    assert!(networks(4).is_empty() && networks(1).is_empty() && networks(10).is_empty());
}

#[test]
fn series_buckets_are_clipped_to_the_range() {
    let utc = jiff::tz::TimeZone::UTC;
    let hours = |since: i64, until: i64| {
        clipped(
            buckets(since, until, Bucket::Hour, &utc).unwrap(),
            since,
            until,
        )
    };
    // From mid-hour to a minute past the next hour: two partial hours.
    assert_eq!(
        hours(T0 + 90, T0 + 3_660),
        [(T0 + 90, T0 + 3_600), (T0 + 3_600, T0 + 3_661)]
    );
    // A whole hour (until inclusive): one bucket, not the next hour's too.
    assert_eq!(hours(T0, T0 + 3_599), [(T0, T0 + 3_600)]);
    // One instant: a one-second bucket.
    assert_eq!(hours(T0 + 10, T0 + 10), [(T0 + 10, T0 + 11)]);
    // Nothing outside the bounds is invented.
    assert_eq!(clipped(Vec::new(), T0, T0 + 10), []);

    // A visit after the range counts in no bucket of it.
    let t = Thresholds::default();
    let all = visits(
        vec![
            seen("aa", "n1", 100, 200, -50),
            seen("bb", "n1", 3_700, 3_800, -50),
        ],
        &t,
    );
    let days = Days::new(T0, T0 + 3_599, &utc).unwrap();
    let counting = Counting {
        nodes: None,
        thresholds: &t,
        days: &days,
        open: &OpenTimes::always(),
    };
    let points = series(&all, &hours(T0, T0 + 3_599), &counting);
    assert_eq!(points.len(), 1);
    assert_eq!(
        (points[0].since, points[0].until, points[0].devices),
        (T0, T0 + 3_599, 1)
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
