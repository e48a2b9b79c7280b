//! Presence at a glance: the summary figures of a range, devices and visits over time,
//! dwell times, and the access points.

use api_types::{DwellHistogram, NetworkList, Node, NodeStatsList, StatsSeries, StatsSummary};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::app::Route;
use crate::components::chart::{Series, StackedBars};
use crate::components::clock;
use crate::components::nav_link::NavLink;
use crate::components::notice::ErrorNotice;
use crate::format;
use crate::hooks::fetch::use_fetch;

/// How often the figures of a range ending now are computed again.
const REFRESH_MILLIS: u32 = 60_000;
/// The longest range the server computes figures over (`/api/v1/stats/*`).
pub const MAX_RANGE_S: i64 = 31 * 86_400;

/// The ranges offered; `?range=` in the URL, or `?since=&until=` (Unix seconds) for a
/// custom one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    LastHour,
    Today,
    SevenDays,
    Custom { since: i64, until: i64 },
}

impl Range {
    pub const ALL: [Range; 3] = [Range::LastHour, Range::Today, Range::SevenDays];

    pub fn from_query(query_string: &str) -> Range {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query_string.trim_start_matches('?')).unwrap_or_default();
        let number = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .filter(|v| *v >= 0)
        };
        if let (Some(since), Some(until)) = (number("since"), number("until")) {
            if since <= until {
                return Range::Custom { since, until };
            }
        }
        match pairs
            .iter()
            .find(|(k, _)| k == "range")
            .map(|(_, v)| v.as_str())
        {
            Some("hour") => Range::LastHour,
            Some("7d") => Range::SevenDays,
            _ => Range::Today,
        }
    }

    /// A custom range longer than the server computes over.
    pub fn is_too_long(self) -> bool {
        matches!(self, Range::Custom { since, until } if until - since > MAX_RANGE_S)
    }

    pub fn key(self) -> &'static str {
        match self {
            Range::LastHour => "hour",
            Range::Today => "today",
            Range::SevenDays => "7d",
            Range::Custom { .. } => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::LastHour => "Last hour",
            Range::Today => "Today",
            Range::SevenDays => "Last 7 days",
            Range::Custom { .. } => "Custom",
        }
    }

    /// `(since, until, bucket)` at `now`, given the local midnight of today and that of
    /// six days before: the last 7 days are today and the six whole days before it, so
    /// every bar but today's is a whole local day.
    pub fn bounds(self, now: i64, today: i64, six_days_before: i64) -> (i64, i64, &'static str) {
        match self {
            Range::LastHour => (now - 3_600, now, "hour"),
            Range::Today => (today, now, "hour"),
            Range::SevenDays => (six_days_before, now, "day"),
            // Hours up to two days, days beyond.
            Range::Custom { since, until } => (
                since,
                until,
                if until - since <= 2 * 86_400 {
                    "hour"
                } else {
                    "day"
                },
            ),
        }
    }
}

/// What the Overview is narrowed to: one network, one zone, one access point
/// (`?network_id=&zone=&node_mac=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_mac: Option<String>,
}

impl Scope {
    pub fn from_query(query_string: &str) -> Scope {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query_string.trim_start_matches('?')).unwrap_or_default();
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
        };
        Scope {
            network_id: value("network_id")
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| *v >= 0),
            zone: value("zone"),
            node_mac: value("node_mac"),
        }
    }

    /// The API's parameters for this scope.
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(network_id) = self.network_id {
            params.push(("network_id", network_id.to_string()));
        }
        if let Some(zone) = &self.zone {
            params.push(("zone", zone.clone()));
        }
        if let Some(node_mac) = &self.node_mac {
            params.push(("node_mac", node_mac.clone()));
        }
        params
    }
}

/// The networks and access points, for the scope's menus and its time zone.
#[derive(Clone, PartialEq)]
struct Places {
    networks: NetworkList,
    nodes: Vec<Node>,
}

/// [`Places`] as the fetch hook keeps it (with its inputs, none): shared, not copied.
type PlacesAnswer = std::rc::Rc<((), Places)>;

impl Places {
    /// The time zone hours and days are shown in: the network's; over several, theirs
    /// when they share one; else the browser's.
    fn time_zone(&self, scope: &Scope) -> String {
        let zone_of = |network_id: i64| {
            self.networks
                .items
                .iter()
                .find(|n| n.network_id == network_id)
                .map_or_else(|| "UTC".to_string(), |n| n.time_zone.clone())
        };
        let mut networks: Vec<i64> = match scope.network_id {
            Some(id) => vec![id],
            None => self
                .nodes
                .iter()
                .filter(|node| scope.zone.is_none() || node.zone == scope.zone)
                .filter(|node| {
                    scope.node_mac.as_ref().is_none_or(|mac| {
                        crate::mac::canonical(mac).as_ref() == Some(&node.node_mac)
                    })
                })
                .map(|node| node.network_id)
                .collect(),
        };
        networks.sort_unstable();
        networks.dedup();
        let mut zones: Vec<String> = networks.into_iter().map(zone_of).collect();
        zones.dedup();
        match zones.as_slice() {
            [only] => only.clone(),
            _ => clock::time_zone(),
        }
    }

    fn zones(&self) -> Vec<String> {
        let mut zones: Vec<String> = self.nodes.iter().filter_map(|n| n.zone.clone()).collect();
        zones.sort_unstable();
        zones.dedup();
        zones
    }
}

#[derive(Clone, PartialEq)]
struct Figures {
    summary: StatsSummary,
    series: StatsSeries,
    histogram: DwellHistogram,
    nodes: NodeStatsList,
    /// The range and scope they are of: another's figures are never shown under this one.
    range: Range,
    scope: Scope,
    /// The time zone of their hours and days.
    tz: String,
    bucket: &'static str,
    /// When they were computed, Unix seconds.
    at: i64,
}

#[function_component]
pub fn Overview() -> Html {
    crate::hooks::title::use_title("Overview".to_string());
    let location = use_location();
    let query_str = location.as_ref().map(|l| l.query_str()).unwrap_or_default();
    let range = Range::from_query(query_str);
    let scope = Scope::from_query(query_str);
    // The networks and access points: the scope's menus and time zone. Until they are
    // known (or if they cannot be), the browser's zone.
    let places = use_fetch((), |(), signal| async move {
        let signal = signal.as_ref();
        Ok(Places {
            networks: api::list_networks(signal).await?,
            nodes: api::list_nodes(signal).await?.items,
        })
    });
    let places_tried = places.data.is_some() || places.error.is_some();
    let places: Option<PlacesAnswer> = places.data;
    let tz = places
        .as_ref()
        .map_or_else(clock::time_zone, |places| places.1.time_zone(&scope));
    // Only the latest range, scope and zone's request may update the page; a change or
    // a refresh aborts the one before. Nothing is asked while the time zone is not
    // known, nor for a range the server would refuse (the page says so).
    let deps = (range, scope.clone(), tz.clone(), places_tried);
    let fetched = use_fetch(
        deps.clone(),
        |(range, scope, tz, ready): (Range, Scope, String, bool), signal| async move {
            if range.is_too_long() || !ready {
                return Ok(None);
            }
            let signal = signal.as_ref();
            let now = clock::now();
            let (since, until, bucket) = range.bounds(
                now,
                clock::midnight_in(now, &tz),
                clock::midnight_days_before_in(now, 6, &tz),
            );
            // The scope's zone: its hours and days for the buckets and "returning".
            let mut params = vec![
                ("since", since.to_string()),
                ("until", until.to_string()),
                ("tz", tz.clone()),
            ];
            params.extend(scope.params());
            let mut series_params = params.clone();
            series_params.push(("bucket", bucket.to_string()));
            Ok::<_, ApiError>(Some(Figures {
                summary: api::stats_summary(&params, signal).await?,
                series: api::stats_series(&series_params, signal).await?,
                histogram: api::dwell_histogram(&params, signal).await?,
                nodes: api::stats_nodes(&params, signal).await?,
                range,
                scope,
                tz,
                bucket,
                at: now,
            }))
        },
    );
    // A range that ends now moves on: its figures are computed again every minute
    // (not while the tab is hidden).
    crate::hooks::refresh::use_auto_refresh(
        REFRESH_MILLIS,
        !matches!(range, Range::Custom { .. }),
        fetched.reload.clone(),
    );
    let retry = fetched.reload.clone();
    let error = &fetched.error;
    let figures = fetched.answer_to(&deps).and_then(Option::as_ref);

    html! {
        <main class="page overview" data-testid="overview">
            <h2>{ "Presence overview" }</h2>
            <OccupancyNow scope={scope.clone()} />
            <ScopePicker scope={scope.clone()} range={range} places={places.clone()} />
            <nav class="ranges" aria-label="Range">
                { for Range::ALL.iter().map(|option| {
                    let current = *option == range;
                    html! {
                        <NavLink to={Route::Overview} {current}
                            query={serde_urlencoded::to_string(RangeQuery { range: option.key().to_string(), scope: scope.clone() }).unwrap_or_default()}
                            classes={classes!("button", current.then_some("current"))}>
                            { option.label() }
                        </NavLink>
                    }
                }) }
            </nav>
            <CustomRange current={range} scope={scope.clone()} />
            if let Some(figures) = figures {
                // Not a live region: it changes every minute and would be read out each time.
                <p class="status-line" data-testid="overview-status">
                    { format!("Computed {}", clock::local_time(figures.at)) }
                    <span data-testid="overview-tz">{ format!(" · hours and days in {}", figures.tz) }</span>
                    if !matches!(range, Range::Custom { .. }) {
                        { format!(" · refreshes every {} s", REFRESH_MILLIS / 1000) }
                    }
                </p>
            }
            if range.is_too_long() {
                <p class="field-error" role="alert" data-testid="range-too-long">
                    { "A range may span at most 31 days: choose a shorter one." }
                </p>
            } else if let Some(problem) = error {
                <ErrorNotice message={problem.message()} on_retry={retry} />
            }
            { match figures {
                _ if range.is_too_long() => html! {},
                None if error.is_none() => html! { <p class="status-line" role="status">{ "Computing the figures…" }</p> },
                None => html! {},
                Some(figures) => view(figures),
            } }
        </main>
    }
}

#[derive(Clone, PartialEq, serde::Serialize)]
struct RangeQuery {
    range: String,
    #[serde(flatten)]
    scope: Scope,
}

#[derive(Clone, PartialEq, serde::Serialize)]
struct CustomQuery {
    since: i64,
    until: i64,
    #[serde(flatten)]
    scope: Scope,
}

/// The range's part of the URL, with a new scope.
#[derive(Clone, PartialEq, serde::Serialize)]
struct ScopedQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<i64>,
    #[serde(flatten)]
    scope: Scope,
}

#[derive(Properties, PartialEq)]
struct ScopePickerProps {
    scope: Scope,
    range: Range,
    places: Option<PlacesAnswer>,
}

/// Narrows the Overview to one network or one zone (kept in the URL).
#[function_component]
fn ScopePicker(props: &ScopePickerProps) -> Html {
    let navigator = use_navigator();
    let Some(places) = props.places.as_ref().map(|places| &places.1) else {
        return html! {};
    };
    let go = {
        let range = props.range;
        move |scope: Scope| {
            let (range_key, since, until) = match range {
                Range::Custom { since, until } => (None, Some(since), Some(until)),
                other => (Some(other.key().to_string()), None, None),
            };
            if let Some(navigator) = &navigator {
                let _ = navigator.push_with_query(
                    &Route::Overview,
                    &ScopedQuery {
                        range: range_key,
                        since,
                        until,
                        scope,
                    },
                );
            }
        }
    };
    let on_network = {
        let (go, scope) = (go.clone(), props.scope.clone());
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            go(Scope {
                network_id: select.value().parse().ok(),
                ..scope.clone()
            });
        })
    };
    let on_zone = {
        let (go, scope) = (go.clone(), props.scope.clone());
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            let zone = Some(select.value()).filter(|zone| !zone.is_empty());
            go(Scope {
                zone,
                ..scope.clone()
            });
        })
    };
    let on_node = {
        let (go, scope) = (go.clone(), props.scope.clone());
        Callback::from(move |event: Event| {
            let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
            let node_mac = Some(select.value()).filter(|mac| !mac.is_empty());
            go(Scope {
                node_mac,
                ..scope.clone()
            });
        })
    };
    let zones = places.zones();
    let current_node = props
        .scope
        .node_mac
        .as_deref()
        .and_then(crate::mac::canonical);
    html! {
        <form class="filters scope" aria-label="Scope" data-testid="overview-scope" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <div class="field">
                <label for="o-network">{ "Network" }</label>
                <select id="o-network" onchange={on_network}>
                    <option value="" selected={props.scope.network_id.is_none()}>{ "All networks" }</option>
                    { for places.networks.items.iter().map(|network| html! {
                        <option value={network.network_id.to_string()} selected={props.scope.network_id == Some(network.network_id)}>
                            { network.name.clone().map_or_else(|| network.network_id.to_string(), |name| format!("{name} ({})", network.network_id)) }
                        </option>
                    }) }
                </select>
            </div>
            <div class="field">
                <label for="o-zone">{ "Zone" }</label>
                <select id="o-zone" onchange={on_zone} data-testid="overview-zone">
                    <option value="" selected={props.scope.zone.is_none()}>{ "All zones" }</option>
                    { for zones.iter().map(|zone| html! {
                        <option value={zone.clone()} selected={props.scope.zone.as_ref() == Some(zone)}>{ zone.clone() }</option>
                    }) }
                </select>
            </div>
            <div class="field">
                <label for="o-node">{ "Access point" }</label>
                <select id="o-node" onchange={on_node} data-testid="overview-node">
                    <option value="" selected={current_node.is_none()}>{ "All access points" }</option>
                    { for places.nodes.iter().map(|node| html! {
                        <option value={node.node_mac.clone()} selected={current_node.as_ref() == Some(&node.node_mac)}>
                            { node.name.clone().map_or_else(|| node.node_mac.clone(), |name| format!("{name} ({})", node.node_mac)) }
                        </option>
                    }) }
                </select>
            </div>
        </form>
    }
}

/// How often occupancy now is asked again.
const NOW_REFRESH_MILLIS: u32 = 30_000;

#[derive(Properties, PartialEq)]
struct OccupancyNowProps {
    scope: Scope,
}

/// The first question of the day: how many are here right now (the last 5 minutes).
#[function_component]
fn OccupancyNow(props: &OccupancyNowProps) -> Html {
    let now =
        crate::hooks::fetch::use_fetch(props.scope.clone(), |scope: Scope, signal| async move {
            api::stats_now(&scope.params(), signal.as_ref()).await
        });
    crate::hooks::refresh::use_auto_refresh(NOW_REFRESH_MILLIS, true, now.reload.clone());
    let failed = now.error.is_some();
    let shown = now.answer_to(&props.scope);
    html! {
        <section class="now" aria-labelledby="now-title" data-testid="occupancy-now" aria-busy={shown.is_none().to_string()}>
            <h3 id="now-title">{ "Here now" }</h3>
            { match shown {
                None if failed => html! { <p class="muted">{ "Unknown: the server did not answer (retrying every 30 s)" }</p> },
                None => html! { <p class="muted">{ "Counting…" }</p> },
                Some(stats) => html! {
                    <>
                        <p class="now-figure">
                            <strong class="value" data-testid="now-devices">{ format::count(stats.devices) }</strong>
                            { format!(" devices heard in the last {}", format::duration(stats.window_s)) }
                        </p>
                        <p class="muted">
                            { format!("{} associated · {} other non-randomized · {} randomized",
                                format::count(stats.devices_associated),
                                format::count(stats.devices_non_randomized_unassociated),
                                format::count(stats.devices_randomized_unassociated)) }
                            if failed { { " · could not refresh (showing the last count)" } }
                        </p>
                        if stats.zones.len() > 1 || stats.zones.iter().any(|z| z.zone.is_some()) {
                            <ul class="now-zones" data-testid="now-zones">
                                { for stats.zones.iter().map(|zone| html! {
                                    <li>
                                        <span>{ zone.zone.clone().unwrap_or_else(|| "No zone".to_string()) }</span>
                                        { ": " }<strong>{ format::count(zone.devices) }</strong>
                                    </li>
                                }) }
                            </ul>
                        }
                    </>
                },
            } }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct CustomRangeProps {
    current: Range,
    scope: Scope,
}

/// Two local date-times; "Show" puts them in the URL as `since`/`until`.
#[function_component]
fn CustomRange(props: &CustomRangeProps) -> Html {
    let navigator = use_navigator();
    let (from, to) = match props.current {
        Range::Custom { since, until } => {
            (clock::to_input_value(since), clock::to_input_value(until))
        }
        _ => (String::new(), String::new()),
    };
    let since = use_state(|| from);
    let until = use_state(|| to);
    let problem = use_state(|| None::<&'static str>);
    let input = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |event: InputEvent| {
            let input: web_sys::HtmlInputElement = event.target_unchecked_into();
            state.set(input.value());
        })
    };
    let onsubmit = {
        let (since, until, problem) = (since.clone(), until.clone(), problem.clone());
        let scope = props.scope.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            match (
                clock::from_input_value(&since),
                clock::from_input_value(&until),
            ) {
                (Some(since), Some(until)) if Range::Custom { since, until }.is_too_long() => {
                    problem.set(Some("A range may span at most 31 days"));
                }
                (Some(since), Some(until)) if since <= until => {
                    problem.set(None);
                    if let Some(navigator) = &navigator {
                        let _ = navigator.push_with_query(
                            &Route::Overview,
                            &CustomQuery {
                                since,
                                until,
                                scope: scope.clone(),
                            },
                        );
                    }
                }
                (Some(_), Some(_)) => problem.set(Some("The end must not be before the start")),
                _ => problem.set(Some("Enter a start and an end")),
            }
        })
    };
    html! {
        <form class="filters custom-range" {onsubmit} aria-label="Custom range">
            <div class="field">
                <label for="r-since">{ "From" }</label>
                <input id="r-since" type="datetime-local" step="1" value={(*since).clone()} oninput={input(&since)} />
            </div>
            <div class="field">
                <label for="r-until">{ "Until" }</label>
                <input id="r-until" type="datetime-local" step="1" value={(*until).clone()} oninput={input(&until)} />
            </div>
            <div class="actions">
                <button type="submit" class={classes!(matches!(props.current, Range::Custom { .. }).then_some("primary"))}>
                    { "Show custom range" }
                </button>
            </div>
            if let Some(text) = *problem {
                <span class="field-error" role="alert">{ text }</span>
            }
        </form>
    }
}

fn card(value: String, label: &str, hint: &str) -> Html {
    html! {
        <div class="card">
            <div class="value">{ value }</div>
            <div class="label">{ label.to_string() }</div>
            <div class="hint">{ hint.to_string() }</div>
        </div>
    }
}

fn seconds(value: Option<i64>) -> String {
    value
        .map(format::duration)
        .unwrap_or_else(|| "–".to_string())
}

fn view(figures: &Figures) -> Html {
    let s = &figures.summary;
    let labels: Vec<String> = figures
        .series
        .points
        .iter()
        .map(|p| match figures.bucket {
            "day" => clock::day_month_in(p.since, &figures.tz),
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
    let buckets = &figures.histogram.buckets;
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
        <>
            <section class="cards" aria-label="Summary" data-testid="summary">
                { card(format::count(s.devices), "devices", "all client MACs, randomized included") }
                { card(format::count(s.devices_non_randomized), "non-randomized devices", "trackable across days") }
                { card(format::count(s.devices_associated), "associated devices", "connected to the network") }
                { card(format::count(s.visits), "visits", &format!("no gap over {}", format::duration(s.visit_gap_s))) }
                { card(format::count(s.visitors), "visitors", &format!("≥ {} and ≥ {} dBm", format::duration(s.visitor_dwell_s), s.nearby_signal_dbm)) }
                { card(format::count(s.passers_by), "passers-by", "the other visits") }
                { card(s.capture_rate.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "–".into()), "capture rate", "visitors / visits") }
                { card(seconds(s.dwell_p50_s), "median dwell", &format!("90th percentile {}", seconds(s.dwell_p90_s))) }
                { card(format::count(s.returning_devices), "returning devices", "seen on an earlier day of the range") }
            </section>
            <p class="toolbar">
                <a class="button" data-testid="overview-csv" download="ncompass-overview.csv"
                    href={format!("data:text/csv;charset=utf-8,{}", String::from(js_sys::encode_uri_component(
                        &format::series_csv(&figures.tz, &figures.series.points, s))))}>
                    { format!("Download these figures (CSV, {} rows)", figures.series.points.len() + 1) }
                </a>
            </p>
            <StackedBars title={format!("Unique devices per {}", figures.bucket)} unit="devices" labels={labels.clone()} series={devices} />
            <StackedBars title={format!("Visitors and passers-by per {}", figures.bucket)} unit="visits" {labels} series={visits} />
            <StackedBars title="Dwell time of the visits" unit="visits" labels={dwell_labels} series={dwell} />
            <section aria-labelledby="ap-title">
                <h3 id="ap-title">{ "Access points" }</h3>
                <div class="table-wrap">
                    <table class="probes" data-testid="ap-table">
                        <thead><tr>
                            <th scope="col">{ "Access point" }</th>
                            <th scope="col">{ "Zone" }</th>
                            <th scope="col" class="num">{ "Devices" }</th>
                            <th scope="col" class="num">{ "Visits" }</th>
                            <th scope="col" class="num">{ "Strongest for" }</th>
                        </tr></thead>
                        <tbody>
                            { for figures.nodes.items.iter().map(|node| html! {
                                <tr>
                                    <td>
                                        if let Some(name) = &node.name {
                                            <div class="place-name">{ name.clone() }</div>
                                        }
                                        <a class="mono" href={format!("/?node_mac={}", node.node_mac)}
                                            title="This access point's probe requests">{ node.node_mac.clone() }</a>
                                    </td>
                                    <td>{ node.zone.clone().unwrap_or_default() }</td>
                                    <td class="num">{ format::count(node.devices) }</td>
                                    <td class="num">{ format::count(node.visits) }</td>
                                    <td class="num">{ format!("{} devices", format::count(node.strongest_for_devices)) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </div>
            </section>
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::Range;

    #[test]
    fn ranges_from_the_url_and_their_bounds() {
        assert_eq!(Range::from_query("?range=hour"), Range::LastHour);
        assert_eq!(Range::from_query("range=7d"), Range::SevenDays);
        assert_eq!(Range::from_query(""), Range::Today);
        assert_eq!(Range::from_query("range=nonsense"), Range::Today);
        assert_eq!(
            Range::from_query("since=100&until=200&range=hour"),
            Range::Custom {
                since: 100,
                until: 200
            },
            "a custom range wins"
        );
        assert_eq!(
            Range::from_query("since=300&until=200"),
            Range::Today,
            "backwards is ignored"
        );
        assert_eq!(
            Range::Custom {
                since: 0,
                until: 86_400
            }
            .bounds(9, 9, 0),
            (0, 86_400, "hour")
        );
        assert_eq!(
            Range::Custom {
                since: 0,
                until: 3 * 86_400
            }
            .bounds(9, 9, 0)
            .2,
            "day"
        );
        assert_eq!(
            Range::LastHour.bounds(10_000, 0, 0),
            (6_400, 10_000, "hour")
        );
        assert_eq!(
            Range::Today.bounds(10_000, 3_600, 0),
            (3_600, 10_000, "hour")
        );
        // From the local midnight six days before today's: whole days, no partial first.
        assert_eq!(
            Range::SevenDays.bounds(1_000_000, 950_400, 432_000),
            (432_000, 1_000_000, "day")
        );
    }

    #[test]
    fn a_custom_range_over_31_days_is_too_long() {
        let days = |n: i64| Range::Custom {
            since: 0,
            until: n * 86_400,
        };
        assert!(!days(31).is_too_long());
        assert!(days(32).is_too_long());
        assert!(!Range::SevenDays.is_too_long());
    }
}
