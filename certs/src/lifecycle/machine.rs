//! The custom-domain state machine, as pure functions of the domain as
//! stored, what was found out about it (what DNS answered, what the issuer
//! answered) and an explicit `now`: no I/O, no clock, and the jitter passed
//! in, so every transition is exact under test.
//!
//! - `pending_dns` (and `failed`, which starts over from the DNS step):
//!   control proven (CNAME aligned, or the TXT record with the
//!   registration's token, or trusted on submit) -> `pending_certificate`,
//!   due at once; the name held by another tenant's registration ->
//!   `failed`, saying so, without a retry time;
//!   not yet -> `pending_dns` again after the [`backoff`]; after
//!   `give_up_after` since registration -> `failed` without a retry time
//!   (staff retry it);
//! - `pending_certificate`: issued -> `active`; a failed order -> `failed`
//!   with the reason and a retry time that honours the CA's `Retry-After`;
//! - `active`: renewed when [`renewal_due`]; a failed renewal stays
//!   `active` (the old certificate is still served) and backs off;
//! - `disabled`: never touched.

use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{CheckResult, PortalDomain};
use porta_core::domain_status::DomainStatus;

use super::backoff::{backoff, Jitter};
use super::outcome::OrderFailure;
use super::LifecycleSettings;
use crate::policy;
use crate::store::CertificateInfo;

/// What DNS answered for the domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsAnswer {
    /// The CNAME reaches the expected target.
    pub aligned: bool,
    /// The TXT record `_porta-challenge.<domain>` holds the registration's
    /// token (the other proof of control; only asked without the CNAME).
    pub txt_verified: bool,
    /// What was seen (`name CNAME target`, `name A addr`, ...).
    pub observed: Vec<String>,
    /// Why the lookup itself failed, if it did.
    pub error: Option<String>,
}

/// What was found out about a domain since it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An operator trusted its DNS on submit: no lookup was made.
    DnsTrusted,
    Dns(DnsAnswer),
    /// The issuer stored a certificate with this serial.
    Issued {
        serial: String,
    },
    OrderFailed(OrderFailure),
    /// Another tenant's registration of the name proved control first: the
    /// name is theirs.
    HeldByAnother,
}

/// What a registration is told when another tenant proved control of its
/// name first.
pub fn held_by_another_message(domain: &PortalDomain) -> String {
    format!(
        "Verified by another organisation: {} was proven to belong to another tenant's portal first. \
         Remove it here, or point its DNS at this portal and retry.",
        domain.domain
    )
}

/// The domain's next state, written as one [`CheckResult`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub status: DomainStatus,
    pub message: String,
    /// JSON list of what DNS answered, when DNS was asked.
    pub observed: Option<String>,
    pub attempts: i32,
    pub next_retry_at: Option<UnixMillis>,
}

impl Step {
    pub fn check_result(&self) -> CheckResult<'_> {
        CheckResult {
            status: self.status,
            message: &self.message,
            observed: self.observed.as_deref(),
            attempts: self.attempts,
            next_retry_at: self.next_retry_at,
        }
    }
}

/// What a domain that [`portal_domains::due`] returned needs next.
///
/// [`portal_domains::due`]: porta_core::db::portal_domains::due
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    CheckDns,
    Order,
    Nothing,
}

/// The work a pending or failed domain is due for at `now`.
pub fn work_for(domain: &PortalDomain, now: UnixMillis) -> Work {
    let due = domain.next_retry_at.is_some_and(|at| at <= now.0);
    match domain.status {
        DomainStatus::PendingDns | DomainStatus::Failed if due => Work::CheckDns,
        DomainStatus::PendingCertificate if due => Work::Order,
        _ => Work::Nothing,
    }
}

/// Whether an active domain needs a new certificate at `now`: it is not
/// backing off from a failed renewal, and [`policy::needs_renewal`] says so
/// of its `current` certificate.
pub fn renewal_due(domain: &PortalDomain, current: Option<&CertificateInfo>, now: UnixMillis) -> bool {
    domain.status == DomainStatus::Active
        && domain.next_retry_at.is_none_or(|at| at <= now.0)
        && policy::needs_renewal(current, now)
}

/// The domain's next state after `finding`, or `None` when the finding
/// does not apply to it (a disabled domain, or DNS for a domain past the
/// DNS step).
pub fn next_step(
    domain: &PortalDomain,
    finding: &Finding,
    now: UnixMillis,
    settings: &LifecycleSettings,
    jitter: Jitter,
) -> Option<Step> {
    let dns_step = matches!(domain.status, DomainStatus::PendingDns | DomainStatus::Failed);
    match finding {
        _ if domain.status == DomainStatus::Disabled => None,
        Finding::DnsTrusted | Finding::Dns(_) | Finding::HeldByAnother if !dns_step => None,
        Finding::HeldByAnother => Some(Step {
            status: DomainStatus::Failed,
            message: held_by_another_message(domain),
            observed: None,
            attempts: domain.attempts.saturating_add(1),
            next_retry_at: None,
        }),
        Finding::DnsTrusted => Some(Step {
            status: DomainStatus::PendingCertificate,
            message: "DNS check skipped: trusted on submit by an operator".to_owned(),
            observed: None,
            attempts: 0,
            next_retry_at: Some(now),
        }),
        Finding::Dns(answer) => Some(after_dns(domain, answer, now, settings, jitter)),
        Finding::Issued { serial } => Some(Step {
            status: DomainStatus::Active,
            message: format!("Certificate issued (serial {serial})"),
            observed: None,
            attempts: 0,
            next_retry_at: None,
        }),
        Finding::OrderFailed(failure) => Some(after_failed_order(domain, failure, now, settings, jitter)),
    }
}

fn after_dns(
    domain: &PortalDomain,
    answer: &DnsAnswer,
    now: UnixMillis,
    settings: &LifecycleSettings,
    jitter: Jitter,
) -> Step {
    let observed = Some(serde_json::to_string(&answer.observed).unwrap_or_else(|_| "[]".to_owned()));
    if answer.aligned || answer.txt_verified {
        let message = if answer.aligned {
            format!(
                "CNAME verified: {} points at {}",
                domain.domain, domain.expected_cname
            )
        } else {
            format!(
                "TXT record verified: {} holds this registration's token",
                porta_core::db::portal_domains::txt_record_name(&domain.domain)
            )
        };
        return Step {
            status: DomainStatus::PendingCertificate,
            message,
            observed,
            attempts: 0,
            next_retry_at: Some(now),
        };
    }
    let attempts = domain.attempts.saturating_add(1);
    let waited = Duration::from_millis(u64::try_from(now.0.saturating_sub(domain.created_at)).unwrap_or(0));
    let reason = match &answer.error {
        Some(e) => format!("DNS lookup failed ({e})"),
        None if answer.observed.is_empty() => "DNS has no CNAME record for it yet".to_owned(),
        None => format!("DNS answers {}", answer.observed.join("; ")),
    };
    if waited >= settings.give_up_after && domain.status != DomainStatus::Failed {
        return Step {
            status: DomainStatus::Failed,
            message: format!(
                "Gave up after {} hours: {reason}. Create a CNAME record from {} to {}, then retry.",
                settings.give_up_after.as_secs() / 3600,
                domain.domain,
                domain.expected_cname
            ),
            observed,
            attempts,
            next_retry_at: None,
        };
    }
    Step {
        status: DomainStatus::PendingDns,
        message: format!(
            "Waiting for a CNAME record from {} to {}: {reason}. Checked {attempts} time(s).",
            domain.domain, domain.expected_cname
        ),
        observed,
        attempts,
        next_retry_at: Some(retry_at(domain.attempts, now, settings, jitter)),
    }
}

fn after_failed_order(
    domain: &PortalDomain,
    failure: &OrderFailure,
    now: UnixMillis,
    settings: &LifecycleSettings,
    jitter: Jitter,
) -> Step {
    let next = match failure.retry_after {
        Some(at_least) => {
            let delay = backoff(domain.attempts, settings, jitter).max(at_least);
            now.plus_seconds(i64::try_from(delay.as_secs()).unwrap_or(i64::MAX))
        }
        None => retry_at(domain.attempts, now, settings, jitter),
    };
    // A renewal keeps the domain active: the old certificate is served.
    let renewal = domain.status == DomainStatus::Active;
    let (status, message) = if renewal {
        (
            DomainStatus::Active,
            format!(
                "Renewal failed: {}. The current certificate is still served.",
                failure.reason
            ),
        )
    } else {
        (
            DomainStatus::Failed,
            format!("Certificate not issued: {}", failure.reason),
        )
    };
    Step {
        status,
        message,
        observed: None,
        attempts: domain.attempts.saturating_add(1),
        next_retry_at: Some(next),
    }
}

/// `now` plus the backoff after `attempts` failures, at least a second.
fn retry_at(attempts: i32, now: UnixMillis, settings: &LifecycleSettings, jitter: Jitter) -> UnixMillis {
    let delay = backoff(attempts, settings, jitter);
    now.plus_seconds(i64::try_from(delay.as_secs()).unwrap_or(i64::MAX).max(1))
}

#[cfg(test)]
mod tests;
