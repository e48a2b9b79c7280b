//! The scope menus: the network, zone and access point the Overview is narrowed to.

use yew::prelude::*;
use yew_router::prelude::*;

use super::{PlacesAnswer, Range, Scope};
use crate::route::Route;

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
pub(super) struct ScopePickerProps {
    pub(super) scope: Scope,
    pub(super) range: Range,
    pub(super) places: Option<PlacesAnswer>,
}

/// Narrows the Overview to one network or one zone (kept in the URL).
#[function_component]
pub(super) fn ScopePicker(props: &ScopePickerProps) -> Html {
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
