//! Secrets and their checks: Argon2id password hashes, random API tokens and session ids
//! kept only as SHA-256, and the rules for names and passwords.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every API token starts with this, so that a leaked one is recognized by scanners and
/// people alike.
pub const TOKEN_PREFIX: &str = "ncp_";

/// Random bytes in a token and in a session id (256 bits).
const SECRET_BYTES: usize = 32;

/// Length of a token: the prefix and the hex of its random bytes.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 2 * SECRET_BYTES;

/// Length of a session id: the hex of its random bytes.
pub const SESSION_ID_LEN: usize = 2 * SECRET_BYTES;

/// Shortest and longest password accepted (in characters; bytes for the upper bound,
/// which bounds the hashing work a sign-in can cause).
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Longest user or token name.
pub const MAX_NAME_CHARS: usize = 64;

/// Argon2id with OWASP's first recommended parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    // Constant parameters within the crate's limits: `new` cannot fail with them.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of `password`, with a
/// random salt. Slow on purpose (tens of milliseconds): call it off the async workers.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// Whether `password` matches `stored` (a PHC string). A malformed `stored` matches
/// nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// Checks `password` against the hash of a password nobody has, taking the time a real
/// check takes: a sign-in for an unknown user is as slow as one with a wrong password,
/// so the time does not tell which names exist.
pub fn verify_nobody(password: &str) {
    static NOBODY: OnceLock<String> = OnceLock::new();
    let stored = NOBODY.get_or_init(|| {
        hash_password(&random_hex()).unwrap_or_else(|_| String::from("$argon2id$"))
    });
    let _ = verify_password(password, stored);
}

/// 256 random bits from the operating system, as lower-case hex.
fn random_hex() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    // The OS random source failing is not something to go on without.
    #[allow(clippy::expect_used)]
    getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
    hex::encode(bytes)
}

/// A new API token: `ncp_` and 64 hex digits.
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_hex())
}

/// A new session id for the cookie: 64 hex digits.
pub fn new_session_id() -> String {
    random_hex()
}

/// What is stored of a token or session id: its SHA-256, lower-case hex.
pub fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two fingerprints in constant time.
pub fn same_fingerprint(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Whether `text` has the shape of a token (so that garbage costs no database lookup).
pub fn looks_like_token(text: &str) -> bool {
    text.len() == TOKEN_LEN
        && text.starts_with(TOKEN_PREFIX)
        && text[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

/// Whether `text` has the shape of a session id.
pub fn looks_like_session_id(text: &str) -> bool {
    text.len() == SESSION_ID_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A user or token name in its stored form (lower case), or why it is not acceptable:
/// 1 to 64 of `a-z 0-9 . _ @ -`, starting with a letter or digit.
pub fn normalize_name(name: &str) -> Result<String, String> {
    let lower = name.trim().to_lowercase();
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._@-".contains(c);
    if lower.is_empty() || lower.chars().count() > MAX_NAME_CHARS {
        return Err(format!("a name has 1 to {MAX_NAME_CHARS} characters"));
    }
    if !lower.chars().all(valid_char) || !lower.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{name:?} is not a valid name: use letters, digits and . _ @ - (starting with a \
             letter or digit)"
        ));
    }
    Ok(lower)
}

/// Why `password` is not acceptable, if it is not.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password must have at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        // A new salt each time.
        assert_ne!(hash, hash_password("correct horse").unwrap());
    }

    #[test]
    fn tokens_and_session_ids_are_random_and_recognizable() {
        let token = new_token();
        assert!(looks_like_token(&token), "{token}");
        assert_ne!(token, new_token());
        assert!(!looks_like_token("ncp_short"));
        assert!(!looks_like_token(&token.replace("ncp_", "xyz_")));
        assert!(looks_like_session_id(&new_session_id()));
        assert!(!looks_like_session_id(&token));
        let print = fingerprint(&token);
        assert_eq!(print.len(), 64);
        assert!(same_fingerprint(&print, &fingerprint(&token)));
        assert!(!same_fingerprint(&print, &fingerprint(&new_token())));
    }

    #[test]
    fn names_are_lower_case_and_plain() {
        assert_eq!(normalize_name(" Alice ").unwrap(), "alice");
        assert_eq!(
            normalize_name("ops@venue.example").unwrap(),
            "ops@venue.example"
        );
        assert_eq!(normalize_name("prometheus-1").unwrap(), "prometheus-1");
        for bad in ["", "-x", "a b", "é", "a/b", &"a".repeat(65)] {
            assert!(normalize_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(1025)).is_err());
    }
}
