//! The summary cards: the range's figures at a glance, each with what it counts.

use api_types::StatsSummary;
use yew::prelude::*;

use crate::format;

/// The summary of the range, a card a figure.
pub(super) fn cards(s: &StatsSummary) -> Html {
    html! {
        <section class="cards" aria-label="Summary" data-testid="summary">
            { card(format::count(s.devices), "devices", "all client MACs, randomized included") }
            { card(format::count(s.devices_non_randomized), "non-randomized devices", "trackable across days") }
            { card(format::count(s.devices_associated), "associated devices", "connected to the network") }
            { card(format::count(s.visits), "visits", &format!("no gap over {}", format::duration(s.visit_gap_s))) }
            { card(format::count(s.visitors), "visitors", &format!("≥ {} and ≥ {} dBm", format::duration(s.visitor_dwell_s), s.nearby_signal_dbm)) }
            { card(format::count(s.passers_by), "passers-by", "the other visits") }
            { card(s.capture_rate.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "–".into()), "capture rate", "visitors / visits") }
            { card(seconds(s.dwell_p50_s), "median dwell", &format!("90th percentile {}", seconds(s.dwell_p90_s))) }
            { card(format::count(s.returning_devices), "returning devices", "seen on an earlier day of the range") }
        </section>
    }
}

fn card(value: String, label: &str, hint: &str) -> Html {
    html! {
        <div class="card">
            <div class="value">{ value }</div>
            <div class="label">{ label.to_string() }</div>
            <div class="hint">{ hint.to_string() }</div>
        </div>
    }
}

fn seconds(value: Option<i64>) -> String {
    value
        .map(format::duration)
        .unwrap_or_else(|| "–".to_string())
}
