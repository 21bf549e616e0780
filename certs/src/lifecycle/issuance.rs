//! Getting a certificate from a domain's issuer, for the worker: the local
//! CA for `internal` (see [`crate::policy::issue_local`]), the ACME CA for
//! `acme`, under a budget of orders per registered domain per 7 days (CA
//! rate limits count by registered domain). Every outcome is an
//! [`OrderFailure`] or the new serial; ACME orders are audited, which is
//! what the budget counts.

use std::sync::Arc;
use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::portal_domains::PortalDomain;
use porta_core::db::Db;
use porta_core::issuer::Issuer;

use super::outcome::{order_budget, OrderFailure, OrderOutcome};
use crate::acme::{self, AcmeClient, AcmeError, AcmeSettings};
use crate::local_ca::LocalCa;
use crate::master_key::MasterKey;
use crate::policy::{self, LocalTarget};

/// The budget counts audit rows of this action per registered domain.
const ORDER_ACTION: &str = "certificate.order";
const BUDGET_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// The issuers a worker can order from.
pub(crate) struct Issuers {
    db: Db,
    master: MasterKey,
    local_ca: Option<LocalCa>,
    acme: Option<AcmeSettings>,
    /// Connected on first use; dropped when the CA forgot the account.
    acme_client: tokio::sync::Mutex<Option<Arc<AcmeClient>>>,
    weekly_order_budget: u32,
}

impl Issuers {
    pub(crate) fn new(
        db: Db,
        master: MasterKey,
        local_ca: Option<LocalCa>,
        acme: Option<AcmeSettings>,
        weekly_order_budget: u32,
    ) -> Issuers {
        Issuers {
            db,
            master,
            local_ca,
            acme,
            acme_client: tokio::sync::Mutex::new(None),
            weekly_order_budget,
        }
    }

    /// A new certificate for `domain` from its issuer, stored; its serial.
    pub(crate) async fn obtain(
        &self,
        domain: &PortalDomain,
        now: UnixMillis,
    ) -> Result<String, OrderFailure> {
        match domain.issuer {
            Issuer::Internal => self.local(domain, now).await,
            Issuer::Acme => self.acme(domain, now).await,
        }
    }

    async fn local(&self, domain: &PortalDomain, now: UnixMillis) -> Result<String, OrderFailure> {
        let ca = self.local_ca.as_ref().ok_or_else(|| {
            OrderFailure::new(OrderOutcome::Error, "no local CA is configured on this node")
        })?;
        let info = policy::issue_local(&self.db, ca, &self.master, &LocalTarget::for_domain(domain), now)
            .await
            .map_err(|e| OrderFailure::new(OrderOutcome::Error, e.to_string()))?;
        Ok(info.serial)
    }

    async fn acme(&self, domain: &PortalDomain, now: UnixMillis) -> Result<String, OrderFailure> {
        let Some(settings) = &self.acme else {
            return Err(OrderFailure::new(
                OrderOutcome::Error,
                "no ACME CA is configured (acme.directory_url)",
            ));
        };
        let registered = registered_domain(domain.domain.as_str());
        let window = i64::try_from(BUDGET_WINDOW.as_secs()).unwrap_or(i64::MAX);
        let orders = audit::count_since(&self.db, ORDER_ACTION, &registered, now.plus_seconds(-window))
            .await
            .map_err(|e| OrderFailure::new(OrderOutcome::Error, e.to_string()))?;
        order_budget(orders, self.weekly_order_budget, &registered)?;

        let client = self.client(settings).await?;
        let result = client.issue(&domain.domain, Some(domain.tenant_id), now).await;
        if result.as_ref().is_err_and(AcmeError::is_unknown_account) {
            self.forget_account(&settings.directory_url).await;
        }
        let event = AuditEvent {
            tenant: Some(domain.tenant_id),
            actor: None,
            action: ORDER_ACTION,
            outcome: if result.is_ok() { "success" } else { "failure" },
            subject: Some(&registered),
            ip: None,
            user_agent: None,
            detail: Some(serde_json::json!({ "domain": domain.domain.as_str() })),
        };
        audit::record(&self.db, &event, now)
            .await
            .map_err(|e| OrderFailure::new(OrderOutcome::Error, e.to_string()))?;
        result.map(|info| info.serial).map_err(OrderFailure::from)
    }

    /// The connected client, connecting (and creating the account) on
    /// first use.
    async fn client(&self, settings: &AcmeSettings) -> Result<Arc<AcmeClient>, OrderFailure> {
        let mut slot = self.acme_client.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let client = Arc::new(
            AcmeClient::connect(&self.db, &self.master, settings.clone())
                .await
                .map_err(OrderFailure::from)?,
        );
        *slot = Some(client.clone());
        Ok(client)
    }

    /// The CA no longer knows the stored account (a reset test CA, or an
    /// account deactivated elsewhere): drop it so the next order creates a
    /// new one instead of failing forever.
    async fn forget_account(&self, directory_url: &str) {
        tracing::warn!(
            directory = directory_url,
            "the ACME CA no longer knows our account; a new one will be created"
        );
        *self.acme_client.lock().await = None;
        if let Err(e) = acme::forget_account(&self.db, directory_url).await {
            tracing::warn!(error = %e, "could not remove the forgotten ACME account");
        }
    }
}

impl From<AcmeError> for OrderFailure {
    fn from(e: AcmeError) -> Self {
        let outcome = match &e {
            AcmeError::RateLimited { .. } => OrderOutcome::RateLimited,
            AcmeError::Unreachable(_) | AcmeError::Timeout(_) => OrderOutcome::Unreachable,
            AcmeError::ChallengeFailed { .. } => OrderOutcome::ChallengeFailed,
            AcmeError::Rejected { .. } => OrderOutcome::Rejected,
            AcmeError::Config(_) | AcmeError::Credentials(_) | AcmeError::Store(_) | AcmeError::Db(_) => {
                OrderOutcome::Error
            }
        };
        OrderFailure {
            outcome,
            retry_after: e.retry_after(),
            reason: e.to_string(),
        }
    }
}

/// The registrable domain (`example.co.uk` for `portal.example.co.uk`):
/// what CA rate limits count by.
pub fn registered_domain(name: &str) -> String {
    psl::domain_str(name).unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use porta_core::challenge_kind::ChallengeKind;

    use super::*;

    #[test]
    fn acme_errors_become_order_outcomes_with_their_retry_after() {
        let limited = OrderFailure::from(AcmeError::RateLimited {
            retry_after: Some(Duration::from_secs(90)),
            detail: "slow down".to_owned(),
        });
        assert_eq!(limited.outcome, OrderOutcome::RateLimited);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(90)));
        assert!(limited.reason.contains("slow down"));
        for (e, outcome) in [
            (AcmeError::Unreachable("x".to_owned()), OrderOutcome::Unreachable),
            (AcmeError::Timeout("x".to_owned()), OrderOutcome::Unreachable),
            (
                AcmeError::ChallengeFailed {
                    kind: ChallengeKind::Http01,
                    detail: "x".to_owned(),
                },
                OrderOutcome::ChallengeFailed,
            ),
            (AcmeError::rejected("x"), OrderOutcome::Rejected),
            (AcmeError::Config("x".to_owned()), OrderOutcome::Error),
        ] {
            let failure = OrderFailure::from(e);
            assert_eq!(failure.outcome, outcome);
            assert_eq!(failure.retry_after, None);
        }
    }

    #[test]
    fn budgets_count_by_registered_domain() {
        assert_eq!(registered_domain("portal.acme-it.com"), "acme-it.com");
        assert_eq!(registered_domain("a.b.example.co.uk"), "example.co.uk");
    }
}
