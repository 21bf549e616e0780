//! One-time tokens (OTTs) that carry a sign-in from a tenant's canonical
//! host to its custom domain.
//!
//! A token is 32 random bytes in base64url (43 characters, no padding). Only
//! its SHA-256 is stored; the raw token exists in the redirect URL and the
//! browser, never in a log line (`Debug` is redacted) or in the database.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{ClientId, SessionId};
use crate::user_type::UserType;

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
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts exactly the shape [`OttToken::generate`] produces.
    pub fn parse(raw: &str) -> Result<Self, InvalidOtt> {
        if raw.len() != 43 {
            return Err(InvalidOtt);
        }
        match URL_SAFE_NO_PAD.decode(raw) {
            Ok(bytes) if bytes.len() == 32 => Ok(Self(raw.to_owned())),
            _ => Err(InvalidOtt),
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
    fn rejects_other_shapes() {
        for bad in ["", "abc", &"A".repeat(44), &"!".repeat(43), &"A".repeat(42)] {
            assert_eq!(OttToken::parse(bad), Err(InvalidOtt), "{bad}");
        }
    }
}
