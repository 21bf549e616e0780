//! The custom-domain lifecycle: one worker per process, safe with several.
//!
//! Each [`DomainWorker::tick`] looks at the domains that are due:
//! - `pending_dns` (and `failed`, which starts over): the CNAME must reach
//!   the tenant's canonical host (or the operator trusted DNS on submit);
//!   aligned -> `pending_certificate`; not yet -> re-checked on a growing,
//!   jittered, capped schedule, and `failed` after `give_up_after`;
//! - `pending_certificate`: a certificate from the domain's issuer (the
//!   local CA for `internal`, the ACME CA for `acme`) -> `active`; failures
//!   back off (the CA's Retry-After respected) and land in `failed` with
//!   the reason and the next retry;
//! - `active`: renewed when a third of the certificate's lifetime is left
//!   (or it is missing); the old certificate is served until the new one is
//!   stored.
//!
//! A lease per domain (see [`crate::acme::try_lease`]) keeps two processes
//! from working on one domain; a per-registered-domain budget of orders per
//! 7 days stops storms. Every status change is written with its message,
//! what DNS answered and an audit row.

use std::sync::Arc;
use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::portal_domains::{self, CheckResult, PortalDomain};
use porta_core::db::{Db, DbError};
use porta_core::domain_status::DomainStatus;
use rand::Rng;

use crate::acme::{self, AcmeClient, AcmeError, AcmeSettings};
use crate::dns::CnameVerifier;
use crate::local_ca::LocalCa;
use crate::master_key::MasterKey;
use crate::store;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    pub first_retry: Duration,
    pub max_retry: Duration,
    pub give_up_after: Duration,
    /// ACME orders per registered domain per 7 days.
    pub weekly_order_budget: u32,
    /// How long a worker may hold a domain's lease.
    pub lease_ttl: Duration,
}

/// What one tick did, for metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// `(outcome, count)`: ACME or local-CA orders by outcome (`issued`,
    /// `rate_limited`, `unreachable`, `challenge_failed`, `rejected`,
    /// `budget_exhausted`, `error`).
    pub orders: Vec<&'static str>,
    /// Domains whose certificate changed (to invalidate caches).
    pub new_certificates: Vec<String>,
}

pub struct DomainWorker {
    db: Db,
    master: MasterKey,
    dns: CnameVerifier,
    local_ca: Option<LocalCa>,
    acme: Option<AcmeSettings>,
    /// Connected on first use; dropped when the CA forgot the account.
    acme_client: tokio::sync::Mutex<Option<Arc<AcmeClient>>>,
    settings: LifecycleSettings,
    /// Names this process in leases.
    holder: String,
}

/// The budget counts audit rows of this action per registered domain.
const ORDER_ACTION: &str = "certificate.order";
const BUDGET_WINDOW_SECS: i64 = 7 * 24 * 3600;

impl DomainWorker {
    pub fn new(
        db: Db,
        master: MasterKey,
        dns: CnameVerifier,
        local_ca: Option<LocalCa>,
        acme: Option<AcmeSettings>,
        settings: LifecycleSettings,
    ) -> Self {
        let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        Self {
            db,
            master,
            dns,
            local_ca,
            acme,
            acme_client: tokio::sync::Mutex::new(None),
            settings,
            holder,
        }
    }

    /// The worker a node runs for `config`: its nameservers, its ACME CA (if
    /// any) and pacing; `local_ca` issues for domains whose issuer is
    /// `internal`.
    pub fn from_config(
        config: &porta_core::config::Config,
        db: Db,
        master: MasterKey,
        local_ca: Option<LocalCa>,
    ) -> Result<DomainWorker, crate::dns::DnsError> {
        let dns = CnameVerifier::new(&config.dns_nameservers)?;
        let acme = config.acme.as_ref().map(|a| {
            let mut settings = AcmeSettings::new(a.directory_url.clone());
            settings.contact = a.contact.clone();
            settings.root_ca_pem = a.root_ca.clone();
            settings.eab = a.eab.clone();
            settings.challenge_order = a
                .challenge_order
                .iter()
                .map(|c| {
                    if c == "tls-alpn-01" {
                        acme::ChallengeKind::TlsAlpn01
                    } else {
                        acme::ChallengeKind::Http01
                    }
                })
                .collect();
            settings
        });
        Ok(DomainWorker::new(
            db,
            master,
            dns,
            local_ca,
            acme,
            LifecycleSettings {
                first_retry: config.domains.first_retry,
                max_retry: config.domains.max_retry,
                give_up_after: config.domains.give_up_after,
                weekly_order_budget: config.acme.as_ref().map_or(40, |a| a.weekly_order_budget),
                lease_ttl: Duration::from_secs(600),
            },
        ))
    }

    /// Orders a new certificate for an active domain now (operator's
    /// `porta cert renew`), under the domain's lease. Returns `false` when
    /// another node holds the lease.
    pub async fn force_renewal(
        &self,
        domain: &PortalDomain,
        now: UnixMillis,
    ) -> Result<(bool, TickReport), DbError> {
        let mut report = TickReport::default();
        let renewal = domain.status == DomainStatus::Active;
        let ran = self
            .with_lease(domain, now, |this| this.obtain(domain, now, &mut report, renewal))
            .await?;
        Ok((ran, report))
    }

    /// The delay after `attempts` earlier failures: `first_retry` after the
    /// first, doubling from there,
    /// capped at `max_retry`, with ±20 % jitter so nodes do not align.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
        let base = self
            .settings
            .first_retry
            .saturating_mul(1u32 << exp.min(20))
            .min(self.settings.max_retry);
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        base.mul_f64(jitter).min(self.settings.max_retry.mul_f64(1.2))
    }

    /// One pass over every due domain and every active domain's renewal.
    pub async fn tick(&self, now: UnixMillis) -> Result<TickReport, DbError> {
        let mut report = TickReport::default();
        for domain in portal_domains::due(&self.db, now, 50).await? {
            self.with_lease(&domain, now, |this| {
                this.advance_if_still_due(domain.clone(), now, &mut report)
            })
            .await?;
        }
        // Certificates stored during this tick have the CA's not-before
        // (whole seconds, possibly after the tick began): judge renewals by
        // the time now, or a fresh certificate looks not yet valid.
        let now = now.max(UnixMillis::now());
        for domain in portal_domains::list_all(&self.db).await? {
            if domain.status == DomainStatus::Active && self.needs_certificate(&domain, now).await? {
                self.with_lease(&domain, now, |this| {
                    this.renew_if_still_needed(domain.clone(), now, &mut report)
                })
                .await?;
            }
        }
        Ok(report)
    }

    /// The domain as stored now: another node may have moved it on between
    /// our read and our lease.
    async fn reread(&self, domain: &PortalDomain) -> Result<Option<PortalDomain>, DbError> {
        portal_domains::find_by_name(&self.db, &domain.domain).await
    }

    async fn advance_if_still_due(
        &self,
        seen: PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        let Some(domain) = self.reread(&seen).await? else {
            return Ok(());
        };
        let still_due = domain.status == seen.status && domain.next_retry_at.is_some_and(|at| at <= now.0);
        if still_due {
            self.advance(domain, now, report).await?;
        }
        Ok(())
    }

    async fn renew_if_still_needed(
        &self,
        seen: PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        let Some(domain) = self.reread(&seen).await? else {
            return Ok(());
        };
        if domain.status == DomainStatus::Active && self.needs_certificate(&domain, now).await? {
            self.renew(domain, now, report).await?;
        }
        Ok(())
    }

    /// Runs `work` while holding the domain's lease; `Ok(false)` when
    /// another node holds it (and `work` did not run).
    async fn with_lease<'a, F, Fut>(
        &'a self,
        domain: &PortalDomain,
        now: UnixMillis,
        work: F,
    ) -> Result<bool, DbError>
    where
        F: FnOnce(&'a Self) -> Fut,
        Fut: std::future::Future<Output = Result<(), DbError>> + 'a,
    {
        if !acme::try_lease(
            &self.db,
            &domain.domain,
            &self.holder,
            self.settings.lease_ttl,
            now,
        )
        .await?
        {
            return Ok(false);
        }
        let result = work(self).await;
        acme::release(&self.db, &domain.domain, &self.holder).await?;
        result.map(|()| true)
    }

    /// Whether an active domain has no usable certificate or is within the
    /// last third of its certificate's lifetime (and not backing off).
    async fn needs_certificate(&self, domain: &PortalDomain, now: UnixMillis) -> Result<bool, DbError> {
        if domain.next_retry_at.is_some_and(|at| at > now.0) {
            return Ok(false);
        }
        let current = store::current_for(&self.db, domain.domain.as_str(), now)
            .await
            .map_err(store_to_db)?;
        Ok(match current {
            None => true,
            Some(cert) => {
                let lifetime = cert.info.not_after.0 - cert.info.not_before.0;
                cert.info.not_after.0 - now.0 < lifetime / 3
            }
        })
    }

    async fn transition(
        &self,
        domain: &PortalDomain,
        result: CheckResult<'_>,
        now: UnixMillis,
    ) -> Result<(), DbError> {
        portal_domains::record_check(&self.db, domain.tenant_id, domain.id, &result, now).await?;
        if result.status != domain.status {
            tracing::info!(domain = %domain.domain, from = %domain.status, to = %result.status, "custom domain status changed");
            let event = AuditEvent {
                tenant: Some(domain.tenant_id),
                actor: None,
                action: "portal_domain.status",
                outcome: result.status.as_str(),
                subject: Some(domain.domain.as_str()),
                ip: None,
                user_agent: None,
                detail: Some(serde_json::json!({
                    "from": domain.status.as_str(),
                    "to": result.status.as_str(),
                    "message": result.message,
                })),
            };
            audit::record(&self.db, &event, now).await?;
        }
        Ok(())
    }

    fn retry_at(&self, attempts: i32, now: UnixMillis) -> UnixMillis {
        let delay = self.backoff(attempts);
        now.plus_seconds(i64::try_from(delay.as_secs()).unwrap_or(i64::MAX).max(1))
    }

    async fn advance(
        &self,
        domain: PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        match domain.status {
            DomainStatus::PendingDns | DomainStatus::Failed => self.check_dns(&domain, now).await,
            DomainStatus::PendingCertificate => self.obtain(&domain, now, report, false).await,
            DomainStatus::Active | DomainStatus::Disabled => Ok(()),
        }
    }

    async fn check_dns(&self, domain: &PortalDomain, now: UnixMillis) -> Result<(), DbError> {
        if domain.trust_dns {
            let result = CheckResult {
                status: DomainStatus::PendingCertificate,
                message: "DNS check skipped: trusted on submit by an operator",
                observed: None,
                attempts: 0,
                next_retry_at: Some(now),
            };
            return self.transition(domain, result, now).await;
        }
        let check = self
            .dns
            .check(domain.domain.as_str(), &domain.expected_cname)
            .await;
        let (aligned, observed, failure) = match check {
            Ok(check) => (check.aligned, check.observed, None),
            Err(e) => (false, Vec::new(), Some(e.to_string())),
        };
        let observed_json = serde_json::to_string(&observed).unwrap_or_else(|_| "[]".to_owned());
        if aligned {
            let message = format!(
                "CNAME verified: {} points at {}",
                domain.domain, domain.expected_cname
            );
            let result = CheckResult {
                status: DomainStatus::PendingCertificate,
                message: &message,
                observed: Some(&observed_json),
                attempts: 0,
                next_retry_at: Some(now),
            };
            return self.transition(domain, result, now).await;
        }
        let attempts = domain.attempts.saturating_add(1);
        let waited = Duration::from_millis(u64::try_from(now.0 - domain.created_at).unwrap_or(0));
        let reason = match &failure {
            Some(e) => format!("DNS lookup failed ({e})"),
            None if observed.is_empty() => "DNS has no CNAME record for it yet".to_owned(),
            None => format!("DNS answers {}", observed.join("; ")),
        };
        let (status, message, next) =
            if waited >= self.settings.give_up_after && domain.status != DomainStatus::Failed {
                (
                    DomainStatus::Failed,
                    format!(
                        "Gave up after {} hours: {reason}. Create a CNAME record from {} to {}, then retry.",
                        self.settings.give_up_after.as_secs() / 3600,
                        domain.domain,
                        domain.expected_cname
                    ),
                    None,
                )
            } else {
                let next = self.retry_at(domain.attempts, now);
                (
                    DomainStatus::PendingDns,
                    format!(
                        "Waiting for a CNAME record from {} to {}: {reason}. Checked {attempts} time(s).",
                        domain.domain, domain.expected_cname
                    ),
                    Some(next),
                )
            };
        let result = CheckResult {
            status,
            message: &message,
            observed: Some(&observed_json),
            attempts,
            next_retry_at: next,
        };
        self.transition(domain, result, now).await
    }

    async fn renew(
        &self,
        domain: PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        self.obtain(&domain, now, report, true).await
    }

    /// Orders a certificate from the domain's issuer; `renewal` keeps an
    /// active domain active whatever happens (the old certificate is still
    /// served).
    async fn obtain(
        &self,
        domain: &PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
        renewal: bool,
    ) -> Result<(), DbError> {
        let outcome = match domain.issuer.as_str() {
            "internal" => self.issue_internal(domain, now).await,
            _ => self.issue_acme(domain, now).await,
        };
        let attempts = domain.attempts.saturating_add(1);
        match outcome {
            Ok(serial) => {
                report.orders.push("issued");
                report.new_certificates.push(domain.domain.to_string());
                let message = format!("Certificate issued (serial {serial})");
                let result = CheckResult {
                    status: DomainStatus::Active,
                    message: &message,
                    observed: None,
                    attempts: 0,
                    next_retry_at: None,
                };
                self.transition(domain, result, now).await
            }
            Err(failure) => {
                report.orders.push(failure.label);
                let next = match failure.retry_after {
                    Some(at_least) => {
                        let backoff = self.backoff(domain.attempts).max(at_least);
                        now.plus_seconds(i64::try_from(backoff.as_secs()).unwrap_or(i64::MAX))
                    }
                    None => self.retry_at(domain.attempts, now),
                };
                let status = if renewal {
                    DomainStatus::Active
                } else {
                    DomainStatus::Failed
                };
                let message = if renewal {
                    format!(
                        "Renewal failed: {}. The current certificate is still served.",
                        failure.reason
                    )
                } else {
                    format!("Certificate not issued: {}", failure.reason)
                };
                tracing::warn!(domain = %domain.domain, reason = %failure.reason, "certificate order failed");
                let result = CheckResult {
                    status,
                    message: &message,
                    observed: None,
                    attempts,
                    next_retry_at: Some(next),
                };
                self.transition(domain, result, now).await
            }
        }
    }

    async fn issue_internal(&self, domain: &PortalDomain, now: UnixMillis) -> Result<String, OrderFailure> {
        let ca = self
            .local_ca
            .as_ref()
            .ok_or_else(|| OrderFailure::new("error", "no local CA is configured on this node"))?;
        let name = domain.domain.to_string();
        let issued = ca
            .issue(
                std::slice::from_ref(&name),
                crate::local_ca::DEFAULT_LEAF_VALIDITY,
            )
            .map_err(|e| OrderFailure::new("error", e.to_string()))?;
        let info = store::insert(
            &self.db,
            &self.master,
            &store::NewCertificate {
                tenant: Some(domain.tenant_id),
                domain: &name,
                issuer: crate::local_ca::ISSUER,
                chain_pem: &issued.chain_pem,
                key_pem: &issued.key_pem,
            },
            now,
        )
        .await
        .map_err(|e| OrderFailure::new("error", e.to_string()))?;
        Ok(info.serial)
    }

    async fn issue_acme(&self, domain: &PortalDomain, now: UnixMillis) -> Result<String, OrderFailure> {
        let Some(settings) = &self.acme else {
            return Err(OrderFailure::new(
                "error",
                "no ACME CA is configured (acme.directory_url)",
            ));
        };
        let registered = registered_domain(domain.domain.as_str());
        let since = now.plus_seconds(-BUDGET_WINDOW_SECS);
        let orders = audit::count_since(&self.db, ORDER_ACTION, &registered, since)
            .await
            .map_err(|e| OrderFailure::new("error", e.to_string()))?;
        if orders >= i64::from(self.settings.weekly_order_budget) {
            return Err(OrderFailure {
                label: "budget_exhausted",
                reason: format!(
                    "the budget of {} orders per week for {registered} is used up",
                    self.settings.weekly_order_budget
                ),
                retry_after: Some(Duration::from_secs(24 * 3600)),
            });
        }
        let client = {
            let mut slot = self.acme_client.lock().await;
            match slot.as_ref() {
                Some(client) => client.clone(),
                None => {
                    let client = Arc::new(
                        AcmeClient::connect(&self.db, &self.master, settings.clone())
                            .await
                            .map_err(OrderFailure::from)?,
                    );
                    *slot = Some(client.clone());
                    client
                }
            }
        };
        let result = client.issue(&domain.domain, Some(domain.tenant_id), now).await;
        if let Err(e) = &result {
            if e.to_string().contains("accountDoesNotExist") {
                self.forget_account(&settings.directory_url).await;
            }
        }
        let outcome = if result.is_ok() { "success" } else { "failure" };
        let event = AuditEvent {
            tenant: Some(domain.tenant_id),
            actor: None,
            action: ORDER_ACTION,
            outcome,
            subject: Some(&registered),
            ip: None,
            user_agent: None,
            detail: Some(serde_json::json!({ "domain": domain.domain.as_str() })),
        };
        audit::record(&self.db, &event, now)
            .await
            .map_err(|e| OrderFailure::new("error", e.to_string()))?;
        result.map(|info| info.serial).map_err(OrderFailure::from)
    }
}

impl DomainWorker {
    /// The CA no longer knows the stored account (a reset test CA, or an
    /// account deactivated elsewhere): drop it so the next order creates a
    /// new one instead of failing forever.
    async fn forget_account(&self, directory_url: &str) {
        tracing::warn!(
            directory = directory_url,
            "the ACME CA no longer knows our account; a new one will be created"
        );
        *self.acme_client.lock().await = None;
        let sql = "DELETE FROM acme_accounts WHERE directory_url = $1";
        let deleted = porta_core::on_pool!(&self.db, |pool| sqlx::query(sql)
            .bind(directory_url)
            .execute(pool)
            .await
            .map(|_| ()));
        if let Err(e) = deleted {
            tracing::warn!(error = %e, "could not remove the forgotten ACME account");
        }
    }
}

/// Why an order failed, in metrics and scheduling terms.
struct OrderFailure {
    label: &'static str,
    reason: String,
    retry_after: Option<Duration>,
}

impl OrderFailure {
    fn new(label: &'static str, reason: impl Into<String>) -> Self {
        Self {
            label,
            reason: reason.into(),
            retry_after: None,
        }
    }
}

impl From<AcmeError> for OrderFailure {
    fn from(e: AcmeError) -> Self {
        let label = match &e {
            AcmeError::RateLimited { .. } => "rate_limited",
            AcmeError::Unreachable(_) | AcmeError::Timeout(_) => "unreachable",
            AcmeError::ChallengeFailed { .. } => "challenge_failed",
            AcmeError::Rejected(_) => "rejected",
            _ => "error",
        };
        OrderFailure {
            label,
            retry_after: e.retry_after(),
            reason: e.to_string(),
        }
    }
}

fn store_to_db(e: store::StoreError) -> DbError {
    match e {
        store::StoreError::Db(db) => db,
        other => DbError::Invalid(other.to_string()),
    }
}

/// The registrable domain (`example.co.uk` for `portal.example.co.uk`):
/// what CA rate limits count by.
pub fn registered_domain(name: &str) -> String {
    psl::domain_str(name).unwrap_or(name).to_owned()
}

/// A shared worker, for background services.
pub type SharedWorker = Arc<DomainWorker>;
