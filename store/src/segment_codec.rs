//! The presence segments' codec: how a [`Segment`] is kept in the `segment` column
//! (compact bytes, not JSON: a day holds millions), and its MAC in the `mac` column.

use ncompass_core::analytics::{Heard, MacId, Segment};
use ncompass_core::mac::Mac;

/// A MAC as the segments table stores it: its 48-bit number (always within i64).
pub(crate) fn sql_mac(mac: MacId) -> i64 {
    Mac::from_u64(mac).to_i64()
}

/// Bytes of a segment's fixed part: network (8), MAC (6), first and last seen (8 + 8),
/// strongest signal (4), its access point (6) and start (8), flags (1); then 6 bytes
/// per access point.
const FIXED: usize = 49;

/// A segment in the table's `segment` column: little-endian numbers, MACs in 6 bytes.
pub fn encode(segment: &Segment) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED + 6 * segment.heard.nodes.len());
    out.extend_from_slice(&segment.network_id.to_le_bytes());
    out.extend_from_slice(&segment.mac.to_le_bytes()[..6]);
    out.extend_from_slice(&segment.first_seen.to_le_bytes());
    out.extend_from_slice(&segment.last_seen.to_le_bytes());
    out.extend_from_slice(&segment.heard.max_signal.to_le_bytes());
    out.extend_from_slice(&segment.heard.strongest_node.to_le_bytes()[..6]);
    out.extend_from_slice(&segment.heard.strongest_first_seen.to_le_bytes());
    out.push(u8::from(segment.heard.associated) | u8::from(segment.heard.randomized) << 1);
    for node in &segment.heard.nodes {
        out.extend_from_slice(&node.to_le_bytes()[..6]);
    }
    out
}

/// The segment of [`encode`]'s bytes; `None` for bytes it did not write.
pub fn decode(bytes: &[u8]) -> Option<Segment> {
    if bytes.len() < FIXED || (bytes.len() - FIXED) % 6 != 0 {
        return None;
    }
    let int = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let mac = |at: usize| {
        let mut octets = [0; 8];
        octets[..6].copy_from_slice(&bytes[at..at + 6]);
        u64::from_le_bytes(octets)
    };
    let first_seen = int(14);
    Some(Segment {
        network_id: int(0),
        mac: mac(8),
        day: first_seen.div_euclid(86_400),
        first_seen,
        last_seen: int(22),
        heard: Heard {
            max_signal: i32::from_le_bytes(bytes[30..34].try_into().unwrap_or_default()),
            strongest_node: mac(34),
            strongest_first_seen: int(40),
            associated: bytes[48] & 1 != 0,
            randomized: bytes[48] & 2 != 0,
            nodes: (FIXED..bytes.len()).step_by(6).map(mac).collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_survives_the_round_trip_and_garbage_is_refused() {
        let segment = Segment {
            network_id: -7,
            mac: 0xfe_dc_ba_98_76_54,
            day: 20_418,
            first_seen: 20_418 * 86_400 + 5,
            last_seen: 20_418 * 86_400 + 95,
            heard: Heard {
                max_signal: -41,
                strongest_node: 0x00_1a_2b_3c_4d_5e,
                strongest_first_seen: 20_418 * 86_400 + 7,
                associated: true,
                randomized: false,
                nodes: vec![0x00_1a_2b_3c_4d_5e, 0xff_ff_ff_ff_ff_ff],
            },
        };
        let bytes = encode(&segment);
        assert_eq!(bytes.len(), FIXED + 12);
        assert_eq!(decode(&bytes), Some(segment));
        assert_eq!(decode(&bytes[..FIXED - 1]), None);
        assert_eq!(decode(&bytes[..FIXED + 5]), None);
        assert_eq!(sql_mac(u64::MAX), 0xffff_ffff_ffff);
    }
}
