//! Users, passwords (argon2id) and API tokens (stored as SHA-256 hashes).

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use password_hash::rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::text::{DisplayName, TokenName};
use crate::{Timestamp, TokenId, UserId, ValidationError};

/// A login name: 2–32 characters, lower-case ASCII letters, digits, `.`, `_` and `-`, starting
/// with a letter. Input is lower-cased, so `Alice` and `alice` are the same user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Username(String);
serialize_as_str!(Username);

impl Username {
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref().trim().to_ascii_lowercase();
        let err = |m: &str| Err(ValidationError::new("username", m));
        if !(2..=32).contains(&value.len()) {
            return err("must be 2 to 32 characters");
        }
        if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            return err("must start with a letter");
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return err("may contain only letters, digits, '.', '_' and '-'");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, ValidationError> {
        Self::parse(value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> String {
        value.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plaintext password on its way to being hashed or checked. Never printed.
#[derive(Clone)]
pub struct Password(String);

/// Common passwords refused however long they are (`common-passwords.txt`, vendored).
const COMMON: &str = include_str!("common-passwords.txt");

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 1024;

    /// A new password: 12 to 1024 characters, not one character repeated, and not one of the
    /// common passwords of `common-passwords.txt` (compared lower-cased, without spaces).
    /// Checking a password someone types to sign in never goes through here.
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        let n = value.chars().count();
        if n < Self::MIN_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let plain: String = value
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let repeated = plain.chars().all(|c| plain.starts_with(c));
        let common = COMMON
            .lines()
            .filter(|line| !line.starts_with('#'))
            .any(|line| line == plain);
        if repeated || common {
            return Err(ValidationError::new(
                "password",
                "is one of the most common passwords; choose another (a few unrelated words \
                 make a strong one)",
            ));
        }
        Ok(Self(value))
    }

    /// A random 24-character password for first runs and `user create` without one.
    pub fn generate() -> Self {
        Self(random_base62(24))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hashes with argon2id and a fresh random salt.
    pub fn hash(&self) -> PasswordHash {
        let salt = SaltString::generate(&mut OsRng);
        let hash = argon2::Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2 with default parameters cannot fail on a bounded password");
        PasswordHash(hash.to_string())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An argon2id PHC string as stored in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string read back from the database.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time check of a candidate password.
    pub fn verify(&self, candidate: &str) -> bool {
        let Ok(parsed) = argon2::password_hash::PasswordHash::new(&self.0) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    #[serde(skip)]
    pub password_hash: PasswordHash,
    pub is_admin: bool,
    pub is_disabled: bool,
    /// Their time zone, when they chose one; otherwise their browser's is used.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub time_zone: Option<crate::text::TimeZoneName>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: DisplayName,
    pub password_hash: PasswordHash,
    pub is_admin: bool,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<DisplayName>,
    /// A new password ends the user's sessions, all but `keep_session`.
    pub password_hash: Option<PasswordHash>,
    pub is_admin: Option<bool>,
    /// Disabling ends every session of the user.
    pub is_disabled: Option<bool>,
    /// The session that changes its own user's password stays signed in.
    pub keep_session: Option<TokenHash>,
    /// `Some(None)` goes back to the browser's time zone.
    pub time_zone: Option<Option<crate::text::TimeZoneName>>,
}

/// One login attempt, counted before its password is checked so that concurrent guesses
/// cannot slip past the limits.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// The name as typed, trimmed and lowercased (whether or not such a user exists).
    pub username: String,
    /// The client's address, when known.
    pub address: Option<String>,
    pub at: Timestamp,
    /// Failures older than this are forgotten.
    pub window: std::time::Duration,
    /// Past this many failures for the name at the address, attempts are refused and no
    /// longer extend the lock.
    pub user_limit: u32,
    /// The same for the address, under any name.
    pub address_limit: u32,
}

/// Attempts counted within the window, this one included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginCounts {
    pub user: u32,
    pub address: Option<u32>,
}

/// The secret part of an API token, shown to its owner once: `tf_` and 40 base62 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    pub const PREFIX: &'static str = "tf_";

    pub fn generate() -> Self {
        Self(format!("{}{}", Self::PREFIX, random_base62(40)))
    }

    /// Accepts a token presented by a client; anything not shaped like a token is refused
    /// before it reaches the database.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix(Self::PREFIX)?;
        (rest.len() == 40 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Tokens carry 238 bits of entropy, so a fast hash is enough to keep them safe at rest.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// The hex SHA-256 of a token secret, the only form stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: TokenName,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: UserId,
    pub name: TokenName,
    pub hash: TokenHash,
    pub expires_at: Option<Timestamp>,
}

/// A signed-in browser. The cookie holds a `TokenSecret`; the store keeps its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: crate::SessionId,
    pub user_id: UserId,
    /// Sent back by the UI in `X-CSRF-Token` on every unsafe request.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub user_id: UserId,
    pub hash: TokenHash,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// A random token for CSRF protection: 32 base62 characters.
pub fn csrf_token() -> String {
    random_base62(32)
}

fn random_base62(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut buf = [0u8; 64];
        OsRng.fill_bytes(&mut buf);
        // Rejection sampling keeps every character equally likely.
        for b in buf {
            if (b as usize) < ALPHABET.len() * 4 && out.len() < len {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        for bad in ["a", "1abc", "al ice", "ali/ce", &"a".repeat(33), "élodie"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn new_passwords_are_long_and_not_common() {
        for weak in [
            "short pass",
            "password1234",
            "Password 1234",
            "QWERTY123456",
            "correct horse battery staple",
            "zzzzzzzzzzzzzzzz",
        ] {
            let err = Password::parse(weak).err();
            assert!(err.is_some(), "{weak:?} was accepted");
        }
        assert!(
            Password::parse("eleven char")
                .unwrap_err()
                .message
                .contains("at least 12 characters")
        );
        assert!(
            Password::parse("password1234")
                .unwrap_err()
                .message
                .contains("most common")
        );
        for fine in ["glacier marmot teapot", "twelve chars", "Tr0ub4dor&3xx"] {
            assert!(Password::parse(fine).is_ok(), "{fine:?} was refused");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let pw = Password::parse("correct horse").unwrap();
        let hash = pw.hash();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify("correct horse"));
        assert!(!hash.verify("wrong horse"));
        assert_ne!(pw.hash(), hash, "salts must differ");
        assert!(!format!("{pw:?}{hash:?}").contains("horse"));
    }

    #[test]
    fn token_secrets_parse_and_hash() {
        let secret = TokenSecret::generate();
        assert_eq!(TokenSecret::parse(secret.expose()), Some(secret.clone()));
        assert_eq!(secret.hash().as_str().len(), 64);
        assert!(TokenSecret::parse("tf_short").is_none());
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }

    proptest! {
        #[test]
        fn parsed_usernames_are_canonical(s in "[A-Za-z0-9._ -]{0,40}") {
            if let Ok(name) = Username::parse(&s) {
                prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name.clone());
                prop_assert!(name.as_str().len() >= 2 && name.as_str().len() <= 32);
            }
        }
    }
}
