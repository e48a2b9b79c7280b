//! The first page: today's answer for a venue operator. Visitors so far today against
//! the same time last week and yesterday, who is here now, the busiest zones; then the
//! way to every figure (Overview) and every row (probe requests).

use api_types::{StatsSummary, ZoneRanking};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::components::clock;
use crate::components::notice::ErrorNotice;
use crate::format;
use crate::hooks::fetch::use_fetch;
use crate::pages::overview::occupancy_now::OccupancyNow;
use crate::pages::overview::{setup, Places, Scope};
use crate::route::Route;

/// How often today's figures are computed again.
const REFRESH_MILLIS: u32 = 60_000;
/// The zones listed as the busiest.
const BUSIEST: usize = 5;

#[derive(Clone, PartialEq)]
struct Today {
    /// Since local midnight, with the same time last week in `compared`.
    today: StatsSummary,
    /// Yesterday from its midnight to the same time of day.
    yesterday: StatsSummary,
    zones: ZoneRanking,
    tz: String,
}

#[function_component]
pub fn Home() -> Html {
    crate::hooks::title::use_title("Today".to_string());
    let places = use_fetch((), |(), signal| async move {
        Places::load(signal.as_ref()).await
    });
    let unconnected = places
        .data
        .as_ref()
        .is_some_and(|places| places.1.nodes.is_empty());
    crate::hooks::refresh::use_auto_refresh(REFRESH_MILLIS, unconnected, places.reload.clone());
    // The venue's day: its networks' time zone when they share one, else the browser's.
    let tz = places
        .data
        .as_ref()
        .map(|places| places.1.time_zone(&Scope::default()));
    let fetched = use_fetch(tz.clone(), |tz: Option<String>, signal| async move {
        let Some(tz) = tz else {
            return Ok(None);
        };
        let signal = signal.as_ref();
        let now = clock::now();
        let midnight = clock::midnight_in(now, &tz);
        let yesterday = clock::midnight_days_before_in(now, 1, &tz);
        let range = |since: i64, until: i64| {
            vec![
                ("since", since.to_string()),
                ("until", until.to_string()),
                ("tz", tz.clone()),
            ]
        };
        let mut today = range(midnight, now);
        today.push(("compare", "last_week".to_string()));
        Ok::<_, ApiError>(Some(Today {
            today: api::stats_summary(&today, signal).await?,
            yesterday: api::stats_summary(&range(yesterday, yesterday + (now - midnight)), signal)
                .await?,
            zones: api::stats_zones(&today, signal).await?,
            tz: tz.clone(),
        }))
    });
    crate::hooks::refresh::use_auto_refresh(REFRESH_MILLIS, true, fetched.reload.clone());
    let error = fetched.error.as_ref().or(places.error.as_ref());
    let retry = if fetched.error.is_some() {
        fetched.reload.clone()
    } else {
        places.reload.clone()
    };
    html! {
        <main class="page home" data-testid="home">
            <h2>{ "Today" }</h2>
            if let Some(problem) = error {
                <ErrorNotice message={problem.message()} on_retry={retry} />
            }
            if unconnected {
                { setup::pointer() }
            } else {
                <OccupancyNow scope={Scope::default()} />
                { match fetched.answer_to(&tz).and_then(Option::as_ref) {
                    None if error.is_none() => html! { <p class="status-line" role="status">{ "Counting today's visitors…" }</p> },
                    None => html! {},
                    Some(today) => answer(today),
                } }
            }
            <p class="toolbar">
                <Link<Route> to={Route::Overview} classes="button">{ "All of today's figures" }</Link<Route>>
                <Link<Route> to={Route::ProbeRequests} classes="button">{ "Every probe request" }</Link<Route>>
            </p>
        </main>
    }
}

/// Today's visitors with their comparisons, and the busiest zones.
fn answer(today: &Today) -> Html {
    let now = &today.today;
    let last_week = now.compared.as_ref();
    let then = &today.yesterday;
    let zones: Vec<_> = today
        .zones
        .items
        .iter()
        .filter(|zone| zone.figures.visitors > 0 || zone.figures.devices > 0)
        .take(BUSIEST)
        .collect();
    html! {
        <>
            <section class="answer" aria-labelledby="today-title" data-testid="today">
                <h3 id="today-title" class="visually-hidden">{ "Visitors today" }</h3>
                <p class="headline">
                    <span class="value" data-testid="today-visitors">{ format::count(now.visitors) }</span>
                    { if now.visitors == 1 { " visitor so far today" } else { " visitors so far today" } }
                </p>
                if let Some(compared) = last_week {
                    <p class="change-line" data-testid="today-vs-last-week">
                        { format::change_line(compared.change.visitors, &format::count(compared.visitors), "at the same time last week") }
                    </p>
                }
                <p class="change-line" data-testid="today-vs-yesterday">
                    { format::change_line(format::ratio(now.visitors, then.visitors), &format::count(then.visitors), "yesterday at this time") }
                </p>
                <p class="hint">
                    { format!(
                        "A visitor is a visit of at least {} heard at {} dBm or stronger; {} devices (every MAC, randomized ones included) were heard today{}. Days in {}.",
                        format::duration(now.visitor_dwell_s),
                        now.nearby_signal_dbm,
                        format::count(now.devices),
                        if now.hours.as_deref() == Some("open") { " within opening hours" } else { "" },
                        today.tz
                    ) }
                </p>
                if let Some(why) = format::incomplete(now.completeness.as_ref()) {
                    <p class="completeness partial" data-testid="today-completeness">
                        { format!("Partial: {why} arrived today; the figures miss what the rest would have carried.") }
                    </p>
                }
                if now.hours.as_deref() == Some("open") {
                    <p class="hint" data-testid="today-hours">
                        { if now.closed {
                            "Closed so far today: visitors count within opening hours only."
                        } else {
                            "Counted within opening hours: staff before opening, cleaners and always-on devices at night are left out."
                        } }
                    </p>
                }
            </section>
            if !zones.is_empty() {
                <section aria-labelledby="busiest-title">
                    <h3 id="busiest-title">{ "Busiest zones today" }</h3>
                    <ol class="busiest" data-testid="busiest-zones">
                        { for zones.iter().map(|zone| html! {
                            <li>
                                <span class="place-name">{ zone.zone.clone() }</span>
                                { format!(": {} visitors", format::count(zone.figures.visitors)) }
                                { for zone.figures.compared.as_ref().and_then(|c| c.change.visitors).map(|ratio| format!(" ({:+.0}% on last week)", ratio * 100.0)) }
                                { for format::incomplete(zone.figures.completeness.as_ref()).map(|why| html! {
                                    <span class="badge partial" data-testid="partial" title={why.clone()}>{ format!("partial: {why}") }</span>
                                }) }
                            </li>
                        }) }
                    </ol>
                </section>
            }
        </>
    }
}
