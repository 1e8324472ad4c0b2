//! Passwords: the policy a new password must meet, the password someone types to prove who
//! they are, and the argon2id hash that is all the database ever sees.
//!
//! Hashing and verifying are CPU-bound and slow on purpose; callers on the async runtime go
//! through [`crate::credentials`], which moves them to the blocking pool.

use std::fmt;

use argon2::{
    Argon2,
    password_hash::{self, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use shop_contracts::text_newtype;
use utoipa::ToSchema;

use super::Email;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = shop_contracts::identity::MAX_PASSWORD_CHARS;
/// Shorter local parts (`a@…`) would rule out half of all passwords for a negligible gain.
const MIN_LOCAL_PART_TO_CHECK: usize = 3;

/// Passwords long enough to pass the length rule that are still among the first guesses of any
/// attacker. Lower-case; compared case-insensitively.
const COMMON: &[&str] = &[
    "0000000000",
    "0123456789",
    "0987654321",
    "1111111111",
    "1122334455",
    "1234512345",
    "1234567890",
    "12345678910",
    "123456789a",
    "123456789q",
    "123123123123",
    "1234qwerasdf",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "a123456789",
    "aaaaaaaaaa",
    "abc1234567",
    "abcdefghij",
    "abcd123456",
    "admin12345",
    "administrator",
    "asdfghjkl1",
    "baseball123",
    "changeme123",
    "football123",
    "iloveyou123",
    "letmein123",
    "monkey12345",
    "p@ssw0rd123",
    "passw0rd123",
    "password12",
    "password123",
    "password1234",
    "password12345",
    "passwordpassword",
    "princess123",
    "q1w2e3r4t5",
    "qazwsxedcrfv",
    "qwerty12345",
    "qwerty123456",
    "qwertyuiop",
    "qwertyuiop123",
    "sunshine123",
    "superman123",
    "trustno1234",
    "welcome123",
    "zxcvbnm123",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("is one of the most common passwords; choose another")]
    Common,
    #[error("must not contain the name part of your e-mail address")]
    ContainsEmail,
    #[error("must not be empty")]
    Empty,
    #[error("must not be only spaces")]
    OnlyWhitespace,
}

/// A new password that meets the policy (except the check against the e-mail address, which
/// needs the other field: [`Password::check_against`]). Never trimmed; never printed.
#[derive(Clone, ToSchema)]
#[schema(value_type = String, format = Password, min_length = 10, max_length = 128)]
pub struct Password(String);

impl Password {
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let length = input.chars().count();
        if length < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        if input.trim().is_empty() {
            return Err(PasswordError::OnlyWhitespace);
        }
        let lower = input.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err(PasswordError::Common);
        }
        Ok(Self(input.to_owned()))
    }

    /// The cross-field rule: a password must not contain its owner's e-mail local part.
    pub fn check_against(&self, email: &Email) -> Result<(), PasswordError> {
        let local = email.local_part().to_lowercase();
        if local.chars().count() >= MIN_LOCAL_PART_TO_CHECK && self.0.to_lowercase().contains(&local) {
            return Err(PasswordError::ContainsEmail);
        }
        Ok(())
    }
}

text_newtype!(secret Password, PasswordError);

/// A password typed to prove identity: no policy (it may predate the current one), only
/// bounds so nobody can make the server hash a megabyte.
#[derive(Clone, ToSchema)]
#[schema(value_type = String, format = Password, min_length = 1, max_length = 128)]
pub struct PasswordAttempt(String);

impl PasswordAttempt {
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        match input.chars().count() {
            0 => Err(PasswordError::Empty),
            n if n > MAX_LENGTH => Err(PasswordError::TooLong),
            _ => Ok(Self(input.to_owned())),
        }
    }
}

text_newtype!(secret PasswordAttempt, PasswordError);

/// An argon2id hash in PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
#[derive(Clone, PartialEq, Eq)]
pub struct HashedPassword(String);

/// The hash of a password nobody knows, made with the same parameters as real hashes. Checking
/// an attempt against it for unknown e-mail addresses makes "no such account" take as long as
/// "wrong password", so response times do not reveal which accounts exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$DaOlbOdNFREMmnp3KLTHWQ$UatxIKnxVGe0kx1cDBucA+iL7s0+YChC0WpQzT3KQno";

impl HashedPassword {
    /// Hashes `password` with a fresh random salt. Slow on purpose: keep it off the async runtime.
    pub fn new(password: &Password) -> anyhow::Result<Self> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))?;
        Ok(Self(hash.to_string()))
    }

    /// A hash read back from the database.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn dummy() -> Self {
        Self(DUMMY_HASH.to_owned())
    }

    /// Whether `attempt` is the password this is the hash of. Slow on purpose, like [`Self::new`].
    pub fn verify(&self, attempt: &PasswordAttempt) -> anyhow::Result<bool> {
        let parsed = password_hash::PasswordHash::new(&self.0)
            .map_err(|e| anyhow::anyhow!("stored password hash is not a PHC string: {e}"))?;
        match Argon2::default().verify_password(attempt.expose_secret().as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(password_hash::Error::Password) => Ok(false),
            Err(e) => Err(anyhow::anyhow!("cannot verify password: {e}")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HashedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    fn attempt(s: &str) -> PasswordAttempt {
        PasswordAttempt::parse(s).unwrap()
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(Password::parse("short-pw!").unwrap_err(), PasswordError::TooShort);
        assert!(Password::parse("ten-chars!").is_ok());
        assert!(Password::parse(&"é".repeat(MAX_LENGTH)).is_ok());
        assert_eq!(
            Password::parse(&"é".repeat(MAX_LENGTH + 1)).unwrap_err(),
            PasswordError::TooLong
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["password123", "PassWord123", "1234567890", "QWERTYUIOP"] {
            assert_eq!(Password::parse(common).unwrap_err(), PasswordError::Common, "{common}");
        }
        assert!(
            COMMON
                .iter()
                .all(|p| p.chars().count() >= MIN_LENGTH && p.to_lowercase() == *p)
        );
    }

    #[test]
    fn a_password_of_only_spaces_is_refused() {
        assert_eq!(
            Password::parse(&" ".repeat(12)).unwrap_err(),
            PasswordError::OnlyWhitespace
        );
        assert_eq!(
            Password::parse(&"\u{3000}".repeat(12)).unwrap_err(),
            PasswordError::OnlyWhitespace
        );
    }

    #[test]
    fn passwords_are_not_trimmed() {
        assert_eq!(
            Password::parse("  padded pw  ").unwrap().expose_secret(),
            "  padded pw  "
        );
    }

    #[test]
    fn a_password_must_not_contain_the_email_local_part() {
        let ada = email("Ada.Lovelace@example.com");
        let password = Password::parse("my-ada.lovelace-pw").unwrap();
        assert_eq!(password.check_against(&ada), Err(PasswordError::ContainsEmail));
        assert!(
            Password::parse("correct horse battery")
                .unwrap()
                .check_against(&ada)
                .is_ok()
        );
        // Too short a local part to be worth refusing.
        assert!(
            Password::parse("a-perfectly-fine-pw")
                .unwrap()
                .check_against(&email("a@b.io"))
                .is_ok()
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::parse("s3cret-horse-staple").unwrap();
        assert!(!format!("{password:?}").contains("s3cret"));
        assert!(!format!("{:?}", attempt("s3cret-horse-staple")).contains("s3cret"));
    }

    #[test]
    fn attempts_are_only_bounded() {
        assert!(PasswordAttempt::parse("x").is_ok());
        assert_eq!(PasswordAttempt::parse("").unwrap_err(), PasswordError::Empty);
        assert_eq!(
            PasswordAttempt::parse(&"x".repeat(MAX_LENGTH + 1)).unwrap_err(),
            PasswordError::TooLong
        );
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify_only_the_right_password() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = HashedPassword::new(&password).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(!hash.as_str().contains("correct horse"));
        assert_ne!(
            hash,
            HashedPassword::new(&password).unwrap(),
            "same password, different salt"
        );
        assert!(hash.verify(&attempt("correct horse battery")).unwrap());
        assert!(!hash.verify(&attempt("correct horse battery ")).unwrap());
    }

    #[test]
    fn the_dummy_hash_costs_the_same_as_a_real_one() {
        let dummy = password_hash::PasswordHash::new(DUMMY_HASH).unwrap();
        let dummy_params = argon2::Params::try_from(&dummy).unwrap();
        let real = Argon2::default();
        assert_eq!(dummy.algorithm, argon2::Algorithm::Argon2id.ident());
        assert_eq!(dummy.version, Some(argon2::Version::V0x13.into()));
        let cost = |p: &argon2::Params| (p.m_cost(), p.t_cost(), p.p_cost());
        assert_eq!(cost(&dummy_params), cost(real.params()));
        assert!(!HashedPassword::dummy().verify(&attempt("anything at all")).unwrap());
    }

    #[test]
    fn a_corrupt_stored_hash_is_an_error_not_a_mismatch() {
        assert!(
            HashedPassword::from_stored("plain text".into())
                .verify(&attempt("plain text"))
                .is_err()
        );
    }
}
