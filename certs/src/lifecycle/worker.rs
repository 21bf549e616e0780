//! The lifecycle worker: finds the domains that are due, takes each one's
//! lease, finds out what DNS or the issuer says, and writes the state
//! machine's next step ([`super::machine::next_step`]) with an audit row
//! when the status changes.

use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::portal_domains::{self, PortalDomain};
use porta_core::db::{Db, DbError};
use porta_core::domain_status::DomainStatus;

use super::backoff::{self, Jitter};
use super::issuance::Issuers;
use super::lease::Lease;
use super::machine::{self, DnsAnswer, Finding, Step, Work};
use super::outcome::OrderOutcome;
use super::LifecycleSettings;
use crate::acme::AcmeSettings;
use crate::dns::{CnameVerifier, Proof};
use crate::local_ca::LocalCa;
use crate::master_key::MasterKey;
use crate::store;

/// How many due domains one tick looks at.
const DUE_PER_TICK: i64 = 50;

/// What one tick did, for metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// Each order (ACME or local CA) by outcome.
    pub orders: Vec<OrderOutcome>,
    /// Domains whose certificate changed (to invalidate caches).
    pub new_certificates: Vec<String>,
}

pub struct DomainWorker {
    db: Db,
    dns: CnameVerifier,
    issuers: Issuers,
    settings: LifecycleSettings,
    lease: Lease,
}

impl DomainWorker {
    pub fn new(
        db: Db,
        master: MasterKey,
        dns: CnameVerifier,
        local_ca: Option<LocalCa>,
        acme: Option<AcmeSettings>,
        settings: LifecycleSettings,
    ) -> Self {
        let issuers = Issuers::new(db.clone(), master, local_ca, acme, settings.weekly_order_budget);
        Self {
            db,
            dns,
            issuers,
            lease: Lease::new(settings.lease_ttl),
            settings,
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
        let acme = config.acme.as_ref().map(AcmeSettings::from_config);
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
                lease_ttl: config.domains.lease,
            },
        ))
    }

    /// The delay after `attempts` earlier failures, with random jitter (see
    /// [`backoff::backoff`]).
    pub fn backoff(&self, attempts: i32) -> Duration {
        backoff::backoff(attempts, &self.settings, Jitter::random())
    }

    /// Orders a new certificate for a domain now (operator's `porta cert
    /// renew`), under the domain's lease. Returns `false` when another node
    /// holds the lease.
    pub async fn force_renewal(
        &self,
        domain: &PortalDomain,
        now: UnixMillis,
    ) -> Result<(bool, TickReport), DbError> {
        let mut report = TickReport::default();
        let ran = self
            .lease
            .run(
                &self.db,
                &domain.domain,
                now,
                self.obtain(domain, now, &mut report),
            )
            .await?;
        Ok((ran, report))
    }

    /// One pass over every due domain and every active domain's renewal.
    pub async fn tick(&self, now: UnixMillis) -> Result<TickReport, DbError> {
        let mut report = TickReport::default();
        for domain in portal_domains::due(&self.db, now, DUE_PER_TICK).await? {
            let work = self.advance_if_still_due(&domain, now, &mut report);
            self.lease.run(&self.db, &domain.domain, now, work).await?;
        }
        // Certificates stored during this tick have the CA's not-before
        // (whole seconds, possibly after the tick began): judge renewals by
        // the time now, or a fresh certificate looks not yet valid.
        let now = now.max(UnixMillis::now());
        for domain in portal_domains::list_all(&self.db).await? {
            if domain.status == DomainStatus::Active && self.renewal_due(&domain, now).await? {
                let work = self.renew_if_still_due(&domain, now, &mut report);
                self.lease.run(&self.db, &domain.domain, now, work).await?;
            }
        }
        Ok(report)
    }

    /// The registration as stored now: another node may have moved it on
    /// between our read and our lease.
    async fn reread(&self, domain: &PortalDomain) -> Result<Option<PortalDomain>, DbError> {
        portal_domains::get(&self.db, domain.tenant_id, domain.id).await
    }

    async fn advance_if_still_due(
        &self,
        seen: &PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        let Some(domain) = self.reread(seen).await? else {
            return Ok(());
        };
        if domain.status != seen.status {
            return Ok(());
        }
        match machine::work_for(&domain, now) {
            Work::CheckDns => self.check_dns(&domain, now).await,
            Work::Order => self.obtain(&domain, now, report).await,
            Work::Nothing => Ok(()),
        }
    }

    async fn renew_if_still_due(
        &self,
        seen: &PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        let Some(domain) = self.reread(seen).await? else {
            return Ok(());
        };
        if self.renewal_due(&domain, now).await? {
            self.obtain(&domain, now, report).await?;
        }
        Ok(())
    }

    /// [`machine::renewal_due`] of the domain's current certificate.
    async fn renewal_due(&self, domain: &PortalDomain, now: UnixMillis) -> Result<bool, DbError> {
        if domain.status != DomainStatus::Active {
            return Ok(false);
        }
        let current = store::current_for(&self.db, domain.domain.as_str(), now)
            .await
            .map_err(store_to_db)?;
        Ok(machine::renewal_due(
            domain,
            current.as_ref().map(|c| &c.info),
            now,
        ))
    }

    /// The DNS step: has this registration proven control of its name (or
    /// did an operator trust it)? Proven, it claims the name, and the other
    /// registrations of the name are told it is taken; when another
    /// registration holds the name already, this one is told so instead.
    async fn check_dns(&self, domain: &PortalDomain, now: UnixMillis) -> Result<(), DbError> {
        if self.held_by_another(domain).await? {
            return self.apply(domain, &Finding::HeldByAnother, now).await;
        }
        let finding = if domain.trust_dns {
            Finding::DnsTrusted
        } else {
            let answer = match self
                .dns
                .check_control(
                    domain.domain.as_str(),
                    &domain.expected_cname,
                    &domain.verification_token,
                )
                .await
            {
                Ok(check) => DnsAnswer {
                    aligned: check.proof == Some(Proof::Cname),
                    txt_verified: check.proof == Some(Proof::Txt),
                    observed: check.observed,
                    error: None,
                },
                Err(e) => DnsAnswer {
                    error: Some(e.to_string()),
                    ..DnsAnswer::default()
                },
            };
            Finding::Dns(answer)
        };
        let proven = match &finding {
            Finding::DnsTrusted => true,
            Finding::Dns(answer) => answer.aligned || answer.txt_verified,
            _ => false,
        };
        if !proven {
            return self.apply(domain, &finding, now).await;
        }
        if !portal_domains::claim(&self.db, domain.tenant_id, domain.id, now).await? {
            return self.apply(domain, &Finding::HeldByAnother, now).await;
        }
        tracing::info!(domain = %domain.domain, tenant = %domain.tenant_id, "custom domain claimed");
        self.apply(domain, &finding, now).await?;
        self.tell_rivals(domain, now).await
    }

    /// Whether another registration holds this one's name.
    async fn held_by_another(&self, domain: &PortalDomain) -> Result<bool, DbError> {
        Ok(portal_domains::holder(&self.db, &domain.domain)
            .await?
            .is_some_and(|holder| holder.id != domain.id))
    }

    /// Fails the other registrations of the name `holder` just claimed,
    /// each with the reason and an audit row for its tenant.
    async fn tell_rivals(&self, holder: &PortalDomain, now: UnixMillis) -> Result<(), DbError> {
        let message = machine::held_by_another_message(holder);
        for rival in portal_domains::fail_rivals(&self.db, holder, &message, now).await? {
            tracing::info!(domain = %rival.domain, tenant = %rival.tenant_id, "custom domain taken by another tenant");
            self.audit_status(&rival, DomainStatus::Failed, &message, now)
                .await?;
        }
        Ok(())
    }

    /// Orders a certificate from the domain's issuer and writes the
    /// outcome (a renewal keeps an active domain active whatever happens).
    async fn obtain(
        &self,
        domain: &PortalDomain,
        now: UnixMillis,
        report: &mut TickReport,
    ) -> Result<(), DbError> {
        let finding = match self.issuers.obtain(domain, now).await {
            Ok(serial) => {
                report.orders.push(OrderOutcome::Issued);
                report.new_certificates.push(domain.domain.to_string());
                Finding::Issued { serial }
            }
            Err(failure) => {
                report.orders.push(failure.outcome);
                tracing::warn!(domain = %domain.domain, reason = %failure.reason, "certificate order failed");
                Finding::OrderFailed(failure)
            }
        };
        self.apply(domain, &finding, now).await
    }

    /// Writes the state machine's next step for `finding`, if there is one.
    async fn apply(&self, domain: &PortalDomain, finding: &Finding, now: UnixMillis) -> Result<(), DbError> {
        let Some(step) = machine::next_step(domain, finding, now, &self.settings, Jitter::random()) else {
            return Ok(());
        };
        self.record(domain, &step, now).await
    }

    async fn record(&self, domain: &PortalDomain, step: &Step, now: UnixMillis) -> Result<(), DbError> {
        portal_domains::record_check(&self.db, domain.tenant_id, domain.id, &step.check_result(), now)
            .await?;
        if step.status == domain.status {
            return Ok(());
        }
        tracing::info!(domain = %domain.domain, from = %domain.status, to = %step.status, "custom domain status changed");
        self.audit_status(domain, step.status, &step.message, now).await
    }
}

impl DomainWorker {
    /// The audit row of a status change of `domain` to `to`.
    async fn audit_status(
        &self,
        domain: &PortalDomain,
        to: DomainStatus,
        message: &str,
        now: UnixMillis,
    ) -> Result<(), DbError> {
        let event = AuditEvent {
            tenant: Some(domain.tenant_id),
            actor: None,
            action: "portal_domain.status",
            outcome: to.as_str(),
            subject: Some(domain.domain.as_str()),
            ip: None,
            user_agent: None,
            detail: Some(serde_json::json!({
                "from": domain.status.as_str(),
                "to": to.as_str(),
                "message": message,
            })),
        };
        audit::record(&self.db, &event, now).await
    }
}

fn store_to_db(e: store::StoreError) -> DbError {
    match e {
        store::StoreError::Db(db) => db,
        other => DbError::Invalid(other.to_string()),
    }
}
