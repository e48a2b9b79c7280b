//! The charts over the range: unique devices, and visitors and passers-by, per 5 or 15
//! minutes, hour or day.

use api_types::StatsSummary;
use yew::prelude::*;

use super::Figures;
use crate::components::chart::{Gap, Series, StackedBars};
use crate::components::clock;

/// The devices and the visits of each bucket of the range, stacked by kind. Buckets
/// over before `first_report` (the first report of the scope's access points) have no
/// data, as do those none of whose expected reports arrived; those outside the opening
/// hours are closed; those missing some reports are partial: drawn as such, never as
/// zero.
pub(super) fn charts(figures: &Figures, first_report: Option<i64>) -> Html {
    let missing: Vec<Option<Gap>> = figures
        .series
        .points
        .iter()
        .map(|p| {
            // Before the first report, or none of the reports expected arrived.
            let silent = p
                .completeness
                .as_ref()
                .is_some_and(|c| c.expected_reports > 0 && c.received_reports == 0);
            if first_report.is_some_and(|first| p.until < first) {
                Some(Gap::NoData)
            } else if p.closed {
                Some(Gap::Closed)
            } else if silent {
                Some(Gap::NoData)
            } else {
                None
            }
        })
        .collect();
    let partial: Vec<Option<String>> = figures
        .series
        .points
        .iter()
        // The bucket still under way waits for reports in flight: never partial.
        .map(|p| {
            (p.until < figures.at - 60)
                .then(|| crate::format::incomplete(p.completeness.as_ref()))
                .flatten()
        })
        .collect();
    let reason = "no access point here was reporting";
    let labels: Vec<String> = figures
        .series
        .points
        .iter()
        .map(|p| match figures.bucket {
            "day" => clock::weekday_day_in(p.since, &figures.tz),
            _ => clock::hour_minute_in(p.since, &figures.tz),
        })
        .collect();
    let column =
        |pick: fn(&StatsSummary) -> i64| figures.series.points.iter().map(pick).collect::<Vec<_>>();
    let devices = vec![
        Series {
            name: "Associated".into(),
            class: "s-associated",
            values: column(|p| p.devices_associated),
        },
        Series {
            name: "Other non-randomized".into(),
            class: "s-global",
            values: column(|p| p.devices_non_randomized_unassociated),
        },
        Series {
            name: "Randomized".into(),
            class: "s-random",
            values: column(|p| p.devices_randomized_unassociated),
        },
    ];
    let visits = vec![
        Series {
            name: "Visitors".into(),
            class: "s-visitors",
            values: column(|p| p.visitors),
        },
        Series {
            name: "Passers-by".into(),
            class: "s-passers",
            values: column(|p| p.passers_by),
        },
    ];
    let per = match figures.bucket {
        "5m" => "5 minutes",
        "15m" => "15 minutes",
        other => other,
    };
    html! {
        <>
            <StackedBars title={format!("Unique devices per {per}")} unit="devices" labels={labels.clone()} series={devices}
                missing={missing.clone()} missing_reason={reason} partial={partial.clone()} />
            <StackedBars title={format!("Visitors and passers-by per {per}")} unit="visits" {labels} series={visits}
                {missing} missing_reason={reason} {partial} />
        </>
    }
}
