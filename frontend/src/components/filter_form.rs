use std::rc::Rc;

use api_types::{Node, ProbeRequestQuery};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::clock;
use crate::mac;

pub const PAGE_SIZES: [u32; 6] = [25, 50, 100, 250, 500, 1000];

#[derive(Properties, PartialEq)]
pub struct FilterFormProps {
    /// The filters in force (from the URL).
    pub query: ProbeRequestQuery,
    /// Called with the new filters, from the first page.
    pub on_apply: Callback<ProbeRequestQuery>,
    /// The access points known (with their names, zones and networks): the access
    /// point, zone and network filters offer them by name.
    #[prop_or_default]
    pub nodes: Rc<Vec<Node>>,
    /// The IANA time zone the dates are entered in (the table's); empty: the browser's.
    #[prop_or_default]
    pub tz: AttrValue,
}

/// The networks of `nodes`, by id, each with its name if it has one.
fn networks_of(nodes: &[Node]) -> Vec<(i64, Option<String>)> {
    let mut networks: Vec<(i64, Option<String>)> = nodes
        .iter()
        .map(|node| (node.network_id, node.network_name.clone()))
        .collect();
    networks.sort_by_key(|(id, _)| *id);
    networks.dedup_by_key(|(id, _)| *id);
    networks
}

/// The zones of `nodes`, sorted, once each.
pub fn zones_of(nodes: &[Node]) -> Vec<String> {
    let mut zones: Vec<String> = nodes.iter().filter_map(|node| node.zone.clone()).collect();
    zones.sort_unstable();
    zones.dedup();
    zones
}

/// The access point a filter names: a MAC as it is, else a name of one of `nodes`
/// (any case); or why not.
fn node_named(text: &str, nodes: &[Node]) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(mac) = mac::canonical(text) {
        return Ok(Some(mac));
    }
    let mut named: Vec<&str> = nodes
        .iter()
        .filter(|node| {
            node.name
                .as_deref()
                .is_some_and(|name| name.trim().eq_ignore_ascii_case(text))
        })
        .map(|node| node.node_mac.as_str())
        .collect();
    named.sort_unstable();
    named.dedup();
    match named.as_slice() {
        [mac] => Ok(Some((*mac).to_string())),
        [] => Err(format!(
            "No access point is named {text:?}: pick one from the list, or enter its MAC"
        )),
        several => Err(format!(
            "{} access points are named {text:?}: enter the MAC of the one you mean",
            several.len()
        )),
    }
}

/// What the form holds while being edited.
#[derive(Clone, PartialEq, Default)]
struct Draft {
    mac: String,
    node_mac: String,
    zone: String,
    network_id: String,
    /// Any vendor (`None`), or one.
    source_vendor: Option<api_types::Vendor>,
    /// Any (`None`), yes or no: every value the URL can hold has a choice.
    associated: Option<bool>,
    randomized: Option<bool>,
    since: String,
    until: String,
    limit: u32,
}

impl Draft {
    fn from_query(query: &ProbeRequestQuery, tz: &str) -> Draft {
        Draft {
            mac: query.mac.clone().unwrap_or_default(),
            node_mac: query.node_mac.clone().unwrap_or_default(),
            zone: query.zone.clone().unwrap_or_default(),
            network_id: query
                .network_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            source_vendor: query.source_vendor,
            associated: query.associated,
            randomized: query.randomized,
            since: query
                .since
                .map(|t| clock::to_input_value_in(t, tz))
                .unwrap_or_default(),
            until: query
                .until
                .map(|t| clock::to_input_value_in(t, tz))
                .unwrap_or_default(),
            limit: query.limit.unwrap_or(api_types::DEFAULT_PAGE_SIZE),
        }
    }

    /// The query, or the field in error and why; access points named by `nodes`.
    fn to_query(
        &self,
        nodes: &[Node],
        tz: &str,
    ) -> Result<ProbeRequestQuery, (&'static str, String)> {
        let mac_field = |text: &str, field: &'static str| {
            if text.trim().is_empty() {
                return Ok(None);
            }
            mac::canonical(text).map(Some).ok_or((
                field,
                "Enter 6 octets in hex, like 00:1a:2b:3c:4d:5e".to_string(),
            ))
        };
        let network_id = match self.network_id.trim() {
            "" => None,
            text => Some(text.parse::<i64>().ok().ok_or((
                "network_id",
                "Enter a network number, like 179283".to_string(),
            ))?),
        };
        let since = clock::from_input_value_in(&self.since, tz);
        let until = clock::from_input_value_in(&self.until, tz);
        if let (Some(since), Some(until)) = (since, until) {
            if since > until {
                return Err(("until", "The end must not be before the start".to_string()));
            }
        }
        Ok(ProbeRequestQuery {
            limit: (self.limit != api_types::DEFAULT_PAGE_SIZE).then_some(self.limit),
            cursor: None,
            mac: mac_field(&self.mac, "mac")?,
            node_mac: node_named(&self.node_mac, nodes).map_err(|why| ("node_mac", why))?,
            zone: Some(self.zone.trim().to_string()).filter(|zone| !zone.is_empty()),
            network_id,
            source_vendor: self.source_vendor,
            associated: self.associated,
            randomized: self.randomized,
            since,
            until,
        })
    }
}

/// The filters: edited here, applied to the URL on submit.
#[function_component]
pub fn FilterForm(props: &FilterFormProps) -> Html {
    let draft = use_state(|| Draft::from_query(&props.query, &props.tz));
    let error = use_state(|| None::<(&'static str, String)>);
    {
        // The URL changed (a click in the table, back button): show what is in force.
        let draft = draft.clone();
        let error = error.clone();
        use_effect_with(
            (props.query.clone(), props.tz.clone()),
            move |(query, tz)| {
                draft.set(Draft::from_query(query, tz));
                error.set(None);
            },
        );
    }

    let apply = {
        let error = error.clone();
        let on_apply = props.on_apply.clone();
        let nodes = Rc::clone(&props.nodes);
        let tz = props.tz.clone();
        move |next: &Draft| match next.to_query(&nodes, &tz) {
            Ok(query) => {
                error.set(None);
                on_apply.emit(query);
            }
            Err(problem) => error.set(Some(problem)),
        }
    };
    let onsubmit = {
        let draft = draft.clone();
        let apply = apply.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            apply(&draft);
        })
    };
    let onreset = {
        let on_apply = props.on_apply.clone();
        let limit = props.query.limit;
        Callback::from(move |event: Event| {
            event.prevent_default();
            on_apply.emit(ProbeRequestQuery {
                limit,
                ..ProbeRequestQuery::default()
            });
        })
    };
    let text = |field: fn(&mut Draft) -> &mut String| {
        let draft = draft.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            *field(&mut next) = input.value();
            draft.set(next);
        })
    };
    let choice = |field: fn(&mut Draft) -> &mut Option<bool>| {
        let draft = draft.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            *field(&mut next) = parse_choice(&select.value());
            draft.set(next);
        })
    };
    let on_source = {
        let draft = draft.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            next.source_vendor = api_types::Vendor::parse(&select.value());
            draft.set(next);
        })
    };
    let on_limit = {
        let draft = draft.clone();
        let apply = apply.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            next.limit = select
                .value()
                .parse()
                .unwrap_or(api_types::DEFAULT_PAGE_SIZE);
            draft.set(next.clone());
            apply(&next);
        })
    };
    // The networks by name; one the URL names but no access point reported in stays
    // offered (its id), so the menu always shows the filter in force.
    let mut networks = networks_of(&props.nodes);
    if let Ok(current) = draft.network_id.trim().parse::<i64>() {
        if !networks.iter().any(|(id, _)| *id == current) {
            networks.push((current, None));
            networks.sort_by_key(|(id, _)| *id);
        }
    }
    let on_network = {
        let draft = draft.clone();
        Callback::from(move |event: Event| {
            let select: HtmlSelectElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            next.network_id = select.value();
            draft.set(next);
        })
    };
    let zone_hint = if props.tz.is_empty() {
        format!("your zone, {}", clock::time_zone())
    } else {
        props.tz.to_string()
    };
    let invalid = |field: &str| error.as_ref().is_some_and(|(f, _)| *f == field);
    let message = |field: &'static str| -> Html {
        match error.as_ref() {
            Some((f, text)) if *f == field => html! {
                <span class="field-error" id={format!("{field}-error")} role="alert">{ text.clone() }</span>
            },
            _ => html! {},
        }
    };
    let described = |field: &str| invalid(field).then(|| AttrValue::from(format!("{field}-error")));

    // Folded on a phone (its first screen is the rows, not nine fields), open wider.
    let open = use_state(|| {
        web_sys::window()
            .and_then(|window| window.inner_width().ok())
            .and_then(|width| width.as_f64())
            .is_none_or(|width| width >= 600.0)
    });
    let q = &props.query;
    let in_force = [
        q.mac.is_some(),
        q.node_mac.is_some(),
        q.zone.is_some(),
        q.network_id.is_some(),
        q.source_vendor.is_some(),
        q.associated.is_some(),
        q.randomized.is_some(),
        q.since.is_some(),
        q.until.is_some(),
    ]
    .into_iter()
    .filter(|given| *given)
    .count();
    let ontoggle = {
        let open = open.clone();
        Callback::from(move |event: Event| {
            let details: web_sys::Element = event.target_unchecked_into();
            open.set(details.has_attribute("open"));
        })
    };
    html! {
        <details class="filters-panel" open={*open || error.is_some()} {ontoggle} data-testid="filters-panel">
        <summary>
            { match in_force {
                0 => "Filters".to_string(),
                1 => "Filters (1 in force)".to_string(),
                n => format!("Filters ({n} in force)"),
            } }
        </summary>
        <form class="filters" {onsubmit} {onreset} aria-label="Filters" data-testid="filters">
            <div class="field">
                <label for="f-mac">{ "Client MAC" }</label>
                <input id="f-mac" name="mac" type="text" inputmode="text" autocomplete="off" spellcheck="false"
                    placeholder="00:1a:2b:3c:4d:5e" value={draft.mac.clone()} oninput={text(|d| &mut d.mac)}
                    aria-invalid={invalid("mac").to_string()} aria-describedby={described("mac")} />
                { message("mac") }
            </div>
            <div class="field">
                <label for="f-node">{ "Access point" }</label>
                <input id="f-node" name="node_mac" type="text" autocomplete="off" spellcheck="false" list="known-nodes"
                    placeholder="a name, or ac:86:74:61:4f:c0" value={draft.node_mac.clone()} oninput={text(|d| &mut d.node_mac)}
                    aria-invalid={invalid("node_mac").to_string()} aria-describedby={described("node_mac")} />
                // Named ones by name (applied as their MAC), the others by MAC.
                <datalist id="known-nodes">
                    { for props.nodes.iter().map(|node| {
                        let value = node.name.clone().unwrap_or_else(|| node.node_mac.clone());
                        let label = match &node.zone {
                            Some(zone) => format!("{} · {zone}", node.node_mac),
                            None => node.node_mac.clone(),
                        };
                        html! { <option {value} {label} /> }
                    }) }
                </datalist>
                { message("node_mac") }
            </div>
            <div class="field">
                <label for="f-zone">{ "Zone" }</label>
                <input id="f-zone" name="zone" type="text" autocomplete="off" list="known-zones"
                    placeholder="Ground floor" value={draft.zone.clone()} oninput={text(|d| &mut d.zone)} />
                <datalist id="known-zones">
                    { for zones_of(&props.nodes).into_iter().map(|zone| html! { <option value={zone} /> }) }
                </datalist>
            </div>
            <div class="field narrow">
                <label for="f-network">{ "Network" }</label>
                <select id="f-network" name="network_id" onchange={on_network}>
                    <option value="" selected={draft.network_id.is_empty()}>{ "Any" }</option>
                    { for networks.iter().map(|(id, name)| html! {
                        <option value={id.to_string()} selected={draft.network_id == id.to_string()}>
                            { match name {
                                Some(name) => format!("{name} ({id})"),
                                None => format!("Network {id}"),
                            } }
                        </option>
                    }) }
                </select>
                { message("network_id") }
            </div>
            <div class="field narrow">
                <label for="f-source">{ "Source" }</label>
                <select id="f-source" name="source_vendor" onchange={on_source}>
                    <option value="" selected={draft.source_vendor.is_none()}>{ "Any" }</option>
                    { for [api_types::Vendor::Cloudtrax, api_types::Vendor::Meraki].into_iter().map(|vendor| html! {
                        <option value={vendor.as_str()} selected={draft.source_vendor == Some(vendor)}>
                            { crate::format::vendor(vendor) }
                        </option>
                    }) }
                </select>
            </div>
            <div class="field">
                <label for="f-since" data-testid="since-label">{ format!("Last seen from ({zone_hint})") }</label>
                <input id="f-since" name="since" type="datetime-local" step="1" value={draft.since.clone()}
                    oninput={text(|d| &mut d.since)} />
            </div>
            <div class="field">
                <label for="f-until">{ format!("Last seen until ({zone_hint})") }</label>
                <input id="f-until" name="until" type="datetime-local" step="1" value={draft.until.clone()}
                    oninput={text(|d| &mut d.until)}
                    aria-invalid={invalid("until").to_string()} aria-describedby={described("until")} />
                { message("until") }
            </div>
            <div class="field narrow">
                <label for="f-associated">{ "Associated" }</label>
                <select id="f-associated" name="associated" onchange={choice(|d| &mut d.associated)}>
                    { choices(draft.associated, ["Any", "Yes", "No"]) }
                </select>
            </div>
            <div class="field narrow">
                <label for="f-randomized">{ "Randomized MAC" }</label>
                <select id="f-randomized" name="randomized" onchange={choice(|d| &mut d.randomized)}>
                    { choices(draft.randomized, ["Any", "Only randomized", "Hide randomized"]) }
                </select>
            </div>
            <div class="field narrow">
                <label for="f-limit">{ "Rows per page" }</label>
                <select id="f-limit" name="limit" onchange={on_limit}>
                    { for page_sizes(draft.limit).into_iter().map(|size| html! {
                        <option value={size.to_string()} selected={size == draft.limit}>{ size }</option>
                    }) }
                </select>
            </div>
            <div class="actions">
                <button type="submit" class="primary">{ "Apply filters" }</button>
                <button type="reset">{ "Clear" }</button>
            </div>
        </form>
        </details>
    }
}

/// The options of a three-way select: any (`""`), yes (`"true"`), no (`"false"`), with
/// `current` selected.
fn choices(current: Option<bool>, labels: [&'static str; 3]) -> Html {
    [(None, ""), (Some(true), "true"), (Some(false), "false")]
        .into_iter()
        .zip(labels)
        .map(|((value, text), label)| {
            html! { <option value={text} selected={current == value}>{ label }</option> }
        })
        .collect()
}

/// A three-way select's value: `"true"`, `"false"`, or anything else for any.
fn parse_choice(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The menu's page sizes, with `current` among them (a URL may ask for any size).
fn page_sizes(current: u32) -> Vec<u32> {
    let mut sizes = PAGE_SIZES.to_vec();
    if !sizes.contains(&current) {
        sizes.push(current);
        sizes.sort_unstable();
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::{node_named, page_sizes, parse_choice};

    fn node(mac: &str, name: Option<&str>) -> api_types::Node {
        api_types::Node {
            network_id: 1,
            vendor: Default::default(),
            node_mac: mac.to_string(),
            name: name.map(str::to_string),
            zone: None,
            network_name: None,
            silent: false,
            silent_since: None,
            first_report_at: 0,
            last_report_at: 0,
            reports: 0,
            reports_last_hour: 0,
            probe_requests: 0,
        }
    }

    #[test]
    fn an_access_point_by_mac_or_by_name() {
        let nodes = [
            node("ac:86:74:00:00:01", Some("Entrance")),
            node("ac:86:74:00:00:02", Some("Café")),
            node("ac:86:74:00:00:03", Some("Café")),
        ];
        assert_eq!(node_named("", &nodes), Ok(None));
        assert_eq!(
            node_named("AC-86-74-00-00-09", &nodes),
            Ok(Some("ac:86:74:00:00:09".into()))
        );
        assert_eq!(
            node_named(" entrance ", &nodes),
            Ok(Some("ac:86:74:00:00:01".into()))
        );
        assert!(node_named("Café", &nodes)
            .unwrap_err()
            .starts_with("2 access points are named"));
        assert!(node_named("Roof", &nodes)
            .unwrap_err()
            .starts_with("No access point is named"));
    }

    #[test]
    fn a_three_way_choice_reads_back_what_it_offers() {
        assert_eq!(parse_choice("true"), Some(true));
        assert_eq!(parse_choice("false"), Some(false));
        assert_eq!(parse_choice(""), None);
    }

    #[test]
    fn the_current_page_size_is_always_offered() {
        assert_eq!(page_sizes(100), [25, 50, 100, 250, 500, 1000]);
        assert_eq!(page_sizes(3), [3, 25, 50, 100, 250, 500, 1000]);
    }
}
