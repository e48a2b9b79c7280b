//! A link within the dashboard that says when it is the current page (`aria-current`),
//! which yew_router's `Link` cannot; a plain click navigates in place, other clicks
//! (new tab, copy) are the browser's.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct NavLinkProps {
    pub to: Route,
    /// The query string, without `?` (may be empty).
    #[prop_or_default]
    pub query: String,
    pub current: bool,
    #[prop_or_default]
    pub classes: Classes,
    pub children: Html,
}

/// A left click with no modifier: the dashboard navigates in place. Any other (Ctrl,
/// Cmd, Shift, Alt, another button) is the browser's: a new tab, a window, a download.
pub fn is_plain_click(event: &MouseEvent) -> bool {
    event.button() == 0
        && !event.ctrl_key()
        && !event.meta_key()
        && !event.shift_key()
        && !event.alt_key()
}

#[function_component]
pub fn NavLink(props: &NavLinkProps) -> Html {
    let navigator = use_navigator();
    let path = props.to.to_path();
    let href = if props.query.is_empty() {
        path
    } else {
        format!("{path}?{}", props.query)
    };
    let onclick = {
        let (to, query) = (props.to.clone(), props.query.clone());
        Callback::from(move |event: MouseEvent| {
            if !is_plain_click(&event) {
                return;
            }
            event.prevent_default();
            if let Some(navigator) = &navigator {
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_str(&query).unwrap_or_default();
                let _ = navigator.push_with_query(&to, &pairs);
            }
        })
    };
    html! {
        <a {href} class={props.classes.clone()} aria-current={props.current.then_some("page")} {onclick}>
            { props.children.clone() }
        </a>
    }
}

/// The sections in the header, the current one marked; and, on every navigation after
/// the first page, focus on the new page's heading so a screen reader starts there.
#[function_component]
pub fn SectionNav() -> Html {
    let route = use_route::<Route>();
    let location = use_location();
    let query = location.as_ref().map(|l| l.query_str()).unwrap_or_default();
    let table = Route::shows_table(route.as_ref(), query);
    // The page, for the focus: the table's three paths are one page (its pager moves
    // `/?limit=50` on to `/probe-requests?...` without leaving it).
    let page = if table {
        Some("/probe-requests".to_string())
    } else {
        location.as_ref().map(|l| l.path().to_string())
    };
    let first = use_mut_ref(|| true);
    use_effect_with(page, move |_| {
        if std::mem::replace(&mut *first.borrow_mut(), false) {
            return;
        }
        // After the new page has rendered.
        gloo_timers::callback::Timeout::new(0, || {
            use wasm_bindgen::JsCast;
            let heading = web_sys::window()
                .and_then(|window| window.document())
                .and_then(|document| document.query_selector("main h2").ok().flatten())
                .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(heading) = heading {
                let _ = heading.set_attribute("tabindex", "-1");
                let _ = heading.focus();
            }
        })
        .forget();
    });
    let on = |section: &Route| match (&route, section) {
        (_, Route::ProbeRequests) => table,
        (Some(Route::Home), Route::Home) => !table,
        (Some(current), section) => current == section,
        (None, _) => false,
    };
    html! {
        <nav class="links" aria-label="Sections">
            <NavLink to={Route::Home} current={on(&Route::Home)}>{ "Today" }</NavLink>
            <NavLink to={Route::Overview} current={on(&Route::Overview)}>{ "Overview" }</NavLink>
            <NavLink to={Route::ProbeRequests} current={on(&Route::ProbeRequests)}>{ "Probe requests" }</NavLink>
            <NavLink to={Route::Settings} current={on(&Route::Settings)}>{ "Settings" }</NavLink>
            <a href="/api/docs">{ "API" }</a>
        </nav>
    }
}
