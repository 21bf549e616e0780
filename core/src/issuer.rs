//! Where certificates come from: the issuer of a custom domain, and the
//! source recorded with each stored certificate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Who issues a custom domain's certificates: `acme` (the ACME CA of
/// `[acme]`) or `internal` (the local CA). Stored and serialised as those
/// exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Issuer {
    Acme,
    Internal,
}

impl Issuer {
    pub const ALL: [Issuer; 2] = [Issuer::Acme, Issuer::Internal];

    pub fn as_str(self) -> &'static str {
        match self {
            Issuer::Acme => "acme",
            Issuer::Internal => "internal",
        }
    }

    /// The issuer of a domain registered without one: `acme` when an ACME
    /// CA is configured, else `internal` (development).
    pub fn default_for(config: &Config) -> Issuer {
        if config.acme.is_some() {
            Issuer::Acme
        } else {
            Issuer::Internal
        }
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("issuer must be `acme` or `internal`")]
pub struct InvalidIssuer;

impl FromStr for Issuer {
    type Err = InvalidIssuer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Issuer::ALL
            .into_iter()
            .find(|issuer| issuer.as_str() == s)
            .ok_or(InvalidIssuer)
    }
}

/// Where a stored certificate came from: one of the [`Issuer`]s, or an
/// operator's `porta cert import`. Stored as `acme`, `internal` or `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateSource {
    Issued(Issuer),
    Imported,
}

impl CertificateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateSource::Issued(issuer) => issuer.as_str(),
            CertificateSource::Imported => "import",
        }
    }
}

impl From<Issuer> for CertificateSource {
    fn from(issuer: Issuer) -> Self {
        CertificateSource::Issued(issuer)
    }
}

impl fmt::Display for CertificateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("certificate source must be `acme`, `internal` or `import`")]
pub struct InvalidCertificateSource;

impl FromStr for CertificateSource {
    type Err = InvalidCertificateSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "import" => Ok(CertificateSource::Imported),
            other => other
                .parse()
                .map(CertificateSource::Issued)
                .map_err(|_| InvalidCertificateSource),
        }
    }
}

impl Serialize for CertificateSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_round_trip_as_their_words() {
        for issuer in Issuer::ALL {
            assert_eq!(issuer.as_str().parse::<Issuer>(), Ok(issuer));
            assert_eq!(
                serde_json::to_value(issuer).unwrap(),
                serde_json::Value::String(issuer.as_str().to_owned())
            );
        }
        assert_eq!(Issuer::Acme.to_string(), "acme");
        assert_eq!(Issuer::Internal.to_string(), "internal");
        for bad in ["", "ACME", "import", "letsencrypt", " acme"] {
            assert_eq!(bad.parse::<Issuer>(), Err(InvalidIssuer), "{bad:?}");
        }
    }

    #[test]
    fn certificate_sources_round_trip_as_their_words() {
        for (text, source) in [
            ("acme", CertificateSource::Issued(Issuer::Acme)),
            ("internal", CertificateSource::Issued(Issuer::Internal)),
            ("import", CertificateSource::Imported),
        ] {
            assert_eq!(text.parse::<CertificateSource>(), Ok(source));
            assert_eq!(source.to_string(), text);
            assert_eq!(serde_json::to_value(source).unwrap(), serde_json::json!(text));
        }
        assert_eq!(
            "https://acme.test/dir".parse::<CertificateSource>(),
            Err(InvalidCertificateSource)
        );
    }
}
