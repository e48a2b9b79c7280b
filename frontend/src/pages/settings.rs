//! The networks' settings: name, time zone and opening hours, changed by
//! administrators (`PUT /api/v1/networks/{id}`), shown to everyone.

use std::rc::Rc;

use api_types::{Network, NetworkSettings, OpeningHours, Role, SessionInfo};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api;
use crate::components::clock;
use crate::components::notice::ErrorNotice;
use crate::hooks::fetch::use_fetch;

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[function_component]
pub fn Settings() -> Html {
    crate::hooks::title::use_title("Settings".to_string());
    let session = use_context::<Rc<SessionInfo>>();
    let admin = session.is_some_and(|session| session.role == Role::Admin);
    let networks = use_fetch((), |(), signal| async move {
        api::list_networks(signal.as_ref()).await
    });
    html! {
        <main class="page settings" data-testid="settings">
            <h2>{ "Settings" }</h2>
            <p class="hint">
                { "Each network's name, the time zone its hours and days are counted in, and its opening hours: \
                   where a network has them, visitor figures count the visits within them (staff before opening, \
                   cleaners and always-on devices at night are left out; the Overview can count every hour)." }
            </p>
            if !admin {
                <p class="notice" data-testid="settings-read-only">
                    { "Only administrators change settings; they are shown here as they are." }
                </p>
            }
            if let Some(problem) = &networks.error {
                <ErrorNotice message={problem.message()} on_retry={networks.reload.clone()} />
            }
            { match networks.answer_to(&()) {
                None if networks.error.is_none() => html! { <p class="status-line" role="status">{ "Loading the networks…" }</p> },
                None => html! {},
                Some(list) if list.items.is_empty() => html! {
                    <p class="notice">{ "No network has reported or been set up yet: once an access point reports, its network appears here." }</p>
                },
                Some(list) => html! {
                    { for list.items.iter().map(|network| html! {
                        <NetworkForm key={network.network_id} network={network.clone()} editable={admin} />
                    }) }
                },
            } }
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct NetworkFormProps {
    network: Network,
    editable: bool,
}

/// What the form holds, as typed: one text per weekday (`09:00-12:00, 14:00-18:00`).
#[derive(Clone, PartialEq)]
struct Draft {
    name: String,
    time_zone: String,
    has_hours: bool,
    days: [String; 7],
}

impl Draft {
    fn of(network: &Network) -> Draft {
        let mut days: [String; 7] = Default::default();
        if let Some(hours) = &network.opening_hours {
            for (text, intervals) in days.iter_mut().zip(hours.days()) {
                *text = intervals.join(", ");
            }
        }
        Draft {
            name: network.name.clone().unwrap_or_default(),
            time_zone: network.time_zone.clone(),
            has_hours: network.opening_hours.is_some(),
            days,
        }
    }

    /// The body of the PUT: every setting, as the API replaces them all.
    fn settings(&self) -> NetworkSettings {
        let opening_hours = self.has_hours.then(|| {
            let mut hours = OpeningHours::default();
            for (intervals, text) in hours.days_mut().into_iter().zip(&self.days) {
                *intervals = text
                    .split([',', ';'])
                    .map(str::trim)
                    .filter(|interval| !interval.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            hours
        });
        let name = self.name.trim();
        NetworkSettings {
            name: (!name.is_empty()).then(|| name.to_string()),
            time_zone: Some(self.time_zone.trim().to_string()).filter(|tz| !tz.is_empty()),
            opening_hours,
        }
    }
}

#[derive(Clone, PartialEq)]
enum Saving {
    Idle,
    Busy,
    Saved,
    Failed(String),
}

/// One network's settings form (read-only for viewers).
#[function_component]
fn NetworkForm(props: &NetworkFormProps) -> Html {
    let network = use_state(|| props.network.clone());
    let draft = use_state(|| Draft::of(&props.network));
    let saving = use_state(|| Saving::Idle);
    let id = network.network_id;
    let title = network
        .name
        .clone()
        .or_else(|| network.meraki_id.clone())
        .unwrap_or_else(|| format!("Network {id}"));
    let edit = |change: fn(&mut Draft, String)| {
        let (draft, saving) = (draft.clone(), saving.clone());
        Callback::from(move |event: InputEvent| {
            let input: web_sys::HtmlInputElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            change(&mut next, input.value());
            draft.set(next);
            saving.set(Saving::Idle);
        })
    };
    let on_hours = {
        let (draft, saving) = (draft.clone(), saving.clone());
        Callback::from(move |event: Event| {
            let input: web_sys::HtmlInputElement = event.target_unchecked_into();
            let mut next = (*draft).clone();
            next.has_hours = input.checked();
            if next.has_hours && next.days.iter().all(|day| day.trim().is_empty()) {
                // A start to edit rather than a week closed every day.
                for day in next.days.iter_mut().take(6) {
                    *day = "09:00-18:00".to_string();
                }
            }
            draft.set(next);
            saving.set(Saving::Idle);
        })
    };
    let on_submit = {
        let (draft, saving, network) = (draft.clone(), saving.clone(), network.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let settings = draft.settings();
            let (draft, saving, network) = (draft.clone(), saving.clone(), network.clone());
            saving.set(Saving::Busy);
            spawn_local(async move {
                match api::put_network(id, &settings).await {
                    Ok(stored) => {
                        // As stored: intervals sorted and merged, the zone's spelling.
                        draft.set(Draft::of(&stored));
                        network.set(stored);
                        saving.set(Saving::Saved);
                    }
                    Err(error) => saving.set(Saving::Failed(error.message())),
                }
            });
        })
    };
    let field = |name: &str| format!("network-{id}-{name}");
    let disabled = !props.editable || *saving == Saving::Busy;
    html! {
        <form class="network-settings" onsubmit={on_submit} data-testid={format!("network-settings-{id}")}>
            <fieldset disabled={!props.editable}>
                <legend>{ title }<span class="hint">{ format!(" · id {id}") }</span></legend>
                <div class="field">
                    <label for={field("name")}>{ "Name" }</label>
                    <input id={field("name")} type="text" maxlength="100" value={draft.name.clone()}
                        placeholder="Unnamed" oninput={edit(|draft, value| draft.name = value)} />
                </div>
                <div class="field">
                    <label for={field("tz")}>{ "Time zone" }</label>
                    <input id={field("tz")} type="text" value={draft.time_zone.clone()} spellcheck="false"
                        aria-describedby={field("tz-hint")} oninput={edit(|draft, value| draft.time_zone = value)} />
                    <span class="hint" id={field("tz-hint")}>{ format!("An IANA name, like Europe/Berlin (this browser's: {})", clock::time_zone()) }</span>
                </div>
                <div class="field checkbox">
                    <input id={field("has-hours")} type="checkbox" checked={draft.has_hours} onchange={on_hours} />
                    <label for={field("has-hours")}>{ "Opening hours (visitor figures count within them)" }</label>
                </div>
                if draft.has_hours {
                    <div class="opening-hours" role="group" aria-label="Opening hours by weekday"
                        aria-describedby={field("hours-hint")}>
                        <p class="hint" id={field("hours-hint")}>
                            { "24-hour clock, in the network's time zone: 09:00-18:00; several with commas (09:00-12:00, 14:00-18:00); 22:00-02:00 runs past midnight; empty: closed that day." }
                        </p>
                        { for WEEKDAYS.iter().enumerate().map(|(day, weekday)| {
                            let value = draft.days[day].clone();
                            let draft = draft.clone();
                            let saving = saving.clone();
                            let oninput = Callback::from(move |event: InputEvent| {
                                let input: web_sys::HtmlInputElement = event.target_unchecked_into();
                                let mut next = (*draft).clone();
                                next.days[day] = input.value();
                                draft.set(next);
                                saving.set(Saving::Idle);
                            });
                            let id = field(OpeningHours::DAYS[day]);
                            html! {
                                <div class="field day">
                                    <label for={id.clone()}>{ *weekday }</label>
                                    <input id={id} type="text" {value} placeholder="closed"
                                        spellcheck="false" {oninput} />
                                </div>
                            }
                        }) }
                    </div>
                } else {
                    <p class="hint" data-testid="no-hours">{ "No opening hours: every hour counts." }</p>
                }
                if props.editable {
                    <p class="toolbar">
                        <button type="submit" class="button" disabled={disabled}>{ "Save" }</button>
                        { match &*saving {
                            Saving::Idle => html! {},
                            Saving::Busy => html! { <span class="status-line" role="status">{ "Saving…" }</span> },
                            Saving::Saved => html! { <span class="status-line" role="status" data-testid="saved">{ "Saved" }</span> },
                            Saving::Failed(message) => html! { <span class="field-error" role="alert" data-testid="save-error">{ message.clone() }</span> },
                        } }
                    </p>
                }
            </fieldset>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_api_body() {
        let network = Network {
            network_id: 7,
            vendor: Default::default(),
            meraki_id: None,
            name: Some("Store".into()),
            time_zone: "Europe/Berlin".into(),
            opening_hours: Some(OpeningHours {
                mon: vec!["09:00-12:00".into(), "14:00-18:00".into()],
                ..OpeningHours::default()
            }),
            nodes: 1,
            last_report_at: None,
        };
        let mut draft = Draft::of(&network);
        assert_eq!(draft.days[0], "09:00-12:00, 14:00-18:00");
        draft.days[5] = " 10:00-14:00 ;; ".into();
        draft.name = "  ".into();
        let body = draft.settings();
        assert_eq!(body.name, None);
        assert_eq!(body.time_zone.as_deref(), Some("Europe/Berlin"));
        let hours = body.opening_hours.unwrap();
        assert_eq!(hours.mon, ["09:00-12:00", "14:00-18:00"]);
        assert_eq!(hours.sat, ["10:00-14:00"]);
        assert!(hours.sun.is_empty());
        draft.has_hours = false;
        assert_eq!(draft.settings().opening_hours, None);
    }
}
