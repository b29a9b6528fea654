//! Who may call the API: two bearer tokens, an operator's (writes, and reads) and a reader's
//! (the dashboard, SSE, `/metrics`), compared in constant time. Tokens travel in the
//! `Authorization` header; browsers' `EventSource` cannot set headers, so `?access_token=`
//! (or `?token=`) is accepted too, but for reads only: a token in a URL ends up in browser
//! history and proxy logs, and a link must never be able to write.

use std::fmt;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Longest token accepted, bytes. Comparisons always run over this many bytes, so their
/// time says nothing about the configured token's length or content.
pub const MAX_TOKEN_BYTES: usize = 512;

/// Who may do what. `Debug` never prints a token.
#[derive(Clone, Default)]
pub struct Auth {
    /// The operator token, for writes (and reads). `None`: writes are open, which
    /// [`super::check_listen`] allows on a loopback address only.
    pub write_token: Option<String>,
    /// The read token: reads only. Setting it makes reads need a token.
    pub read_token: Option<String>,
    /// Reads need a token (the read token or the operator's) even without a read token.
    pub read_token_required: bool,
    /// Origins besides the daemon's own whose pages may write (`https://drover.example`).
    pub allowed_origins: Vec<String>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |t: &Option<String>| if t.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("Auth")
            .field("write_token", &set(&self.write_token))
            .field("read_token", &set(&self.read_token))
            .field("read_token_required", &self.read_token_required)
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

/// What a caller proved to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// No token needed: reads without `read_token_required`, writes without an operator
    /// token (loopback only).
    Open,
    /// The read token.
    Reader,
    /// The operator token.
    Operator,
}

impl Role {
    /// As the audit trail names it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Open => "open",
            Role::Reader => "reader",
            Role::Operator => "operator",
        }
    }
}

impl Auth {
    /// Tokens are 1 to [`MAX_TOKEN_BYTES`] visible ASCII characters (they must fit an HTTP
    /// header unchanged), and the two differ. Errors name the key, never the value.
    pub fn check(&self) -> anyhow::Result<()> {
        for (key, token) in [
            ("api.write_token", &self.write_token),
            ("api.read_token", &self.read_token),
        ] {
            if let Some(t) = token {
                anyhow::ensure!(
                    t.len() <= MAX_TOKEN_BYTES && t.bytes().all(|b| b.is_ascii_graphic()),
                    "{key} must be 1 to {MAX_TOKEN_BYTES} visible ASCII characters (no spaces)"
                );
            }
        }
        if let (Some(w), Some(r)) = (&self.write_token, &self.read_token) {
            anyhow::ensure!(
                !same_token(w.as_bytes(), r),
                "api.read_token must differ from api.write_token"
            );
        }
        for origin in &self.allowed_origins {
            anyhow::ensure!(
                super::origin::is_origin(origin),
                "api.allowed_origins: {origin:?} is not an origin (scheme://host[:port], no path)"
            );
        }
        Ok(())
    }

    /// Writes need no token (none configured).
    pub fn writes_open(&self) -> bool {
        self.write_token.is_none()
    }

    /// Reads need a token.
    pub fn reads_closed(&self) -> bool {
        self.read_token_required || self.read_token.is_some()
    }

    /// The role a read gets: from the header, else from the query's token.
    pub(super) fn reader(
        &self,
        header: Result<Option<&str>, ApiError>,
        query: Option<&str>,
    ) -> Result<Role, ApiError> {
        let header = header?;
        let presented = header.or(query);
        let role = presented.and_then(|t| self.role_of(t));
        match (role, self.reads_closed()) {
            (Some(role), _) => Ok(role),
            (None, false) => Ok(Role::Open),
            (None, true) if presented.is_some() => Err(unauthorized("the token is not valid")),
            (None, true) => Err(unauthorized(
                "reads need a token: `Authorization: Bearer <token>` (or `?access_token=` for EventSource)",
            )),
        }
    }

    /// The role a write gets: only the `Authorization` header counts.
    pub(super) fn writer(
        &self,
        header: Result<Option<&str>, ApiError>,
        query_had_token: bool,
    ) -> Result<Role, ApiError> {
        let header = header?;
        if self.writes_open() {
            return Ok(Role::Open);
        }
        match header.map(|t| self.role_of(t)) {
            Some(Some(Role::Operator)) => Ok(Role::Operator),
            Some(Some(_)) => Err(ApiError::new(
                403,
                "forbidden",
                "the read token cannot write; writes need the operator token (api.write_token)",
            )),
            Some(None) => Err(unauthorized("the token is not valid")),
            None if query_had_token => Err(unauthorized(
                "a token in the URL is accepted for reads only; writes need `Authorization: Bearer <token>`",
            )),
            None => Err(unauthorized(
                "writes need `Authorization: Bearer <token>` (the operator token, api.write_token)",
            )),
        }
    }

    /// Which configured token `presented` is. Both are always compared, so the time taken
    /// does not say which one (if any) matched.
    fn role_of(&self, presented: &str) -> Option<Role> {
        let p = presented.as_bytes();
        let operator = self.write_token.as_ref().is_some_and(|t| same_token(p, t));
        let reader = self.read_token.as_ref().is_some_and(|t| same_token(p, t));
        if operator {
            Some(Role::Operator)
        } else if reader {
            Some(Role::Reader)
        } else {
            None
        }
    }
}

/// Compares a presented token with a configured one in time that depends on neither: both
/// are read over [`MAX_TOKEN_BYTES`] (zero-padded), the lengths folded into the difference,
/// and nothing branches on the bytes. Presented tokens longer than that are refused first,
/// which says nothing about the configured one (never longer, see [`Auth::check`]).
fn same_token(presented: &[u8], configured: &str) -> bool {
    let configured = configured.as_bytes();
    if presented.len() > MAX_TOKEN_BYTES {
        return false;
    }
    let mut diff = presented.len() ^ configured.len();
    for k in 0..MAX_TOKEN_BYTES {
        let a = presented.get(k).copied().unwrap_or(0);
        let b = configured.get(k).copied().unwrap_or(0);
        diff |= usize::from(a ^ b);
    }
    // Keeps the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

/// The bearer token in the `Authorization` header: `Ok(None)` without one, an error for a
/// header that is there but not `Bearer <token>`.
pub(super) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    match token {
        Some(t) => Ok(Some(t)),
        None => Err(unauthorized(
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// Takes `access_token=` and `token=` out of a query string: the token (percent-decoded;
/// the first one wins) and the query without them, so no handler, error message or log line
/// ever sees it.
pub(super) fn strip_query_token(query: &str) -> (Option<String>, String) {
    let mut token = None;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "access_token" || key == "token" {
            if token.is_none() {
                token = Some(percent_decode(value));
            }
        } else if !pair.is_empty() {
            kept.push(pair);
        }
    }
    (token, kept.join("&"))
}

/// `%XX` and `+` as in `application/x-www-form-urlencoded`; bad escapes stay as they are
/// (such a token simply does not match).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut k = 0;
    while k < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[k] {
            b'+' => out.push(b' '),
            b'%' if k + 2 < bytes.len() => match (hex(bytes[k + 1]), hex(bytes[k + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    k += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        k += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(401, "unauthorized", message)
}

/// An auth refusal as a response (401s carry `WWW-Authenticate: Bearer`).
pub(super) fn refusal(e: ApiError) -> Response {
    let status = e.status;
    let mut r = e.into_response();
    if status == 401 {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth {
            write_token: Some("op-secret".into()),
            read_token: Some("read-secret".into()),
            read_token_required: false,
            allowed_origins: Vec::new(),
        }
    }

    #[test]
    fn tokens_match_only_exactly() {
        assert!(same_token(b"op-secret", "op-secret"));
        for other in ["op-secre", "op-secret ", "op-secreT", "", "op-secret\0"] {
            assert!(!same_token(other.as_bytes(), "op-secret"), "{other:?}");
        }
        assert!(!same_token(&[b'a'; MAX_TOKEN_BYTES + 1], "a"));
    }

    #[test]
    fn roles_follow_the_token_and_where_it_came_from() {
        let a = auth();
        assert_eq!(a.reader(Ok(Some("read-secret")), None), Ok(Role::Reader));
        assert_eq!(a.reader(Ok(None), Some("op-secret")), Ok(Role::Operator));
        assert_eq!(a.reader(Ok(None), None).unwrap_err().status, 401);
        assert_eq!(a.writer(Ok(Some("op-secret")), false), Ok(Role::Operator));
        assert_eq!(
            a.writer(Ok(Some("read-secret")), false).unwrap_err().status,
            403
        );
        let from_url = a.writer(Ok(None), true).unwrap_err();
        assert_eq!(from_url.status, 401);
        assert!(from_url.message.contains("reads only"), "{from_url:?}");
        assert!(
            !format!("{a:?}").contains("secret"),
            "Debug prints no token"
        );
    }

    #[test]
    fn query_tokens_are_taken_out_of_the_query() {
        let (token, rest) = strip_query_token("after=3&access_token=a%2Bb%3D&limit=2");
        assert_eq!(token.as_deref(), Some("a+b="));
        assert_eq!(rest, "after=3&limit=2");
        let (token, rest) = strip_query_token("token=x");
        assert_eq!((token.as_deref(), rest.as_str()), (Some("x"), ""));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
