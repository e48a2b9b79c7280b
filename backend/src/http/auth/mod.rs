//! Access control: who may read and change the data.
//!
//! Three kinds of caller, each with its own credential: access points sign each report
//! (the webhook's HMAC, in `cloudtrax`), people sign in to the dashboard (a server-side
//! session behind the `ncompass_session` cookie), programs send an API token
//! (`Authorization: Bearer ncp_…`). Users and tokens carry a role ([`api_types::Role`]).
//! [`access::required`] says what each path needs; [`guard::guard`] enforces it on every
//! request. While no user and no token exist the server is in *protected mode*: it
//! answers clients on its own machine only, so the two set-up commands keep working and
//! nothing is exposed before the operator names who may see it.

pub mod access;
pub mod credentials;
pub mod guard;
pub mod throttle;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use api_types::{AuthMethod, Role, SessionInfo};

use crate::clock::Clock;
use crate::db::sessions::Lifetime;
use crate::db::{self, Database};
use crate::http::error::AppError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ncompass_session";

/// Sessions end after 12 h without a request, and 7 days after signing in.
pub const SESSION_LIFETIME: Lifetime = Lifetime {
    idle_s: 12 * 3_600,
    max_s: 7 * 86_400,
};

/// A session's or token's last use is written at most this often.
const TOUCH_EVERY_S: i64 = 60;

/// How often the guard looks again whether any user or token exists (created by the
/// command line while the server runs).
const MODE_RECHECK: Duration = Duration::from_secs(1);

/// How long a sign-in waits for a free hashing slot before it is answered 503.
const HASHING_WAIT: Duration = Duration::from_secs(10);

/// Who made a request, once the guard has checked their credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's or the token's name; `None` for a loopback client in protected mode.
    pub name: Option<String>,
    pub role: Role,
    pub method: AuthMethod,
}

impl Principal {
    fn loopback() -> Principal {
        Principal {
            name: None,
            role: Role::Admin,
            method: AuthMethod::Loopback,
        }
    }

    /// Who this is, for the audit log.
    pub fn who(&self) -> String {
        match (&self.method, &self.name) {
            (AuthMethod::Session, Some(name)) => format!("user {name}"),
            (AuthMethod::Token, Some(name)) => format!("token {name}"),
            _ => "loopback client (protected mode)".to_string(),
        }
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            username: self.name.clone(),
            role: self.role,
            authenticated_by: self.method,
        }
    }
}

/// What a request's credential turned out to be.
#[derive(Debug)]
pub enum Credential {
    /// It sent none.
    None,
    /// Unknown, expired or revoked; the text says which, for the client.
    Invalid(&'static str),
    Valid(Principal),
}

#[derive(Debug)]
struct Mode {
    checked_at: Option<Instant>,
    protected: bool,
}

/// The state of access control that lives beside the database.
pub struct Auth {
    pub clock: Clock,
    /// `Secure` on the cookie: the dashboard is reached through https (`--public-url`).
    pub secure_cookie: bool,
    /// The dashboard's origin (`https://host[:port]`), from `--public-url`; without it
    /// a request's own `Host` is its origin.
    pub public_origin: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<IpAddr>,
    mode: Mutex<Mode>,
    throttle: Mutex<throttle::Throttle>,
    /// Bounds the Argon2 work of concurrent sign-ins (each takes 19 MiB and tens of ms).
    hashing: tokio::sync::Semaphore,
}

impl Auth {
    pub fn new(clock: Clock, public_url: Option<&str>, trusted_proxies: Vec<IpAddr>) -> Auth {
        let public_origin = public_url.map(origin_of);
        Auth {
            clock,
            trusted_proxies,
            secure_cookie: public_origin
                .as_deref()
                .is_some_and(|origin| origin.starts_with("https://")),
            public_origin,
            mode: Mutex::new(Mode {
                checked_at: None,
                protected: true,
            }),
            throttle: Mutex::new(throttle::Throttle::default()),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            ),
        }
    }

    /// Whether no user and no token exist (protected mode). Looked up at most once a
    /// second; a change is logged.
    pub async fn protected(&self, db: &Database) -> Result<bool, AppError> {
        {
            let mode = self.mode.lock().unwrap_or_else(|e| e.into_inner());
            if mode
                .checked_at
                .is_some_and(|checked| checked.elapsed() < MODE_RECHECK)
            {
                return Ok(mode.protected);
            }
        }
        let protected = !db.run(db::users::any_credentials).await?;
        let mut mode = self.mode.lock().unwrap_or_else(|e| e.into_inner());
        if mode.checked_at.is_none() || mode.protected != protected {
            log_mode(protected);
        }
        mode.protected = protected;
        mode.checked_at = Some(Instant::now());
        Ok(protected)
    }

    /// The client's address: the peer's, or, when the peer is a trusted proxy, the
    /// last address its `X-Forwarded-For` appended (the one it saw connect).
    pub fn client_address(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip().to_canonical();
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        Some(forwarded.map_or(peer, |client| client.to_canonical()))
    }

    /// Looks up the mode now and logs it: for start-up. A failure is logged and left
    /// for the first request to retry.
    pub fn log_mode_at_startup(&self, db: &Database) {
        match db.run_blocking(db::users::any_credentials) {
            Ok(any) => {
                log_mode(!any);
                let mut mode = self.mode.lock().unwrap_or_else(|e| e.into_inner());
                mode.protected = !any;
                mode.checked_at = Some(Instant::now());
            }
            Err(error) => tracing::warn!("cannot tell whether accounts exist yet: {error}"),
        }
    }

    /// Checks the request's bearer token, or else its session cookie.
    pub async fn authenticate(
        &self,
        db: &Database,
        request: &HttpRequest,
    ) -> Result<Credential, AppError> {
        if let Some(token) = bearer_token(request) {
            return self.check_token(db, token).await;
        }
        match request.cookie(SESSION_COOKIE) {
            Some(cookie) => self.check_session(db, cookie.value()).await,
            None => Ok(Credential::None),
        }
    }

    async fn check_token(&self, db: &Database, token: String) -> Result<Credential, AppError> {
        const INVALID: &str = "the API token is not valid (unknown or revoked)";
        if !credentials::looks_like_token(&token) {
            return Ok(Credential::Invalid(INVALID));
        }
        let fingerprint = credentials::fingerprint(&token);
        let lookup = fingerprint.clone();
        let Some(found) = db
            .run(move |conn| db::tokens::find_by_hash(conn, &lookup))
            .await?
        else {
            return Ok(Credential::Invalid(INVALID));
        };
        if !credentials::same_fingerprint(&found.token_hash, &fingerprint) {
            return Ok(Credential::Invalid(INVALID));
        }
        let now = self.clock.now();
        if found.expires_at.is_some_and(|expires| expires <= now) {
            return Ok(Credential::Invalid("the API token has expired"));
        }
        if found
            .last_used_at
            .is_none_or(|used| now - used >= TOUCH_EVERY_S)
        {
            tracing::info!(target: "ncompass::audit", token = %found.name, role = found.role.as_str(), "API token used");
            let id = found.id;
            if let Err(error) = db.run(move |conn| db::tokens::touch(conn, id, now)).await {
                tracing::warn!(token = %found.name, "cannot record the token's use: {error}");
            }
        }
        Ok(Credential::Valid(Principal {
            name: Some(found.name),
            role: found.role,
            method: AuthMethod::Token,
        }))
    }

    async fn check_session(&self, db: &Database, id: &str) -> Result<Credential, AppError> {
        const ENDED: &str = "the session has ended: sign in again";
        if !credentials::looks_like_session_id(id) {
            return Ok(Credential::Invalid(ENDED));
        }
        let id_hash = credentials::fingerprint(id);
        let lookup = id_hash.clone();
        let Some(session) = db
            .run(move |conn| db::sessions::find(conn, &lookup))
            .await?
        else {
            return Ok(Credential::Invalid(ENDED));
        };
        let now = self.clock.now();
        if !SESSION_LIFETIME.is_live(session.created_at, session.last_seen_at, now) {
            db.run(move |conn| db::sessions::delete(conn, &id_hash))
                .await
                .ok();
            return Ok(Credential::Invalid(ENDED));
        }
        if now - session.last_seen_at >= TOUCH_EVERY_S {
            if let Err(error) = db
                .run(move |conn| db::sessions::touch(conn, &id_hash, now))
                .await
            {
                tracing::warn!(user = %session.user.username, "cannot record the session's use: {error}");
            }
        }
        Ok(Credential::Valid(Principal {
            name: Some(session.user.username),
            role: session.user.role,
            method: AuthMethod::Session,
        }))
    }

    /// Signs `username` in with `password`: the new session's id (for the cookie).
    /// Unknown users and wrong passwords fail alike, in the same time; repeated failures
    /// are slowed down ([`throttle`]).
    pub async fn sign_in(
        &self,
        db: &Database,
        username: &str,
        password: String,
        address: Option<IpAddr>,
    ) -> Result<String, AppError> {
        const WRONG: &str = "the username or password is wrong";
        // Any name is looked up as typed apart from case, so that a badly formed one
        // fails like an unknown one.
        let username = username.trim().to_lowercase();
        let now = self.clock.now();
        let admitted = self
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(&username, address, now);
        if let Err(wait) = admitted {
            tracing::warn!(target: "ncompass::audit", user = %username, address = ?address, "sign-in refused: too many failures, {wait} s to wait");
            return Err(AppError::TooManyRequests {
                detail: format!(
                    "too many failed sign-ins for this user or from this address; try again \
                     in {wait} s"
                ),
                retry_after: u32::try_from(wait).unwrap_or(u32::MAX),
            });
        }
        if password.len() > credentials::MAX_PASSWORD_BYTES {
            return Err(AppError::Unauthenticated(WRONG.to_string()));
        }
        let _slot = tokio::time::timeout(HASHING_WAIT, self.hashing.acquire())
            .await
            .map_err(|_| AppError::TryLater {
                detail: "the server is checking too many sign-ins at once; retry shortly"
                    .to_string(),
                retry_after: 2,
            })?
            .map_err(AppError::internal)?;
        let lookup = username.clone();
        let user = db.run(move |conn| db::users::find(conn, &lookup)).await?;
        let (user, matches) = actix_web::web::block(move || match user {
            Some(user) => {
                let matches = credentials::verify_password(&password, &user.password_hash);
                (Some(user), matches)
            }
            None => {
                credentials::verify_nobody(&password);
                (None, false)
            }
        })
        .await
        .map_err(AppError::internal)?;
        let user = match user {
            Some(user) if matches => user,
            _ => {
                // Counted already, when it was let through.
                tracing::warn!(target: "ncompass::audit", user = %username, address = ?address, "sign-in failed");
                return Err(AppError::Unauthenticated(WRONG.to_string()));
            }
        };
        self.throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .succeeded(&username, address);
        let id = credentials::new_session_id();
        let id_hash = credentials::fingerprint(&id);
        let user_id = user.id;
        let password_hash = user.password_hash.clone();
        let started = db
            .run(move |conn| {
                db::sessions::create(
                    conn,
                    &id_hash,
                    user_id,
                    &password_hash,
                    now,
                    SESSION_LIFETIME,
                )
            })
            .await?;
        if !started {
            // The password changed, or the user was removed, while it was being checked.
            tracing::warn!(target: "ncompass::audit", user = %user.username, address = ?address, "sign-in failed: the account changed meanwhile");
            return Err(AppError::Unauthenticated(WRONG.to_string()));
        }
        tracing::info!(target: "ncompass::audit", user = %user.username, role = user.role.as_str(), address = ?address, "signed in");
        Ok(id)
    }

    /// Ends the session whose id the cookie holds, if any.
    pub async fn sign_out(&self, db: &Database, request: &HttpRequest) -> Result<(), AppError> {
        if let Some(cookie) = request.cookie(SESSION_COOKIE) {
            let id_hash = credentials::fingerprint(cookie.value());
            db.run(move |conn| db::sessions::delete(conn, &id_hash))
                .await?;
        }
        Ok(())
    }
}

fn log_mode(protected: bool) {
    if protected {
        tracing::warn!(
            "protected mode: no account or API token exists, so the API and the dashboard \
             answer clients on this machine only; create the first account with `ncompass \
             user add NAME --role admin`"
        );
    } else {
        tracing::info!(
            "access control: accounts or API tokens exist, so every API call needs a \
             session or a token"
        );
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// `https://host:port` of a URL like `https://host:port/some/path`, lower case.
fn origin_of(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let scheme = scheme.to_lowercase();
    let authority = rest.split('/').next().unwrap_or(rest).to_lowercase();
    // A browser's Origin has no user information and no default port.
    let host = authority
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, host)| host);
    let host = match scheme.as_str() {
        "https" => host.strip_suffix(":443").unwrap_or(host),
        _ => host.strip_suffix(":80").unwrap_or(host),
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_public_urls() {
        assert_eq!(
            origin_of("https://NCompass.example.org/"),
            "https://ncompass.example.org"
        );
        assert_eq!(
            origin_of("http://10.0.0.5:8080/dashboard"),
            "http://10.0.0.5:8080"
        );
        assert_eq!(origin_of("https://n.example:443"), "https://n.example");
        assert_eq!(origin_of("http://n.example:80/"), "http://n.example");
        assert_eq!(
            origin_of("https://user@n.example:8443"),
            "https://n.example:8443"
        );
        let auth = Auth::new(Clock::system(), Some("https://n.example"), Vec::new());
        assert!(auth.secure_cookie);
        assert!(!Auth::new(Clock::system(), Some("http://n.example"), Vec::new()).secure_cookie);
        assert!(!Auth::new(Clock::system(), None, Vec::new()).secure_cookie);
    }

    #[test]
    fn session_lifetime() {
        let live = |created, seen, now| SESSION_LIFETIME.is_live(created, seen, now);
        assert!(live(0, 0, 12 * 3_600 - 1));
        assert!(!live(0, 0, 12 * 3_600));
        // Used every hour: still ends 7 days after signing in.
        assert!(live(0, 7 * 86_400 - 3_600, 7 * 86_400 - 1));
        assert!(!live(0, 7 * 86_400 - 3_600, 7 * 86_400));
    }
}
