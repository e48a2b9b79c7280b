//! Estimators: from the devices heard to the people there. Each is named, its
//! parameters are given back with every answer, and docs/ESTIMATORS.md gives its
//! formula, its known bias and its source.
//!
//! - `devices`: every client MAC. Randomized MACs rotate, so one phone counts many
//!   times; long-dwelling devices (staff, printers) count as visitors.
//! - `non_randomized`: globally unique MACs only. Misses every phone that randomizes.
//! - `associated`: devices connected to the network. Misses everyone who does not
//!   connect.
//! - `adjusted`: non-randomized devices, long dwellers left out, scaled up by the share
//!   of phones that randomize, measured on the associated devices of the same window
//!   (a connected phone shows one stable MAC, randomized or not, so associated devices
//!   are one per phone): people = non-randomized / (1 - randomized share).

use api_types::Estimate;

use super::Visit;

/// A device whose visit lasts this long or longer is a long dweller (staff, a
/// stationary device), left out of `adjusted`.
pub const DEFAULT_LONG_DWELL_S: i64 = 4 * 3_600;
/// The fewest associated devices whose randomized share `adjusted` trusts; below it,
/// [`DEFAULT_RANDOMIZED_SHARE`].
pub const MIN_ASSOCIATED: i64 = 10;
/// The share of phones that randomize when the window shows too few associated
/// devices to measure it (most phones sold since 2020 randomize when not connected).
pub const DEFAULT_RANDOMIZED_SHARE: f64 = 0.5;
/// The largest randomized share `adjusted` scales by (a factor of at most 10).
pub const MAX_RANDOMIZED_SHARE: f64 = 0.9;

/// How the devices of a window are counted into people (`estimator=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    Devices,
    NonRandomized,
    Associated,
    Adjusted,
}

impl Estimator {
    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::Devices => "devices",
            Estimator::NonRandomized => "non_randomized",
            Estimator::Associated => "associated",
            Estimator::Adjusted => "adjusted",
        }
    }
}

/// The devices of a window as the estimators count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub devices: i64,
    pub non_randomized: i64,
    pub associated: i64,
    /// Devices with a visit of at least the long dwell: left out of the rest below.
    pub long_dwellers: i64,
    /// Of the others: non-randomized ones, and the associated ones, randomized or not.
    pub short_non_randomized: i64,
    pub short_associated: i64,
    pub short_associated_randomized: i64,
}

/// Tallies the devices of `visits` (those that count in a window), a device a
/// long dweller when one of its visits lasts `long_dwell_s` or longer.
pub fn tally(visits: &[&Visit], long_dwell_s: i64) -> Tally {
    let mut visits: Vec<&Visit> = visits.to_vec();
    if !visits.is_sorted_by_key(|v| (v.network_id, v.mac)) {
        visits.sort_by_key(|v| (v.network_id, v.mac));
    }
    let mut tally = Tally::default();
    for device in visits.chunk_by(|a, b| a.same_device(b)) {
        let randomized = device[0].heard.randomized;
        let associated = device.iter().any(|v| v.heard.associated);
        tally.devices += 1;
        tally.non_randomized += i64::from(!randomized);
        tally.associated += i64::from(associated);
        if device.iter().any(|v| v.dwell() >= long_dwell_s) {
            tally.long_dwellers += 1;
            continue;
        }
        tally.short_non_randomized += i64::from(!randomized);
        tally.short_associated += i64::from(associated);
        tally.short_associated_randomized += i64::from(associated && randomized);
    }
    tally
}

/// The randomized share of phones measured on `tally`'s associated devices, with
/// where it comes from; the default when they are too few.
pub fn randomized_share(tally: &Tally) -> (f64, String) {
    if tally.short_associated >= MIN_ASSOCIATED {
        let share = tally.short_associated_randomized as f64 / tally.short_associated as f64;
        (
            share.min(MAX_RANDOMIZED_SHARE),
            format!(
                "measured: {} of {} associated devices randomized",
                tally.short_associated_randomized, tally.short_associated
            ),
        )
    } else {
        (
            DEFAULT_RANDOMIZED_SHARE,
            format!(
                "default: fewer than {MIN_ASSOCIATED} associated devices to measure it ({})",
                tally.short_associated
            ),
        )
    }
}

/// The estimate of `estimator` from `tally`; `adjusted` scales by `share` (from
/// [`randomized_share`], of this window or of a whole range for its buckets).
pub fn estimate(
    estimator: Estimator,
    tally: &Tally,
    long_dwell_s: i64,
    share: &(f64, String),
) -> Estimate {
    let plain = |value: i64| Estimate {
        estimator: estimator.as_str().to_string(),
        value: value as f64,
        long_dwell_s: None,
        excluded_long_dwellers: None,
        randomized_share: None,
        randomized_share_from: None,
    };
    match estimator {
        Estimator::Devices => plain(tally.devices),
        Estimator::NonRandomized => plain(tally.non_randomized),
        Estimator::Associated => plain(tally.associated),
        Estimator::Adjusted => Estimate {
            estimator: estimator.as_str().to_string(),
            value: tally.short_non_randomized as f64 / (1.0 - share.0),
            long_dwell_s: Some(long_dwell_s),
            excluded_long_dwellers: Some(tally.long_dwellers),
            randomized_share: Some(share.0),
            randomized_share_from: Some(share.1.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::{visits_of_observations, Observation, Thresholds};
    use super::*;

    /// A small deterministic generator (no dependency): xorshift.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn chance(&mut self, share: f64) -> bool {
            (self.next() % 10_000) as f64 / 10_000.0 < share
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn seen(mac: u64, first: i64, last: i64, associated: bool, randomized: bool) -> Observation {
        Observation {
            network_id: 1,
            mac,
            node_mac: 1,
            first_seen: first,
            last_seen: last,
            max_signal: -60,
            associated,
            randomized,
        }
    }

    /// A venue over a day: `people` visitors of 10-60 minutes, each with one phone;
    /// `randomizing` of them randomize, showing a new MAC every 15 minutes unless
    /// connected; `connecting` of all phones connect (one stable MAC). Plus `staff`
    /// phones there all day (non-randomized). Returns the visits.
    fn venue(seed: u64, people: u64, randomizing: f64, connecting: f64, staff: u64) -> Vec<Visit> {
        let mut rng = Rng(seed);
        let mut rows = Vec::new();
        let mut next_mac = 1u64;
        let mut mac = |randomized: bool| {
            next_mac += 1;
            // The locally administered bit marks a randomized MAC.
            if randomized {
                (0x02 << 40) | next_mac
            } else {
                next_mac
            }
        };
        for _ in 0..people {
            let start = 8 * 3_600 + rng.below(10 * 3_600) as i64;
            let dwell = 600 + rng.below(3_000) as i64;
            let randomizes = rng.chance(randomizing);
            let connects = rng.chance(connecting);
            if !randomizes || connects {
                let m = mac(randomizes);
                rows.push(seen(m, start, start + dwell, connects, randomizes));
            } else {
                let mut at = start;
                while at < start + dwell {
                    let m = mac(true);
                    rows.push(seen(m, at, (at + 900).min(start + dwell), false, true));
                    at += 900;
                }
            }
        }
        for _ in 0..staff {
            let m = mac(false);
            rows.push(seen(m, 7 * 3_600, 19 * 3_600, true, false));
        }
        visits_of_observations(&rows, &Thresholds::default())
    }

    fn tally_of(visits: &[Visit]) -> Tally {
        let all: Vec<&Visit> = visits.iter().collect();
        tally(&all, DEFAULT_LONG_DWELL_S)
    }

    #[test]
    fn the_plain_estimators_count_exactly() {
        let visits = venue(7, 500, 0.6, 0.3, 5);
        let t = tally_of(&visits);
        // An independent count over the visits.
        let mut macs: Vec<(u64, bool, bool)> = visits
            .iter()
            .map(|v| (v.mac, v.heard.randomized, v.heard.associated))
            .collect();
        macs.sort_unstable();
        macs.dedup_by_key(|m| m.0);
        assert_eq!(t.devices, macs.len() as i64);
        assert_eq!(
            t.non_randomized,
            macs.iter().filter(|m| !m.1).count() as i64
        );
        assert_eq!(t.associated, macs.iter().filter(|m| m.2).count() as i64);
        assert_eq!(t.long_dwellers, 5);
        let share = randomized_share(&t);
        for (estimator, value) in [
            (Estimator::Devices, t.devices),
            (Estimator::NonRandomized, t.non_randomized),
            (Estimator::Associated, t.associated),
        ] {
            let e = estimate(estimator, &t, DEFAULT_LONG_DWELL_S, &share);
            assert_eq!(
                (e.estimator.as_str(), e.value),
                (estimator.as_str(), value as f64)
            );
            assert_eq!(e.randomized_share, None);
        }
    }

    #[test]
    fn adjusted_comes_near_the_people_where_devices_overcount() {
        // 100 seeded venues: 300 to 1,500 people, 40-80% randomizing, 20-50%
        // connecting, 3-10 staff. `devices` overcounts by the rotating MACs and the
        // staff; `adjusted`'s error is the sampling error of the share measured on the
        // connected phones: median about 4%, 90th percentile 10%, worst 20%.
        let mut rng = Rng(42);
        let mut errors: Vec<f64> = Vec::new();
        for seed in 1..=100 {
            let people = 300 + rng.below(1_200);
            let randomizing = 0.4 + rng.below(400) as f64 / 1_000.0;
            let connecting = 0.2 + rng.below(300) as f64 / 1_000.0;
            let staff = 3 + rng.below(8);
            let visits = venue(seed, people, randomizing, connecting, staff);
            let t = tally_of(&visits);
            let share = randomized_share(&t);
            assert!(share.1.starts_with("measured"), "{}", share.1);
            let adjusted = estimate(Estimator::Adjusted, &t, DEFAULT_LONG_DWELL_S, &share);
            let error = (adjusted.value - people as f64).abs() / people as f64;
            errors.push(error);
            assert_eq!(adjusted.excluded_long_dwellers, Some(staff as i64));
            assert!(
                t.devices as f64 > people as f64 * 1.1,
                "seed {seed}: devices {} people {people}",
                t.devices
            );
        }
        errors.sort_by(f64::total_cmp);
        let (median, p90, worst) = (errors[50], errors[90], errors[99]);
        assert!(median < 0.06, "median error {median:.3}");
        assert!(p90 < 0.12, "90th percentile error {p90:.3}");
        assert!(worst < 0.22, "worst error {worst:.3}");
    }

    #[test]
    fn without_enough_associated_devices_the_default_share_is_used_and_said() {
        let visits = venue(3, 100, 0.5, 0.0, 0);
        let t = tally_of(&visits);
        let share = randomized_share(&t);
        assert_eq!(share.0, DEFAULT_RANDOMIZED_SHARE);
        assert!(share.1.starts_with("default"), "{}", share.1);
    }
}
