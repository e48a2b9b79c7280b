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
//! [`SEGMENT_GAP_S`] apart, cut at UTC midnight. The writer merges stored rows into them
//! when idle (`db::presence`), so a day's figures read segments, not
//! probe requests. Visits for any visit gap of at least [`SEGMENT_GAP_S`] are exactly
//! unions of consecutive segments (a cut between two observations at the visit gap is
//! also a cut at the smaller segment gap), and everything a figure needs (span, strongest
//! signal and access point, associated, the access points, the days seen) survives the
//! merge. A smaller visit gap is computed from the probe requests themselves.

mod completeness;
mod estimators;
mod figures;
mod hours;
mod segments;
mod visits;

pub use completeness::*;
pub use estimators::*;
pub use figures::*;
pub use hours::*;
pub use segments::*;
pub use visits::*;

pub use crate::mac::MacId;

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

#[cfg(test)]
mod tests;
