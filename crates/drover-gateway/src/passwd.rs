//! Who may log in to the embedded broker: [`Users`], read from a mosquitto password file
//! (`mosquitto_passwd`: PBKDF2-SHA512 `$7$` or salted SHA-512 `$6$` lines, so one file serves
//! both brokers) plus logins made up in memory (droverd's own, `droverd demo`'s units).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use crate::error::ConfigError;
use crate::secret::{Secret, constant_time_eq};

/// How one user's password is checked.
enum Credential {
    /// Made up in memory.
    Plain(Secret),
    /// mosquitto's `$7$iterations$salt$hash`: PBKDF2-HMAC-SHA512.
    Pbkdf2 {
        iterations: NonZeroU32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// mosquitto's older `$6$salt$hash`: SHA-512 of the password followed by the salt.
    Sha512 { salt: Vec<u8>, hash: Vec<u8> },
}

impl Credential {
    fn check(&self, password: &str) -> bool {
        match self {
            Credential::Plain(secret) => secret.matches(password),
            Credential::Pbkdf2 {
                iterations,
                salt,
                hash,
            } => ring::pbkdf2::verify(
                ring::pbkdf2::PBKDF2_HMAC_SHA512,
                *iterations,
                salt,
                password.as_bytes(),
                hash,
            )
            .is_ok(),
            Credential::Sha512 { salt, hash } => {
                let mut digest = ring::digest::Context::new(&ring::digest::SHA512);
                digest.update(password.as_bytes());
                digest.update(salt);
                constant_time_eq(digest.finish().as_ref(), hash)
            }
        }
    }
}

/// The logins the embedded broker accepts; cheap to clone (the clones share one table, so
/// logins added after the broker started count at once).
#[derive(Clone, Default)]
pub struct Users(Arc<RwLock<HashMap<String, Credential>>>);

impl std::fmt::Debug for Users {
    /// The user names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let table = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<&String> = table.keys().collect();
        names.sort();
        f.debug_tuple("Users").field(&names).finish()
    }
}

impl Users {
    /// No logins yet (a broker with this table refuses everyone until logins are added).
    pub fn new() -> Users {
        Users::default()
    }

    /// Reads a mosquitto password file: `user:$7$...` or `user:$6$...` lines, `#` comments.
    /// Errors name the line, never its password.
    pub fn from_password_file(text: &str) -> Result<Users, ConfigError> {
        let users = Users::new();
        {
            let mut table = users.0.write().unwrap_or_else(|e| e.into_inner());
            for (k, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let bad = |problem: String| ConfigError::PasswordFile {
                    line: k + 1,
                    problem,
                };
                let (user, hashed) = line
                    .split_once(':')
                    .ok_or_else(|| bad("not user:hash".into()))?;
                let credential = parse_hash(hashed).ok_or_else(|| {
                    bad(format!(
                        "the password of {user:?} is not a mosquitto_passwd hash ($7$ or $6$): \
                         hash the file with mosquitto_passwd -U"
                    ))
                })?;
                table.insert(user.to_string(), credential);
            }
        }
        Ok(users)
    }

    /// Adds (or replaces) a login held in memory.
    pub fn add(&self, user: &str, password: &Secret) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.to_string(), Credential::Plain(password.clone()));
    }

    /// Removes a login.
    pub fn remove(&self, user: &str) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }

    /// Whether `user` may log in with `password`.
    pub fn check(&self, user: &str, password: &str) -> bool {
        let table = self.0.read().unwrap_or_else(|e| e.into_inner());
        table.get(user).is_some_and(|c| c.check(password))
    }

    /// How many logins there are.
    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `$7$iterations$salt$hash` or `$6$salt$hash`, base64.
fn parse_hash(hashed: &str) -> Option<Credential> {
    let parts: Vec<&str> = hashed.split('$').collect();
    match parts.as_slice() {
        ["", "7", iterations, salt, hash] => Some(Credential::Pbkdf2 {
            iterations: iterations.parse().ok()?,
            salt: base64_decode(salt)?,
            hash: base64_decode(hash).filter(|h| !h.is_empty())?,
        }),
        ["", "6", salt, hash] => Some(Credential::Sha512 {
            salt: base64_decode(salt)?,
            hash: base64_decode(hash).filter(|h| h.len() == 64)?,
        }),
        _ => None,
    }
}

/// A password file line for `user` in mosquitto_passwd's own format (`$7$`, 101 iterations of
/// PBKDF2-HMAC-SHA512, a random 12-byte salt), which mosquitto and the embedded broker both
/// read.
pub fn password_file_line(user: &str, password: &Secret) -> String {
    use ring::rand::SecureRandom;
    const ITERATIONS: u32 = 101;
    let mut salt = [0u8; 12];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .expect("the operating system's random source works");
    let mut hash = [0u8; 64];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA512,
        NonZeroU32::new(ITERATIONS).expect("not zero"),
        &salt,
        password.expose().as_bytes(),
        &mut hash,
    );
    format!(
        "{user}:$7${ITERATIONS}${}${}",
        base64_encode(&salt),
        base64_encode(&hash)
    )
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional; `None` on anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Debian's `mosquitto_passwd -b -c FILE du-0001 s3cret` (mosquitto 2.0.11).
    const MOSQUITTO_LINE: &str = "du-0001:$7$101$/JtiXTDE+l0tMca4$g0L96GJghhanABxJLRdEkK2ZV/RGsgxMnWzj4p4NW1qKHqr3Komulm5ow/9sP/cTVj5ziLMJ6JMRBmb85nrDtQ==";

    #[test]
    fn mosquitto_passwd_hashes_check_out() {
        let users = Users::from_password_file(&format!("# robots\n\n{MOSQUITTO_LINE}\n")).unwrap();
        assert!(users.check("du-0001", "s3cret"));
        assert!(!users.check("du-0001", "s3cret "));
        assert!(!users.check("du-0002", "s3cret"));
        assert_eq!(format!("{users:?}"), "Users([\"du-0001\"])");
    }

    #[test]
    fn our_own_lines_check_out_and_differ_by_salt() {
        let pw = Secret::new("correct horse");
        let (a, b) = (
            password_file_line("du-7", &pw),
            password_file_line("du-7", &pw),
        );
        assert_ne!(a, b);
        let users = Users::from_password_file(&a).unwrap();
        assert!(users.check("du-7", "correct horse"));
        assert!(!users.check("du-7", "correct horsE"));
    }

    #[test]
    fn sha512_lines_check_out() {
        let (salt, pw) = (b"0123456789ab", "pw");
        let mut d = ring::digest::Context::new(&ring::digest::SHA512);
        d.update(pw.as_bytes());
        d.update(salt);
        let line = format!(
            "old:$6${}${}",
            base64_encode(salt),
            base64_encode(d.finish().as_ref())
        );
        assert!(Users::from_password_file(&line).unwrap().check("old", "pw"));
    }

    #[test]
    fn a_plain_text_password_is_refused_without_quoting_it() {
        let e = Users::from_password_file("# x\nrobot:hunter2\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("password file line 2:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn memory_logins_come_and_go() {
        let users = Users::new();
        assert!(!users.check("droverd", ""));
        users.add("droverd", &Secret::new("x"));
        assert!(users.clone().check("droverd", "x"));
        users.remove("droverd");
        assert!(users.is_empty());
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..10 {
            let bytes: Vec<u8> = (0..n).map(|k| (k * 37 + 200) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&bytes)), Some(bytes));
        }
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_decode("a*b"), None);
    }
}
