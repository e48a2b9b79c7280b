//! The toolbar under the summary: a link that downloads the range's figures as CSV.

use yew::prelude::*;

use super::Figures;
use crate::format;

/// The figures as a CSV file, a row a bucket and one for the whole range.
pub(super) fn link(figures: &Figures) -> Html {
    html! {
        <p class="toolbar">
            <a class="button" data-testid="overview-csv" download="ncompass-overview.csv"
                href={format!("data:text/csv;charset=utf-8,{}", String::from(js_sys::encode_uri_component(
                    &format::series_csv(&figures.tz, &figures.series.points, &figures.summary,
                        &|t| crate::components::clock::iso_in(t, &figures.tz)))))}>
                { format!("Download these figures (CSV, {} rows)", figures.series.points.len() + 1) }
            </a>
        </p>
    }
}
