//! The webhook's untrusted input: any bytes as a body, any bytes as a signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncompass_core::cloudtrax::{parse_report, verify_signature, Mac, TimeRules, SIGNAL_RANGE};

fuzz_target!(|data: &[u8]| {
    // The parser never panics, and what it accepts obeys the contract.
    let rules = TimeRules::at(1_764_115_200);
    if let Ok(report) = parse_report(data, &rules) {
        assert_eq!(report.version, 1);
        assert!(report.network_id >= 0);
        assert_eq!(Mac::parse(report.node_mac.canonical().as_str()), Some(report.node_mac));
        for probe in &report.probe_requests {
            assert!(probe.count >= 0);
            assert!(0 <= probe.first_seen && probe.first_seen <= probe.last_seen);
            assert!(probe.last_seen - probe.first_seen <= rules.max_span_s);
            assert!(probe.last_seen <= rules.received_at + 86_400);
            for signal in [probe.min_signal, probe.max_signal, probe.avg_signal] {
                assert!(SIGNAL_RANGE.contains(&i64::from(signal)));
            }
            assert_eq!(Mac::parse(probe.mac.canonical().as_str()), Some(probe.mac));
        }
    }
    // The signature check never panics, whatever the header holds.
    let split = data.len() / 2;
    let _ = verify_signature(b"s3cret-presence-key", &data[split..], Some(&data[..split]));
});
