//! Why an ACME operation failed, in the terms a scheduler backs off by, and
//! the classification of instant-acme's errors into those terms: by the
//! problem document's [`ProblemType`] and HTTP status, never by its text.

use std::time::Duration;

use instant_acme::Problem;
use porta_core::challenge_kind::ChallengeKind;
use porta_core::db::DbError;

use super::http;
use super::problem::ProblemType;
use crate::store::StoreError;

/// Why an ACME operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA refused because of a rate limit (`rateLimited` or HTTP 429).
    /// Retry no earlier than `retry_after` when the CA said when.
    #[error("the ACME CA is rate limiting: {detail}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        detail: String,
    },
    /// The CA could not be reached: connection refused or reset, TLS
    /// failure, timeout, or the CA answered 503.
    #[error("the ACME CA is unreachable: {0}")]
    Unreachable(String),
    /// The CA could not validate the challenge (after every fallback).
    #[error("the {kind} challenge failed: {detail}")]
    ChallengeFailed { kind: ChallengeKind, detail: String },
    /// The CA did not finish validating or issuing within the order timeout.
    #[error("the ACME order timed out: {0}")]
    Timeout(String),
    /// Any other refusal from the CA: a problem document (its type, when it
    /// had one) or an unusable answer.
    #[error("the ACME CA refused: {detail}")]
    Rejected {
        problem: Option<ProblemType>,
        detail: String,
    },
    /// The settings cannot work (unreadable root CA, bad EAB key, no
    /// challenge kind).
    #[error("invalid ACME settings: {0}")]
    Config(String),
    /// The stored account credentials cannot be opened or read.
    #[error("the stored ACME account cannot be used: {0}")]
    Credentials(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AcmeError {
    /// The earliest retry the CA asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AcmeError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The CA no longer knows the account (`accountDoesNotExist`): a reset
    /// test CA, or an account deactivated elsewhere.
    pub fn is_unknown_account(&self) -> bool {
        matches!(
            self,
            AcmeError::Rejected {
                problem: Some(ProblemType::AccountDoesNotExist),
                ..
            }
        )
    }

    /// A refusal without a problem document.
    pub(crate) fn rejected(detail: impl Into<String>) -> AcmeError {
        AcmeError::Rejected {
            problem: None,
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for AcmeError {
    fn from(e: sqlx::Error) -> Self {
        AcmeError::Db(DbError::Sqlx(e))
    }
}

pub(crate) fn is_rate_limited(problem: &Problem) -> bool {
    ProblemType::of(problem) == Some(ProblemType::RateLimited) || problem.status == Some(429)
}

/// Maps instant-acme's error to what a scheduler acts on. Must run inside
/// [`http::with_retry_after_slot`] to see the CA's `Retry-After`.
pub(crate) fn classify(e: instant_acme::Error) -> AcmeError {
    use instant_acme::Error as E;
    match e {
        E::Api(problem) if is_rate_limited(&problem) => AcmeError::RateLimited {
            retry_after: http::retry_after(),
            detail: problem.to_string(),
        },
        E::Api(problem) if problem.status == Some(503) => AcmeError::Unreachable(problem.to_string()),
        E::Api(problem) => AcmeError::Rejected {
            problem: ProblemType::of(&problem),
            detail: problem.to_string(),
        },
        E::Other(inner) if inner.is::<http::TransportError>() => AcmeError::Unreachable(inner.to_string()),
        E::Hyper(e) => AcmeError::Unreachable(http::error_chain(&e)),
        E::Timeout(_) => AcmeError::Timeout("the CA kept the order pending".to_owned()),
        E::Json(e) => AcmeError::rejected(format!("unexpected answer from the CA: {e}")),
        E::InvalidUri(e) => AcmeError::Config(format!("invalid ACME URL: {e}")),
        E::Http(e) => AcmeError::Config(format!("invalid ACME request: {e}")),
        E::KeyRejected | E::Crypto => AcmeError::Credentials("the account key cannot be used".to_owned()),
        other => AcmeError::rejected(other.to_string()),
    }
}

/// Like [`classify`], but a problem saying the CA could not validate is a
/// failed challenge (set-ready may report it synchronously).
pub(crate) fn classify_challenge(e: instant_acme::Error, kind: ChallengeKind) -> AcmeError {
    match e {
        instant_acme::Error::Api(problem)
            if ProblemType::of(&problem).is_some_and(|t| t.is_validation_failure()) =>
        {
            AcmeError::ChallengeFailed {
                kind,
                detail: problem.to_string(),
            }
        }
        e => classify(e),
    }
}

/// CAs quote the token (and the key authorization) in validation errors:
/// keep them out of error texts, which get logged.
pub(crate) fn redact(e: AcmeError, tokens: &[String]) -> AcmeError {
    let clean = |mut text: String| {
        for token in tokens.iter().filter(|t| !t.is_empty()) {
            text = text.replace(token.as_str(), "[token]");
        }
        text
    };
    match e {
        AcmeError::ChallengeFailed { kind, detail } => AcmeError::ChallengeFailed {
            kind,
            detail: clean(detail),
        },
        AcmeError::Rejected { problem, detail } => AcmeError::Rejected {
            problem,
            detail: clean(detail),
        },
        AcmeError::RateLimited { retry_after, detail } => AcmeError::RateLimited {
            retry_after,
            detail: clean(detail),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str) -> Problem {
        serde_json::from_str(json).expect("a problem document")
    }

    fn api(json: &str) -> instant_acme::Error {
        instant_acme::Error::Api(problem(json))
    }

    #[tokio::test]
    async fn rate_limits_carry_the_retry_after_of_their_scope() {
        let limited =
            problem(r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many","status":429}"#);
        let e = classify(instant_acme::Error::Api(limited.clone()));
        assert!(
            matches!(
                e,
                AcmeError::RateLimited {
                    retry_after: None,
                    ..
                }
            ),
            "{e:?}"
        );

        let e = http::with_retry_after_slot(async {
            // What the HTTP layer records from a 429 with `Retry-After: 90`.
            http::record_retry_after(Some(Duration::from_secs(90)));
            classify(instant_acme::Error::Api(limited))
        })
        .await;
        assert_eq!(e.retry_after(), Some(Duration::from_secs(90)));

        let e = classify(api(r#"{"detail":"slow down","status":429}"#));
        assert!(matches!(e, AcmeError::RateLimited { .. }), "{e:?}");
        // The type alone is enough, whatever the status.
        let e = classify(api(
            r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"x","status":403}"#,
        ));
        assert!(matches!(e, AcmeError::RateLimited { .. }), "{e:?}");
    }

    #[test]
    fn classifies_problems_and_transport() {
        let e = classify(api(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"no","status":400}"#,
        ));
        assert!(
            matches!(
                e,
                AcmeError::Rejected { problem: Some(ProblemType::RejectedIdentifier), ref detail }
                    if detail.contains("rejectedIdentifier")
            ),
            "{e:?}"
        );

        let e = classify(api(r#"{"detail":"maintenance","status":503}"#));
        assert!(matches!(e, AcmeError::Unreachable(_)), "{e:?}");

        let e = classify(instant_acme::Error::Other(Box::new(http::TransportError(
            "refused".to_owned(),
        ))));
        assert!(
            matches!(e, AcmeError::Unreachable(ref d) if d == "refused"),
            "{e:?}"
        );

        let e = classify(instant_acme::Error::Other("something else".into()));
        assert!(matches!(e, AcmeError::Rejected { problem: None, .. }), "{e:?}");

        let failed =
            problem(r#"{"type":"urn:ietf:params:acme:error:connection","detail":"refused","status":400}"#);
        let e = classify_challenge(instant_acme::Error::Api(failed), ChallengeKind::Http01);
        assert!(
            matches!(
                e,
                AcmeError::ChallengeFailed {
                    kind: ChallengeKind::Http01,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn every_validation_problem_fails_the_challenge_and_nothing_else_does() {
        for name in [
            "connection",
            "dns",
            "incorrectResponse",
            "tls",
            "unauthorized",
            "caa",
        ] {
            let json = format!(r#"{{"type":"urn:ietf:params:acme:error:{name}","detail":"d","status":400}}"#);
            let e = classify_challenge(api(&json), ChallengeKind::TlsAlpn01);
            assert!(
                matches!(
                    e,
                    AcmeError::ChallengeFailed {
                        kind: ChallengeKind::TlsAlpn01,
                        ..
                    }
                ),
                "{name}: {e:?}"
            );
        }
        for name in ["badNonce", "serverInternal", "malformed", "rejectedIdentifier"] {
            let json = format!(r#"{{"type":"urn:ietf:params:acme:error:{name}","detail":"d","status":400}}"#);
            let e = classify_challenge(api(&json), ChallengeKind::Http01);
            assert!(matches!(e, AcmeError::Rejected { .. }), "{name}: {e:?}");
        }
        // A detail that merely mentions a validation type is not one.
        let e = classify_challenge(
            api(
                r#"{"type":"urn:ietf:params:acme:error:malformed","detail":"dns connection tls","status":400}"#,
            ),
            ChallengeKind::Http01,
        );
        assert!(
            matches!(
                e,
                AcmeError::Rejected {
                    problem: Some(ProblemType::Malformed),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn an_unknown_account_is_recognised_by_its_type_only() {
        let e = classify(api(
            r#"{"type":"urn:ietf:params:acme:error:accountDoesNotExist","detail":"gone","status":400}"#,
        ));
        assert!(e.is_unknown_account(), "{e:?}");
        let e = classify(api(
            r#"{"type":"urn:ietf:params:acme:error:malformed","detail":"accountDoesNotExist","status":400}"#,
        ));
        assert!(!e.is_unknown_account(), "{e:?}");
    }

    #[test]
    fn redacts_tokens_from_details() {
        let e = AcmeError::ChallengeFailed {
            kind: ChallengeKind::Http01,
            detail: "expected \"tok123.thumb\" got \"x\"".to_owned(),
        };
        let e = redact(e, &["tok123".to_owned()]);
        assert!(matches!(e, AcmeError::ChallengeFailed { ref detail, .. } if !detail.contains("tok123")));
        let e = redact(
            AcmeError::Rejected {
                problem: Some(ProblemType::Unauthorized),
                detail: "tok123 was wrong".to_owned(),
            },
            &["tok123".to_owned()],
        );
        assert!(
            matches!(e, AcmeError::Rejected { problem: Some(ProblemType::Unauthorized), ref detail } if detail == "[token] was wrong"),
            "{e:?}"
        );
    }
}
