//! ACME problem types (RFC 8555 §6.7): the `type` URN of a problem
//! document, parsed once into an enum that classification matches on.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use instant_acme::Problem;

/// The namespace of the problem types RFC 8555 defines.
const ACME_ERROR_NS: &str = "urn:ietf:params:acme:error:";

/// A problem document's `type`. Types outside the ACME namespace, or ones
/// this list does not know yet, are kept as [`ProblemType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProblemType {
    AccountDoesNotExist,
    AlreadyRevoked,
    BadCsr,
    BadNonce,
    BadPublicKey,
    BadRevocationReason,
    BadSignatureAlgorithm,
    Caa,
    Compound,
    Connection,
    Dns,
    ExternalAccountRequired,
    IncorrectResponse,
    InvalidContact,
    Malformed,
    OrderNotReady,
    RateLimited,
    RejectedIdentifier,
    ServerInternal,
    Tls,
    Unauthorized,
    UnsupportedContact,
    UnsupportedIdentifier,
    UserActionRequired,
    /// Any other type, as the CA wrote it.
    Other(String),
}

/// The known types and their names after the ACME namespace.
const KNOWN: &[(&str, ProblemType)] = &[
    ("accountDoesNotExist", ProblemType::AccountDoesNotExist),
    ("alreadyRevoked", ProblemType::AlreadyRevoked),
    ("badCSR", ProblemType::BadCsr),
    ("badNonce", ProblemType::BadNonce),
    ("badPublicKey", ProblemType::BadPublicKey),
    ("badRevocationReason", ProblemType::BadRevocationReason),
    ("badSignatureAlgorithm", ProblemType::BadSignatureAlgorithm),
    ("caa", ProblemType::Caa),
    ("compound", ProblemType::Compound),
    ("connection", ProblemType::Connection),
    ("dns", ProblemType::Dns),
    ("externalAccountRequired", ProblemType::ExternalAccountRequired),
    ("incorrectResponse", ProblemType::IncorrectResponse),
    ("invalidContact", ProblemType::InvalidContact),
    ("malformed", ProblemType::Malformed),
    ("orderNotReady", ProblemType::OrderNotReady),
    ("rateLimited", ProblemType::RateLimited),
    ("rejectedIdentifier", ProblemType::RejectedIdentifier),
    ("serverInternal", ProblemType::ServerInternal),
    ("tls", ProblemType::Tls),
    ("unauthorized", ProblemType::Unauthorized),
    ("unsupportedContact", ProblemType::UnsupportedContact),
    ("unsupportedIdentifier", ProblemType::UnsupportedIdentifier),
    ("userActionRequired", ProblemType::UserActionRequired),
];

impl ProblemType {
    /// The type of `problem`, if it has one.
    pub fn of(problem: &Problem) -> Option<ProblemType> {
        problem.r#type.as_deref().map(ProblemType::parse)
    }

    /// Parses a `type` URN; never fails (unknown types are `Other`).
    pub fn parse(urn: &str) -> ProblemType {
        urn.strip_prefix(ACME_ERROR_NS)
            .and_then(|name| KNOWN.iter().find(|(known, _)| *known == name))
            .map_or_else(|| ProblemType::Other(urn.to_owned()), |(_, kind)| kind.clone())
    }

    /// Whether the CA says it could not validate a challenge: it could not
    /// connect, resolve, complete TLS, got the wrong answer, was not
    /// authorized by the answer, or CAA forbids it.
    pub fn is_validation_failure(&self) -> bool {
        matches!(
            self,
            ProblemType::Connection
                | ProblemType::Dns
                | ProblemType::IncorrectResponse
                | ProblemType::Tls
                | ProblemType::Unauthorized
                | ProblemType::Caa
        )
    }
}

impl FromStr for ProblemType {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ProblemType::parse(s))
    }
}

impl fmt::Display for ProblemType {
    /// The full URN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemType::Other(urn) => f.write_str(urn),
            known => {
                let name = KNOWN
                    .iter()
                    .find(|(_, kind)| kind == known)
                    .map_or("", |(name, _)| name);
                write!(f, "{ACME_ERROR_NS}{name}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rfc_8555_type_round_trips_through_its_urn() {
        for (name, kind) in KNOWN {
            let urn = format!("urn:ietf:params:acme:error:{name}");
            assert_eq!(ProblemType::parse(&urn), *kind, "{urn}");
            assert_eq!(kind.to_string(), urn);
        }
        assert_eq!(KNOWN.len(), 24);
    }

    #[test]
    fn unknown_or_foreign_types_are_kept_as_written() {
        for urn in [
            "urn:ietf:params:acme:error:somethingNew",
            "urn:ietf:params:acme:error:ratelimited",
            "rateLimited",
            "about:blank",
            "",
        ] {
            assert_eq!(ProblemType::parse(urn), ProblemType::Other(urn.to_owned()));
            assert_eq!(ProblemType::parse(urn).to_string(), urn);
        }
    }

    #[test]
    fn validation_failures_are_the_six_challenge_problems() {
        let failing: Vec<&str> = KNOWN
            .iter()
            .filter(|(_, kind)| kind.is_validation_failure())
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            failing,
            [
                "caa",
                "connection",
                "dns",
                "incorrectResponse",
                "tls",
                "unauthorized"
            ]
        );
        assert!(!ProblemType::Other("urn:x:dns".to_owned()).is_validation_failure());
    }

    #[test]
    fn reads_the_type_of_a_problem_document() {
        let problem: Problem =
            serde_json::from_str(r#"{"type":"urn:ietf:params:acme:error:badNonce","status":400}"#).unwrap();
        assert_eq!(ProblemType::of(&problem), Some(ProblemType::BadNonce));
        let untyped: Problem = serde_json::from_str(r#"{"detail":"no type","status":500}"#).unwrap();
        assert_eq!(ProblemType::of(&untyped), None);
    }
}
