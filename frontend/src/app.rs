use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::probe_requests::ProbeRequests;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    /// The probe-request table; its filters live in the query string.
    #[at("/")]
    Home,
    /// The original receiver's filter page: `/filter?mac=..&node_mac=..`.
    #[at("/filter")]
    LegacyFilter,
    #[not_found]
    #[at("/404")]
    NotFound,
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home | Route::LegacyFilter => html! { <ProbeRequests /> },
        Route::NotFound => html! {
            <main class="page not-found">
                <h1>{ "Page not found" }</h1>
                <p><Link<Route> to={Route::Home}>{ "Back to the probe requests" }</Link<Route>></p>
            </main>
        },
    }
}

#[function_component]
pub fn App() -> Html {
    html! {
        <BrowserRouter>
            <Switch<Route> render={switch} />
        </BrowserRouter>
    }
}
