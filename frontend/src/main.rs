//! The NCompass dashboard: a Yew single-page app served by the backend at `/`.
//!
//! `api` talks to the REST API (one function per endpoint, types from `api-types`);
//! `query`, `format` and `mac` are pure logic, unit tested on the host; `components`
//! turn props into HTML and never fetch; `pages` hold state and loading; `route` names
//! the pages and their paths, for the router in `app` and for every link.

mod api;
mod app;
mod components;
mod format;
mod hooks;
mod mac;
mod pages;
mod query;
mod reload;
mod route;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
