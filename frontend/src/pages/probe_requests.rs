//! The probe-request view: filters from the URL, the table, paging, live refresh and the
//! feed's health.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use api_types::{NetworkList, Node, ProbeRequestPage, ProbeRequestQuery, Role, SessionInfo};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::components::clock;
use crate::components::filter_form::FilterForm;
use crate::components::node_health::NodeHealth;
use crate::components::notice::ErrorNotice;
use crate::components::pager::Pager;
use crate::components::probe_table::{FilterBy, ProbeTable, Rows};
use crate::format;
use crate::hooks::fetch::use_fetch;
use crate::hooks::paging::{self, Place};
use crate::hooks::scroll::use_table_top;
use crate::query;
use crate::reload::Reload;
use crate::route::Route;

/// CloudTrax's reporting cadence: refreshing faster shows nothing new.
const REFRESH_MILLIS: u32 = 30_000;

/// What one load answered.
#[derive(PartialEq)]
struct Loaded {
    page: ProbeRequestPage,
    /// The page's rows as the table shares them (made once per load).
    rows: Rows,
    /// Rows that were not there at the previous refresh of the same view.
    new_ids: HashSet<i64>,
    /// When it was loaded, Unix seconds.
    at: i64,
    /// The access points for the feed header: the last ones known, when this load's
    /// request for them failed (`nodes_failed`); None until first known, so the header
    /// says "unknown", not 0.
    nodes: Option<Rc<Vec<Node>>>,
    nodes_failed: bool,
    /// The time zone the rows' times are shown in (see [`view_time_zone`]); empty: the
    /// browser's.
    tz: AttrValue,
}

#[function_component]
pub fn ProbeRequests() -> Html {
    crate::hooks::title::use_title("Probe requests".to_string());
    let location = use_location();
    let navigator = use_navigator();
    let query = query::parse(location.as_ref().map(|l| l.query_str()).unwrap_or_default());

    let reload = use_reducer(Reload::default);
    let paused = use_state(|| false);
    let adding_sample = use_state(|| false);
    let sample_error = use_state(|| None::<ApiError>);
    // Adding data needs the admin role: others are not offered the button.
    let can_add_sample =
        use_context::<Rc<SessionInfo>>().is_some_and(|session| session.role == Role::Admin);
    let highest_id = use_mut_ref(|| None::<(ProbeRequestQuery, i64)>);
    let known_nodes = use_mut_ref(|| None::<Rc<Vec<Node>>>);
    let known_networks = use_mut_ref(|| None::<Rc<NetworkList>>);

    // The page and the access points, for the query in force; the latest request wins.
    let fetched = use_fetch((query.clone(), *reload), move |(query, _), signal| {
        let (highest_id, known_nodes) = (highest_id.clone(), known_nodes.clone());
        let known_networks = known_networks.clone();
        async move {
            let page = api::list_probe_requests(&query, signal.as_ref()).await;
            let nodes = api::list_nodes(signal.as_ref()).await;
            let nodes_failed = nodes.is_err();
            if let Ok(list) = nodes {
                *known_nodes.borrow_mut() = Some(Rc::new(list.items));
            }
            // Their time zones, for the times shown (the last known if this fails).
            if let Ok(networks) = api::list_networks(signal.as_ref()).await {
                *known_networks.borrow_mut() = Some(Rc::new(networks));
            }
            let page = page?;
            let tz = known_networks
                .borrow()
                .as_deref()
                .map(|networks| view_time_zone(networks, query.network_id))
                .unwrap_or_default();
            Ok(Loaded {
                new_ids: new_rows(&highest_id, &query, &page),
                rows: Rows::from(page.items.clone()),
                page,
                at: clock::now(),
                nodes: known_nodes.borrow().clone(),
                nodes_failed,
                tz: tz.into(),
            })
        }
    });
    let loaded: Option<&Loaded> = fetched.data.as_ref().map(|data| &data.1);
    let loading = fetched.loading;
    let error = fetched.error.clone().or_else(|| (*sample_error).clone());

    // The download buttons say how many rows they fetch: counted for the view's filters,
    // again at each refresh (the latest answer for the same filters stays meanwhile).
    let filters = query::filters(&query);
    let counted = use_fetch(
        (filters.clone(), *reload),
        |(filters, _), signal| async move { api::count_probe_requests(&filters, signal.as_ref()).await },
    );
    let export_size = counted
        .data
        .as_ref()
        .filter(|answer| (answer.0).0 == filters)
        .map(|answer| format!(" ({})", format::export_size(&answer.1)))
        .unwrap_or_default();

    {
        // Not while paused, nor while the tab is hidden (caught up when shown).
        let reload = reload.clone();
        crate::hooks::refresh::use_auto_refresh(
            REFRESH_MILLIS,
            !*paused,
            Callback::from(move |()| reload.dispatch(())),
        );
    }

    // To `next`, shown as page `page` (None: the newest, or a number not known).
    let go_to_page = {
        let navigator = navigator.clone();
        Callback::from(move |(next, page): (ProbeRequestQuery, Option<usize>)| {
            if let Some(navigator) = &navigator {
                let pairs = query::url_pairs(&next, page);
                let pushed = if pairs.is_empty() {
                    navigator.push(&Route::ProbeRequests);
                    Ok(())
                } else {
                    navigator.push_with_query(&Route::ProbeRequests, &pairs)
                };
                if let Err(problem) = pushed {
                    web_sys::console::error_1(&format!("navigation failed: {problem}").into());
                }
            }
        })
    };
    let go = go_to_page.reform(|next: ProbeRequestQuery| (next, None));
    let on_apply = go.clone();
    // The same handler while the view stays: the table's memoized rows keep their memo.
    let on_filter = {
        let go = go.clone();
        use_callback(query.clone(), move |by: FilterBy, query| {
            go.emit(by.narrow(query::first_page(query)));
        })
    };
    let on_node = on_filter.reform(FilterBy::Node);
    // Paging shows the new page from the table's top.
    let table_top = use_table_top(query.cursor.clone(), !loading);
    let on_page = |action: Callback<()>| table_top.on_page(action);
    let on_newest = {
        let go = go.clone();
        let query = query.clone();
        on_page(Callback::from(move |()| go.emit(query::first_page(&query))))
    };
    // Where this page stands: its number from the URL, and the page before from the walk
    // this tab made (Back, Forward and reload too).
    let place = paging::place(
        &query,
        query::page_number(location.as_ref().map(|l| l.query_str()).unwrap_or_default()),
    );
    let on_previous = {
        let go_to_page = go_to_page.clone();
        let query = query.clone();
        // The page before unknown (a link opened in another tab): the newest page.
        let (previous, number) = match &place {
            Some(Place {
                number,
                previous: Some(cursor),
            }) => (Some(cursor.clone()), Some(number - 1)),
            _ => (None, None),
        };
        on_page(Callback::from(move |()| {
            go_to_page.emit((
                ProbeRequestQuery {
                    cursor: previous.clone(),
                    ..query.clone()
                },
                number,
            ));
        }))
    };
    let next_cursor = fetched
        .answer_to(&(query.clone(), *reload))
        .and_then(|loaded| loaded.page.next_cursor.clone());
    let on_next = {
        let go_to_page = go_to_page.clone();
        let query = query.clone();
        let next_cursor = next_cursor.clone();
        let place = place.clone();
        on_page(Callback::from(move |()| {
            if let Some(cursor) = &next_cursor {
                let next = ProbeRequestQuery {
                    cursor: Some(cursor.clone()),
                    ..query.clone()
                };
                let number = paging::record_next(&query, place.as_ref(), &next);
                go_to_page.emit((next, number));
            }
        }))
    };
    let on_refresh = {
        let reload = reload.clone();
        Callback::from(move |()| reload.dispatch(()))
    };
    let on_pause = {
        let paused = paused.clone();
        Callback::from(move |_: MouseEvent| paused.set(!*paused))
    };
    let on_sample = {
        let reload = reload.clone();
        let sample_error = sample_error.clone();
        let adding_sample = adding_sample.clone();
        Callback::from(move |_: MouseEvent| {
            let reload = reload.clone();
            let sample_error = sample_error.clone();
            let adding_sample = adding_sample.clone();
            adding_sample.set(true);
            spawn_local(async move {
                match api::add_sample().await {
                    Ok(_) => {
                        sample_error.set(None);
                        reload.dispatch(());
                    }
                    Err(problem) => sample_error.set(Some(problem)),
                }
                adding_sample.set(false);
            });
        })
    };

    let now = loaded.map_or_else(clock::now, |loaded| loaded.at);
    // The feed header: unknown until first known; failed when its request or the page's
    // last did.
    let nodes = loaded.and_then(|loaded| loaded.nodes.clone());
    let nodes_failed = loaded.is_some_and(|loaded| loaded.nodes_failed) || fetched.error.is_some();
    let page_number = place.map(|place| place.number);
    let body = match (loaded, &error) {
        (None, None) => {
            html! { <p class="status-line" role="status">{ "Loading probe requests…" }</p> }
        }
        (None, Some(_)) => html! {},
        (Some(loaded), _) if loaded.page.items.is_empty() => {
            if query::is_filtered(&query) || query.cursor.is_some() {
                let clear = {
                    let go = go.clone();
                    let limit = query.limit;
                    Callback::from(move |_: MouseEvent| {
                        go.emit(ProbeRequestQuery {
                            limit,
                            ..ProbeRequestQuery::default()
                        })
                    })
                };
                html! {
                    <div class="empty" data-testid="empty-filtered">
                        <h2>{ "No probe requests match these filters" }</h2>
                        <p>{ "Widen the time range or clear a filter." }</p>
                        <button type="button" onclick={clear}>{ "Clear filters" }</button>
                    </div>
                }
            } else {
                empty_state(can_add_sample.then_some(on_sample), *adding_sample)
            }
        }
        (Some(loaded), _) => html! {
            <>
                <div ref={table_top.top.clone()} data-testid="table-top"></div>
                <ProbeTable items={loaded.rows.clone()} new_ids={loaded.new_ids.clone()}
                    {now} on_filter={on_filter.clone()} busy={loading} base={query.clone()} tz={loaded.tz.clone()} />
                <Pager {page_number} at_newest={query.cursor.is_none()} has_next={next_cursor.is_some()} busy={loading}
                    {on_newest} {on_previous} {on_next} />
            </>
        },
    };

    html! {
            <main class="page">
                <NodeHealth nodes={nodes.clone()} failed={nodes_failed} {now} on_select={on_node} />
                <FilterForm query={query.clone()} {on_apply} nodes={nodes.clone().unwrap_or_default()}
                    tz={loaded.map(|loaded| loaded.tz.clone()).unwrap_or_default()} />
                <div class="toolbar">
                    // Only "Loading…" is announced: the time of each 30 s refresh is not
                    // read out every time (the table's aria-busy says a query runs).
                    <span class="status-line" data-testid="status">
                        <span role="status" aria-live="polite">{ if loading { "Loading… · " } else { "" } }</span>
                        { status_text(loaded, *paused) }
                    </span>
                    <button type="button" onclick={on_refresh.reform(|_: MouseEvent| ())} data-testid="refresh">
                        { "Refresh now" }
                    </button>
                    <button type="button" onclick={on_pause} aria-pressed={paused.to_string()} data-testid="pause">
                        { if *paused { "Resume live updates" } else { "Pause live updates" } }
                    </button>
                    <a class="button" href={query::export_url(&query, "csv")} download="probe-requests.csv"
                        data-testid="export-csv">{ format!("Download CSV{export_size}") }</a>
                    <a class="button" href={query::export_url(&query, "ndjson")} download="probe-requests.ndjson"
                        data-testid="export-ndjson">{ format!("Download NDJSON{export_size}") }</a>
                </div>
                if let Some(problem) = &error {
                    <ErrorNotice message={problem.message()} on_retry={on_refresh.clone()} />
                }
                { body }
            </main>
    }
}

/// Rows of `page` above the highest id seen at the previous load of the same view (all
/// of them when that load was empty); none at the first load of a view.
fn new_rows(
    seen: &Rc<RefCell<Option<(ProbeRequestQuery, i64)>>>,
    query: &ProbeRequestQuery,
    page: &ProbeRequestPage,
) -> HashSet<i64> {
    let mut seen = seen.borrow_mut();
    let previous = seen
        .as_ref()
        .filter(|(seen_query, _)| seen_query == query)
        .map(|(_, highest)| *highest);
    let page_highest = page.items.iter().map(|item| item.id).max().unwrap_or(0);
    *seen = Some((query.clone(), page_highest.max(previous.unwrap_or(0))));
    match previous {
        Some(highest) => page
            .items
            .iter()
            .map(|item| item.id)
            .filter(|id| *id > highest)
            .collect(),
        None => HashSet::new(),
    }
}

fn status_text(loaded: Option<&Loaded>, paused: bool) -> String {
    let mode = if paused {
        "live updates paused".to_string()
    } else {
        format!("refreshes every {} s", REFRESH_MILLIS / 1000)
    };
    match loaded {
        Some(loaded) => {
            let zone = if loaded.tz.is_empty() {
                format!("times in your browser's zone, {}", clock::time_zone())
            } else {
                format!("times in {}", loaded.tz)
            };
            format!(
                "Updated {} · {zone} · {mode}",
                clock::local_time_in(loaded.at, &loaded.tz)
            )
        }
        None => mode,
    }
}

/// The time zone a view's times are shown in: its network's (the filter's), else the
/// one every network shares; empty (the browser's) when they differ or none is known.
fn view_time_zone(networks: &NetworkList, network_id: Option<i64>) -> String {
    let mut zones: Vec<&str> = networks
        .items
        .iter()
        .filter(|network| network_id.is_none_or(|id| id == network.network_id))
        .map(|network| network.time_zone.as_str())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    match zones.as_slice() {
        [only] => only.to_string(),
        _ => String::new(),
    }
}

/// No data at all: how to connect an access point, and (for an admin) the sample.
fn empty_state(on_sample: Option<Callback<MouseEvent>>, adding: bool) -> Html {
    let origin = web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default();
    let sample = match on_sample {
        Some(on_sample) => html! {
            <>
                <p>{ "Or take a first look with the sample report from the original receiver:" }</p>
                <button type="button" class="primary" onclick={on_sample} disabled={adding} data-testid="add-sample">
                    { if adding { "Adding sample data…" } else { "Add sample data" } }
                </button>
            </>
        },
        None => html! {
            <p>{ "An admin can also add the sample report from the original receiver, for a first look." }</p>
        },
    };
    html! {
        <div class="empty" data-testid="empty">
            <h2>{ "No probe requests yet" }</h2>
            <p>
                { "Point your CloudTrax network's Presence Reporting at " }
                <code>{ format!("{origin}/receive") }</code>
                { " and set the same secret as this server's NCOMPASS_SECRET. \
                   Access points post every 30 or 60 seconds; their probe requests appear here." }
            </p>
            { sample }
        </div>
    }
}
