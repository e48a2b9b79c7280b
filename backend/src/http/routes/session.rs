//! Signing in to and out of the dashboard: a server-side session behind the
//! `ncompass_session` cookie.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::web::{Data, Json, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use api_types::{SessionInfo, SignIn};

use super::AppState;
use crate::http::auth::{self, Principal};
use crate::http::error::AppError;

/// Largest sign-in body accepted, bytes.
const MAX_SIGN_IN_BODY: usize = 4 * 1024;

/// Sign in
///
/// Checks the username and password and starts a session: the answer sets the cookie
/// `ncompass_session` (`HttpOnly; SameSite=Strict; Path=/`, and `Secure` when
/// `--public-url` is https), which the browser then sends with every request. A session
/// ends after 12 h without a request, 7 days after signing in, when the user signs out,
/// changes password or is removed. An unknown user and a wrong password get the same
/// answer. After 5 failures for one user or from one address, attempts closer than 5 s
/// to the last failure are answered 429. From another site's page (`Origin`,
/// `Sec-Fetch-Site`) the request is refused with 403.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "access",
    operation_id = "sign_in",
    request_body(content = SignIn, content_type = "application/json"),
    responses(
        (status = 204, description = "Signed in; the session cookie is set", headers(("Set-Cookie" = String, description = "`ncompass_session=…; HttpOnly; SameSite=Strict; Path=/`"))),
        (status = 400, description = "The body is not a JSON object with `username` and `password`", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within the server's body timeout; the connection is closed", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 4 KiB", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 401, description = "The username or password is wrong", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent from another site's page, or protected mode refused a client away from the server", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins; `Retry-After` says when to try again", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many sign-ins are being checked at once; retry", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in(
    request: HttpRequest,
    state: Data<AppState>,
    payload: Payload,
) -> Result<HttpResponse, AppError> {
    // Bounded in size and in time, like a report: a trickled body holds no connection.
    let body = super::read_body(&request, payload, MAX_SIGN_IN_BODY, state.body_timeout).await?;
    let credentials: SignIn = serde_json::from_slice(&body).map_err(|error| {
        AppError::MalformedBody(format!(
            "the body must be a JSON object with `username` and `password`: {error}"
        ))
    })?;
    let address = state.auth.client_address(&request);
    let id = state
        .auth
        .sign_in(
            &state.db,
            &credentials.username,
            credentials.password,
            address,
        )
        .await?;
    let cookie = Cookie::build(auth::SESSION_COOKIE, id)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(state.auth.secure_cookie)
        .finish();
    Ok(HttpResponse::NoContent().cookie(cookie).finish())
}

/// Who is signed in
///
/// The caller of this request: the signed-in user (session cookie) or the API token,
/// with its role. In protected mode (no account or token exists yet) a client on the
/// server's own machine is answered as an admin authenticated by `loopback`. The
/// dashboard asks this first, to know whether to show its sign-in page.
#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "access",
    operation_id = "current_session",
    responses(
        (status = 200, description = "Who is signed in", body = SessionInfo),
        (status = 401, description = "Nobody: no valid session cookie or token", body = api_types::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Protected mode refused a client away from the server", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn current(request: HttpRequest) -> Result<Json<SessionInfo>, AppError> {
    match request.extensions().get::<Principal>() {
        Some(principal) => Ok(Json(principal.info())),
        None => Err(AppError::Unauthenticated(
            "nobody is signed in: sign in with POST /api/v1/session, or send an API token"
                .to_string(),
        )),
    }
}

/// Sign out
///
/// Ends the session of the cookie sent, if any, and clears the cookie. Answers 204
/// whether or not a session was open.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "access",
    operation_id = "sign_out",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 403, description = "Sent from another site's page", body = api_types::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_out(
    request: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.auth.sign_out(&state.db, &request).await?;
    if let Some(principal) = request.extensions().get::<Principal>() {
        tracing::info!(target: "ncompass::audit", who = %principal.who(), "signed out");
    }
    let mut cookie = Cookie::build(auth::SESSION_COOKIE, "")
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(state.auth.secure_cookie)
        .finish();
    cookie.make_removal();
    Ok(HttpResponse::NoContent().cookie(cookie).finish())
}
