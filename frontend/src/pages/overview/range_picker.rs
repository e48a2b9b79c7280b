//! The range choice: a link for each range offered, and a form for a custom one.

use yew::prelude::*;
use yew_router::prelude::*;

use super::{Range, Scope};
use crate::components::clock;
use crate::components::nav_link::NavLink;
use crate::route::Route;

#[derive(Clone, PartialEq, serde::Serialize)]
struct RangeQuery {
    range: String,
    #[serde(flatten)]
    scope: Scope,
}

/// The ranges offered, the current one marked; each keeps the scope.
pub(super) fn range_links(range: Range, scope: &Scope) -> Html {
    html! {
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
    }
}

#[derive(Clone, PartialEq, serde::Serialize)]
struct CustomQuery {
    since: i64,
    until: i64,
    #[serde(flatten)]
    scope: Scope,
}

#[derive(Properties, PartialEq)]
pub(super) struct CustomRangeProps {
    pub(super) current: Range,
    pub(super) scope: Scope,
}

/// Two local date-times; "Show" puts them in the URL as `since`/`until`.
#[function_component]
pub(super) fn CustomRange(props: &CustomRangeProps) -> Html {
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
