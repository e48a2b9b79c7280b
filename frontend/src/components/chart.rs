//! Small SVG charts: stacked bars with axes, units, a legend, and values on hover
//! (each bar's `<title>`). No charting library: they would not fit the bundle budget.

use yew::prelude::*;

use crate::format;

/// One stacked series: its name in the legend, its CSS class (colour), a value per bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub values: Vec<i64>,
}

#[derive(Properties, PartialEq)]
pub struct StackedBarsProps {
    pub title: AttrValue,
    /// What the values count, e.g. "devices".
    pub unit: AttrValue,
    /// One label per bar, e.g. "14:00".
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;

/// The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1): a
/// round top for the y axis.
pub fn nice_max(value: i64) -> i64 {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= value.max(1) {
                return step * factor;
            }
        }
        step *= 10;
    }
}

#[function_component]
pub fn StackedBars(props: &StackedBarsProps) -> Html {
    let bars = props.labels.len();
    let totals: Vec<i64> = (0..bars)
        .map(|i| {
            props
                .series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let top = nice_max(totals.iter().copied().max().unwrap_or(0));
    if totals.iter().all(|total| *total == 0) {
        // Blank axes would read like a broken chart.
        return html! {
            <figure class="chart">
                <figcaption>{ props.title.clone() }<span class="unit">{ format!(" ({})", props.unit) }</span></figcaption>
                <p class="chart-empty" data-testid="chart-empty">{ "No data in this range" }</p>
            </figure>
        };
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / bars.max(1) as f64;
    let y = |value: i64| TOP + plot_h - plot_h * value as f64 / top as f64;
    let label_every = bars.div_ceil(8).max(1);
    let description = format!(
        "{}: {} bars, up to {} {}",
        props.title,
        bars,
        format::count(top),
        props.unit
    );

    let rects = (0..bars).flat_map(|i| {
        let mut base = 0;
        props
            .series
            .iter()
            .map(|series| {
                let value = series.values.get(i).copied().unwrap_or(0);
                let (y0, y1) = (y(base), y(base + value));
                base += value;
                html! {
                    <rect class={series.class} x={format!("{:.1}", LEFT + slot * i as f64 + slot * 0.1)}
                        y={format!("{y1:.1}")} width={format!("{:.1}", slot * 0.8)} height={format!("{:.1}", (y0 - y1).max(0.0))}>
                        <title>{ format!("{}: {} {} {}", props.labels[i], series.name, format::count(value), props.unit) }</title>
                    </rect>
                }
            })
            .collect::<Vec<_>>()
    });
    html! {
        <figure class="chart">
            <figcaption>{ props.title.clone() }<span class="unit">{ format!(" ({})", props.unit) }</span></figcaption>
            <svg viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img" aria-label={description}>
                // Y axis: 0, half and top, in the unit.
                { for [0, top / 2, top].into_iter().map(|tick| html! {
                    <g class="tick">
                        <line x1={LEFT.to_string()} x2={(WIDTH - RIGHT).to_string()} y1={format!("{:.1}", y(tick))} y2={format!("{:.1}", y(tick))} />
                        <text x={(LEFT - 6.0).to_string()} y={format!("{:.1}", y(tick) + 4.0)} text-anchor="end">{ format::count(tick) }</text>
                    </g>
                }) }
                { for rects }
                // X axis labels, thinned to about eight.
                { for props.labels.iter().enumerate().filter(|(i, _)| i % label_every == 0).map(|(i, label)| html! {
                    <text class="xlabel" x={format!("{:.1}", LEFT + slot * (i as f64 + 0.5))} y={(HEIGHT - 8.0).to_string()} text-anchor="middle">{ label.clone() }</text>
                }) }
            </svg>
            <ul class="legend">
                { for props.series.iter().map(|series| html! {
                    <li><span class={classes!("swatch", series.class)}></span>{ series.name.clone() }</li>
                }) }
            </ul>
            // The numbers, for screen readers (the drawing is one image to them).
            <table class="visually-hidden" data-testid="chart-table">
                <caption>{ format!("{} ({})", props.title, props.unit) }</caption>
                <thead><tr>
                    <th scope="col">{ "Bar" }</th>
                    { for props.series.iter().map(|series| html! { <th scope="col">{ series.name.clone() }</th> }) }
                </tr></thead>
                <tbody>
                    { for props.labels.iter().enumerate().map(|(i, label)| html! {
                        <tr>
                            <th scope="row">{ label.clone() }</th>
                            { for props.series.iter().map(|series| html! {
                                <td>{ format::count(series.values.get(i).copied().unwrap_or(0)) }</td>
                            }) }
                        </tr>
                    }) }
                </tbody>
            </table>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::nice_max;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(480), 500);
        assert_eq!(nice_max(501), 1000);
    }
}
