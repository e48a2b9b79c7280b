use std::rc::Rc;

use api_types::{AuthMethod, SessionInfo};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::components::node_health::SilentNodes;
use crate::components::privacy_note::PrivacyNote;
use crate::pages::device::Device;
use crate::pages::home::Home;
use crate::pages::overview::Overview;
use crate::pages::probe_requests::ProbeRequests;
use crate::pages::settings::Settings;
use crate::pages::sign_in::SignIn;
use crate::route::Route;

fn switch(route: Route) -> Html {
    match route {
        // One component for the three, so that the table keeps its state (the pager's
        // scroll, the walk) when `/?limit=50` moves on to `/probe-requests?...`.
        Route::Home | Route::ProbeRequests | Route::LegacyFilter => html! { <HomeOrTable /> },
        Route::Overview => html! { <Overview /> },
        Route::Settings => html! { <Settings /> },
        Route::Device { network_id, mac } => html! { <Device {network_id} mac={mac} /> },
        Route::NotFound => html! {
            <main class="page not-found">
                <h2>{ "Page not found" }</h2>
                <p><Link<Route> to={Route::Home}>{ "Back to today's figures" }</Link<Route>></p>
            </main>
        },
    }
}

/// `/`: today's answer; with a query string (an old link to the table, `/?mac=..`,
/// `/?limit=100`), the probe-request table with its filters, as it always was; and the
/// table at `/probe-requests` and the original receiver's `/filter`.
#[function_component]
fn HomeOrTable() -> Html {
    let location = use_location();
    let route = use_route::<Route>();
    let query = location.as_ref().map(|l| l.query_str()).unwrap_or_default();
    if Route::shows_table(route.as_ref(), query) {
        html! { <ProbeRequests /> }
    } else {
        html! { <Home /> }
    }
}

/// How often the header asks which access points are silent.
const SILENT_REFRESH_MILLIS: u32 = 30_000;

/// The header's list of silent access points, on every page; refreshed every 30 s
/// (resting while the tab is hidden). A failed refresh keeps the last known list.
#[function_component]
fn HeaderSilentNodes() -> Html {
    let fetched = crate::hooks::fetch::use_fetch((), |(), signal| async move {
        api::list_nodes(signal.as_ref()).await
    });
    crate::hooks::refresh::use_auto_refresh(SILENT_REFRESH_MILLIS, true, fetched.reload.clone());
    match fetched.answer_to(&()) {
        Some(list) => html! {
            <SilentNodes nodes={Rc::new(list.items.clone())} now={crate::components::clock::now()} />
        },
        None => html! {},
    }
}

/// Whether, and as whom, the dashboard may show data.
#[derive(Debug, Clone, PartialEq)]
enum Access {
    /// Asking the server.
    Checking,
    /// Signed in (or a local client in protected mode); pages read this from context.
    Granted(Rc<SessionInfo>),
    /// Nobody is signed in; `ended`: a session was open and has ended.
    SignedOut { ended: bool },
    /// The server refuses this client whoever it is (protected mode): why.
    Refused(String),
    /// The server does not answer; retried on its own.
    Unreachable(String),
}

/// Asks the server who this browser is, retrying while it does not answer.
fn check(access: UseStateHandle<Access>) {
    spawn_local(async move {
        loop {
            let next = match api::current_session().await {
                Ok(info) => Access::Granted(Rc::new(info)),
                Err(ApiError::Status { status: 401, .. }) => Access::SignedOut { ended: false },
                Err(ApiError::Status {
                    status: 403,
                    detail,
                    ..
                }) => Access::Refused(detail),
                Err(error) => Access::Unreachable(error.message()),
            };
            let again = matches!(next, Access::Unreachable(_));
            access.set(next);
            if !again {
                return;
            }
            gloo_timers::future::TimeoutFuture::new(3_000).await;
        }
    });
}

#[function_component]
pub fn App() -> Html {
    let access = use_state(|| Access::Checking);
    let privacy = use_state(|| None);
    {
        let privacy = privacy.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                // Unknown stays unsaid: the footer shows nothing rather than a guess.
                if let Ok(summary) = api::privacy().await {
                    privacy.set(Some(summary));
                }
            });
        });
    }
    {
        let access = access.clone();
        use_effect_with((), move |_| {
            let ended = access.clone();
            api::on_session_ended(Some(Callback::from(move |()| {
                ended.set(Access::SignedOut { ended: true });
            })));
            check(access);
            || api::on_session_ended(None)
        });
    }
    let on_signed_in = {
        let access = access.clone();
        Callback::from(move |()| check(access.clone()))
    };
    let on_sign_out = {
        let access = access.clone();
        Callback::from(move |_: MouseEvent| {
            let access = access.clone();
            spawn_local(async move {
                match api::sign_out().await {
                    // Signed out, or the session had ended already.
                    Ok(()) | Err(ApiError::Status { status: 401, .. }) => {
                        access.set(Access::SignedOut { ended: false });
                    }
                    // The session may still be open (the cookie is out of the page's
                    // reach): say so rather than look signed out.
                    Err(error) => {
                        let _ = web_sys::window().map(|window| {
                            window.alert_with_message(&format!(
                                "Signing out failed, so the session may still be open: {} \
                                 Try again, or close the browser.",
                                error.message()
                            ))
                        });
                    }
                }
            });
        })
    };

    let content = match &*access {
        Access::Checking => html! {
            <main class="page"><p class="status-line" role="status">{ "Checking your access…" }</p></main>
        },
        Access::Granted(info) => html! {
            <ContextProvider<Rc<SessionInfo>> context={info.clone()}>
                <Switch<Route> render={switch} />
            </ContextProvider<Rc<SessionInfo>>>
        },
        Access::SignedOut { ended } => html! { <SignIn ended={*ended} {on_signed_in} /> },
        Access::Refused(detail) => html! {
            <main class="page">
                <div class="notice error" role="alert" data-testid="refused">
                    <p><strong>{ "This server does not show its data to this computer. " }</strong>{ detail.clone() }</p>
                </div>
            </main>
        },
        Access::Unreachable(message) => html! {
            <main class="page">
                <div class="notice error" role="alert"><p>{ message.clone() }</p></div>
            </main>
        },
    };
    let user = match &*access {
        Access::Granted(info) => match (&info.authenticated_by, &info.username) {
            (AuthMethod::Loopback, _) | (_, None) => html! {
                <span class="user" data-testid="user"
                    title="No account exists yet, so this server answers its own machine only">
                    { "Local access" }
                </span>
            },
            (_, Some(name)) => html! {
                <span class="user">
                    <span data-testid="user">{ format!("{name} ({})", info.role.as_str()) }</span>
                    <button type="button" class="link" onclick={on_sign_out} data-testid="sign-out">{ "Sign out" }</button>
                </span>
            },
        },
        _ => html! {},
    };

    html! {
        <BrowserRouter>
            <div class="app">
                <header class="topbar">
                    <h1>{ "NCompass" }</h1>
                    <span class="tagline">{ "Wi-Fi presence from CloudTrax" }</span>
                    <crate::components::nav_link::SectionNav />
                    if matches!(&*access, Access::Granted(_)) {
                        <HeaderSilentNodes />
                    }
                    { user }
                </header>
                { content }
                <PrivacyNote summary={(*privacy).clone()} />
            </div>
        </BrowserRouter>
    }
}
