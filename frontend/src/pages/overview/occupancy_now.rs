//! "Here now": how many devices the scope's access points heard in the last minutes, by
//! zone; refreshed on its own, whatever the range.

use yew::prelude::*;

use super::Scope;
use crate::api;
use crate::format;

/// How often occupancy now is asked again.
const NOW_REFRESH_MILLIS: u32 = 30_000;

#[derive(Properties, PartialEq)]
pub(crate) struct OccupancyNowProps {
    pub(crate) scope: Scope,
}

/// The first question of the day: how many are here right now (the last 5 minutes).
#[function_component]
pub(crate) fn OccupancyNow(props: &OccupancyNowProps) -> Html {
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
                        if let Some(why) = format::incomplete(stats.completeness.as_ref()) {
                            <p class="completeness partial" data-testid="now-partial">
                                { format!("Partial: {why} arrived in the window; devices near a silent access point are missing.") }
                            </p>
                        }
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
