//! TLS for MQTT: the client side of `mqtts://` ([`ClientTls`]) through native-tls (OpenSSL
//! on Linux), and the embedded broker's TLS listener ([`ServerTls`]) with rustls and its `ring`
//! provider (aws-lc-rs would need cmake and nasm). Not rumqttc's `use-rustls`: it pins
//! rustls-webpki 0.102 (advisories without a fix) and rustls-pemfile (unmaintained).
//! Certificates and keys come in as PEM text, read with rustls-pki-types; droverd reads the
//! files.

use native_tls::{Certificate, Identity, Protocol, TlsConnector};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::ConfigError;

/// Which servers a TLS session trusts, and the client certificate it presents, if any.
#[derive(Clone)]
pub enum ClientTls {
    /// The operating system's root certificates (`mqtts://` without a CA file), loaded when
    /// the session starts.
    SystemRoots,
    /// A connector built by [`ClientTls::from_pem`].
    Connector {
        /// The native-tls (OpenSSL) connector.
        connector: TlsConnector,
        /// Whether it presents a client certificate.
        client_cert: bool,
    },
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientTls::SystemRoots => f.write_str("SystemRoots"),
            ClientTls::Connector { client_cert, .. } => f
                .debug_struct("Connector")
                .field("client_cert", client_cert)
                .finish_non_exhaustive(),
        }
    }
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
        rustls_pki_types::pem::Error::NoItemsFound => {
            tls_error(what, "no \"BEGIN ... PRIVATE KEY\" block")
        }
        _ => tls_error(what, "not a PEM private key"),
    })
}

/// The client certificate chain (PEM, its own certificate first) and its private key (PEM,
/// PKCS#8, PKCS#1 or SEC1) as a native-tls identity. native-tls takes PKCS#8 PEM only, so the
/// key goes through OpenSSL once to become that.
fn identity(cert_pem: &[u8], key_pem: &[u8]) -> Result<Identity, ConfigError> {
    certificates("client certificate", cert_pem)?;
    let key = private_key("client key", key_pem)?;
    // OpenSSL's own error names the key's format problem, never its bytes.
    let pkcs8 = openssl::pkey::PKey::private_key_from_der(key.secret_der())
        .and_then(|k| k.private_key_to_pem_pkcs8())
        .map_err(|e| {
            tls_error(
                "client key",
                format!("unusable key: {}", openssl_reasons(&e.to_string())),
            )
        })?;
    Identity::from_pkcs8(cert_pem, &pkcs8).map_err(|e| {
        tls_error(
            "client certificate and key",
            openssl_reasons(&e.to_string()),
        )
    })
}

/// The reasons in an OpenSSL error text ("error:0A000086:SSL routines:func:reason:file:line:"
/// for each error, joined by ", "), without codes, functions, file names and line numbers;
/// the text itself when it has none.
pub(crate) fn openssl_reasons(text: &str) -> String {
    let reasons: Vec<&str> = text
        .split("error:")
        .skip(1)
        .filter_map(|e| e.split(':').nth(3))
        .filter(|r| !r.is_empty())
        .collect();
    if reasons.is_empty() {
        text.to_string()
    } else {
        reasons.join(", ")
    }
}

impl ClientTls {
    /// Trusts the CA certificates in `ca_pem` only (or, with `None`, the operating system's
    /// root certificates) and presents `client` (certificate chain PEM, private key PEM) when
    /// the broker asks for one. TLS 1.2 at least.
    pub fn from_pem(
        ca_pem: Option<&[u8]>,
        client: Option<(&[u8], &[u8])>,
    ) -> Result<ClientTls, ConfigError> {
        let mut builder = TlsConnector::builder();
        builder.min_protocol_version(Some(Protocol::Tlsv12));
        if let Some(pem) = ca_pem {
            builder.disable_built_in_roots(true);
            for cert in certificates("CA file", pem)? {
                let cert = Certificate::from_der(&cert).map_err(|e| {
                    tls_error(
                        "CA file",
                        format!("unusable certificate: {}", openssl_reasons(&e.to_string())),
                    )
                })?;
                builder.add_root_certificate(cert);
            }
        }
        if let Some((cert_pem, key_pem)) = client {
            builder.identity(identity(cert_pem, key_pem)?);
        }
        // OpenSSL checks here that the key belongs to the certificate.
        let what = if client.is_some() {
            "client certificate and key"
        } else {
            "TLS setup"
        };
        let connector = builder
            .build()
            .map_err(|e| tls_error(what, openssl_reasons(&e.to_string())))?;
        Ok(ClientTls::Connector {
            connector,
            client_cert: client.is_some(),
        })
    }

    /// Whether it presents a client certificate.
    pub(crate) fn client_cert(&self) -> bool {
        matches!(
            self,
            ClientTls::Connector {
                client_cert: true,
                ..
            }
        )
    }

    /// The native-tls connector, built with the system's roots for [`ClientTls::SystemRoots`].
    pub(crate) fn connector(&self) -> Result<TlsConnector, ConfigError> {
        match self {
            ClientTls::Connector { connector, .. } => Ok(connector.clone()),
            ClientTls::SystemRoots => match ClientTls::from_pem(None, None)? {
                ClientTls::Connector { connector, .. } => Ok(connector),
                ClientTls::SystemRoots => unreachable!("from_pem builds a connector"),
            },
        }
    }
}

/// The embedded broker's TLS listener: its certificate chain and key.
#[cfg(feature = "embedded-broker")]
#[derive(Clone)]
pub struct ServerTls(pub(crate) std::sync::Arc<rustls::ServerConfig>);

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
        /// rustls's ring provider: TLS 1.2 and 1.3 with X25519, P-256 and P-384 key exchange.
        #[allow(
            deprecated,
            reason = "rustls 0.23.48 deprecates ring for lacking post-quantum key exchange; \
                      aws-lc-rs, which has it, needs cmake and nasm to build (DEPENDENCIES.md)"
        )]
        fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
            std::sync::Arc::new(rustls::crypto::ring::default_provider())
        }

        let chain = certificates("broker certificate", cert_pem)?;
        let key = private_key("broker key", key_pem)?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS setup", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| tls_error("broker certificate and key", e))?;
        Ok(ServerTls(std::sync::Arc::new(config)))
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
        // Well-formed PEM, but no key inside: OpenSSL's reason, not the bytes.
        let cert = b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n";
        let e = ClientTls::from_pem(None, Some((cert, key)))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("client key: unusable key"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }

    #[test]
    fn openssl_errors_are_cut_to_their_reasons() {
        let text = "error:0A000086:SSL routines:tls_post_process_server_certificate:\
                    certificate verify failed:../ssl/statem/statem_clnt.c:1889:";
        assert_eq!(openssl_reasons(text), "certificate verify failed");
        let two = "error:0A00045C:SSL routines::tlsv13 alert certificate required:\
                   ssl/record/rec_layer_s3.c:1605:SSL alert number 116, error:05800074:\
                   x509 certificate routines::key values mismatch:x.c:1:";
        assert_eq!(
            openssl_reasons(two),
            "tlsv13 alert certificate required, key values mismatch"
        );
        assert_eq!(openssl_reasons("unexpected EOF"), "unexpected EOF");
    }

    /// Client keys in PKCS#8, PKCS#1 (RSA) and SEC1 (EC) all work; a key of another
    /// certificate is refused when the configuration is built.
    #[test]
    fn client_keys_in_each_pem_format_and_a_mismatch() {
        let dir = std::env::temp_dir().join(format!("drover-tls-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let certs = crate::test_certs::TestCerts::generate(&dir).unwrap();
        let read = |p: &std::path::Path| std::fs::read(p).unwrap();
        let ca = read(&certs.ca);
        let cert = read(&certs.client_cert);
        let pkcs8 = read(&certs.client_key);
        assert!(pkcs8.starts_with(b"-----BEGIN PRIVATE KEY-----"));
        ClientTls::from_pem(Some(&ca), Some((&cert, &pkcs8))).unwrap();
        let sec1 = openssl::pkey::PKey::private_key_from_pem(&pkcs8)
            .unwrap()
            .ec_key()
            .unwrap()
            .private_key_to_pem()
            .unwrap();
        assert!(sec1.starts_with(b"-----BEGIN EC PRIVATE KEY-----"));
        ClientTls::from_pem(Some(&ca), Some((&cert, &sec1))).unwrap();
        // An RSA certificate with its PKCS#1 key.
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let pkey = openssl::pkey::PKey::from_rsa(rsa.clone()).unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "rsa-client").unwrap();
        let name = name.build();
        let mut x = openssl::x509::X509Builder::new().unwrap();
        x.set_subject_name(&name).unwrap();
        x.set_issuer_name(&name).unwrap();
        x.set_pubkey(&pkey).unwrap();
        x.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        x.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        x.sign(&pkey, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let rsa_cert = x.build().to_pem().unwrap();
        let pkcs1 = rsa.private_key_to_pem().unwrap();
        assert!(pkcs1.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
        ClientTls::from_pem(Some(&ca), Some((&rsa_cert, &pkcs1))).unwrap();
        // The broker's key with the client's certificate.
        let e = ClientTls::from_pem(Some(&ca), Some((&cert, &read(&certs.server_key))))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("client certificate and key: "), "{e}");
        assert!(e.contains("mismatch"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
