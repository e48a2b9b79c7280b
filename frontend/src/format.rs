//! How numbers and times are shown. Pure functions of their inputs (the clock is passed
//! in), so they are tested on the host.

/// "just now", "45 s ago", "3 min ago", "2 h ago", "5 days ago", "3 months ago",
/// "10 years ago"; "in the future" for a clock ahead of ours.
pub fn relative_time(now: i64, then: i64) -> String {
    let elapsed = now - then;
    match elapsed {
        i64::MIN..=-60 => "in the future".to_string(),
        -59..=4 => "just now".to_string(),
        5..=59 => format!("{elapsed} s ago"),
        60..=3_599 => format!("{} min ago", elapsed / 60),
        3_600..=86_399 => format!("{} h ago", elapsed / 3_600),
        86_400..=172_799 => "1 day ago".to_string(),
        172_800..=5_183_999 => format!("{} days ago", elapsed / 86_400),
        5_184_000..=63_071_999 => format!("{} months ago", elapsed / 2_592_000),
        _ => format!("{} years ago", elapsed / 31_536_000),
    }
}

/// A duration in seconds, to the two largest units: "0 s", "45 s", "2 min 5 s",
/// "1 h 3 min".
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3_599 => match seconds % 60 {
            0 => format!("{} min", seconds / 60),
            rest => format!("{} min {rest} s", seconds / 60),
        },
        _ => match (seconds % 3_600) / 60 {
            0 => format!("{} h", seconds / 3_600),
            rest => format!("{} h {rest} min", seconds / 3_600),
        },
    }
}

/// A dwell bucket's label, short enough that neighbouring bars' labels never overlap:
/// "5–15 min", "1–2 h", "< 1 min", "4 h+".
pub fn dwell_range(from_s: i64, to_s: Option<i64>) -> String {
    let unit = |s: i64| match s {
        0..=59 => (s, "s"),
        60..=3_599 => (s / 60, "min"),
        _ => (s / 3_600, "h"),
    };
    match to_s {
        None => {
            let (value, name) = unit(from_s);
            format!("{value} {name}+")
        }
        Some(to) if from_s == 0 => {
            let (value, name) = unit(to);
            format!("< {value} {name}")
        }
        Some(to) => {
            let ((from, from_unit), (to, to_unit)) = (unit(from_s), unit(to));
            if from_unit == to_unit {
                format!("{from}–{to} {to_unit}")
            } else {
                format!("{from} {from_unit}–{to} {to_unit}")
            }
        }
    }
}

/// A figure's change against another window in words and sign: "+12%: 380 at the same
/// time last week", "unchanged: 380 ...", "none ..." (when the window had none; `then`
/// is that window's figure, already formatted; `at` names the window).
pub fn change_line(ratio: Option<f64>, then: &str, at: &str) -> String {
    match ratio {
        None => format!("none {at}"),
        Some(ratio) if ratio.abs() < 0.005 => format!("unchanged: {then} {at}"),
        Some(ratio) => format!("{:+.0}%: {then} {at}", ratio * 100.0),
    }
}

/// `(now - then) / then`, or `None` when `then` is 0 (no ratio to give).
pub fn ratio(now: i64, then: i64) -> Option<f64> {
    (then != 0).then(|| (now - then) as f64 / then as f64)
}

/// The series of a range as CSV (RFC 4180, CRLF): one row per bucket with its figures,
/// its bounds as Unix seconds and as ISO 8601 local times of `tz` (`local` formats
/// them), the time zone it was counted in, and the range's summary as the last row.
pub fn series_csv(
    tz: &str,
    points: &[api_types::StatsSummary],
    summary: &api_types::StatsSummary,
    local: &dyn Fn(i64) -> String,
) -> String {
    let mut out = String::from(
        "bucket_start,bucket_end,bucket_start_local,bucket_end_local,tz,devices,\
devices_non_randomized,devices_associated,devices_non_randomized_unassociated,\
devices_randomized_unassociated,visits,visitors,passers_by,dwell_p50_s,dwell_p90_s,\
returning_devices,closed,expected_reports,received_reports\r\n",
    );
    let optional = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    // A time zone name holds no comma or quote: no quoting needed.
    for (start, p) in points
        .iter()
        .map(|p| (p.since.to_string(), p))
        .chain(std::iter::once(("range".to_string(), summary)))
    {
        out.push_str(&format!(
            "{start},{},{},{},{tz},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            p.until,
            local(p.since),
            local(p.until),
            p.devices,
            p.devices_non_randomized,
            p.devices_associated,
            p.devices_non_randomized_unassociated,
            p.devices_randomized_unassociated,
            p.visits,
            p.visitors,
            p.passers_by,
            optional(p.dwell_p50_s),
            optional(p.dwell_p90_s),
            p.returning_devices,
            p.closed,
            optional(p.completeness.as_ref().map(|c| c.expected_reports)),
            optional(p.completeness.as_ref().map(|c| c.received_reports)),
        ));
    }
    out
}

/// Weakest and strongest signals drawn on the signal bars, dBm.
pub const SIGNAL_FLOOR: i32 = -100;
pub const SIGNAL_CEILING: i32 = -20;

/// Where a signal sits between [`SIGNAL_FLOOR`] (0 %) and [`SIGNAL_CEILING`] (100 %).
pub fn signal_percent(dbm: i32) -> f64 {
    let clamped = dbm.clamp(SIGNAL_FLOOR, SIGNAL_CEILING);
    f64::from(clamped - SIGNAL_FLOOR) * 100.0 / f64::from(SIGNAL_CEILING - SIGNAL_FLOOR)
}

/// A one-word judgement of a signal, for people and screen readers.
pub fn signal_quality(dbm: i32) -> &'static str {
    match dbm {
        -55..=0 => "strong",
        -70..=-56 => "good",
        -80..=-71 => "fair",
        _ => "weak",
    }
}

/// A vendor as people know it.
pub fn vendor(vendor: api_types::Vendor) -> &'static str {
    match vendor {
        api_types::Vendor::Cloudtrax => "CloudTrax",
        api_types::Vendor::Meraki => "Meraki",
    }
}

/// What a vendor told about a device (manufacturer, OS, network name), joined with
/// " · "; `None` when it told nothing.
pub fn device_description(row: &api_types::ProbeRequest) -> Option<String> {
    let parts: Vec<&str> = [&row.manufacturer, &row.os, &row.ssid]
        .into_iter()
        .filter_map(|part| part.as_deref())
        .filter(|part| !part.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// The size of an export, for its download button: "1 row", "1,234 rows", or "over
/// 100,000 rows" when the server stopped counting.
pub fn export_size(counted: &api_types::ProbeRequestCount) -> String {
    let number = count(i64::try_from(counted.count).unwrap_or(i64::MAX));
    match (counted.exact, counted.count) {
        (false, _) => format!("over {number} rows"),
        (true, 1) => "1 row".to_string(),
        (true, _) => format!("{number} rows"),
    }
}

/// `1234567` as "1,234,567".
pub fn count(value: i64) -> String {
    #[cfg(target_arch = "wasm32")]
    if let Some(text) = crate::components::clock::number(value) {
        return text;
    }
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Below this share of its expected reports a figure is marked partial.
pub const PARTIAL_BELOW: f64 = 0.9;

/// "67% of expected reports" when a figure's reports are incomplete (below
/// [`PARTIAL_BELOW`], and at least two missing: one report more or less in a short
/// bucket is an access point's clock, not a gap); `None` when complete or not known.
pub fn incomplete(completeness: Option<&api_types::Completeness>) -> Option<String> {
    let completeness = completeness?;
    let share = completeness.share?;
    let missing = completeness.expected_reports - completeness.received_reports;
    (share < PARTIAL_BELOW && missing >= 2)
        .then(|| format!("{:.0}% of expected reports", (share * 100.0).floor()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_export_size_says_rows_and_when_counting_stopped() {
        use api_types::ProbeRequestCount;
        let size = |count, exact| export_size(&ProbeRequestCount { count, exact });
        assert_eq!(size(0, true), "0 rows");
        assert_eq!(size(1, true), "1 row");
        assert_eq!(size(1234, true), "1,234 rows");
        assert_eq!(size(100_000, false), "over 100,000 rows");
    }

    use super::*;

    #[test]
    fn changes_in_words() {
        assert_eq!(
            change_line(ratio(4, 2), "2", "last week"),
            "+100%: 2 last week"
        );
        assert_eq!(
            change_line(ratio(1, 4), "4", "last week"),
            "-75%: 4 last week"
        );
        assert_eq!(
            change_line(ratio(3, 3), "3", "last week"),
            "unchanged: 3 last week"
        );
        assert_eq!(change_line(ratio(3, 0), "0", "last week"), "none last week");
    }

    #[test]
    fn the_series_as_csv() {
        let point = api_types::StatsSummary {
            since: 0,
            until: 3_599,
            visit_gap_s: 600,
            visitor_dwell_s: 300,
            nearby_signal_dbm: -75,
            devices: 3,
            devices_non_randomized: 2,
            devices_associated: 1,
            devices_non_randomized_unassociated: 1,
            devices_randomized_unassociated: 1,
            visits: 4,
            visitors: 1,
            passers_by: 3,
            capture_rate: Some(0.25),
            dwell_p50_s: Some(60),
            dwell_p90_s: None,
            returning_devices: 0,
            tz: None,
            compared: None,
            hours: None,
            closed: false,
            estimate: None,
            completeness: Some(api_types::Completeness {
                expected_reports: 120,
                received_reports: 90,
                share: Some(0.75),
                silent_nodes: Vec::new(),
            }),
        };
        let local = |t: i64| format!("L{t}");
        let csv = series_csv(
            "Europe/Berlin",
            std::slice::from_ref(&point),
            &point,
            &local,
        );
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{csv}");
        assert_eq!(
            lines[1],
            "0,3599,L0,L3599,Europe/Berlin,3,2,1,1,1,4,1,3,60,,0,false,120,90"
        );
        assert!(lines[2].starts_with("range,3599,"));
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
    }

    #[test]
    fn a_figure_is_partial_below_ninety_percent_with_two_reports_missing() {
        let of = |expected: i64, received: i64| {
            incomplete(Some(&api_types::Completeness {
                expected_reports: expected,
                received_reports: received,
                share: (expected > 0).then(|| (received as f64 / expected as f64).min(1.0)),
                silent_nodes: Vec::new(),
            }))
        };
        // One report short of five in a 5-minute bucket: a clock, not a gap.
        assert_eq!(of(5, 4), None);
        assert_eq!(of(10, 8).as_deref(), Some("80% of expected reports"));
        assert_eq!(of(100, 95), None);
        assert_eq!(of(0, 0), None);
        assert_eq!(incomplete(None), None);
    }

    #[test]
    fn dwell_labels_are_short() {
        assert_eq!(dwell_range(0, Some(60)), "< 1 min");
        assert_eq!(dwell_range(60, Some(300)), "1–5 min");
        assert_eq!(dwell_range(300, Some(900)), "5–15 min");
        assert_eq!(dwell_range(1_800, Some(3_600)), "30 min–1 h");
        assert_eq!(dwell_range(3_600, Some(7_200)), "1–2 h");
        assert_eq!(dwell_range(14_400, None), "4 h+");
    }

    #[test]
    fn relative_times() {
        let now = 1_000_000;
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(relative_time(now, now + 30), "just now", "small clock skew");
        assert_eq!(relative_time(now, now + 600), "in the future");
        assert_eq!(relative_time(now, now - 45), "45 s ago");
        assert_eq!(relative_time(now, now - 120), "2 min ago");
        assert_eq!(relative_time(now, now - 3_599), "59 min ago");
        assert_eq!(relative_time(now, now - 7_200), "2 h ago");
        assert_eq!(relative_time(now, now - 86_400), "1 day ago");
        assert_eq!(relative_time(now, now - 5 * 86_400), "5 days ago");
        assert_eq!(relative_time(now, now - 59 * 86_400), "59 days ago");
        assert_eq!(relative_time(now, now - 60 * 86_400), "2 months ago");
        assert_eq!(relative_time(now, now - 729 * 86_400), "24 months ago");
        assert_eq!(relative_time(now, now - 3694 * 86_400), "10 years ago");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(-3), "0 s");
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(60), "1 min");
        assert_eq!(duration(125), "2 min 5 s");
        assert_eq!(duration(3_600), "1 h");
        assert_eq!(duration(3_780), "1 h 3 min");
    }

    #[test]
    fn signal_scale() {
        assert_eq!(signal_percent(-100), 0.0);
        assert_eq!(signal_percent(-128), 0.0);
        assert_eq!(signal_percent(-20), 100.0);
        assert_eq!(signal_percent(0), 100.0);
        assert_eq!(signal_percent(-60), 50.0);
        assert_eq!(signal_quality(-50), "strong");
        assert_eq!(signal_quality(-65), "good");
        assert_eq!(signal_quality(-75), "fair");
        assert_eq!(signal_quality(-90), "weak");
    }

    #[test]
    fn counts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-12_345), "-12,345");
    }
}
