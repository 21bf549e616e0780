//! Single-use secrets mailed to people (password reset and account setup
//! links): 32 random bytes in base64url. Only the SHA-256 is stored, the
//! raw value exists in the link alone, and `Debug` never shows it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a link token")]
pub struct InvalidToken;

impl LinkToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts exactly the shape [`LinkToken::generate`] makes.
    pub fn parse(raw: &str) -> Result<Self, InvalidToken> {
        if raw.len() == 43 && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|b| b.len() == 32) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidToken)
        }
    }

    /// What is stored and looked up.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The raw value, for the one link that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_hide() {
        let t = LinkToken::generate();
        assert_eq!(LinkToken::parse(t.expose()), Ok(t.clone()));
        assert_ne!(t, LinkToken::generate());
        assert_eq!(format!("{t:?}"), "LinkToken([redacted])");
        for bad in ["", "short", &"A".repeat(44), &"*".repeat(43)] {
            assert_eq!(LinkToken::parse(bad), Err(InvalidToken));
        }
    }
}
