//! The ACME client: an account on one directory, ordering certificates
//! with challenge fallback.
//!
//! Each authorization is answered with the first challenge kind of
//! [`AcmeSettings::challenge_order`] the CA offers, published in
//! `acme_challenges` so that whichever edge node the CA reaches answers it
//! (HTTP-01 on port 80, TLS-ALPN-01 on 443). When a challenge fails, the
//! next kind is tried on a new order. The published challenges are removed
//! afterwards, whatever the outcome (if the future is dropped mid-order,
//! they stop being served after an hour).

use std::fmt;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, NewOrder, Order, OrderStatus,
    Problem, RetryPolicy,
};
use porta_core::challenge_kind::ChallengeKind;
use porta_core::clock::UnixMillis;
use porta_core::db::{acme_challenges, Db};
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::Issuer;

use super::error::{classify, classify_challenge, is_rate_limited, redact, AcmeError};
use super::problem::ProblemType;
use super::{account, http, AcmeSettings};
use crate::master_key::MasterKey;
use crate::store::{self, CertificateInfo, NewCertificate};

/// How long a published challenge may be answered: long enough for any
/// order, short enough that rows of a node that died stop being served.
const CHALLENGE_TTL_SECS: i64 = 3600;

/// instant-acme's name for a kind Porta answers.
fn acme_type(kind: ChallengeKind) -> ChallengeType {
    match kind {
        ChallengeKind::Http01 => ChallengeType::Http01,
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
    }
}

/// The kind of an offered challenge, if Porta answers it.
fn porta_kind(offered: &ChallengeType) -> Option<ChallengeKind> {
    match offered {
        ChallengeType::Http01 => Some(ChallengeKind::Http01),
        ChallengeType::TlsAlpn01 => Some(ChallengeKind::TlsAlpn01),
        _ => None,
    }
}

/// An ACME account on one directory, ready to issue.
pub struct AcmeClient {
    db: Db,
    master: MasterKey,
    settings: AcmeSettings,
    account: Account,
}

impl fmt::Debug for AcmeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeClient")
            .field("directory_url", &self.settings.directory_url)
            .field("account", &self.account.id())
            .finish_non_exhaustive()
    }
}

/// A certificate as the CA issued it, and the kind that validated it.
struct Issued {
    chain_pem: String,
    key_pem: String,
    kind: ChallengeKind,
}

impl AcmeClient {
    /// Loads the account for `settings.directory_url` or creates and stores
    /// it, then fetches the CA's directory. Fails with
    /// [`AcmeError::Unreachable`] when the CA cannot be reached.
    #[tracing::instrument(skip_all, fields(directory = %settings.directory_url))]
    pub async fn connect(
        db: &Db,
        master: &MasterKey,
        settings: AcmeSettings,
    ) -> Result<AcmeClient, AcmeError> {
        if settings.challenge_order.is_empty() {
            return Err(AcmeError::Config(
                "challenge_order names no challenge kind".to_owned(),
            ));
        }
        let account = http::with_retry_after_slot(account::load_or_create(db, master, &settings)).await?;
        Ok(AcmeClient {
            db: db.clone(),
            master: master.clone(),
            settings,
            account,
        })
    }

    /// The account's URL at the CA (its key id).
    pub fn account_id(&self) -> &str {
        self.account.id()
    }

    pub fn settings(&self) -> &AcmeSettings {
        &self.settings
    }

    /// Orders, validates and stores a certificate for `domain` (ECDSA P-256
    /// key, source `acme`); see the module documentation. Take the
    /// domain's lease first when several nodes may issue.
    #[tracing::instrument(skip_all, fields(domain = %domain))]
    pub async fn issue(
        &self,
        domain: &HostName,
        tenant: Option<TenantId>,
        now: UnixMillis,
    ) -> Result<CertificateInfo, AcmeError> {
        let issued = http::with_retry_after_slot(self.order_with_fallback(domain, now)).await?;
        let info = store::insert(
            &self.db,
            &self.master,
            &NewCertificate {
                tenant,
                domain: domain.as_str(),
                issuer: Issuer::Acme.into(),
                chain_pem: &issued.chain_pem,
                key_pem: &issued.key_pem,
            },
            now,
        )
        .await?;
        tracing::info!(challenge = %issued.kind, serial = %info.serial, "certificate issued over ACME");
        Ok(info)
    }

    /// Runs orders until one yields a certificate, moving to the next
    /// challenge kind after a failed challenge.
    async fn order_with_fallback(&self, domain: &HostName, now: UnixMillis) -> Result<Issued, AcmeError> {
        let kinds = &self.settings.challenge_order;
        let mut start = 0;
        loop {
            let mut published = Vec::new();
            let result = self
                .order_once(domain, &kinds[start..], now, &mut published)
                .await;
            self.unpublish(&published).await;
            let error = match result {
                Ok(issued) => return Ok(issued),
                Err(e) => redact(e, &published),
            };
            let AcmeError::ChallengeFailed { kind, detail } = &error else {
                return Err(error);
            };
            let next = kinds[start..]
                .iter()
                .position(|k| k == kind)
                .map_or(kinds.len(), |i| start + i + 1);
            if next >= kinds.len() {
                return Err(error);
            }
            tracing::warn!(failed = %kind, next = %kinds[next], %detail, "ACME challenge failed; trying the next kind");
            start = next;
        }
    }

    /// One order, answering with the first of `kinds` the CA offers. The
    /// tokens it publishes are pushed to `published` as soon as they are
    /// stored, so the caller removes them whatever happens.
    async fn order_once(
        &self,
        domain: &HostName,
        kinds: &[ChallengeKind],
        now: UnixMillis,
        published: &mut Vec<String>,
    ) -> Result<Issued, AcmeError> {
        let identifiers = [Identifier::Dns(domain.to_string())];
        let mut order = self
            .account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(classify)?;
        tracing::debug!(order = %order.url(), "ACME order created");

        let mut used = None;
        {
            let mut authorizations = order.authorizations();
            while let Some(next) = authorizations.next().await {
                let mut authz = next.map_err(classify)?;
                match authz.status {
                    AuthorizationStatus::Valid => continue,
                    AuthorizationStatus::Pending => {}
                    status => {
                        return Err(AcmeError::rejected(format!(
                            "the authorization for {domain} is {status:?}"
                        )))
                    }
                }
                let Some(kind) = kinds
                    .iter()
                    .copied()
                    .find(|k| authz.challenges.iter().any(|c| c.r#type == acme_type(*k)))
                else {
                    let offered: Vec<String> = authz
                        .challenges
                        .iter()
                        .map(|c| format!("{:?}", c.r#type))
                        .collect();
                    let wanted: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                    return Err(AcmeError::rejected(format!(
                        "the CA offers none of {wanted:?} for {domain} (it offers {})",
                        offered.join(", ")
                    )));
                };
                let mut challenge = authz
                    .challenge(acme_type(kind))
                    .ok_or_else(|| AcmeError::rejected(format!("the {kind} challenge vanished")))?;
                let key_authorization = challenge.key_authorization();
                acme_challenges::put(
                    &self.db,
                    &challenge.token,
                    domain,
                    kind,
                    key_authorization.as_str(),
                    now,
                    now.plus_seconds(CHALLENGE_TTL_SECS),
                )
                .await?;
                published.push(challenge.token.clone());
                tracing::debug!(challenge = %kind, token = %challenge.token, "ACME challenge published");
                challenge
                    .set_ready()
                    .await
                    .map_err(|e| classify_challenge(e, kind))?;
                used = Some(kind);
            }
        }

        let timeout = self.settings.order_timeout;
        let retry = RetryPolicy::new().timeout(timeout);
        match order.poll_ready(&retry).await {
            Ok(OrderStatus::Ready) => {}
            Ok(status) => {
                let fallback = AcmeError::rejected(format!("the order is {status:?}"));
                return Err(why_not_ready(&mut order, fallback).await);
            }
            Err(instant_acme::Error::Api(problem)) if !is_rate_limited(&problem) => {
                let fallback = AcmeError::Rejected {
                    problem: ProblemType::of(&problem),
                    detail: problem.to_string(),
                };
                return Err(why_not_ready(&mut order, fallback).await);
            }
            Err(instant_acme::Error::Timeout(_)) => {
                return Err(AcmeError::Timeout(format!(
                    "{domain} was not validated within {}s",
                    timeout.as_secs()
                )))
            }
            Err(e) => return Err(classify(e)),
        }

        let key_pem = order.finalize().await.map_err(classify)?;
        let chain_pem = order.poll_certificate(&retry).await.map_err(|e| match e {
            instant_acme::Error::Timeout(_) => AcmeError::Timeout(format!(
                "the certificate for {domain} was not issued within {}s",
                timeout.as_secs()
            )),
            e => classify(e),
        })?;
        // Every authorization was already valid: no challenge was needed.
        let kind = used.unwrap_or(kinds[0]);
        Ok(Issued {
            chain_pem,
            key_pem,
            kind,
        })
    }

    /// Removes published challenges; a failure only leaves rows that
    /// expire on their own.
    async fn unpublish(&self, tokens: &[String]) {
        for token in tokens {
            if let Err(e) = acme_challenges::remove(&self.db, token).await {
                tracing::warn!(error = %e, "could not remove a finished ACME challenge (it expires on its own)");
            }
        }
    }
}

/// Finds out why an order did not become ready: a failed challenge if the
/// CA reports one, else `fallback`.
async fn why_not_ready(order: &mut Order, fallback: AcmeError) -> AcmeError {
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        if authz.refresh().await.is_err() || authz.status != AuthorizationStatus::Invalid {
            continue;
        }
        for challenge in &authz.challenges {
            let Some(kind) = porta_kind(&challenge.r#type) else {
                continue;
            };
            if challenge.status == ChallengeStatus::Invalid || challenge.error.is_some() {
                let detail = challenge
                    .error
                    .as_ref()
                    .map_or_else(|| "the CA marked it invalid".to_owned(), Problem::to_string);
                return AcmeError::ChallengeFailed { kind, detail };
            }
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_instant_acme_and_back() {
        for kind in ChallengeKind::ALL {
            assert_eq!(porta_kind(&acme_type(kind)), Some(kind));
        }
        assert_eq!(porta_kind(&ChallengeType::Dns01), None);
    }
}
