//! Where the broker is and how to log in: [`BrokerAddr`] parses `mqtt://` and `mqtts://`
//! URLs. Its `Debug` and `Display` never show the password, and neither do the errors of
//! [`BrokerAddr::parse`] ([`redact_url`] replaces it with `***`).

use std::fmt;

use crate::error::ConfigError;
use crate::secret::Secret;
use crate::tls::ClientTls;

/// Where the broker is and how to log in.
#[derive(Clone, Debug)]
pub struct BrokerAddr {
    /// Host name or address (the TLS certificate must name it).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// `None`: plain TCP (`mqtt://`); `Some`: TLS (`mqtts://`) with these trust settings.
    pub tls: Option<ClientTls>,
}

impl BrokerAddr {
    /// A broker on localhost without login or TLS.
    pub fn local(port: u16) -> BrokerAddr {
        BrokerAddr {
            host: "127.0.0.1".to_string(),
            port,
            username: None,
            password: None,
            tls: None,
        }
    }

    /// The same broker with this login.
    pub fn with_login(mut self, username: &str, password: Secret) -> BrokerAddr {
        self.username = Some(username.to_string());
        self.password = Some(password);
        self
    }

    /// Parses `mqtt://[user[:password]@]host[:port]` (port 1883 if left out) or `mqtts://...`
    /// (TLS, port 8883 if left out, trusting the system's root certificates until
    /// [`BrokerAddr::tls`] is set to a CA of your own). `tcp://` and `ssl://` are synonyms.
    /// An IPv6 host is written in brackets: `mqtt://[::1]:1883`.
    pub fn parse(url: &str) -> Result<BrokerAddr, ConfigError> {
        let bad = |problem: String| ConfigError::Url {
            url: redact_url(url),
            problem,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("must start with mqtt:// or mqtts://".into()))?;
        let (tls, default_port) = match scheme {
            "mqtt" | "tcp" => (None, 1883),
            "mqtts" | "ssl" => (Some(ClientTls::SystemRoots), 8883),
            other => {
                return Err(bad(format!("scheme {other:?} is not mqtt:// or mqtts://")));
            }
        };
        let rest = rest.trim_end_matches('/');
        let (login, hostport) = match rest.rsplit_once('@') {
            Some((l, h)) => (Some(l), h),
            None => (None, rest),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 host needs its closing ]".into()))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| bad(format!("port {p:?} is not a number")))?,
            None => default_port,
        };
        if host.is_empty() {
            return Err(bad("no host".into()));
        }
        let (username, password) = match login {
            Some(l) => match l.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(Secret::new(p))),
                None => (Some(l.to_string()), None),
            },
            None => (None, None),
        };
        Ok(BrokerAddr {
            host: host.to_string(),
            port,
            username,
            password,
            tls,
        })
    }
}

impl fmt::Display for BrokerAddr {
    /// `mqtts://user@host:port`: the URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls.is_some() { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://")?;
        if let Some(u) = &self.username {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// `url` with the password of its login, if any, replaced by `***`: safe to log or to put in
/// an error.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    // Up to the last `@` is the login, even when the password holds `/`, `@` or `#`.
    let rest = match rest.rsplit_once('@') {
        Some((login, host)) => match login.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => rest.to_string(),
        },
        None => rest.to_string(),
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_default_ports_logins_and_ipv6() {
        let a = BrokerAddr::parse("mqtt://drover:pw@broker.local:1884").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("broker.local", 1884));
        assert_eq!(a.username.as_deref(), Some("drover"));
        assert_eq!(a.password.as_ref().map(Secret::expose), Some("pw"));
        assert!(a.tls.is_none());
        let a = BrokerAddr::parse("mqtts://broker.local").unwrap();
        assert_eq!(a.port, 8883);
        assert!(matches!(a.tls, Some(ClientTls::SystemRoots)));
        assert_eq!(BrokerAddr::parse("tcp://h/").unwrap().port, 1883);
        let a = BrokerAddr::parse("mqtt://[::1]:1999").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 1999));
        assert_eq!(a.to_string(), "mqtt://[::1]:1999");
        for bad in ["broker:1883", "http://h:1", "mqtt://:1883", "mqtt://h:port"] {
            assert!(BrokerAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_password_in_errors_debug_or_display() {
        let e = BrokerAddr::parse("mqtt://drover:hunter2@host:notaport").unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("drover:***@host"), "{text}");
        let a = BrokerAddr::parse("mqtts://drover:hunter2@host:8883").unwrap();
        let text = format!("{a} {a:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.starts_with("mqtts://drover@host:8883"), "{text}");
    }

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(redact_url("mqtt://u:p@h:1/x"), "mqtt://u:***@h:1/x");
        assert_eq!(redact_url("mqtt://u@h:1"), "mqtt://u@h:1");
        assert_eq!(redact_url("mqtt://h:1"), "mqtt://h:1");
        assert_eq!(redact_url("u:p:q@h"), "u:***@h");
        assert_eq!(redact_url("mqtt://u:p@x@h"), "mqtt://u:***@h");
        assert_eq!(redact_url("mqtt://u:p/x#y@h:1"), "mqtt://u:***@h:1");
    }
}
