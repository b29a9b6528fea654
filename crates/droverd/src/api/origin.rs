//! Whether a write comes from the daemon's own pages. A browser sends `Origin` with every
//! cross-site POST (and with same-site ones), so a web page elsewhere that tries to drive the
//! fleet through an operator's browser is refused here, before its token or body count.
//!
//! With writes open (no operator token, loopback only) one more attack is left: DNS
//! rebinding, where `evil.example` resolves to 127.0.0.1 after the page loaded, so the
//! page's origin and the `Host` header agree. Open writes therefore also need a `Host` that
//! is an IP address or `localhost` (or an allowed origin's host), which no rebound name is.

use axum::http::{HeaderMap, header};

use super::Auth;
use crate::error::ApiError;

/// Refuses (403) a write whose `Origin` is present and neither the daemon's own
/// (`http://` + the `Host` it was asked as) nor in `api.allowed_origins`; and, with writes
/// open, one whose `Host` is a DNS name other than `localhost`.
pub(super) fn check(auth: &Auth, headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .filter(|h| !h.is_empty());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        let own = host.is_some_and(|h| same_origin(&format!("http://{h}"), origin));
        let allowed = auth.allowed_origins.iter().any(|a| same_origin(a, origin));
        if !own && !allowed {
            return Err(forbidden(format!(
                "writes from another site's page are refused: Origin {:?} is not this daemon's; \
                 add it to api.allowed_origins if it is yours",
                clip(origin)
            )));
        }
    }
    if auth.writes_open() {
        let ok = host.is_some_and(|h| {
            is_ip_or_localhost(h)
                || auth
                    .allowed_origins
                    .iter()
                    .any(|a| authority(a).eq_ignore_ascii_case(h))
        });
        if !ok {
            return Err(forbidden(format!(
                "writes are open (no api.write_token), so they are taken only when the daemon is \
                 addressed by IP or as localhost, not as {:?}; set api.write_token",
                clip(host.unwrap_or(""))
            )));
        }
    }
    Ok(())
}

/// `scheme://host[:port]` with nothing after it.
pub(super) fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
}

/// Origins compare case-insensitively, with the scheme's default port spelled or not.
fn same_origin(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
        if let Some(rest) = s.strip_prefix("http://") {
            format!("http://{}", rest.strip_suffix(":80").unwrap_or(rest))
        } else if let Some(rest) = s.strip_prefix("https://") {
            format!("https://{}", rest.strip_suffix(":443").unwrap_or(rest))
        } else {
            s
        }
    };
    norm(a) == norm(b)
}

/// The `host[:port]` of an origin.
fn authority(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, rest)| rest)
}

/// `127.0.0.1:8080`, `[::1]:8080`, `10.0.0.5`, `localhost:8080`.
fn is_ip_or_localhost(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        return rest
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(403, "forbidden", message)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn own_and_allowed_origins_pass_others_do_not() {
        let closed = Auth {
            write_token: Some("t".into()),
            allowed_origins: vec!["https://drover.example".into()],
            ..Auth::default()
        };
        let ok = |h: &str, o: Option<&str>| check(&closed, &headers(h, o)).is_ok();
        assert!(ok("127.0.0.1:8080", None));
        assert!(ok("127.0.0.1:8080", Some("http://127.0.0.1:8080")));
        assert!(ok("Drover.local", Some("http://drover.local:80")));
        assert!(ok("drover.local:8080", Some("https://drover.example")));
        assert!(!ok("127.0.0.1:8080", Some("http://evil.example")));
        assert!(!ok("127.0.0.1:8080", Some("http://127.0.0.1:9090")));
        assert!(!ok("127.0.0.1:8080", Some("null")));
    }

    #[test]
    fn open_writes_need_an_ip_or_localhost_as_host() {
        let open = Auth::default();
        let ok = |h: &str| check(&open, &headers(h, Some(&format!("http://{h}")))).is_ok();
        assert!(ok("127.0.0.1:8080"));
        assert!(ok("[::1]:8080"));
        assert!(ok("localhost:8080"));
        assert!(!ok("rebound.evil.example:8080"), "DNS rebinding");
        assert!(is_origin("https://a.example:8443"));
        assert!(!is_origin("https://a.example/path"));
        assert!(!is_origin("a.example"));
    }
}
