//! The Meraki receiver's untrusted input: any bytes as a Scanning API post.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncompass_core::cloudtrax::{Mac, TimeRules, SIGNAL_RANGE};
use ncompass_core::meraki::{self, Kind, MAX_PROBE_REQUESTS, MAX_TEXT_BYTES};

fuzz_target!(|data: &[u8]| {
    // Reading the secret and the envelope never panics.
    let _ = meraki::read_secret(data);
    let Ok(envelope) = meraki::read_envelope(data) else {
        return;
    };
    // The parser never panics, and what it accepts obeys the contract.
    let rules = TimeRules::at(1_796_637_600);
    let Ok(post) = meraki::parse_post(data, &envelope, &rules, "fuzz") else {
        return;
    };
    assert!(
        post.network.network_id < 0,
        "Meraki networks are numbered below zero"
    );
    assert_eq!(
        post.network.network_id,
        meraki::network_number(&post.network.meraki_id)
    );
    assert!(post.ignored <= post.observations);
    assert!(post.probe_requests() <= MAX_PROBE_REQUESTS);
    if post.kind == Kind::Bluetooth {
        assert!(post.reports.is_empty() && post.devices.is_empty());
        assert_eq!(post.ignored, post.observations);
    }
    for report in &post.reports {
        assert_eq!(report.network_id, post.network.network_id);
        assert_eq!(
            Mac::parse(report.node_mac.canonical().as_str()),
            Some(report.node_mac)
        );
        for probe in &report.probe_requests {
            assert_eq!(probe.count, 1);
            assert!(0 <= probe.first_seen && probe.first_seen <= probe.last_seen);
            assert!(probe.last_seen <= rules.received_at + 86_400);
            for signal in [probe.min_signal, probe.max_signal, probe.avg_signal] {
                assert!(SIGNAL_RANGE.contains(&i64::from(signal)));
            }
            assert_eq!(Mac::parse(probe.mac.canonical().as_str()), Some(probe.mac));
        }
    }
    for device in &post.devices {
        for text in [&device.manufacturer, &device.os, &device.ssid]
            .into_iter()
            .flatten()
        {
            assert!(text.len() <= MAX_TEXT_BYTES);
        }
    }
});
