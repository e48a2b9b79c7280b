//! Who may call what: the one table of access rules, read by the request guard and by
//! the OpenAPI document (which declares each operation's security from it).

use actix_web::http::Method;
use api_types::Role;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, always: the webhook (it has its own signature) and the health check.
    Open,
    /// Anyone while accounts exist, loopback clients only in protected mode: the
    /// dashboard's files and pages, sign-in itself, and the API's description.
    Public,
    /// A credential with at least this role.
    Role(Role),
}

/// The access `method` on `path` needs. `path` may be a concrete path or an OpenAPI
/// path template (`/api/v1/probe-requests/{id}`): the rules look at prefixes only.
/// `path` must be the decoded path the router matches (the guard passes the request's
/// `match_info`), never the raw one. Fails closed: anything that starts like the API or
/// the metrics, whatever follows, needs a credential.
pub fn required(method: &Method, path: &str) -> Access {
    match path {
        "/receive" | "/recieve" | "/api/v1/health" | "/api/v1/privacy" => Access::Open,
        // Meraki's receivers: the body's secret is their credential.
        _ if path.starts_with("/meraki/") => Access::Open,
        "/api/v1/session" | "/api/v1/openapi.json" | "/api/docs" => Access::Public,
        // What is kept of one person's device, and the opt-out list: personal data
        // handled for its owner's requests, by administrators only.
        _ if path.starts_with("/api/v1/opt-outs")
            || path.starts_with("/api/v1/sources")
            || (path.starts_with("/api/v1/devices/") && path.ends_with("/data")) =>
        {
            Access::Role(Role::Admin)
        }
        _ if path.starts_with("/api") || path.starts_with("/metrics") => {
            if is_read(method) {
                Access::Role(Role::Viewer)
            } else {
                Access::Role(Role::Admin)
            }
        }
        _ => Access::Public,
    }
}

/// GET and HEAD (and OPTIONS) change nothing; every other method may.
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(required(&post, "/receive"), Access::Open);
        assert_eq!(required(&post, "/recieve"), Access::Open);
        assert_eq!(required(&post, "/meraki/lobby"), Access::Open);
        assert_eq!(required(&get, "/meraki/lobby"), Access::Open);
        assert_eq!(required(&get, "/api/v1/sources"), Access::Role(Role::Admin));
        assert_eq!(
            required(&post, "/api/v1/sources"),
            Access::Role(Role::Admin)
        );
        assert_eq!(required(&get, "/api/v1/health"), Access::Open);
        assert_eq!(required(&get, "/api/v1/privacy"), Access::Open);
        assert_eq!(required(&get, "/"), Access::Public);
        assert_eq!(required(&get, "/devices/1/aa:bb"), Access::Public);
        assert_eq!(required(&get, "/assets/app.wasm"), Access::Public);
        assert_eq!(required(&post, "/api/v1/session"), Access::Public);
        assert_eq!(required(&get, "/api/v1/openapi.json"), Access::Public);
        assert_eq!(required(&get, "/metrics"), Access::Role(Role::Viewer));
        assert_eq!(
            required(&Method::HEAD, "/api/v1/probe-requests/export"),
            Access::Role(Role::Viewer)
        );
        assert_eq!(
            required(&get, "/api/v1/probe-requests/{id}"),
            Access::Role(Role::Viewer)
        );
        assert_eq!(
            required(&post, "/api/v1/samples"),
            Access::Role(Role::Admin)
        );
        // Paths nobody serves yet are guarded like their neighbours: no route is left open
        // by being forgotten here.
        assert_eq!(
            required(&Method::DELETE, "/api/v1/devices/1/x"),
            Access::Role(Role::Admin)
        );
        assert_eq!(
            required(&get, "/api/v1/devices/{mac}/data"),
            Access::Role(Role::Admin)
        );
        assert_eq!(
            required(&get, "/api/v1/opt-outs"),
            Access::Role(Role::Admin)
        );
        assert_eq!(
            required(&get, "/api/v1/devices/1/{mac}/visits"),
            Access::Role(Role::Viewer)
        );
        assert_eq!(
            required(&get, "/api/v2/anything"),
            Access::Role(Role::Viewer)
        );
    }
}
