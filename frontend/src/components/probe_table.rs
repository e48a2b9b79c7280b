use std::collections::HashSet;
use std::rc::Rc;

use api_types::ProbeRequest;
use yew::prelude::*;
use yew_router::prelude::Link;

use super::clock;
use crate::format;
use crate::route::Route;

/// A value a click in the table filters by.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterBy {
    Mac(String),
    Node(String),
    Zone(String),
    Network(i64),
}

impl FilterBy {
    /// `query`, narrowed by this value.
    pub fn narrow(self, mut query: api_types::ProbeRequestQuery) -> api_types::ProbeRequestQuery {
        match self {
            FilterBy::Mac(mac) => query.mac = Some(mac),
            FilterBy::Node(node_mac) => query.node_mac = Some(node_mac),
            FilterBy::Zone(zone) => query.zone = Some(zone),
            FilterBy::Network(network_id) => query.network_id = Some(network_id),
        }
        query
    }
}

/// A filter as a real link: its `href` is the table view narrowed by `by` (open it in a
/// new tab, copy it); a plain click applies it in place through `on_filter`.
fn filter_link(
    base: &api_types::ProbeRequestQuery,
    by: FilterBy,
    on_filter: &Callback<FilterBy>,
    class: &'static str,
    testid: &'static str,
    title: &'static str,
    text: String,
) -> Html {
    let query = crate::query::to_query_string(&by.clone().narrow(crate::query::first_page(base)));
    let href = if query.is_empty() {
        "/".to_string()
    } else {
        format!("/?{query}")
    };
    let on_filter = on_filter.clone();
    let onclick = Callback::from(move |event: MouseEvent| {
        if !super::nav_link::is_plain_click(&event) {
            return;
        }
        event.prevent_default();
        on_filter.emit(by.clone());
    });
    html! {
        <a {href} class={class} data-testid={testid} {title} {onclick}>{ text }</a>
    }
}

/// A page's rows, shared (not copied) by the table and its rows, and equal only to
/// itself: comparing two pages of 1,000 rows field by field on every render would cost
/// what memoizing the rows saves.
#[derive(Debug, Clone)]
pub struct Rows(pub Rc<[ProbeRequest]>);

impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl From<Vec<ProbeRequest>> for Rows {
    fn from(rows: Vec<ProbeRequest>) -> Rows {
        Rows(Rc::from(rows))
    }
}

#[derive(Properties, PartialEq)]
pub struct ProbeTableProps {
    pub items: Rows,
    /// The view the table is part of: its filter links narrow it.
    #[prop_or_default]
    pub base: api_types::ProbeRequestQuery,
    /// Rows that arrived since the previous refresh.
    pub new_ids: HashSet<i64>,
    /// Unix seconds, for "2 min ago".
    pub now: i64,
    pub on_filter: Callback<FilterBy>,
    /// A new query is loading: the rows shown are the previous one's (dimmed).
    #[prop_or_default]
    pub busy: bool,
    /// The IANA time zone of the times shown (the networks'); empty: the browser's.
    #[prop_or_default]
    pub tz: AttrValue,
}

/// The columns: their headers, which label each field of a row's card on a phone, and
/// their class.
const COLUMNS: [(&str, &str); 8] = [
    ("Last seen", ""),
    ("Client", ""),
    ("Access point", ""),
    ("Network", ""),
    ("Count", "num"),
    ("Signal (dBm)", ""),
    ("Duration", ""),
    ("Associated", ""),
];

/// The probe requests, one row each. Every value from a report is rendered as text.
#[function_component]
pub fn ProbeTable(props: &ProbeTableProps) -> Html {
    use_effect_with(props.items.0.is_empty(), |empty| {
        if !*empty {
            mark_rendered();
        }
    });
    // Equal by value, so rows keep their memo while the view's filters stay.
    let base = use_memo(props.base.clone(), |base| base.clone());
    html! {
        <div class={classes!("table-wrap", props.busy.then_some("busy"))} aria-busy={props.busy.to_string()}>
            // Under 600 px each row is a card of labelled fields (CSS; the roles keep the
            // table's semantics once its display is no longer a table's).
            <table class="probes row-cards" role="table" data-testid="probe-table">
                <caption class="visually-hidden">
                    { "Probe requests, newest last seen first" }
                </caption>
                <thead role="rowgroup">
                    <tr role="row">
                        { for COLUMNS.iter().map(|(label, class)| html! {
                            <th scope="col" role="columnheader" class={*class}>{ *label }</th>
                        }) }
                    </tr>
                </thead>
                <tbody role="rowgroup">
                    { for props.items.0.iter().enumerate().map(|(index, item)| html! {
                        <ProbeRow key={item.id} rows={props.items.clone()} {index}
                            is_new={props.new_ids.contains(&item.id)} now={props.now} tz={props.tz.clone()}
                            base={base.clone()} on_filter={props.on_filter.clone()} />
                    }) }
                </tbody>
            </table>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ProbeRowProps {
    rows: Rows,
    index: usize,
    is_new: bool,
    now: i64,
    tz: AttrValue,
    base: Rc<api_types::ProbeRequestQuery>,
    on_filter: Callback<FilterBy>,
}

/// One row, memoized: re-rendered only when its page, its "new" mark, the clock of its
/// relative time, the view or the filter handler change, not on every status change of
/// the page around it.
#[function_component]
fn ProbeRow(props: &ProbeRowProps) -> Html {
    let Some(item) = props.rows.0.get(props.index) else {
        return html! {};
    };
    let is_new = props.is_new;
    let link = |by: FilterBy,
                class: &'static str,
                testid: &'static str,
                title: &'static str,
                text: String| {
        filter_link(
            &props.base,
            by,
            &props.on_filter,
            class,
            testid,
            title,
            text,
        )
    };
    html! {
        <tr class={classes!(is_new.then_some("new"))} role="row" data-id={item.id.to_string()}>
            <td role="cell" data-label={COLUMNS[0].0}>
                <time datetime={clock::iso(item.last_seen)} title={clock::local_time_in(item.last_seen, &props.tz)}>
                    { format::relative_time(props.now, item.last_seen) }
                </time>
                if is_new { <span class="badge new-badge">{ "new" }</span> }
                <div class="sub" data-testid="last-seen-local">{ clock::local_time_in(item.last_seen, &props.tz) }</div>
            </td>
            <td role="cell" data-label={COLUMNS[1].0}>
                { link(FilterBy::Mac(item.mac.clone()), "mono", "mac", "Show only this client", item.mac.clone()) }
                if crate::mac::canonical(&item.mac).as_deref() == Some(item.mac.as_str()) {
                    <Link<Route> to={Route::Device { network_id: item.network_id, mac: item.mac.clone() }}
                        classes="device-link">{ "device" }</Link<Route>>
                }
                if item.randomized {
                    <span class="badge randomized" title="Locally administered (randomized) MAC: not trackable across time">
                        { "random" }
                    </span>
                }
                if let Some(vendor) = item.vendor.as_ref().filter(|_| !item.randomized) {
                    <div class="sub" data-testid="mac-vendor" title="Who the MAC was assigned to (IEEE registry)">
                        { vendor.clone() }
                    </div>
                }
                if let Some(description) = format::device_description(item) {
                    <div class="sub" data-testid="device-description"
                        title="Manufacturer, OS and network name, as the access points' vendor reported them">
                        { description }
                    </div>
                }
            </td>
            <td role="cell" data-label={COLUMNS[2].0}>
                if let Some(name) = &item.node_name {
                    <div class="place-name" data-testid="node-name">{ name.clone() }</div>
                }
                { link(FilterBy::Node(item.node_mac.clone()), "mono", "node-mac", "Show only this access point", item.node_mac.clone()) }
                if let Some(zone) = &item.zone {
                    { link(FilterBy::Zone(zone.clone()), "badge zone", "zone", "Show only this zone", zone.clone()) }
                }
            </td>
            <td role="cell" data-label={COLUMNS[3].0}>
                if let Some(name) = &item.network_name {
                    <div class="place-name">{ name.clone() }</div>
                }
                { link(FilterBy::Network(item.network_id), "", "network", "Show only this network", item.network_id.to_string()) }
                <div class="sub" data-testid="source-vendor" title="The vendor whose access points reported it">
                    { format::vendor(item.source_vendor) }
                </div>
            </td>
            <td class="num" role="cell" data-label={COLUMNS[4].0}>{ format::count(item.count) }</td>
            <td role="cell" data-label={COLUMNS[5].0}>{ signal(item) }</td>
            <td role="cell" data-label={COLUMNS[6].0}>{ format::duration(item.last_seen - item.first_seen) }</td>
            <td role="cell" data-label={COLUMNS[7].0}>
                if item.associated {
                    <span class="badge associated">{ "yes" }</span>
                } else {
                    <span class="muted">{ "no" }</span>
                }
            </td>
        </tr>
    }
}

/// Min–max as a bar on a fixed dBm scale, with a tick at the average, so rows compare
/// at a glance; the numbers beside it for the exact values.
fn signal(item: &ProbeRequest) -> Html {
    let low = format::signal_percent(item.min_signal);
    let high = format::signal_percent(item.max_signal).max(low);
    let average = format::signal_percent(item.avg_signal);
    let label = format!(
        "min {} dBm, average {} dBm, max {} dBm ({})",
        item.min_signal,
        item.avg_signal,
        item.max_signal,
        format::signal_quality(item.avg_signal)
    );
    html! {
        <div class="signal" role="img" aria-label={label.clone()} title={label}>
            <div class="track">
                <span class={classes!("range", format::signal_quality(item.avg_signal))}
                    style={format!("left:{low:.1}%;width:{:.1}%", (high - low).max(1.5))}></span>
                <span class="avg" style={format!("left:{average:.1}%")}></span>
            </div>
            <span class="values">
                { format!("{} / {} / {}", item.min_signal, item.avg_signal, item.max_signal) }
            </span>
        </div>
    }
}

/// Marks the first time rows are on screen in this page load, for real-user timing and
/// the dashboard benchmark (`performance.getEntriesByName("ncompass:table-rendered")`).
fn mark_rendered() {
    const MARK: &str = "ncompass:table-rendered";
    if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
        if performance.get_entries_by_name(MARK).length() == 0 {
            let _ = performance.mark(MARK);
        }
    }
}
