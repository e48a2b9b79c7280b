//! The busiest places over the range: zones (all their access points together) and
//! networks, as tables the reader sorts by any figure.

use api_types::{NetworkRanking, StatsSummary, ZoneRanking};
use yew::prelude::*;

use super::{overview_query, Range, Scope};
use crate::components::nav_link::NavLink;
use crate::format;
use crate::route::Route;

/// A row of a ranking: what it is, and its figures.
#[derive(Clone, PartialEq)]
pub(super) struct Place {
    pub(super) name: String,
    /// Under the name: its access points, or its network id.
    pub(super) detail: String,
    pub(super) figures: StatsSummary,
    /// Why its figures are partial (reports missing in the range, or some of its
    /// access points silent now).
    pub(super) partial: Option<String>,
    /// The Overview narrowed to it, over the same range (a query string).
    pub(super) link: String,
}

/// The zones' ranking as rows, each linking to the Overview of the zone (within the
/// current network, if one is chosen).
pub(super) fn zone_rows(zones: &ZoneRanking, range: Range, scope: &Scope) -> Vec<Place> {
    zones
        .items
        .iter()
        .map(|zone| Place {
            name: zone.zone.clone(),
            detail: match zone.access_points.len() {
                1 => "1 access point".to_string(),
                n => format!("{n} access points"),
            },
            figures: zone.figures.clone(),
            partial: format::incomplete(zone.figures.completeness.as_ref()),
            link: overview_query(
                range,
                &Scope {
                    zone: Some(zone.zone.clone()),
                    node_mac: None,
                    ..scope.clone()
                },
            ),
        })
        .collect()
}

/// The networks' ranking as rows, each linking to the Overview of the network.
pub(super) fn network_rows(networks: &NetworkRanking, range: Range, scope: &Scope) -> Vec<Place> {
    networks
        .items
        .iter()
        .map(|network| Place {
            name: network
                .name
                .clone()
                .unwrap_or_else(|| format!("Network {}", network.network_id)),
            detail: format!("network {}", network.network_id),
            figures: network.figures.clone(),
            partial: format::incomplete(network.figures.completeness.as_ref()),
            link: overview_query(
                range,
                &Scope {
                    network_id: Some(network.network_id),
                    zone: None,
                    node_mac: None,
                    ..scope.clone()
                },
            ),
        })
        .collect()
}

/// What a ranking is sorted by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Visitors,
    Change,
    Devices,
    Dwell,
}

impl Column {
    const ALL: [(Column, &'static str); 5] = [
        (Column::Name, "Name"),
        (Column::Visitors, "Visitors"),
        (Column::Change, "vs last week"),
        (Column::Devices, "Devices"),
        (Column::Dwell, "Median dwell"),
    ];

    /// The order of two rows by this column, ascending (a missing figure first).
    fn order(self, a: &Place, b: &Place) -> std::cmp::Ordering {
        let change = |p: &Place| {
            p.figures
                .compared
                .as_ref()
                .and_then(|c| c.change.visitors)
                .unwrap_or(f64::NEG_INFINITY)
        };
        match self {
            Column::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            Column::Visitors => a.figures.visitors.cmp(&b.figures.visitors),
            Column::Change => change(a).total_cmp(&change(b)),
            Column::Devices => a.figures.devices.cmp(&b.figures.devices),
            Column::Dwell => a.figures.dwell_p50_s.cmp(&b.figures.dwell_p50_s),
        }
    }
}

#[derive(Properties, PartialEq)]
pub(super) struct RankingProps {
    /// "Zones" or "Networks".
    pub(super) title: &'static str,
    pub(super) testid: &'static str,
    pub(super) rows: Vec<Place>,
}

/// A ranking, most visitors first until the reader sorts by another column (a second
/// click on a column reverses it).
#[function_component]
pub(super) fn Ranking(props: &RankingProps) -> Html {
    let sort = use_state(|| (Column::Visitors, true));
    let (column, descending) = *sort;
    let mut rows = props.rows.clone();
    rows.sort_by(|a, b| {
        let order = column.order(a, b);
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    let title_id = format!("{}-title", props.testid);
    html! {
        <section aria-labelledby={title_id.clone()}>
            <h3 id={title_id}>{ props.title }</h3>
            <div class="table-wrap">
                <table class="probes ranking" data-testid={props.testid}>
                    <thead><tr>
                        { for Column::ALL.iter().map(|(option, label)| {
                            let current = *option == column;
                            let aria_sort = match (current, descending) {
                                (false, _) => "none",
                                (true, true) => "descending",
                                (true, false) => "ascending",
                            };
                            let onclick = {
                                let (sort, option) = (sort.clone(), *option);
                                // A new column starts with its largest (names: A first).
                                Callback::from(move |_: MouseEvent| {
                                    let (column, descending) = *sort;
                                    sort.set(if column == option {
                                        (option, !descending)
                                    } else {
                                        (option, option != Column::Name)
                                    });
                                })
                            };
                            html! {
                                <th scope="col" aria-sort={aria_sort}
                                    class={classes!((*option != Column::Name).then_some("num"))}>
                                    <button type="button" class="sort" {onclick}>
                                        { *label }
                                        { match (current, descending) {
                                            (false, _) => "",
                                            (true, true) => " ▼",
                                            (true, false) => " ▲",
                                        } }
                                    </button>
                                </th>
                            }
                        }) }
                    </tr></thead>
                    <tbody>
                        { for rows.iter().map(|place| html! {
                            <tr>
                                <td>
                                    <div class="place-name">
                                        <NavLink to={Route::Overview} query={place.link.clone()} current={false}>{ place.name.clone() }</NavLink>
                                    </div>
                                    <div class="hint">{ place.detail.clone() }</div>
                                    if let Some(why) = &place.partial {
                                        <span class="badge partial" data-testid="partial" title={why.clone()}>
                                            { format!("partial: {why}") }
                                        </span>
                                    }
                                </td>
                                <td class="num">{ format::count(place.figures.visitors) }</td>
                                <td class="num">{ change(&place.figures) }</td>
                                <td class="num">{ format::count(place.figures.devices) }</td>
                                <td class="num">{ place.figures.dwell_p50_s.map(format::duration).unwrap_or_else(|| "–".into()) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The visitors' change against the comparison window, as a signed percentage.
fn change(figures: &StatsSummary) -> String {
    match figures.compared.as_ref() {
        None => "–".to_string(),
        Some(compared) => match compared.change.visitors {
            Some(ratio) => format!("{:+.0}%", ratio * 100.0),
            None if figures.visitors == 0 => "–".to_string(),
            None => "new".to_string(),
        },
    }
}
