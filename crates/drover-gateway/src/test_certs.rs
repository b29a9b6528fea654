//! Throwaway certificates for TLS tests (feature `mosquitto`, and this crate's tests), made
//! with the `openssl` command: a CA, a broker certificate it signed for `127.0.0.1` and
//! `localhost`, a client certificate it signed, and a second CA that signed nothing here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

/// PEM files in one folder.
#[derive(Clone, Debug)]
pub struct TestCerts {
    /// The CA that signed the broker's and the client's certificates.
    pub ca: PathBuf,
    /// A CA that signed neither.
    pub other_ca: PathBuf,
    /// The broker's certificate (for `127.0.0.1` and `localhost`).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate (common name `droverd`).
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

/// Runs `openssl` with `args` (split at spaces) in `dir`; the error quotes openssl's stderr.
fn openssl(dir: &Path, args: &str) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running openssl (apt-get install openssl)")?;
    anyhow::ensure!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

const NEW_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc";

/// A self-signed CA certificate and key, `name.crt` and `name.key`.
fn ca(dir: &Path, name: &str) -> anyhow::Result<()> {
    openssl(
        dir,
        &format!(
            "req -x509 {NEW_KEY} -keyout {name}.key -out {name}.crt -days 2 \
             -subj /CN=drover-test-{name} -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
    )
}

/// `name.crt` and `name.key` for `subject`, signed by `ca.crt`, with the extensions in `ext`.
fn leaf(dir: &Path, name: &str, subject: &str, ext: &str) -> anyhow::Result<()> {
    std::fs::write(dir.join(format!("{name}.ext")), ext)?;
    openssl(
        dir,
        &format!("req {NEW_KEY} -keyout {name}.key -out {name}.csr -subj {subject}"),
    )?;
    openssl(
        dir,
        &format!(
            "x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
             -out {name}.crt -days 2 -extfile {name}.ext"
        ),
    )
}

impl TestCerts {
    /// Writes them into `dir` (which must exist).
    pub fn generate(dir: &Path) -> anyhow::Result<TestCerts> {
        ca(dir, "ca")?;
        ca(dir, "other-ca")?;
        leaf(
            dir,
            "server",
            "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )?;
        leaf(
            dir,
            "client",
            "/CN=droverd",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        )?;
        Ok(TestCerts {
            ca: dir.join("ca.crt"),
            other_ca: dir.join("other-ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
        })
    }
}
