//! The ACME challenge kinds Porta answers, parsed once wherever they come
//! from (configuration, a database row).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `http-01`: `GET /.well-known/acme-challenge/<token>` on port 80.
/// `tls-alpn-01`: a handshake with ALPN `acme-tls/1` on port 443 (RFC
/// 8737). Stored and written in configuration as those exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChallengeKind {
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl ChallengeKind {
    pub const ALL: [ChallengeKind; 2] = [ChallengeKind::Http01, ChallengeKind::TlsAlpn01];

    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("challenge kind must be \"http-01\" or \"tls-alpn-01\"")]
pub struct InvalidChallengeKind;

impl FromStr for ChallengeKind {
    type Err = InvalidChallengeKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChallengeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or(InvalidChallengeKind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_as_their_names() {
        for kind in ChallengeKind::ALL {
            assert_eq!(kind.as_str().parse::<ChallengeKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        for bad in ["", "HTTP-01", "http01", "dns-01", "tls-alpn-01 "] {
            assert_eq!(bad.parse::<ChallengeKind>(), Err(InvalidChallengeKind), "{bad:?}");
        }
    }
}
