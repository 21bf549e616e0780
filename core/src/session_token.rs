//! Session tokens: HS256 JWTs carrying who is signed in, for which tenant and
//! on which host, signed with a key id so keys can rotate.
//!
//! The first key of a [`SessionKeys`] signs; every key verifies, so a new key
//! is introduced by putting it first and an old one retired by removing it.
//! A token is only a claim: the server-side session row it names (`sid`) must
//! also be live, which is what makes sign-out and revocation work.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::UnixMillis;
use crate::host::HostName;
use crate::ids::{SessionId, TenantId, UserId};
use crate::secret::Secret;
use crate::user_type::UserType;

/// The claims of a session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub sub: UserId,
    pub tenant: TenantId,
    pub user_type: UserType,
    pub sid: SessionId,
    /// The host the token was minted for; it is worthless on any other.
    pub host: String,
    pub iat: i64,
    pub exp: i64,
    /// Not valid before (seconds); Porta does not set it, but a token that
    /// carries one is held to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// How far in the future `iat` or `nbf` may be (clock skew between nodes).
pub const CLOCK_LEEWAY_SECONDS: i64 = 60;

/// One signing key: an id (the JWT `kid`) and at least 32 bytes of secret.
#[derive(Clone)]
pub struct SessionKey {
    pub id: String,
    secret: Secret,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKey")
            .field("id", &self.id)
            .field("secret", &self.secret)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSessionKey {
    #[error("key id must be 1-64 characters of letters, digits, '-', '_' or '.'")]
    Id,
    #[error("key secret must be at least 32 bytes")]
    TooShort,
}

impl SessionKey {
    pub fn new(id: &str, secret: Secret) -> Result<Self, InvalidSessionKey> {
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return Err(InvalidSessionKey::Id);
        }
        if secret.expose().len() < 32 {
            return Err(InvalidSessionKey::TooShort);
        }
        Ok(Self {
            id: id.to_owned(),
            secret,
        })
    }
}

/// The keys in use, the signing key first.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    keys: Vec<SessionKey>,
}

/// 32 bytes derived from a session key for one purpose.
#[derive(Clone)]
pub struct DerivedKey([u8; 32]);

impl DerivedKey {
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Derived keys with their session key's id, the signing one first (see
/// [`SessionKeys::derive`]).
#[derive(Clone)]
pub struct DerivedKeys {
    keys: Vec<(String, DerivedKey)>,
}

impl std::fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("DerivedKeys").field("ids", &ids).finish()
    }
}

impl DerivedKeys {
    /// The signing key and its id.
    pub fn signing(&self) -> (&str, &DerivedKey) {
        let (id, key) = &self.keys[0];
        (id, key)
    }

    /// Every key, the signing one first.
    pub fn all(&self) -> impl Iterator<Item = &DerivedKey> {
        self.keys.iter().map(|(_, key)| key)
    }

    /// The key with id `id`, if it is one of ours.
    pub fn get(&self, id: &str) -> Option<&DerivedKey> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }
}

/// Why a token was not accepted. All of these mean "no session" to callers;
/// the variants exist for logs and tests.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token names no key id or an unknown one")]
    UnknownKey,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token was minted for another host")]
    WrongHost,
    #[error("token signing failed")]
    Signing,
    #[error("no session keys are configured")]
    NoKeys,
}

impl SessionKeys {
    pub fn new(keys: Vec<SessionKey>) -> Result<Self, TokenError> {
        if keys.is_empty() {
            return Err(TokenError::NoKeys);
        }
        Ok(Self { keys })
    }

    pub fn signing_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Keys for another purpose (`purpose` names it, e.g.
    /// `request-context`), derived from each session key as
    /// HMAC-SHA256(secret, "porta/" + purpose): they rotate with the session
    /// keys, the first signs, all verify, and none of them can forge a
    /// session token or a key of another purpose.
    pub fn derive(&self, purpose: &str) -> DerivedKeys {
        use hmac::{Hmac, Mac};
        let keys = self
            .keys
            .iter()
            .map(|k| {
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(k.secret.expose().as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(b"porta/");
                mac.update(purpose.as_bytes());
                (k.id.clone(), DerivedKey(mac.finalize().into_bytes().into()))
            })
            .collect();
        DerivedKeys { keys }
    }

    /// Signs `claims` with the first key.
    pub fn sign(&self, claims: &SessionClaims) -> Result<String, TokenError> {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.id.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(key.secret.expose().as_bytes()),
        )
        .map_err(|_| TokenError::Signing)
    }

    /// Verifies signature, expiry (at `now`, no leeway) and host.
    pub fn verify(&self, token: &str, host: &HostName, now: UnixMillis) -> Result<SessionClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Malformed);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the caller's clock, so tests and
        // servers agree on what "now" is.
        validation.validate_exp = false;
        validation.required_spec_claims = HashSet::new();
        let data = jsonwebtoken::decode::<SessionClaims>(
            token,
            &DecodingKey::from_secret(key.secret.expose().as_bytes()),
            &validation,
        )
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
            _ => TokenError::Malformed,
        })?;
        let claims = data.claims;
        if claims.exp <= now.as_seconds() {
            return Err(TokenError::Expired);
        }
        let latest = now.as_seconds() + CLOCK_LEEWAY_SECONDS;
        if claims.iat > latest || claims.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(TokenError::NotYetValid);
        }
        if claims.host != host.as_str() {
            return Err(TokenError::WrongHost);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, fill: char) -> SessionKey {
        SessionKey::new(id, Secret::new(fill.to_string().repeat(32))).unwrap()
    }

    fn claims(host: &str, exp: i64) -> SessionClaims {
        SessionClaims {
            sub: UserId::generate(),
            tenant: TenantId::generate(),
            user_type: UserType::Client,
            sid: SessionId::generate(),
            host: host.to_owned(),
            iat: 1_000,
            exp,
            nbf: None,
        }
    }

    fn host(s: &str) -> HostName {
        HostName::parse(s).unwrap()
    }

    const NOW: UnixMillis = UnixMillis(1_500_000);

    #[test]
    fn round_trip_and_rotation() {
        let old = SessionKeys::new(vec![key("k1", 'a')]).unwrap();
        let token = old.sign(&claims("acme.portal.localhost", 2_000)).unwrap();
        // After rotation the new key signs and the old one still verifies.
        let rotated = SessionKeys::new(vec![key("k2", 'b'), key("k1", 'a')]).unwrap();
        assert!(rotated
            .verify(&token, &host("acme.portal.localhost"), NOW)
            .is_ok());
        let new_token = rotated.sign(&claims("acme.portal.localhost", 2_000)).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(),
            Some("k2")
        );
        // Once retired, the old key's tokens are refused.
        let retired = SessionKeys::new(vec![key("k2", 'b')]).unwrap();
        assert_eq!(
            retired.verify(&token, &host("acme.portal.localhost"), NOW),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn rejects_each_bad_token() {
        let keys = SessionKeys::new(vec![key("k1", 'a')]).unwrap();
        let h = host("acme.portal.localhost");
        let expired = keys.sign(&claims("acme.portal.localhost", 1_500)).unwrap();
        assert_eq!(keys.verify(&expired, &h, NOW), Err(TokenError::Expired));
        let other_host = keys.sign(&claims("beta.portal.localhost", 2_000)).unwrap();
        assert_eq!(keys.verify(&other_host, &h, NOW), Err(TokenError::WrongHost));
        let wrong_key = SessionKeys::new(vec![key("k1", 'z')])
            .unwrap()
            .sign(&claims("acme.portal.localhost", 2_000))
            .unwrap();
        assert_eq!(keys.verify(&wrong_key, &h, NOW), Err(TokenError::BadSignature));
        let good = keys.sign(&claims("acme.portal.localhost", 2_000)).unwrap();
        let mut tampered = good.clone();
        let payload_end = tampered.rfind('.').unwrap();
        tampered.replace_range(payload_end - 2..payload_end - 1, "A");
        assert_ne!(tampered, good);
        assert!(keys.verify(&tampered, &h, NOW).is_err());
        assert_eq!(keys.verify("garbage", &h, NOW), Err(TokenError::Malformed));
        assert_eq!(keys.verify("", &h, NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn refuses_tokens_from_the_future() {
        let keys = SessionKeys::new(vec![key("k1", 'a')]).unwrap();
        let h = host("acme.portal.localhost");
        let now = NOW.as_seconds();
        let with = |iat: i64, nbf: Option<i64>| {
            let mut c = claims("acme.portal.localhost", now + 3_600);
            c.iat = iat;
            c.nbf = nbf;
            keys.sign(&c).unwrap()
        };
        assert!(keys.verify(&with(now, None), &h, NOW).is_ok());
        assert!(
            keys.verify(&with(now + CLOCK_LEEWAY_SECONDS, None), &h, NOW)
                .is_ok(),
            "within the leeway"
        );
        assert_eq!(
            keys.verify(&with(now + CLOCK_LEEWAY_SECONDS + 1, None), &h, NOW),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            keys.verify(&with(now, Some(now + 600)), &h, NOW),
            Err(TokenError::NotYetValid)
        );
        assert!(keys.verify(&with(now, Some(now - 5)), &h, NOW).is_ok());
    }

    #[test]
    fn refuses_alg_none() {
        let keys = SessionKeys::new(vec![key("k1", 'a')]).unwrap();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let body = b64.encode(serde_json::to_vec(&claims("acme.portal.localhost", 2_000)).unwrap());
        let token = format!("{header}.{body}.");
        assert!(keys.verify(&token, &host("acme.portal.localhost"), NOW).is_err());
    }

    #[test]
    fn keys_are_validated() {
        assert_eq!(
            SessionKey::new("k 1", Secret::new("a".repeat(32))).unwrap_err(),
            InvalidSessionKey::Id
        );
        assert_eq!(
            SessionKey::new("k1", Secret::new("short")).unwrap_err(),
            InvalidSessionKey::TooShort
        );
        assert!(format!("{:?}", key("k1", 'a')).contains("[redacted]"));
    }
}
