//! The dwell histogram: how long the range's visits lasted, visitors and passers-by.

use api_types::DwellHistogram;
use yew::prelude::*;

use crate::components::chart::{Series, StackedBars};
use crate::format;

/// The visits of the range by how long they lasted.
pub(super) fn chart(histogram: &DwellHistogram) -> Html {
    let buckets = &histogram.buckets;
    let dwell_labels: Vec<String> = buckets
        .iter()
        .map(|b| format::dwell_range(b.from_s, b.to_s))
        .collect();
    let dwell = vec![
        Series {
            name: "Visitors".into(),
            class: "s-visitors",
            values: buckets.iter().map(|b| b.visitors).collect(),
        },
        Series {
            name: "Passers-by".into(),
            class: "s-passers",
            values: buckets.iter().map(|b| b.visits - b.visitors).collect(),
        },
    ];
    html! {
        <StackedBars title="Dwell time of the visits" unit="visits" labels={dwell_labels} series={dwell} />
    }
}
