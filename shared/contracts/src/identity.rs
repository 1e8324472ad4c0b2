//! The caller's identity as services receive it: a short-lived token signed by the gateway.
//!
//! Format: `v1.<payload>.<signature>`, where payload is the base64url (no padding) JSON of
//! [`Claims`] and signature is the base64url HMAC-SHA256 of `v1.<payload>` under a key shared
//! by the gateway and the services. Services never trust a bare user-id header: a token that
//! is missing, malformed, forged or expired identifies nobody.
//!
//! A service calling another's internal endpoints (the gateway asking the user service to
//! check a password) sends a *service token* in the same header: `s1.<payload>.<signature>`,
//! naming the calling service. The prefix is signed too, so neither kind of token passes for
//! the other: a user's token never opens an internal endpoint, a service token never acts as
//! a user.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

/// The request header that carries the token from the gateway to a service.
pub const IDENTITY_HEADER: &str = "x-shop-identity";

const VERSION: &str = "v1";
const SERVICE_VERSION: &str = "s1";
/// Longer tokens are rejected before any decoding work is done.
const MAX_TOKEN_LEN: usize = 2048;
/// The longest a token may still be valid, in seconds: the hour of `shop token`, the
/// longest-lived token anything mints (the gateway's live `IDENTITY_TOKEN_TTL_SECONDS`). A
/// token expiring later (a leaked or forged-with-a-leaked-key one, say) is refused.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 = 3600;
/// HMAC-SHA256 keys shorter than the hash output weaken the signature.
pub const MIN_KEY_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Who is calling: verified, never taken from an unsigned header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

impl Identity {
    pub fn new(user_id: Uuid, roles: Vec<Role>) -> Self {
        Self { user_id, roles }
    }

    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }
}

/// Longest password anyone may set or type, in characters (not bytes): the user service's
/// rule, which the gateway's sign-in applies before it asks.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Internal route of the user service that checks an email and password: the sign-in the
/// gateway performs before it mints tokens. Never exposed through the gateway.
pub const VERIFY_CREDENTIALS_PATH: &str = "/internal/credentials/verify";

/// The user service's answer to a successful credential check: whose credentials they were,
/// and the roles to put in their identity token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifiedCredentials {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

impl From<VerifiedCredentials> for Identity {
    fn from(verified: VerifiedCredentials) -> Self {
        Identity::new(verified.user_id, verified.roles)
    }
}

/// Response header by which the user service tells the gateway to end a user's sessions,
/// because their password or roles changed. The gateway acts on it and never passes it on.
pub const END_SESSIONS_HEADER: &str = "x-shop-end-sessions";

/// The value of [`END_SESSIONS_HEADER`]: `<user id>` ends every session of the user,
/// `<user id>; keep-current` all but the session the request came with (a password change
/// keeps its author signed in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndSessions {
    pub user_id: Uuid,
    pub keep_current: bool,
}

const KEEP_CURRENT: &str = "; keep-current";

impl EndSessions {
    pub fn header_value(&self) -> String {
        let keep = if self.keep_current { KEEP_CURRENT } else { "" };
        format!("{}{keep}", self.user_id)
    }

    pub fn parse(value: &str) -> Option<Self> {
        let (user_id, keep_current) = match value.strip_suffix(KEEP_CURRENT) {
            Some(user_id) => (user_id, true),
            None => (value, false),
        };
        Some(Self {
            user_id: user_id.parse().ok()?,
            keep_current,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    roles: Vec<Role>,
    /// Expiry, seconds since the Unix epoch.
    exp: i64,
}

#[derive(Serialize, Deserialize)]
struct ServiceClaims {
    /// The calling service, e.g. `gateway`.
    service: String,
    exp: i64,
}

/// When a token expires, in seconds since the Unix epoch.
trait Expiring {
    fn exp(&self) -> i64;
}

impl Expiring for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Expiring for ServiceClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("identity token is malformed")]
    Malformed,
    #[error("identity token signature is invalid")]
    BadSignature,
    #[error("identity token has expired")]
    Expired,
    #[error("identity token is valid for longer than the longest lifetime a token may have")]
    TooLong,
}

#[derive(Debug, thiserror::Error)]
#[error("identity key must be at least {MIN_KEY_LEN} bytes")]
pub struct KeyTooShort;

/// The shared secret that signs and verifies identity tokens.
#[derive(Clone)]
pub struct IdentityKey(Vec<u8>);

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityKey(<redacted>)")
    }
}

impl IdentityKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, KeyTooShort> {
        let secret = secret.as_ref();
        if secret.len() < MIN_KEY_LEN {
            return Err(KeyTooShort);
        }
        Ok(Self(secret.to_vec()))
    }

    /// Whether this key is made of `secret` (to recognise a well-known key).
    pub fn has_secret(&self, secret: &str) -> bool {
        self.0 == secret.as_bytes()
    }

    /// A token for `identity` valid for `ttl` from now.
    pub fn mint(&self, identity: &Identity, ttl: Duration) -> String {
        self.mint_expiring_at(identity, Utc::now() + ttl)
    }

    pub fn mint_expiring_at(&self, identity: &Identity, expires_at: DateTime<Utc>) -> String {
        let claims = Claims {
            sub: identity.user_id,
            roles: identity.roles.clone(),
            exp: expires_at.timestamp(),
        };
        self.sign(VERSION, &claims)
    }

    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        self.verify_at(token, Utc::now())
    }

    pub fn verify_at(&self, token: &str, now: DateTime<Utc>) -> Result<Identity, TokenError> {
        let claims: Claims = self.open(VERSION, token, now)?;
        Ok(Identity::new(claims.sub, claims.roles))
    }

    /// A service token for the calling service `service`, valid for `ttl` from now.
    pub fn mint_service(&self, service: &str, ttl: Duration) -> String {
        let claims = ServiceClaims {
            service: service.to_owned(),
            exp: (Utc::now() + ttl).timestamp(),
        };
        self.sign(SERVICE_VERSION, &claims)
    }

    /// The name of the service a service token was minted for.
    pub fn verify_service(&self, token: &str) -> Result<String, TokenError> {
        let claims: ServiceClaims = self.open(SERVICE_VERSION, token, Utc::now())?;
        Ok(claims.service)
    }

    fn sign(&self, version: &str, claims: &impl Serialize) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signed = format!("{version}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// The claims of a `version` token, once its signature and lifetime are checked.
    fn open<C: serde::de::DeserializeOwned + Expiring>(
        &self,
        version: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<C, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (prefix, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if prefix != version || payload.is_empty() || signature.is_empty() {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        // Constant-time comparison, and before the payload is even parsed.
        self.mac(signed)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: C = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.exp() <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        if claims.exp() > now.timestamp() + MAX_TOKEN_LIFETIME_SECONDS {
            return Err(TokenError::TooLong);
        }
        Ok(claims)
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(message.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_tokens_name_their_service_and_never_pass_for_user_tokens() {
        let key = key();
        let service = key.mint_service("gateway", Duration::seconds(30));
        assert_eq!(key.verify_service(&service).unwrap(), "gateway");
        assert_eq!(key.verify(&service), Err(TokenError::Malformed));
        let user = key.mint(&Identity::new(Uuid::now_v7(), vec![Role::Admin]), Duration::seconds(30));
        assert_eq!(key.verify_service(&user), Err(TokenError::Malformed));
        // The prefix is signed: relabelling a user token as a service token breaks it.
        let relabelled = user.replacen(VERSION, SERVICE_VERSION, 1);
        assert_eq!(key.verify_service(&relabelled), Err(TokenError::BadSignature));
        let other = IdentityKey::new([b'o'; 32]).unwrap();
        assert_eq!(other.verify_service(&service), Err(TokenError::BadSignature));
        let long = key.mint_service("gateway", Duration::hours(2));
        assert_eq!(key.verify_service(&long), Err(TokenError::TooLong));
    }

    fn key() -> IdentityKey {
        IdentityKey::new([7u8; 32]).unwrap()
    }

    fn alice() -> Identity {
        Identity::new(Uuid::now_v7(), vec![Role::Customer])
    }

    #[test]
    fn a_minted_token_verifies_to_the_same_identity() {
        let alice = alice();
        let token = key().mint(&alice, Duration::minutes(1));
        let identity = key().verify(&token).unwrap();
        assert_eq!(identity.user_id, alice.user_id);
        assert_eq!(identity.roles, alice.roles);
        assert!(!identity.is_admin());
    }

    #[test]
    fn tokens_valid_for_longer_than_the_longest_lifetime_are_rejected() {
        let now = Utc::now();
        let longest = key().mint_expiring_at(&alice(), now + Duration::seconds(MAX_TOKEN_LIFETIME_SECONDS));
        assert!(key().verify_at(&longest, now).is_ok());
        let longer = key().mint_expiring_at(&alice(), now + Duration::seconds(MAX_TOKEN_LIFETIME_SECONDS + 1));
        assert_eq!(key().verify_at(&longer, now), Err(TokenError::TooLong));
        let forever = key().mint_expiring_at(&alice(), DateTime::from_timestamp(1 << 40, 0).unwrap());
        assert_eq!(key().verify_at(&forever, now), Err(TokenError::TooLong));
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let token = key().mint_expiring_at(&alice(), Utc::now() - Duration::seconds(1));
        assert_eq!(key().verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let other = IdentityKey::new([8u8; 32]).unwrap();
        let token = other.mint(&alice(), Duration::minutes(1));
        assert_eq!(key().verify(&token), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampering_with_the_claims_breaks_the_signature() {
        let token = key().mint(&alice(), Duration::minutes(1));
        let (_, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let admin = Claims {
            sub: Uuid::now_v7(),
            roles: vec![Role::Admin],
            exp: i64::MAX,
        };
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin).unwrap());
        let forged = format!("v1.{forged_payload}.{signature}");
        assert_eq!(key().verify(&forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in ["", "v1", "v1.", "v1..", "v2.abc.def", "v1.abc.!!!", &"a".repeat(5000)] {
            assert_eq!(key().verify(bad), Err(TokenError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(IdentityKey::new("too short").is_err());
    }
}
