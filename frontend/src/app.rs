use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::device::Device;
use crate::pages::overview::Overview;
use crate::pages::probe_requests::ProbeRequests;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    /// The probe-request table; its filters live in the query string.
    #[at("/")]
    Home,
    /// The original receiver's filter page: `/filter?mac=..&node_mac=..`.
    #[at("/filter")]
    LegacyFilter,
    /// Presence figures and charts; `?range=hour|today|7d`.
    #[at("/overview")]
    Overview,
    /// One device: a client MAC within a network.
    #[at("/device/:network_id/:mac")]
    Device { network_id: i64, mac: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home | Route::LegacyFilter => html! { <ProbeRequests /> },
        Route::Overview => html! { <Overview /> },
        Route::Device { network_id, mac } => html! { <Device {network_id} mac={mac} /> },
        Route::NotFound => html! {
            <main class="page not-found">
                <h2>{ "Page not found" }</h2>
                <p><Link<Route> to={Route::Home}>{ "Back to the probe requests" }</Link<Route>></p>
            </main>
        },
    }
}

#[function_component]
pub fn App() -> Html {
    html! {
        <BrowserRouter>
            <div class="app">
                <header class="topbar">
                    <h1>{ "NCompass" }</h1>
                    <span class="tagline">{ "Wi-Fi presence from CloudTrax" }</span>
                    <nav class="links" aria-label="Sections">
                        <Link<Route> to={Route::Home}>{ "Probe requests" }</Link<Route>>
                        <Link<Route> to={Route::Overview}>{ "Overview" }</Link<Route>>
                        <a href="/api/docs">{ "API" }</a>
                    </nav>
                </header>
                <Switch<Route> render={switch} />
            </div>
        </BrowserRouter>
    }
}
