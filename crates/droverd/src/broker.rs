//! The broker droverd talks to, from `[broker]`: an external one (its URL, login and TLS
//! files), or the embedded one, started here with its logins and TLS listener. This is where
//! the PEM and password files are read; no password reaches a log line or an error.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use drover_gateway::{BrokerAddr, ClientTls, Secret, Users};

use crate::config::BrokerConfig;

/// Replaces `broker.password` (and a password in the URL), so it need not sit in a file.
pub const PASSWORD_VAR: &str = "DROVERD_BROKER_PASSWORD";

fn read(key: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read broker.{key} {}", path.display()))
}

/// Where droverd connects to an external broker: `url_override` (`--broker-url`) or
/// `broker.url`, with `broker.username`/`password` (and `DROVERD_BROKER_PASSWORD`) replacing
/// the URL's login, and for `mqtts://` the CA file and client certificate.
pub fn external(config: &BrokerConfig, url_override: Option<&str>) -> anyhow::Result<BrokerAddr> {
    let mut addr = BrokerAddr::parse(url_override.unwrap_or(&config.url))?;
    if let Some(user) = &config.username {
        addr.username = Some(user.clone());
        addr.password = config.password.clone().map(Secret::new);
    }
    if let Some(password) = std::env::var(PASSWORD_VAR).ok().filter(|p| !p.is_empty()) {
        addr.password = Some(Secret::new(password));
    }
    let files = config.ca_file.is_some() || config.client_cert.is_some();
    if addr.tls.is_none() {
        anyhow::ensure!(
            !files,
            "broker.ca_file and broker.client_cert are for TLS: the broker url must be \
             mqtts://, not {addr}"
        );
        let here = addr.host == "localhost"
            || addr
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if addr.password.is_some() && !here {
            tracing::warn!(broker = %addr, "the broker login crosses the network unencrypted: use mqtts://");
        }
        return Ok(addr);
    }
    let ca = config
        .ca_file
        .as_deref()
        .map(|p| read("ca_file", p))
        .transpose()?;
    let client = match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => Some((read("client_cert", cert)?, read("client_key", key)?)),
        (None, None) => None,
        _ => anyhow::bail!("broker.client_cert and broker.client_key go together"),
    };
    let tls = ClientTls::from_pem(
        ca.as_deref(),
        client.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
    );
    addr.tls = Some(tls.with_context(|| {
        let show = |p: &Option<std::path::PathBuf>| {
            p.as_ref()
                .map_or("(none)".to_string(), |p| p.display().to_string())
        };
        format!(
            "broker TLS files (ca_file {}, client_cert {}, client_key {})",
            show(&config.ca_file),
            show(&config.client_cert),
            show(&config.client_key)
        )
    })?);
    Ok(addr)
}

/// The embedded broker, started.
#[derive(Debug)]
pub struct Embedded {
    /// Where droverd itself connects (the plain listener), with its own login if logins are
    /// required.
    pub addr: BrokerAddr,
    /// The logins it accepts (`None`: anyone); logins added later count at once.
    pub users: Option<Users>,
    /// The TLS listener's address, if there is one.
    pub tls: Option<SocketAddr>,
}

/// Starts the embedded broker on `broker.listen` (and `broker.tls_listen`). It requires a
/// login when `broker.password_file` is set or `require_login` is (the demo's units get
/// logins made up in memory); droverd logs in as `broker.client_id` with a random password
/// it keeps in memory.
#[cfg(feature = "embedded-broker")]
pub fn start_embedded(
    config: &BrokerConfig,
    max_connections: usize,
    require_login: bool,
) -> anyhow::Result<Embedded> {
    let listen: SocketAddr = config
        .listen
        .parse()
        .with_context(|| format!("broker.listen {:?}", config.listen))?;
    let users = match &config.password_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read broker.password_file {}", path.display()))?;
            let users = Users::from_password_file(&text)
                .with_context(|| format!("broker.password_file {}", path.display()))?;
            Some(users)
        }
        None if require_login => Some(Users::new()),
        None => None,
    };
    let tls = match (&config.tls_listen, &config.tls_cert, &config.tls_key) {
        (Some(at), Some(cert), Some(key)) => {
            let at: SocketAddr = at
                .parse()
                .with_context(|| format!("broker.tls_listen {at:?}"))?;
            let tls = drover_gateway::ServerTls::from_pem(
                &read("tls_cert", cert)?,
                &read("tls_key", key)?,
            )
            .with_context(|| {
                format!(
                    "broker.tls_cert {} and tls_key {}",
                    cert.display(),
                    key.display()
                )
            })?;
            Some((at, tls))
        }
        (None, None, None) => None,
        _ => anyhow::bail!("broker.tls_listen, tls_cert and tls_key go together"),
    };
    let anyone = users.is_none();
    let exposed = |ip: std::net::IpAddr| !ip.is_loopback();
    if anyone && (exposed(listen.ip()) || tls.is_some()) {
        tracing::warn!(
            %listen,
            "the embedded MQTT broker lets anyone in, without a login: set broker.password_file \
             (see config/mosquitto/)"
        );
    }
    let own = users.as_ref().map(|u| {
        let password = drover_gateway::random_password();
        u.add(&config.client_id, &password);
        password
    });
    let robots = users.as_ref().map_or(0, |u| u.len().saturating_sub(1));
    let tls_addr = drover_gateway::start_broker(&drover_gateway::EmbeddedBroker {
        listen,
        max_connections,
        users: users.clone(),
        tls,
    })?;
    tracing::info!(%listen, tls = ?tls_addr, logins_required = !anyone, logins_from_file = robots, "embedded MQTT broker listening");
    let host = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => "::1".to_string(),
        ip => ip.to_string(),
    };
    let mut addr = BrokerAddr::local(listen.port());
    addr.host = host;
    if let Some(password) = own {
        addr = addr.with_login(&config.client_id, password);
    }
    Ok(Embedded {
        addr,
        users,
        tls: tls_addr,
    })
}
