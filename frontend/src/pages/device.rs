//! One device (a client MAC within a network): its visits on a timeline (7 or 31 days up
//! to its latest probe request, so a device heard last month shows last month's visits),
//! and all its probe requests, a page at a time.

use api_types::{DeviceVisits, ProbeRequestPage, ProbeRequestQuery};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::components::clock;
use crate::components::notice::ErrorNotice;
use crate::components::probe_table::{FilterBy, ProbeTable, Rows};
use crate::format;
use crate::hooks::fetch::use_fetch;
use crate::hooks::scroll::{use_table_top, TableTop};
use crate::route::Route;

/// The visit ranges offered, days (the server computes at most 31).
const RANGES: [i64; 2] = [7, 31];

#[derive(Properties, PartialEq)]
pub struct DeviceProps {
    pub network_id: i64,
    pub mac: AttrValue,
}

/// What a view shows; kept with the view it answers (see `use_fetch`).
#[derive(Clone, PartialEq)]
struct Loaded {
    visits: DeviceVisits,
    probes: ProbeRequestPage,
    /// The page's rows as the table shares them.
    rows: Rows,
    now: i64,
    /// The end of the visits' range: the device's latest `last_seen` (or now).
    end: i64,
    /// Its network's time zone: the times shown are its (empty: the browser's).
    tz: String,
}

/// The device, the visits' range in days and the probe requests' page.
#[derive(Clone, PartialEq)]
struct View {
    device: (i64, String),
    days: i64,
    cursor: Option<String>,
}

#[function_component]
pub fn Device(props: &DeviceProps) -> Html {
    crate::hooks::title::use_title(format!("Device {}", props.mac));
    let navigator = use_navigator();
    let days = use_state(|| RANGES[0]);
    // The cursors of the pages before the one shown (Newer goes back to the last).
    let trail = use_state(Vec::<Option<String>>::new);
    let cursor = use_state(|| None::<String>);
    let view = View {
        device: (props.network_id, props.mac.to_string()),
        days: *days,
        cursor: (*cursor).clone(),
    };
    // Only the latest view's request may update the page; another device, range or
    // page, or a retry, aborts it.
    let fetched = use_fetch(view.clone(), |view: View, signal| async move {
        let signal = signal.as_ref();
        let (network_id, mac) = view.device.clone();
        let now = clock::now();
        let query = ProbeRequestQuery {
            mac: Some(mac.clone()),
            network_id: Some(network_id),
            cursor: view.cursor.clone(),
            ..ProbeRequestQuery::default()
        };
        let probes = api::list_probe_requests(&query, signal).await?;
        // The visits end at the device's latest row: read it off this page when it is
        // the first, else ask for that one row.
        let newest = match view.cursor {
            None => probes.items.first().map(|row| row.last_seen),
            Some(_) => {
                let first = ProbeRequestQuery {
                    limit: Some(1),
                    cursor: None,
                    ..query.clone()
                };
                api::list_probe_requests(&first, signal)
                    .await?
                    .items
                    .first()
                    .map(|row| row.last_seen)
            }
        };
        let end = newest.map_or(now, |newest| newest.min(now));
        let params = vec![
            ("since", (end - view.days * 86_400).to_string()),
            ("until", end.to_string()),
        ];
        let visits = api::device_visits(network_id, &mac, &params, signal).await?;
        // The network's time zone, for every time on the page (the browser's if its
        // list cannot be read: the page says which).
        let tz = api::list_networks(signal)
            .await
            .ok()
            .and_then(|networks| {
                networks
                    .items
                    .into_iter()
                    .find(|network| network.network_id == network_id)
            })
            .map(|network| network.time_zone)
            .unwrap_or_default();
        Ok::<_, ApiError>(Loaded {
            visits,
            rows: Rows::from(probes.items.clone()),
            probes,
            now,
            end,
            tz,
        })
    });
    let error = &fetched.error;
    let retry = fetched.reload.clone();
    // Older and Newer show their page from the table's top (once it is on the screen:
    // the page is replaced by "Loading" meanwhile).
    let rows_top = use_table_top(
        view.cursor.clone(),
        !fetched.loading && fetched.answer_to(&view).is_some(),
    );
    let on_filter = Callback::from(move |by: FilterBy| {
        let query = by.narrow(ProbeRequestQuery::default());
        if let Some(navigator) = &navigator {
            let _ = navigator.push_with_query(&Route::ProbeRequests, &query);
        }
    });
    html! {
        <main class="page device" data-testid="device" aria-busy={fetched.loading.to_string()}>
            <h2>
                { "Device " }<span class="mono">{ props.mac.clone() }</span>
                { format!(" in network {}", props.network_id) }
                { for fetched
                    .data
                    .as_ref()
                    .filter(|data| data.0.device == view.device)
                    .and_then(|data| data.1.visits.network_name.clone())
                    .map(|name| format!(" ({name})")) }
            </h2>
            if let Some(problem) = error {
                <ErrorNotice message={problem.message()} on_retry={retry} />
            }
            <nav class="ranges" aria-label="Visits range">
                { for RANGES.iter().map(|range| {
                    let current = *range == *days;
                    let (days, trail, cursor) = (days.clone(), trail.clone(), cursor.clone());
                    let range = *range;
                    let onclick = Callback::from(move |_: MouseEvent| {
                        days.set(range);
                        trail.set(Vec::new());
                        cursor.set(None);
                    });
                    html! {
                        <button type="button" class={classes!("button", current.then_some("current"))}
                            aria-pressed={current.to_string()} {onclick} data-testid={format!("days-{range}")}>
                            { format!("{range} days") }
                        </button>
                    }
                }) }
            </nav>
            { match fetched.answer_to(&view) {
                None if error.is_none() => html! { <p class="status-line" role="status">{ "Loading the device…" }</p> },
                None => html! {},
                Some(loaded) => html! {
                    <>
                        if loaded.visits.randomized {
                            <p class="notice">{ "This MAC is randomized (locally administered): the same phone may appear under other MACs, and this one may not come back." }</p>
                        }
                        { for loaded.rows.0.first().map(|row| html! {
                            <p class="device-about" data-testid="device-about">
                                { format!("Reported by {} access points", crate::format::vendor(row.source_vendor)) }
                                { for crate::format::device_description(row).map(|about| format!(": {about}")) }
                                { for row.vendor.as_ref().filter(|_| !row.randomized).map(|vendor| format!(". MAC assigned to {vendor} (IEEE registry)")) }
                            </p>
                        }) }
                        { timeline(&loaded.visits, loaded.end, view.days, loaded.now, &loaded.tz) }
                        { visits_table(&loaded.visits, view.days, &loaded.tz) }
                        <h3 ref={rows_top.top.clone()} data-testid="device-rows">{ "Its probe requests" }</h3>
                        <p class="toolbar">
                            <a class="button" data-testid="device-csv" download="device-probe-requests.csv"
                                href={crate::query::export_url(&ProbeRequestQuery {
                                    mac: Some(props.mac.to_string()),
                                    network_id: Some(props.network_id),
                                    ..ProbeRequestQuery::default()
                                }, "csv")}>
                                { "Download all its probe requests (CSV)" }
                            </a>
                        </p>
                        <ProbeTable items={loaded.rows.clone()} new_ids={std::collections::HashSet::new()}
                            now={loaded.now} {on_filter} tz={loaded.tz.clone()} />
                        { pager(&trail, &cursor, loaded.probes.next_cursor.clone(), &rows_top) }
                    </>
                },
            } }
        </main>
    }
}

/// "26/11" in `tz` (the browser's zone when empty).
fn day_month(unix: i64, tz: &str) -> String {
    if tz.is_empty() {
        clock::local_day_month(unix)
    } else {
        clock::day_month_in(unix, tz)
    }
}

/// What the visits' range is called: "the last 7 days", or up to the device's last row.
fn range_label(days: i64, end: i64, now: i64, tz: &str) -> String {
    if now - end < 3_600 {
        format!("the last {days} days")
    } else {
        format!(
            "the {days} days up to its last probe request ({})",
            clock::local_time_in(end, tz)
        )
    }
}

/// The `days` days up to `end` as a strip, each visit a bar from its start to its end.
fn timeline(visits: &DeviceVisits, end: i64, days: i64, now: i64, tz: &str) -> Html {
    const WIDTH: f64 = 640.0;
    let since = end - days * 86_400;
    let x = |t: i64| WIDTH * (t - since).clamp(0, days * 86_400) as f64 / (days * 86_400) as f64;
    let range = range_label(days, end, now, tz);
    html! {
        <figure class="chart timeline">
            <figcaption data-testid="visits-range">{ format!("Visits of {range} ({})", visits.visits.len()) }</figcaption>
            <p class="sub" data-testid="device-tz">
                { if tz.is_empty() {
                    format!("Days and times in your browser's time zone, {}", clock::time_zone())
                } else {
                    format!("Days and times in {tz}, the network's time zone")
                } }
            </p>
            <svg viewBox={format!("0 0 {WIDTH} 44")} role="img"
                aria-label={format!("{} visits in {range}", visits.visits.len())}>
                <rect class="track" x="0" y="6" width={WIDTH.to_string()} height="16" />
                { for (0..=days).map(|day| html! {
                    <line class="day" x1={format!("{:.1}", x(since + day * 86_400))} x2={format!("{:.1}", x(since + day * 86_400))} y1="4" y2="24" />
                }) }
                { for visits.visits.iter().map(|visit| {
                    let (x0, x1) = (x(visit.start), x(visit.end));
                    html! {
                        <rect class={if visit.visitor { "s-visitors" } else { "s-passers" }}
                            x={format!("{x0:.1}")} y="6" width={format!("{:.1}", (x1 - x0).max(2.0))} height="16">
                            <title>{ format!("{} for {}", clock::local_time_in(visit.start, tz), format::duration(visit.dwell_s)) }</title>
                        </rect>
                    }
                }) }
                <text class="xlabel" x="0" y="40">{ day_month(since, tz) }</text>
                <text class="xlabel" x={WIDTH.to_string()} y="40" text-anchor="end">
                    { if now - end < 3_600 { "now".to_string() } else { day_month(end, tz) } }
                </text>
            </svg>
            <ul class="legend">
                <li><span class="swatch s-visitors"></span>{ "Visitor" }</li>
                <li><span class="swatch s-passers"></span>{ "Passer-by" }</li>
            </ul>
        </figure>
    }
}

fn visits_table(visits: &DeviceVisits, days: i64, tz: &str) -> Html {
    if visits.visits.is_empty() {
        return html! { <p class="empty">{ format!("No visit in these {days} days.") }</p> };
    }
    html! {
        <div class="table-wrap">
            <table class="probes" data-testid="visits">
                <thead><tr>
                    <th scope="col">{ "Start" }</th>
                    <th scope="col">{ "Dwell" }</th>
                    <th scope="col">{ "Strongest access point" }</th>
                    <th scope="col" class="num">{ "Signal (dBm)" }</th>
                    <th scope="col">{ "Kind" }</th>
                </tr></thead>
                <tbody>
                    { for visits.visits.iter().rev().map(|visit| html! {
                        <tr>
                            <td data-testid="visit-start">{ clock::local_time_in(visit.start, tz) }</td>
                            <td>{ format::duration(visit.dwell_s) }</td>
                            <td>
                                if let Some(name) = &visit.strongest_node_name {
                                    <div class="place-name">{ name.clone() }</div>
                                }
                                <a class="mono" href={format!("/?node_mac={}", visit.strongest_node_mac)}
                                    title="This access point's probe requests">{ visit.strongest_node_mac.clone() }</a>
                            </td>
                            <td class="num">{ visit.max_signal }</td>
                            <td>{ if visit.visitor { "visitor" } else { "passer-by" } }
                                { if visit.associated { " · associated" } else { "" } }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

/// Older and Newer through all the device's rows (the API's cursor), with the page number.
fn pager(
    trail: &UseStateHandle<Vec<Option<String>>>,
    cursor: &UseStateHandle<Option<String>>,
    next: Option<String>,
    rows_top: &TableTop,
) -> Html {
    let page = trail.len() + 1;
    let on_older = {
        let (trail, cursor) = (trail.clone(), cursor.clone());
        let next = next.clone();
        rows_top.on_page(Callback::from(move |_: MouseEvent| {
            let mut earlier = (*trail).clone();
            earlier.push((*cursor).clone());
            trail.set(earlier);
            cursor.set(next.clone());
        }))
    };
    let on_newer = {
        let (trail, cursor) = (trail.clone(), cursor.clone());
        rows_top.on_page(Callback::from(move |_: MouseEvent| {
            let mut earlier = (*trail).clone();
            if let Some(previous) = earlier.pop() {
                cursor.set(previous);
                trail.set(earlier);
            }
        }))
    };
    html! {
        <nav class="pager" aria-label="Pages of its probe requests" data-testid="device-pager">
            <button type="button" onclick={on_newer} disabled={page == 1}>{ "Newer" }</button>
            <span class="page-number">{ format!("Page {page}") }</span>
            <button type="button" onclick={on_older} disabled={next.is_none()} data-testid="device-older">{ "Older" }</button>
        </nav>
    }
}
