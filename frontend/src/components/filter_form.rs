use api_types::ProbeRequestQuery;
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
    /// The zones access points are in, offered as the zone filter's suggestions.
    #[prop_or_default]
    pub zones: Vec<String>,
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
    fn from_query(query: &ProbeRequestQuery) -> Draft {
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
            since: query.since.map(clock::to_input_value).unwrap_or_default(),
            until: query.until.map(clock::to_input_value).unwrap_or_default(),
            limit: query.limit.unwrap_or(api_types::DEFAULT_PAGE_SIZE),
        }
    }

    /// The query, or the field in error and why.
    fn to_query(&self) -> Result<ProbeRequestQuery, (&'static str, String)> {
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
        let since = clock::from_input_value(&self.since);
        let until = clock::from_input_value(&self.until);
        if let (Some(since), Some(until)) = (since, until) {
            if since > until {
                return Err(("until", "The end must not be before the start".to_string()));
            }
        }
        Ok(ProbeRequestQuery {
            limit: (self.limit != api_types::DEFAULT_PAGE_SIZE).then_some(self.limit),
            cursor: None,
            mac: mac_field(&self.mac, "mac")?,
            node_mac: mac_field(&self.node_mac, "node_mac")?,
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
    let draft = use_state(|| Draft::from_query(&props.query));
    let error = use_state(|| None::<(&'static str, String)>);
    {
        // The URL changed (a click in the table, back button): show what is in force.
        let draft = draft.clone();
        let error = error.clone();
        use_effect_with(props.query.clone(), move |query| {
            draft.set(Draft::from_query(query));
            error.set(None);
        });
    }

    let apply = {
        let error = error.clone();
        let on_apply = props.on_apply.clone();
        move |next: &Draft| match next.to_query() {
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

    html! {
        <form class="filters" {onsubmit} {onreset} aria-label="Filters" data-testid="filters">
            <div class="field">
                <label for="f-mac">{ "Client MAC" }</label>
                <input id="f-mac" name="mac" type="text" inputmode="text" autocomplete="off" spellcheck="false"
                    placeholder="00:1a:2b:3c:4d:5e" value={draft.mac.clone()} oninput={text(|d| &mut d.mac)}
                    aria-invalid={invalid("mac").to_string()} aria-describedby={described("mac")} />
                { message("mac") }
            </div>
            <div class="field">
                <label for="f-node">{ "Access point MAC" }</label>
                <input id="f-node" name="node_mac" type="text" autocomplete="off" spellcheck="false"
                    placeholder="ac:86:74:61:4f:c0" value={draft.node_mac.clone()} oninput={text(|d| &mut d.node_mac)}
                    aria-invalid={invalid("node_mac").to_string()} aria-describedby={described("node_mac")} />
                { message("node_mac") }
            </div>
            <div class="field">
                <label for="f-zone">{ "Zone" }</label>
                <input id="f-zone" name="zone" type="text" autocomplete="off" list="known-zones"
                    placeholder="Ground floor" value={draft.zone.clone()} oninput={text(|d| &mut d.zone)} />
                <datalist id="known-zones">
                    { for props.zones.iter().map(|zone| html! { <option value={zone.clone()} /> }) }
                </datalist>
            </div>
            <div class="field narrow">
                <label for="f-network">{ "Network" }</label>
                <input id="f-network" name="network_id" type="text" inputmode="numeric" autocomplete="off"
                    placeholder="179283" value={draft.network_id.clone()} oninput={text(|d| &mut d.network_id)}
                    aria-invalid={invalid("network_id").to_string()} aria-describedby={described("network_id")} />
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
                <label for="f-since">{ "Last seen from" }</label>
                <input id="f-since" name="since" type="datetime-local" step="1" value={draft.since.clone()}
                    oninput={text(|d| &mut d.since)} />
            </div>
            <div class="field">
                <label for="f-until">{ "Last seen until" }</label>
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
    use super::{page_sizes, parse_choice};

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
