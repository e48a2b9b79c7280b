//! What of a request reaches the access log: its request line, with every API token
//! (`ncp_…`, which a client may put in a query string) cut to its prefix, and in `keyed`
//! mode every MAC (a filter or a device path may name a real one) replaced by `<mac>`.

use actix_web::dev::ServiceRequest;

use crate::http::auth::credentials::TOKEN_PREFIX;

/// The request line as the log shows it.
pub fn request_line(request: &ServiceRequest, keyed: bool) -> String {
    let line = format!(
        "{} {} {:?}",
        request.method(),
        request.uri(),
        request.version()
    );
    // Decoded first, so that a MAC or token written with percent-escapes is seen too.
    let line = crate::privacy::percent_decoded(&line);
    let line = without_tokens(&line);
    if keyed {
        crate::privacy::redact_macs(&line)
    } else {
        line
    }
}

/// `text` with whatever follows each `ncp_` (letters, digits, `-`, `_`) replaced by `…`.
fn without_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(TOKEN_PREFIX) {
        let after = &rest[at + TOKEN_PREFIX.len()..];
        let secret = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(after.len());
        out.push_str(&rest[..at + TOKEN_PREFIX.len()]);
        if secret > 0 {
            out.push('…');
        }
        rest = &after[secret..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_cut_to_their_prefix() {
        let token = format!("ncp_{}", "ab12".repeat(16));
        assert_eq!(
            without_tokens(&format!("GET /api/v1/nodes?token={token}&x=1 HTTP/1.1")),
            "GET /api/v1/nodes?token=ncp_…&x=1 HTTP/1.1"
        );
        assert_eq!(without_tokens("a ncp_ b ncp_x"), "a ncp_ b ncp_…");
    }

    #[test]
    fn keyed_mode_redacts_macs_even_percent_encoded() {
        let request = actix_web::test::TestRequest::get()
            .uri("/api/v1/probe-requests?mac=48%3A5a%3A3f%3A37%3Ade%3Af7x")
            .to_srv_request();
        let line = request_line(&request, true);
        assert!(!line.contains("48:5a"), "{line}");
        assert!(line.contains("<mac>x"), "{line}");
        assert!(request_line(&request, false).contains("48:5a:3f:37:de:f7x"));
    }
}
