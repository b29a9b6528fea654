//! Why a piece of the broker configuration was refused.

/// Why a broker URL, a TLS certificate or key, or a password file was refused. No variant
/// carries a password or key material.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The broker URL is malformed; `url` has its password replaced by `***`.
    #[error("broker url {url}: {problem}")]
    Url {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A PEM certificate or key is unusable.
    #[error("{what}: {problem}")]
    Tls {
        /// Which one: "CA file", "client certificate", "broker key", ...
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A line of a password file is malformed.
    #[error("password file line {line}: {problem}")]
    PasswordFile {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it (never the password).
        problem: String,
    },
}
