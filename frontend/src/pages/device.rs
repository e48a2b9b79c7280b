//! One device (a client MAC within a network): its visits of the last 7 days on a
//! timeline, and its probe requests.

use api_types::{DeviceVisits, ProbeRequestPage, ProbeRequestQuery};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::app::Route;
use crate::components::clock;
use crate::components::notice::ErrorNotice;
use crate::components::probe_table::{FilterBy, ProbeTable};
use crate::format;
use crate::hooks::latest::Latest;

const DAYS: i64 = 7;

#[derive(Properties, PartialEq)]
pub struct DeviceProps {
    pub network_id: i64,
    pub mac: AttrValue,
}

#[derive(Clone, PartialEq)]
struct Loaded {
    /// The device they are of: another device's visits are never shown under this one.
    device: (i64, String),
    visits: DeviceVisits,
    probes: ProbeRequestPage,
    now: i64,
}

#[function_component]
pub fn Device(props: &DeviceProps) -> Html {
    crate::hooks::title::use_title(format!("Device {}", props.mac));
    let loaded = use_state(|| None::<Loaded>);
    let error = use_state(|| None::<ApiError>);
    let reload = use_state(|| 0u32);
    let navigator = use_navigator();
    {
        let loaded = loaded.clone();
        let error = error.clone();
        let (network_id, mac) = (props.network_id, props.mac.to_string());
        use_effect_with((network_id, mac, *reload), move |(network_id, mac, _)| {
            let (network_id, mac) = (*network_id, mac.clone());
            // Only this request may update the page; another device or a retry aborts it.
            let latest = Latest::new();
            let task = latest.clone();
            spawn_local(async move {
                let signal = task.signal();
                let signal = signal.as_ref();
                let now = clock::now();
                let params = vec![
                    ("since", (now - DAYS * 86_400).to_string()),
                    ("until", now.to_string()),
                ];
                let result = async {
                    let visits = api::device_visits(network_id, &mac, &params, signal).await?;
                    let probes = api::list_probe_requests(
                        &ProbeRequestQuery {
                            mac: Some(mac.clone()),
                            network_id: Some(network_id),
                            ..ProbeRequestQuery::default()
                        },
                        signal,
                    )
                    .await?;
                    Ok::<_, ApiError>(Loaded {
                        device: (network_id, mac.clone()),
                        visits,
                        probes,
                        now,
                    })
                }
                .await;
                if !task.is_current() {
                    return;
                }
                match result {
                    Ok(result) => {
                        loaded.set(Some(result));
                        error.set(None);
                    }
                    Err(problem) => error.set(Some(problem)),
                }
            });
            move || latest.cancel()
        });
    }
    let retry = {
        let reload = reload.clone();
        Callback::from(move |()| reload.set(*reload + 1))
    };
    let on_filter = Callback::from(move |by: FilterBy| {
        let query = by.narrow(ProbeRequestQuery::default());
        if let Some(navigator) = &navigator {
            let _ = navigator.push_with_query(&Route::Home, &query);
        }
    });
    html! {
        <main class="page device" data-testid="device">
            <h2>
                { "Device " }<span class="mono">{ props.mac.clone() }</span>
                { format!(" in network {}", props.network_id) }
                { for loaded
                    .as_ref()
                    .and_then(|l| l.probes.items.first())
                    .and_then(|row| row.network_name.clone())
                    .map(|name| format!(" ({name})")) }
            </h2>
            if let Some(problem) = &*error {
                <ErrorNotice message={problem.message()} on_retry={retry} />
            }
            { match loaded
                .as_ref()
                .filter(|l| l.device == (props.network_id, props.mac.to_string()))
            {
                None if error.is_none() => html! { <p class="status-line" role="status">{ "Loading the device…" }</p> },
                None => html! {},
                Some(loaded) => html! {
                    <>
                        if loaded.visits.randomized {
                            <p class="notice">{ "This MAC is randomized (locally administered): the same phone may appear under other MACs, and this one may not come back." }</p>
                        }
                        { timeline(&loaded.visits, loaded.now) }
                        { visits_table(&loaded.visits) }
                        <h3>{ "Its probe requests" }</h3>
                        <ProbeTable items={loaded.probes.items.clone()} new_ids={std::collections::HashSet::new()}
                            now={loaded.now} {on_filter} />
                    </>
                },
            } }
        </main>
    }
}

/// The last DAYS days as a strip, each visit a bar from its start to its end.
fn timeline(visits: &DeviceVisits, now: i64) -> Html {
    const WIDTH: f64 = 640.0;
    let since = now - DAYS * 86_400;
    let x = |t: i64| WIDTH * (t - since).clamp(0, DAYS * 86_400) as f64 / (DAYS * 86_400) as f64;
    html! {
        <figure class="chart timeline">
            <figcaption>{ format!("Visits of the last {DAYS} days ({})", visits.visits.len()) }</figcaption>
            <svg viewBox={format!("0 0 {WIDTH} 44")} role="img"
                aria-label={format!("{} visits in the last {DAYS} days", visits.visits.len())}>
                <rect class="track" x="0" y="6" width={WIDTH.to_string()} height="16" />
                { for (0..=DAYS).map(|day| html! {
                    <line class="day" x1={format!("{:.1}", x(since + day * 86_400))} x2={format!("{:.1}", x(since + day * 86_400))} y1="4" y2="24" />
                }) }
                { for visits.visits.iter().map(|visit| {
                    let (x0, x1) = (x(visit.start), x(visit.end));
                    html! {
                        <rect class={if visit.visitor { "s-visitors" } else { "s-passers" }}
                            x={format!("{x0:.1}")} y="6" width={format!("{:.1}", (x1 - x0).max(2.0))} height="16">
                            <title>{ format!("{} for {}", clock::local_time(visit.start), format::duration(visit.dwell_s)) }</title>
                        </rect>
                    }
                }) }
                <text class="xlabel" x="0" y="40">{ clock::local_day_month(since) }</text>
                <text class="xlabel" x={WIDTH.to_string()} y="40" text-anchor="end">{ "now" }</text>
            </svg>
            <ul class="legend">
                <li><span class="swatch s-visitors"></span>{ "Visitor" }</li>
                <li><span class="swatch s-passers"></span>{ "Passer-by" }</li>
            </ul>
        </figure>
    }
}

fn visits_table(visits: &DeviceVisits) -> Html {
    if visits.visits.is_empty() {
        return html! { <p class="empty">{ format!("No visit in the last {DAYS} days.") }</p> };
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
                            <td>{ clock::local_time(visit.start) }</td>
                            <td>{ format::duration(visit.dwell_s) }</td>
                            <td>
                                if let Some(name) = &visit.strongest_node_name {
                                    <div class="place-name">{ name.clone() }</div>
                                }
                                <span class="mono">{ visit.strongest_node_mac.clone() }</span>
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
