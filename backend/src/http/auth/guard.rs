//! The request guard: every request passes here before its handler, which then can take
//! the caller ([`super::Principal`]) from the request's extensions.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use super::access::{self, Access};
use super::{Credential, Principal};
use crate::http::error::AppError;
use crate::http::routes::AppState;

/// What a client without a credential is told.
const NO_CREDENTIAL: &str = "this needs a credential: sign in to the dashboard, or send an \
                             API token as `Authorization: Bearer ncp_…`";

/// What a client away from the server's machine is told in protected mode.
const PROTECTED: &str = "NCompass is in protected mode: no account or API token exists yet, \
                         so it answers clients on its own machine only. On the server, \
                         create the first account with `ncompass user add NAME --role admin` \
                         (or a token with `ncompass token create --name NAME --role viewer`), \
                         then sign in";

/// The middleware: a request the guard refuses is answered here (a response, not an
/// error, so that the middlewares around it see the answer: see `http::limits`).
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match admit(&request).await {
        Ok(()) => Ok(next.call(request).await?.map_into_left_body()),
        Err(error) => Ok(request.error_response(error).map_into_right_body()),
    }
}

/// Whether `request` may go on to its handler; the caller it is made by goes into its
/// extensions.
async fn admit(request: &ServiceRequest) -> Result<(), actix_web::Error> {
    // The path as the router will match it: percent-escapes decoded (`/%61pi/...` is
    // routed to `/api/...`, so it must be guarded as `/api/...`).
    let path = request.match_info().as_str().to_string();
    let access = access::required(request.method(), &path);
    if access == Access::Open {
        return Ok(());
    }
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Err(AppError::internal("the application state is missing").into());
    };
    let read = access::is_read(request.method());
    if state.auth.protected(&state.db).await? {
        if !is_local(request) {
            return Err(AppError::Forbidden(PROTECTED.to_string()).into());
        }
        if !read {
            same_origin(request.headers(), state.auth.public_origin.as_deref())?;
        }
        request.extensions_mut().insert(Principal::loopback());
        return Ok(());
    }
    let credential = state
        .auth
        .authenticate(&state.db, request.request())
        .await?;
    let principal = match (access, credential) {
        (Access::Role(needed), Credential::Valid(principal)) => {
            if principal.role < needed {
                return Err(AppError::Forbidden(format!(
                    "this needs the {} role; {} has the {} role",
                    needed.as_str(),
                    principal.who(),
                    principal.role.as_str()
                ))
                .into());
            }
            Some(principal)
        }
        (Access::Role(_), Credential::None) => {
            return Err(AppError::Unauthenticated(NO_CREDENTIAL.to_string()).into())
        }
        (Access::Role(_), Credential::Invalid(why)) => {
            return Err(AppError::Unauthenticated(why.to_string()).into())
        }
        (_, Credential::Valid(principal)) => Some(principal),
        (_, _) => None,
    };
    let by_token = principal
        .as_ref()
        .is_some_and(|p| p.method == api_types::AuthMethod::Token);
    if !read && !by_token {
        // A cookie goes with every request the browser makes, whichever page asks: a
        // change must come from the dashboard's own pages.
        same_origin(request.headers(), state.auth.public_origin.as_deref())?;
    }
    if let Some(principal) = principal {
        if !read && matches!(access, Access::Role(_)) {
            let path = if state.privacy.mode == crate::privacy::MacPrivacy::Keyed {
                crate::privacy::redact_macs(&crate::privacy::percent_decoded(&path))
            } else {
                path
            };
            tracing::info!(target: "ncompass::audit", who = %principal.who(), method = %request.method(), path = %path, "admin action");
        }
        request.extensions_mut().insert(principal);
    }
    Ok(())
}

/// Whether the client is on the server's own machine: a loopback peer, not relayed by a
/// proxy (which would make everyone look local), that names the server by a loopback
/// name (a web page whose name was rebound to 127.0.0.1 names its own host).
fn is_local(request: &ServiceRequest) -> bool {
    let loopback_peer = request
        .peer_addr()
        .is_some_and(|peer| is_loopback(peer.ip()));
    let headers = request.headers();
    // Every header a proxy or CDN is known to add naming the client or the host it
    // was asked for.
    let relayed = [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-real-ip",
        "via",
        "true-client-ip",
        "cf-connecting-ip",
        "x-client-ip",
    ]
    .iter()
    .any(|name| headers.contains_key(*name));
    let host_is_local = match headers.get(header::HOST).map(|host| host.to_str()) {
        None => true,
        Some(Ok(host)) => is_loopback_host(host),
        Some(Err(_)) => false,
    };
    loopback_peer && !relayed && host_is_local
}

/// 127.0.0.0/8 and ::1, also when an IPv4 address comes mapped into IPv6.
pub fn is_loopback(address: IpAddr) -> bool {
    address.to_canonical().is_loopback()
}

/// `localhost`, `*.localhost`, a loopback address; with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default().to_string()
    } else {
        host.rsplit_once(':')
            .map_or(host.clone(), |(name, _port)| name.to_string())
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(is_loopback)
}

/// Refuses a state-changing request that a browser sent for another site's page.
/// Browsers send `Sec-Fetch-Site` and `Origin` with such requests; clients that send
/// neither are not browsers, and carry no ambient cookie.
fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), AppError> {
    let refuse = |why: String| {
        tracing::warn!(target: "ncompass::audit", "cross-site request refused: {why}");
        Err(AppError::Forbidden(format!(
            "cross-site request refused ({why}): changes must come from the NCompass \
             dashboard's own pages, or use an API token"
        )))
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        if site != "same-origin" && site != "none" {
            return refuse(format!("Sec-Fetch-Site: {site}"));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("?").trim().to_ascii_lowercase();
    let matches = match public_origin {
        Some(expected) => origin == expected,
        None => {
            // A proxy in front (trunk serve in development) names the host the browser
            // asked for in X-Forwarded-Host. A page of another site cannot set that
            // header: it is not one a browser sends cross-site without CORS approval.
            let host = headers
                .get("x-forwarded-host")
                .or_else(|| headers.get(header::HOST))
                .and_then(|host| host.to_str().ok())
                .map(|host| host.trim().to_ascii_lowercase());
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            authority.is_some() && authority == host.as_deref()
        }
    };
    if matches {
        Ok(())
    } else {
        refuse(format!("Origin: {origin}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn loopback_addresses_and_names() {
        for local in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(local.parse().unwrap()), "{local}");
        }
        for away in ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0"] {
            assert!(!is_loopback(away.parse().unwrap()), "{away}");
        }
        for local in [
            "localhost",
            "LOCALHOST:8080",
            "app.localhost",
            "127.0.0.1:80",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(is_loopback_host(local), "{local}");
        }
        for away in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(away), "{away}");
        }
    }

    #[test]
    fn same_origin_rules() {
        let ok = |pairs: &[(&'static str, &'static str)], public| {
            same_origin(&headers(pairs), public).is_ok()
        };
        // Not a browser: nothing to check.
        assert!(ok(&[], None));
        assert!(ok(
            &[
                ("host", "n.example:8080"),
                ("origin", "http://n.example:8080")
            ],
            None
        ));
        assert!(ok(
            &[
                ("host", "n.example:8080"),
                ("origin", "https://n.example:8080")
            ],
            None
        ));
        assert!(!ok(
            &[
                ("host", "n.example:8080"),
                ("origin", "http://evil.example")
            ],
            None
        ));
        assert!(!ok(&[("host", "n.example:8080"), ("origin", "null")], None));
        assert!(ok(&[("sec-fetch-site", "same-origin")], None));
        assert!(!ok(&[("sec-fetch-site", "cross-site")], None));
        assert!(!ok(&[("sec-fetch-site", "same-site")], None));
        assert!(ok(
            &[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-host", "127.0.0.1:8081"),
                ("origin", "http://127.0.0.1:8081")
            ],
            None
        ));
        // Behind a proxy: the public URL is the origin, whatever Host the proxy sends.
        let public = Some("https://n.example");
        assert!(ok(
            &[("host", "127.0.0.1:8080"), ("origin", "https://n.example")],
            public
        ));
        assert!(!ok(
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080")
            ],
            public
        ));
    }
}
