//! Small charts: stacked bars drawn in SVG, with their text (axes, values) in HTML so
//! that it keeps its size at every width (SVG text scales with the drawing: 26 px tall
//! on a wide screen, 6 px on a phone). A bar's values show on hover and on tap (phones
//! have no hover). No charting library: they would not fit the bundle budget.

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
    /// Bars without a figure (not zero: nothing was reporting then, or every place was
    /// closed), drawn apart and never as zero. Absent or shorter than the bars: every
    /// bar has a figure.
    #[prop_or_default]
    pub missing: Vec<Option<Gap>>,
    /// Why a bar has no data ([`Gap::NoData`]), for its title and the tap line.
    #[prop_or_default]
    pub missing_reason: AttrValue,
    /// Bars drawn from part of the data they should have (some reports missing), with
    /// why ("67% of expected reports"): drawn faded, said on tap. Absent or shorter:
    /// none.
    #[prop_or_default]
    pub partial: Vec<Option<String>>,
}

/// Why a bar shows no figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Nothing was reporting then.
    NoData,
    /// Outside the opening hours of every place counted: its zero means closed.
    Closed,
}

impl Gap {
    fn class(self) -> &'static str {
        match self {
            Gap::NoData => "no-data",
            Gap::Closed => "closed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Gap::NoData => "No data",
            Gap::Closed => "Closed",
        }
    }
}

/// The drawing's own units: a bar is 10 wide, the plot 100 high. It is stretched to
/// the box the page gives it (`preserveAspectRatio="none"`): no text is drawn in it.
const SLOT: f64 = 10.0;
const PLOT_H: f64 = 100.0;

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
    // The bar whose values are shown under the chart (tapped or hovered last).
    let picked = use_state(|| None::<usize>);
    let bars = props.labels.len();
    let gap = |i: usize| props.missing.get(i).copied().flatten();
    let missing = |i: usize| gap(i).is_some();
    let partial = |i: usize| props.partial.get(i).cloned().flatten();
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
    // Nothing to draw: every bar zero, or none with data. (Zeros after the first
    // report beside bars before it are drawn: they say where the data starts.)
    let all_missing = bars > 0 && (0..bars).all(missing);
    if totals.iter().all(|total| *total == 0) && (all_missing || !(0..bars).any(missing)) {
        // Blank axes would read like a broken chart.
        let said = if all_missing && (0..bars).all(|i| gap(i) == Some(Gap::Closed)) {
            "Closed all through this range (outside the opening hours)".to_string()
        } else if all_missing {
            format!("No data in this range: {}", props.missing_reason)
        } else {
            "No data in this range".to_string()
        };
        return html! {
            <figure class="chart">
                <figcaption>{ props.title.clone() }<span class="unit">{ format!(" ({})", props.unit) }</span></figcaption>
                <p class="chart-empty" data-testid="chart-empty">{ said }</p>
            </figure>
        };
    }
    let width = SLOT * bars.max(1) as f64;
    let y = |value: i64| PLOT_H - PLOT_H * value as f64 / top as f64;
    let label_every = bars.div_ceil(8).max(1);
    let description = format!(
        "{}: {} bars, up to {} {}",
        props.title,
        bars,
        format::count(top),
        props.unit
    );
    let values_of = |i: usize| -> String {
        match gap(i) {
            Some(Gap::NoData) => {
                return format!("{}: no data ({})", props.labels[i], props.missing_reason)
            }
            Some(Gap::Closed) => return format!("{}: closed", props.labels[i]),
            None => {}
        }
        let parts: Vec<String> = props
            .series
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.name,
                    format::count(s.values.get(i).copied().unwrap_or(0))
                )
            })
            .collect();
        let said = format!("{}: {} {}", props.labels[i], parts.join(", "), props.unit);
        match partial(i) {
            Some(why) => format!("{said} (partial: {why})"),
            None => said,
        }
    };
    let bar = |i: usize| {
        let pick = {
            let picked = picked.clone();
            Callback::from(move |_: MouseEvent| picked.set(Some(i)))
        };
        let x = SLOT * i as f64 + SLOT * 0.1;
        let current = *picked == Some(i);
        if let Some(gap) = gap(i) {
            return html! {
                <g class={classes!("bar", current.then_some("picked"))} onclick={pick.clone()} onmouseenter={pick}>
                    <rect class={gap.class()} x={format!("{x:.1}")} y="0" width={format!("{:.1}", SLOT * 0.8)} height={PLOT_H.to_string()}>
                        <title>{ values_of(i) }</title>
                    </rect>
                </g>
            };
        }
        let mut base = 0;
        html! {
            <g class={classes!("bar", current.then_some("picked"), partial(i).map(|_| "partial"))} onclick={pick.clone()} onmouseenter={pick}>
                // The whole slot takes the tap, not only the (maybe 1 px) bar in it.
                <rect class="hit" x={format!("{:.1}", SLOT * i as f64)} y="0" width={SLOT.to_string()} height={PLOT_H.to_string()} />
                { for props.series.iter().map(|series| {
                    let value = series.values.get(i).copied().unwrap_or(0);
                    let (y0, y1) = (y(base), y(base + value));
                    base += value;
                    html! {
                        <rect class={series.class} x={format!("{x:.1}")}
                            y={format!("{y1:.2}")} width={format!("{:.1}", SLOT * 0.8)} height={format!("{:.2}", (y0 - y1).max(0.0))}>
                            <title>{ format!("{}: {} {} {}", props.labels[i], series.name, format::count(value), props.unit) }</title>
                        </rect>
                    }
                }) }
            </g>
        }
    };
    let at = |i: usize| format!("{:.3}%", 100.0 * (i as f64 + 0.5) / bars.max(1) as f64);
    html! {
        <figure class="chart">
            <figcaption>{ props.title.clone() }<span class="unit">{ format!(" ({})", props.unit) }</span></figcaption>
            <div class="plot">
                // Y axis: 0, half and top, in the unit.
                <div class="y-axis" aria-hidden="true">
                    { for [0, top / 2, top].into_iter().map(|tick| html! {
                        <span style={format!("top: {:.2}%", 100.0 * y(tick) / PLOT_H)}>{ format::count(tick) }</span>
                    }) }
                </div>
                <svg viewBox={format!("0 0 {width} {PLOT_H}")} preserveAspectRatio="none" role="img" aria-label={description}>
                    { for [0, top / 2, top].into_iter().map(|tick| html! {
                        <line class="grid" x1="0" x2={width.to_string()} y1={format!("{:.2}", y(tick))} y2={format!("{:.2}", y(tick))} />
                    }) }
                    { for (0..bars).map(bar) }
                </svg>
            </div>
            // X axis labels, thinned to about eight.
            <div class="x-axis" aria-hidden="true">
                { for props.labels.iter().enumerate().filter(|(i, _)| i % label_every == 0).map(|(i, label)| html! {
                    <span class="xlabel" style={format!("left: {}", at(i))}>{ label.clone() }</span>
                }) }
            </div>
            <p class="chart-values" data-testid="chart-values" aria-live="polite">
                { match *picked {
                    Some(i) if i < bars => values_of(i),
                    _ => "Tap or point at a bar for its values.".to_string(),
                } }
            </p>
            <ul class="legend">
                { for props.series.iter().map(|series| html! {
                    <li><span class={classes!("swatch", series.class)}></span>{ series.name.clone() }</li>
                }) }
                if (0..bars).any(|i| partial(i).is_some()) {
                    <li><span class="swatch partial"></span>{ "Partial (reports missing)" }</li>
                }
                { for [Gap::NoData, Gap::Closed].into_iter().filter(|kind| (0..bars).any(|i| gap(i) == Some(*kind))).map(|kind| html! {
                    <li><span class={classes!("swatch", kind.class())}></span>{ kind.label() }</li>
                }) }
            </ul>
            // The numbers, for screen readers (the drawing is one image to them).
            // (In a hidden box: a table ignores `width: 1px` and would widen the page.)
            <div class="visually-hidden">
            <table data-testid="chart-table">
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
                                <td>{ match gap(i) {
                                    Some(gap) => gap.label().to_lowercase(),
                                    None => format::count(series.values.get(i).copied().unwrap_or(0)),
                                } }</td>
                            }) }
                        </tr>
                    }) }
                </tbody>
            </table>
            </div>
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
