//! TLS with rustls and its `ring` provider (aws-lc-rs would need cmake and nasm): the client
//! side of `mqtts://` ([`ClientTls`]) and the embedded broker's TLS listener ([`ServerTls`]).
//! Certificates and keys come in as PEM text; droverd reads the files.

use std::sync::Arc;

use rumqttc::tokio_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ConfigError;

/// Which servers a TLS session trusts, and the client certificate it presents, if any.
#[derive(Clone)]
pub enum ClientTls {
    /// The operating system's root certificates (`mqtts://` without a CA file), loaded when
    /// the session starts.
    SystemRoots,
    /// A configuration built by [`ClientTls::from_pem`].
    Config(Arc<rustls::ClientConfig>),
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientTls::SystemRoots => f.write_str("SystemRoots"),
            ClientTls::Config(_) => f.write_str("Config(..)"),
        }
    }
}

/// rustls's ring provider: TLS 1.2 and 1.3 with X25519, P-256 and P-384 key exchange.
#[allow(
    deprecated,
    reason = "rustls 0.23.48 deprecates ring for lacking post-quantum key exchange; \
              aws-lc-rs, which has it, needs cmake and nasm to build (DEPENDENCIES.md)"
)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &'static str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError::Tls {
        what,
        problem: problem.to_string(),
    }
}

/// Every certificate in `pem`; at least one.
fn certificates(
    what: &'static str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(what, format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(tls_error(what, "no \"BEGIN CERTIFICATE\" block"));
    }
    Ok(certs)
}

/// The first private key in `pem` (PKCS#8, PKCS#1 or SEC1). The key's bytes never reach the
/// error.
fn private_key(what: &'static str, pem: &[u8]) -> Result<PrivateKeyDer<'static>, ConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            tls_error(what, "no \"BEGIN ... PRIVATE KEY\" block")
        }
        _ => tls_error(what, "not a PEM private key"),
    })
}

impl ClientTls {
    /// Trusts the CA certificates in `ca_pem` (or, with `None`, the operating system's root
    /// certificates) and presents `client` (certificate chain PEM, private key PEM) when the
    /// broker asks for one.
    pub fn from_pem(
        ca_pem: Option<&[u8]>,
        client: Option<(&[u8], &[u8])>,
    ) -> Result<ClientTls, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        match ca_pem {
            Some(pem) => {
                for cert in certificates("CA file", pem)? {
                    roots
                        .add(cert)
                        .map_err(|e| tls_error("CA file", format!("unusable certificate: {e}")))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(tls_error(
                        "system root certificates",
                        "none found: give a CA file (the broker's CA certificate)",
                    ));
                }
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS setup", e))?
            .with_root_certificates(roots);
        let config = match client {
            Some((cert_pem, key_pem)) => {
                let chain = certificates("client certificate", cert_pem)?;
                let key = private_key("client key", key_pem)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| tls_error("client certificate and key", e))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(ClientTls::Config(Arc::new(config)))
    }

    /// The rustls configuration, loading the system's roots for [`ClientTls::SystemRoots`].
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
        match self {
            ClientTls::Config(c) => Ok(c.clone()),
            ClientTls::SystemRoots => match ClientTls::from_pem(None, None)? {
                ClientTls::Config(c) => Ok(c),
                ClientTls::SystemRoots => unreachable!("from_pem builds a configuration"),
            },
        }
    }
}

/// The embedded broker's TLS listener: its certificate chain and key.
#[cfg(feature = "embedded-broker")]
#[derive(Clone)]
pub struct ServerTls(pub(crate) Arc<rustls::ServerConfig>);

#[cfg(feature = "embedded-broker")]
impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls(..)")
    }
}

#[cfg(feature = "embedded-broker")]
impl ServerTls {
    /// The broker's certificate chain (PEM, its own certificate first) and private key (PEM).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerTls, ConfigError> {
        let chain = certificates("broker certificate", cert_pem)?;
        let key = private_key("broker key", key_pem)?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS setup", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| tls_error("broker certificate and key", e))?;
        Ok(ServerTls(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_problems_are_named_and_never_quote_the_key() {
        let e = ClientTls::from_pem(Some(b"nonsense"), None).unwrap_err();
        assert_eq!(e.to_string(), "CA file: no \"BEGIN CERTIFICATE\" block");
        let key =
            b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n";
        let e = private_key("client key", &key[..40])
            .unwrap_err()
            .to_string();
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }
}
