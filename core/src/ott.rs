//! One-time tokens (OTTs) that carry a sign-in from a tenant's canonical
//! host to its custom domain.
//!
//! A token is 32 bytes in base64url (43 characters, no padding). Only its
//! SHA-256 is stored; the raw token exists in the redirect URL and the
//! browser, never in a log line (`Debug` is redacted) or in the database.
//!
//! A token is bound to the browser that asked for it, as OAuth binds a code
//! with PKCE: the custom domain first gives the browser a random
//! [`HandoffNonce`] in a host-only cookie ([`NONCE_COOKIE`]) and sends it to
//! the canonical host with the nonce's [`BindingHash`]; the token is issued
//! for that hash, and the exchange consumes it only together with the
//! matching cookie. A token handed to another browser is worthless there.
//!
//! The token itself is derived (HMAC under a key derived from the session
//! keys) from the issuing session, the domain, the binding and `next`, so
//! reloading the sign-in page yields the same live token instead of a new
//! row each time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{ClientId, PortalDomainId, SessionId};
use crate::session_token::DerivedKey;
use crate::user_type::UserType;

/// The browser's handoff nonce cookie on a custom domain: `__Host-` makes it
/// host-only, Secure and Path=/.
pub const NONCE_COOKIE: &str = "__Host-porta.handoff";
/// How long a browser keeps its nonce (a sign-in must finish within it).
pub const NONCE_TTL_SECONDS: i64 = 600;
/// The query parameter (and form field) that carries the binding hash to
/// the canonical host's sign-in.
pub const BINDING_PARAM: &str = "handoff";

fn random_b64() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Exactly 32 bytes in unpadded base64url.
fn is_b64_32(raw: &str) -> bool {
    raw.len() == 43 && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|b| b.len() == 32)
}

/// The random value a browser holds in [`NONCE_COOKIE`].
#[derive(Clone, PartialEq, Eq)]
pub struct HandoffNonce(String);

impl HandoffNonce {
    pub fn generate() -> Self {
        Self(random_b64())
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidOtt> {
        if is_b64_32(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidOtt)
        }
    }

    pub fn binding(&self) -> BindingHash {
        BindingHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HandoffNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandoffNonce([redacted])")
    }
}

/// The nonce cookie for a browser on a custom domain (HTTPS only).
pub fn nonce_cookie(nonce: &HandoffNonce) -> cookie::Cookie<'static> {
    cookie::Cookie::build((NONCE_COOKIE, nonce.expose().to_owned()))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(NONCE_TTL_SECONDS))
        .build()
}

/// Removes the nonce cookie (after a completed handoff).
pub fn clear_nonce_cookie() -> cookie::Cookie<'static> {
    let mut cookie = nonce_cookie(&HandoffNonce(String::new()));
    cookie.make_removal();
    cookie
}

/// The browser's nonce from a `Cookie` header, if it holds a valid one.
pub fn find_nonce(cookie_header: &str) -> Option<HandoffNonce> {
    cookie::Cookie::split_parse(cookie_header)
        .filter_map(Result::ok)
        .filter(|c| c.name() == NONCE_COOKIE)
        .find_map(|c| HandoffNonce::parse(c.value()).ok())
}

/// The body the handoff page posts to the exchange: `{"ott": "..."}`.
#[derive(Deserialize)]
struct ExchangeBody {
    #[serde(default)]
    ott: Option<String>,
}

/// The raw token in an exchange body (JSON with a string `ott`), if it has a
/// non-empty one; anything else (not JSON, another shape) is `None`. The
/// token itself is checked when it is looked up ([`OttToken::parse`]).
pub fn token_in_exchange_body(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ExchangeBody>(body)
        .ok()
        .and_then(|b| b.ott)
        .filter(|t| !t.is_empty())
}

/// SHA-256 of a [`HandoffNonce`]: what the canonical host sees and the
/// token row stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingHash(pub [u8; 32]);

impl BindingHash {
    /// Its form in a URL.
    pub fn to_param(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn from_param(raw: &str) -> Result<Self, InvalidOtt> {
        if !is_b64_32(raw) {
            return Err(InvalidOtt);
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidOtt)?;
        Ok(Self(bytes.try_into().map_err(|_| InvalidOtt)?))
    }
}

/// What a derived token is for.
#[derive(Debug, Clone, Copy)]
pub struct OttPurpose<'a> {
    pub session: SessionId,
    pub domain: PortalDomainId,
    pub binding: &'a BindingHash,
    pub next: &'a str,
}

/// A raw one-time token.
#[derive(Clone, PartialEq, Eq)]
pub struct OttToken(String);

/// The SHA-256 of a token: what is stored and looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OttHash(pub [u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a one-time token")]
pub struct InvalidOtt;

impl OttToken {
    pub fn generate() -> Self {
        Self(random_b64())
    }

    /// The token for `purpose` under `key`: the same inputs give the same
    /// token, which cannot be computed without the key.
    pub fn derive(key: &DerivedKey, purpose: &OttPurpose<'_>) -> Self {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key.expose()).expect("HMAC takes keys of any length");
        for part in [
            purpose.session.to_string().as_bytes(),
            purpose.domain.to_string().as_bytes(),
            &purpose.binding.0[..],
            purpose.next.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Self(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Accepts exactly the shape [`OttToken::generate`] produces.
    pub fn parse(raw: &str) -> Result<Self, InvalidOtt> {
        if is_b64_32(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidOtt)
        }
    }

    pub fn hash(&self) -> OttHash {
        OttHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The raw token, for the one redirect URL that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OttToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OttToken([redacted])")
    }
}

/// What the canonical-host session looked like when the token was issued;
/// the custom-domain session is created from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSnapshot {
    pub user_type: UserType,
    pub email: String,
    pub display_name: String,
    pub client_id: Option<ClientId>,
    pub roles: Vec<String>,
    /// The canonical-host session the sign-in created, revoked together with
    /// the custom-domain session at sign-out.
    pub canonical_session_id: Option<SessionId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_in_base64url() {
        let a = OttToken::generate();
        let b = OttToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(OttToken::parse(a.expose()), Ok(a.clone()));
        assert_eq!(
            a.hash().0,
            <[u8; 32]>::from(Sha256::digest(a.expose().as_bytes()))
        );
        assert_eq!(format!("{a:?}"), "OttToken([redacted])");
    }

    #[test]
    fn derived_tokens_depend_on_every_input() {
        let keys = crate::session_token::SessionKeys::new(vec![crate::session_token::SessionKey::new(
            "k",
            crate::secret::Secret::new("k".repeat(32)),
        )
        .unwrap()])
        .unwrap()
        .derive("ott");
        let key = keys.signing().1;
        let nonce = HandoffNonce::generate();
        let binding = nonce.binding();
        let purpose = OttPurpose {
            session: SessionId::generate(),
            domain: PortalDomainId::generate(),
            binding: &binding,
            next: "/client-portal/dashboard",
        };
        let token = OttToken::derive(key, &purpose);
        assert_eq!(OttToken::parse(token.expose()), Ok(token.clone()));
        assert_eq!(OttToken::derive(key, &purpose), token, "same inputs, same token");
        let other_binding = HandoffNonce::generate().binding();
        for changed in [
            OttPurpose {
                session: SessionId::generate(),
                ..purpose
            },
            OttPurpose {
                domain: PortalDomainId::generate(),
                ..purpose
            },
            OttPurpose {
                binding: &other_binding,
                ..purpose
            },
            OttPurpose {
                next: "/client-portal/tickets",
                ..purpose
            },
        ] {
            assert_ne!(OttToken::derive(key, &changed), token);
        }
    }

    #[test]
    fn nonces_and_bindings_round_trip() {
        let nonce = HandoffNonce::generate();
        assert_eq!(HandoffNonce::parse(nonce.expose()), Ok(nonce.clone()));
        let binding = nonce.binding();
        assert_eq!(BindingHash::from_param(&binding.to_param()), Ok(binding));
        assert_ne!(binding.to_param(), nonce.expose(), "the hash is not the nonce");
        for bad in ["", "x", &"A".repeat(44), &"!".repeat(43)] {
            assert!(HandoffNonce::parse(bad).is_err());
            assert!(BindingHash::from_param(bad).is_err());
        }
        assert_eq!(format!("{nonce:?}"), "HandoffNonce([redacted])");
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in ["", "abc", &"A".repeat(44), &"!".repeat(43), &"A".repeat(42)] {
            assert_eq!(OttToken::parse(bad), Err(InvalidOtt), "{bad}");
        }
    }
}
