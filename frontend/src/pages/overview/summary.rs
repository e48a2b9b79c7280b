//! The summary cards: the range's figures at a glance, each with what it counts.

use api_types::{Compared, StatsSummary};
use yew::prelude::*;

use crate::format;

/// The summary of the range, a card a figure; the main counts with their change against
/// the comparison window when the summary has one.
pub(super) fn cards(s: &StatsSummary) -> Html {
    let compared = s.compared.as_ref();
    let vs = |pick: fn(&Compared) -> (Option<f64>, i64), name: &'static str| {
        compared.map(|c| change(c, pick(c), name))
    };
    html! {
        <section class="cards" aria-label="Summary" data-testid="summary">
            { card_with(format::count(s.devices), "devices", "all client MACs, randomized included",
                vs(|c| (c.change.devices, c.devices), "devices")) }
            { card_with(format::count(s.devices_non_randomized), "non-randomized devices", "trackable across days",
                vs(|c| (c.change.devices_non_randomized, c.devices_non_randomized), "devices_non_randomized")) }
            { card_with(format::count(s.devices_associated), "associated devices", "connected to the network",
                vs(|c| (c.change.devices_associated, c.devices_associated), "devices_associated")) }
            { card_with(format::count(s.visits), "visits", &format!("no gap over {}", format::duration(s.visit_gap_s)),
                vs(|c| (c.change.visits, c.visits), "visits")) }
            { card_with(format::count(s.visitors), "visitors", &format!("≥ {} and ≥ {} dBm", format::duration(s.visitor_dwell_s), s.nearby_signal_dbm),
                vs(|c| (c.change.visitors, c.visitors), "visitors")) }
            { card(format::count(s.passers_by), "passers-by", "the other visits") }
            { card(s.capture_rate.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "–".into()), "capture rate", "visitors / visits") }
            { card(seconds(s.dwell_p50_s), "median dwell", &format!("90th percentile {}", seconds(s.dwell_p90_s))) }
            { card(format::count(s.returning_devices), "returning devices", "seen on an earlier day of the range") }
        </section>
    }
}

fn card(value: String, label: &str, hint: &str) -> Html {
    card_with(value, label, hint, None)
}

fn card_with(value: String, label: &str, hint: &str, change: Option<Html>) -> Html {
    html! {
        <div class="card">
            <div class="value">{ value }</div>
            <div class="label">{ label.to_string() }</div>
            <div class="hint">{ hint.to_string() }</div>
            { for change }
        </div>
    }
}

/// The change against the comparison window, in words and sign (not colour alone).
fn change(compared: &Compared, (ratio, then): (Option<f64>, i64), name: &str) -> Html {
    let at = match compared.compare.as_str() {
        "last_week" => "at the same time last week",
        _ => "in the period before",
    };
    let class = match ratio {
        Some(ratio) if ratio >= 0.005 => "change up",
        Some(ratio) if ratio <= -0.005 => "change down",
        _ => "change",
    };
    html! {
        <div class={class} data-testid={format!("change-{name}")}>
            { format::change_line(ratio, &format::count(then), at) }
        </div>
    }
}

fn seconds(value: Option<i64>) -> String {
    value
        .map(format::duration)
        .unwrap_or_else(|| "–".to_string())
}
