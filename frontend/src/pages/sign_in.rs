//! The sign-in page: shown in place of any page while nobody is signed in, so that
//! signing in returns to the page that was asked for.

use api_types::SignIn as Credentials;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError};

#[derive(Debug, Clone, PartialEq, Properties)]
pub struct Props {
    /// A session ended (expired, or ended on the server): say so.
    pub ended: bool,
    /// Signed in: the app asks who, and shows the page.
    pub on_signed_in: Callback<()>,
}

#[function_component]
pub fn SignIn(props: &Props) -> Html {
    let username = use_node_ref();
    let password = use_node_ref();
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);

    let onsubmit = {
        let (username, password) = (username.clone(), password.clone());
        let (error, busy) = (error.clone(), busy.clone());
        let on_signed_in = props.on_signed_in.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if *busy {
                return;
            }
            let value = |node: &NodeRef| {
                node.cast::<HtmlInputElement>()
                    .map(|input| input.value())
                    .unwrap_or_default()
            };
            let credentials = Credentials {
                username: value(&username).trim().to_string(),
                password: value(&password),
            };
            if credentials.username.is_empty() || credentials.password.is_empty() {
                error.set(Some("Enter your username and your password.".to_string()));
                return;
            }
            busy.set(true);
            let (error, busy) = (error.clone(), busy.clone());
            let password = password.clone();
            let on_signed_in = on_signed_in.clone();
            spawn_local(async move {
                match api::sign_in(&credentials).await {
                    Ok(()) => {
                        error.set(None);
                        on_signed_in.emit(());
                    }
                    Err(problem) => {
                        error.set(Some(message(&problem)));
                        // A wrong password is typed again from scratch.
                        if let Some(input) = password.cast::<HtmlInputElement>() {
                            input.set_value("");
                            let _ = input.focus();
                        }
                    }
                }
                busy.set(false);
            });
        })
    };

    html! {
        <main class="page sign-in">
            <form class="sign-in-form" {onsubmit} aria-labelledby="sign-in-title" data-testid="sign-in" novalidate=true>
                <h2 id="sign-in-title">{ "Sign in" }</h2>
                if props.ended {
                    <p class="sign-in-notice" role="status" data-testid="session-ended">
                        { "Your session has ended. Sign in again to go on where you were." }
                    </p>
                }
                <label for="sign-in-username">{ "Username" }</label>
                <input id="sign-in-username" name="username" type="text" ref={username}
                    autocomplete="username" autocapitalize="none" spellcheck="false" required=true autofocus=true />
                <label for="sign-in-password">{ "Password" }</label>
                <input id="sign-in-password" name="password" type="password" ref={password}
                    autocomplete="current-password" required=true />
                if let Some(error) = &*error {
                    <p class="sign-in-error" role="alert" data-testid="sign-in-error">{ error.clone() }</p>
                }
                <button type="submit" class="primary" disabled={*busy} data-testid="sign-in-submit">
                    { if *busy { "Signing in…" } else { "Sign in" } }
                </button>
                <p class="hint">
                    { "No account? An operator creates one on the server with " }
                    <code>{ "ncompass user add NAME --role viewer" }</code>{ "." }
                </p>
            </form>
        </main>
    }
}

/// What a failed sign-in tells the person: never whether the name exists.
fn message(problem: &ApiError) -> String {
    match problem {
        ApiError::Status { status: 401, .. } => {
            "The username or the password is wrong.".to_string()
        }
        ApiError::Status {
            status: 429,
            detail,
            ..
        } => format!("Too many failed attempts: {detail}."),
        other => other.message(),
    }
}
