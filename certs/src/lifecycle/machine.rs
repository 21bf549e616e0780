//! The custom-domain state machine, as pure functions of the domain as
//! stored, what was found out about it (what DNS answered, what the issuer
//! answered) and an explicit `now`: no I/O, no clock, and the jitter passed
//! in, so every transition is exact under test.
//!
//! - `pending_dns` (and `failed`, which starts over from the DNS step):
//!   aligned (or trusted on submit) -> `pending_certificate`, due at once;
//!   not yet -> `pending_dns` again after [`backoff`]; after
//!   `give_up_after` since registration -> `failed` without a retry time
//!   (staff retry it);
//! - `pending_certificate`: issued -> `active`; a failed order -> `failed`
//!   with the reason and a retry time that honours the CA's `Retry-After`;
//! - `active`: renewed when [`renewal_due`]; a failed renewal stays
//!   `active` (the old certificate is still served) and backs off;
//! - `disabled`: never touched.

use std::fmt;
use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{CheckResult, PortalDomain};
use porta_core::domain_status::DomainStatus;
use rand::Rng;

use super::LifecycleSettings;
use crate::policy;
use crate::store::CertificateInfo;

/// The factor a delay is multiplied by so that nodes do not retry in step:
/// within [0.8, 1.2].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter(f64);

impl Jitter {
    /// The shortest delay (0.8).
    pub const MIN: Jitter = Jitter(0.8);
    /// No jitter (1.0).
    pub const NONE: Jitter = Jitter(1.0);
    /// The longest delay (1.2).
    pub const MAX: Jitter = Jitter(1.2);

    /// A factor within the bounds, clamped (NaN is none).
    pub fn new(factor: f64) -> Jitter {
        if factor.is_nan() {
            return Jitter::NONE;
        }
        Jitter(factor.clamp(Jitter::MIN.0, Jitter::MAX.0))
    }

    /// A random factor within the bounds.
    pub fn random() -> Jitter {
        Jitter(rand::thread_rng().gen_range(Jitter::MIN.0..Jitter::MAX.0))
    }

    pub fn factor(self) -> f64 {
        self.0
    }
}

/// The delay after `attempts` earlier failures: `first_retry` after the
/// first, doubling from there, capped at `max_retry`, times `jitter`.
pub fn backoff(attempts: i32, settings: &LifecycleSettings, jitter: Jitter) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let base = settings
        .first_retry
        .saturating_mul(1u32 << exp)
        .min(settings.max_retry);
    base.mul_f64(jitter.factor())
}

/// What an order ended as, for metrics (`porta_certificate_orders_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderOutcome {
    Issued,
    RateLimited,
    Unreachable,
    ChallengeFailed,
    Rejected,
    BudgetExhausted,
    Error,
}

impl OrderOutcome {
    pub const ALL: [OrderOutcome; 7] = [
        OrderOutcome::Issued,
        OrderOutcome::RateLimited,
        OrderOutcome::Unreachable,
        OrderOutcome::ChallengeFailed,
        OrderOutcome::Rejected,
        OrderOutcome::BudgetExhausted,
        OrderOutcome::Error,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderOutcome::Issued => "issued",
            OrderOutcome::RateLimited => "rate_limited",
            OrderOutcome::Unreachable => "unreachable",
            OrderOutcome::ChallengeFailed => "challenge_failed",
            OrderOutcome::Rejected => "rejected",
            OrderOutcome::BudgetExhausted => "budget_exhausted",
            OrderOutcome::Error => "error",
        }
    }
}

impl fmt::Display for OrderOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for OrderOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Why an order failed, in metrics and scheduling terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFailure {
    pub outcome: OrderOutcome,
    pub reason: String,
    /// The earliest retry the CA (or the budget) allows.
    pub retry_after: Option<Duration>,
}

impl OrderFailure {
    pub fn new(outcome: OrderOutcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// How long an exhausted budget holds orders back.
pub const BUDGET_RETRY: Duration = Duration::from_secs(24 * 3600);

/// Whether another order for `registered` fits a budget of `budget`
/// orders per window, `orders` having been placed in it.
pub fn order_budget(orders: i64, budget: u32, registered: &str) -> Result<(), OrderFailure> {
    if orders < i64::from(budget) {
        return Ok(());
    }
    Err(OrderFailure {
        outcome: OrderOutcome::BudgetExhausted,
        reason: format!("the budget of {budget} orders per week for {registered} is used up"),
        retry_after: Some(BUDGET_RETRY),
    })
}

/// What DNS answered for the domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsAnswer {
    /// The CNAME reaches the expected target.
    pub aligned: bool,
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
        Finding::DnsTrusted | Finding::Dns(_) if !dns_step => None,
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
    if answer.aligned {
        return Step {
            status: DomainStatus::PendingCertificate,
            message: format!(
                "CNAME verified: {} points at {}",
                domain.domain, domain.expected_cname
            ),
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
mod tests {
    use porta_core::host::HostName;
    use porta_core::ids::{PortalDomainId, TenantId};
    use porta_core::issuer::{CertificateSource, Issuer};

    use super::*;
    use crate::store::CertificateId;

    const HOUR_MS: i64 = 3_600_000;
    const DAY_MS: i64 = 24 * HOUR_MS;
    /// The fake clock: every test's `now`.
    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

    fn settings() -> LifecycleSettings {
        LifecycleSettings {
            first_retry: Duration::from_secs(60),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(72 * 3600),
            weekly_order_budget: 40,
            lease_ttl: Duration::from_secs(600),
        }
    }

    /// `shop.example.test`, registered `age_ms` before [`NOW`], due now.
    fn domain(status: DomainStatus, attempts: i32, age_ms: i64) -> PortalDomain {
        PortalDomain {
            id: PortalDomainId::generate(),
            tenant_id: TenantId::generate(),
            domain: HostName::parse("shop.example.test").unwrap(),
            status,
            status_message: String::new(),
            expected_cname: "acme.portal.example.test".to_owned(),
            observed_cname: None,
            issuer: Issuer::Acme,
            trust_dns: false,
            attempts,
            next_retry_at: Some(NOW.0),
            last_checked_at: None,
            activated_at: None,
            created_at: NOW.0 - age_ms,
            updated_at: NOW.0 - age_ms,
        }
    }

    fn step(d: &PortalDomain, finding: &Finding, jitter: Jitter) -> Step {
        next_step(d, finding, NOW, &settings(), jitter).expect("a transition")
    }

    fn missing_cname() -> Finding {
        Finding::Dns(DnsAnswer::default())
    }

    fn at(seconds: i64) -> Option<UnixMillis> {
        Some(NOW.plus_seconds(seconds))
    }

    fn certificate(lifetime_days: i64, issued_days_ago: i64) -> CertificateInfo {
        let not_before = NOW.0 - issued_days_ago * DAY_MS;
        CertificateInfo {
            id: CertificateId::generate(),
            tenant_id: None,
            domain: "shop.example.test".to_owned(),
            issuer: CertificateSource::Issued(Issuer::Acme),
            serial: "0a".to_owned(),
            not_before: UnixMillis(not_before),
            not_after: UnixMillis(not_before + lifetime_days * DAY_MS),
            created_at: UnixMillis(not_before),
            replaced_at: None,
        }
    }

    fn failure(outcome: OrderOutcome, retry_after: Option<u64>) -> Finding {
        Finding::OrderFailed(OrderFailure {
            outcome,
            reason: "the CA said no".to_owned(),
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    #[test]
    fn pending_dns_to_pending_certificate_when_the_cname_is_aligned() {
        let d = domain(DomainStatus::PendingDns, 3, HOUR_MS);
        let answer = DnsAnswer {
            aligned: true,
            observed: vec!["shop.example.test CNAME acme.portal.example.test".to_owned()],
            error: None,
        };
        let next = step(&d, &Finding::Dns(answer), Jitter::MAX);
        assert_eq!(
            next,
            Step {
                status: DomainStatus::PendingCertificate,
                message: "CNAME verified: shop.example.test points at acme.portal.example.test".to_owned(),
                observed: Some(r#"["shop.example.test CNAME acme.portal.example.test"]"#.to_owned()),
                attempts: 0,
                next_retry_at: Some(NOW),
            }
        );
        // A failed domain starts over from the DNS step the same way.
        let failed = domain(DomainStatus::Failed, 5, 100 * DAY_MS);
        let answer = DnsAnswer {
            aligned: true,
            ..DnsAnswer::default()
        };
        assert_eq!(
            step(&failed, &Finding::Dns(answer), Jitter::NONE).status,
            DomainStatus::PendingCertificate
        );
    }

    #[test]
    fn trusted_dns_goes_to_pending_certificate_without_a_lookup() {
        let d = domain(DomainStatus::PendingDns, 0, 0);
        let next = step(&d, &Finding::DnsTrusted, Jitter::NONE);
        assert_eq!(
            next,
            Step {
                status: DomainStatus::PendingCertificate,
                message: "DNS check skipped: trusted on submit by an operator".to_owned(),
                observed: None,
                attempts: 0,
                next_retry_at: Some(NOW),
            }
        );
    }

    #[test]
    fn pending_dns_stays_and_backs_off_within_the_jitter_bounds() {
        let d = domain(DomainStatus::PendingDns, 0, HOUR_MS);
        let shortest = step(&d, &missing_cname(), Jitter::MIN);
        assert_eq!(
            shortest,
            Step {
                status: DomainStatus::PendingDns,
                message: "Waiting for a CNAME record from shop.example.test to acme.portal.example.test: \
                          DNS has no CNAME record for it yet. Checked 1 time(s)."
                    .to_owned(),
                observed: Some("[]".to_owned()),
                attempts: 1,
                next_retry_at: at(48),
            }
        );
        assert_eq!(step(&d, &missing_cname(), Jitter::NONE).next_retry_at, at(60));
        assert_eq!(step(&d, &missing_cname(), Jitter::MAX).next_retry_at, at(72));

        // The third miss: twice doubled, and the attempts count on.
        let third = domain(DomainStatus::PendingDns, 2, HOUR_MS);
        let next = step(&third, &missing_cname(), Jitter::MIN);
        assert_eq!(next.attempts, 3);
        assert_eq!(next.next_retry_at, at(192));
        assert_eq!(step(&third, &missing_cname(), Jitter::MAX).next_retry_at, at(288));
        // Capped at max_retry (times the jitter).
        let many = domain(DomainStatus::PendingDns, 30, HOUR_MS);
        assert_eq!(
            step(&many, &missing_cname(), Jitter::NONE).next_retry_at,
            at(3600)
        );
        assert_eq!(step(&many, &missing_cname(), Jitter::MAX).next_retry_at, at(4320));

        // What DNS said is in the message and the observed list.
        let wrong = DnsAnswer {
            aligned: false,
            observed: vec!["shop.example.test A 192.0.2.7".to_owned()],
            error: None,
        };
        let next = step(&d, &Finding::Dns(wrong), Jitter::NONE);
        assert!(
            next.message
                .contains(": DNS answers shop.example.test A 192.0.2.7. "),
            "{next:?}"
        );
        assert_eq!(
            next.observed.as_deref(),
            Some(r#"["shop.example.test A 192.0.2.7"]"#)
        );
        let broken = DnsAnswer {
            error: Some("timed out".to_owned()),
            ..DnsAnswer::default()
        };
        let next = step(&d, &Finding::Dns(broken), Jitter::NONE);
        assert!(
            next.message.contains(": DNS lookup failed (timed out). "),
            "{next:?}"
        );
    }

    #[test]
    fn pending_dns_fails_after_the_give_up_period() {
        let just_before = domain(DomainStatus::PendingDns, 9, 72 * HOUR_MS - 1);
        assert_eq!(
            step(&just_before, &missing_cname(), Jitter::NONE).status,
            DomainStatus::PendingDns
        );
        let d = domain(DomainStatus::PendingDns, 9, 72 * HOUR_MS);
        assert_eq!(
            step(&d, &missing_cname(), Jitter::NONE),
            Step {
                status: DomainStatus::Failed,
                message: "Gave up after 72 hours: DNS has no CNAME record for it yet. \
                          Create a CNAME record from shop.example.test to acme.portal.example.test, then retry."
                    .to_owned(),
                observed: Some("[]".to_owned()),
                attempts: 10,
                next_retry_at: None,
            }
        );
        // A failed domain being retried does not give up again at once.
        let retried = domain(DomainStatus::Failed, 1, 100 * DAY_MS);
        let next = step(&retried, &missing_cname(), Jitter::NONE);
        assert_eq!(next.status, DomainStatus::PendingDns);
        assert_eq!(next.next_retry_at, at(120));
    }

    #[test]
    fn pending_certificate_to_active_when_issued() {
        let d = domain(DomainStatus::PendingCertificate, 2, HOUR_MS);
        let issued = Finding::Issued {
            serial: "0a1b".to_owned(),
        };
        assert_eq!(
            step(&d, &issued, Jitter::MAX),
            Step {
                status: DomainStatus::Active,
                message: "Certificate issued (serial 0a1b)".to_owned(),
                observed: None,
                attempts: 0,
                next_retry_at: None,
            }
        );
    }

    #[test]
    fn a_failed_order_fails_the_domain_and_honours_retry_after() {
        let d = domain(DomainStatus::PendingCertificate, 1, HOUR_MS);
        // No Retry-After: the backoff (120 s after one failure).
        let next = step(&d, &failure(OrderOutcome::Unreachable, None), Jitter::NONE);
        assert_eq!(
            next,
            Step {
                status: DomainStatus::Failed,
                message: "Certificate not issued: the CA said no".to_owned(),
                observed: None,
                attempts: 2,
                next_retry_at: at(120),
            }
        );
        // A Retry-After longer than the backoff wins...
        let next = step(&d, &failure(OrderOutcome::Rejected, Some(7200)), Jitter::MAX);
        assert_eq!(next.next_retry_at, at(7200));
        // ... a shorter one does not shorten it.
        let next = step(&d, &failure(OrderOutcome::Rejected, Some(10)), Jitter::MIN);
        assert_eq!(next.next_retry_at, at(96));
    }

    #[test]
    fn a_rate_limited_order_waits_for_the_ca() {
        let d = domain(DomainStatus::PendingCertificate, 0, HOUR_MS);
        let next = step(
            &d,
            &failure(OrderOutcome::RateLimited, Some(3 * 3600)),
            Jitter::MAX,
        );
        assert_eq!(next.status, DomainStatus::Failed);
        assert_eq!(next.attempts, 1);
        assert_eq!(next.next_retry_at, at(3 * 3600));
        // Rate limited without a Retry-After: the backoff alone.
        let next = step(&d, &failure(OrderOutcome::RateLimited, None), Jitter::MIN);
        assert_eq!(next.next_retry_at, at(48));
    }

    #[test]
    fn an_exhausted_budget_holds_orders_for_a_day() {
        assert_eq!(order_budget(39, 40, "example.test"), Ok(()));
        let exhausted = order_budget(40, 40, "example.test").unwrap_err();
        assert_eq!(
            exhausted,
            OrderFailure {
                outcome: OrderOutcome::BudgetExhausted,
                reason: "the budget of 40 orders per week for example.test is used up".to_owned(),
                retry_after: Some(Duration::from_secs(24 * 3600)),
            }
        );
        assert!(order_budget(41, 40, "example.test").is_err());
        let d = domain(DomainStatus::PendingCertificate, 4, HOUR_MS);
        let next = step(&d, &Finding::OrderFailed(exhausted), Jitter::MAX);
        assert_eq!(next.status, DomainStatus::Failed);
        assert_eq!(
            next.message,
            "Certificate not issued: the budget of 40 orders per week for example.test is used up"
        );
        assert_eq!(next.next_retry_at, at(24 * 3600));
    }

    #[test]
    fn an_active_domain_is_renewed_in_the_last_third_only() {
        let d = domain(DomainStatus::Active, 0, 100 * DAY_MS);
        let d = PortalDomain {
            next_retry_at: None,
            ..d
        };
        assert!(
            !renewal_due(&d, Some(&certificate(90, 59)), NOW),
            "two thirds left... almost"
        );
        assert!(
            !renewal_due(&d, Some(&certificate(90, 60)), NOW),
            "exactly at the mark"
        );
        assert!(renewal_due(&d, Some(&certificate(90, 61)), NOW));
        assert!(renewal_due(&d, None, NOW), "no current certificate");
        // Backing off from a failed renewal: not yet, then again.
        let backing_off = PortalDomain {
            next_retry_at: Some(NOW.0 + 1),
            ..d.clone()
        };
        assert!(!renewal_due(&backing_off, Some(&certificate(90, 61)), NOW));
        let retry_now = PortalDomain {
            next_retry_at: Some(NOW.0),
            ..d.clone()
        };
        assert!(renewal_due(&retry_now, Some(&certificate(90, 61)), NOW));
        // Only active domains are renewed.
        for status in [
            DomainStatus::PendingCertificate,
            DomainStatus::Failed,
            DomainStatus::Disabled,
        ] {
            let other = PortalDomain { status, ..d.clone() };
            assert!(!renewal_due(&other, None, NOW), "{status}");
        }
    }

    #[test]
    fn a_failed_renewal_stays_active_and_backs_off() {
        let d = domain(DomainStatus::Active, 1, 100 * DAY_MS);
        let next = step(&d, &failure(OrderOutcome::Unreachable, None), Jitter::NONE);
        assert_eq!(
            next,
            Step {
                status: DomainStatus::Active,
                message: "Renewal failed: the CA said no. The current certificate is still served."
                    .to_owned(),
                observed: None,
                attempts: 2,
                next_retry_at: at(120),
            }
        );
        let renewed = step(
            &d,
            &Finding::Issued {
                serial: "ff".to_owned(),
            },
            Jitter::NONE,
        );
        assert_eq!(
            (renewed.status, renewed.attempts, renewed.next_retry_at),
            (DomainStatus::Active, 0, None)
        );
    }

    #[test]
    fn a_disabled_domain_is_never_touched() {
        let d = domain(DomainStatus::Disabled, 0, 100 * DAY_MS);
        for finding in [
            Finding::DnsTrusted,
            missing_cname(),
            Finding::Issued {
                serial: "01".to_owned(),
            },
            failure(OrderOutcome::Error, None),
        ] {
            assert_eq!(
                next_step(&d, &finding, NOW, &settings(), Jitter::NONE),
                None,
                "{finding:?}"
            );
        }
        assert_eq!(work_for(&d, NOW), Work::Nothing);
        assert!(!renewal_due(&d, None, NOW));
    }

    #[test]
    fn dns_findings_only_apply_at_the_dns_step() {
        for status in [DomainStatus::PendingCertificate, DomainStatus::Active] {
            let d = domain(status, 0, HOUR_MS);
            assert_eq!(
                next_step(&d, &missing_cname(), NOW, &settings(), Jitter::NONE),
                None
            );
            assert_eq!(
                next_step(&d, &Finding::DnsTrusted, NOW, &settings(), Jitter::NONE),
                None
            );
        }
    }

    #[test]
    fn due_domains_get_the_work_of_their_status() {
        let due = |status| domain(status, 0, HOUR_MS);
        assert_eq!(work_for(&due(DomainStatus::PendingDns), NOW), Work::CheckDns);
        assert_eq!(work_for(&due(DomainStatus::Failed), NOW), Work::CheckDns);
        assert_eq!(work_for(&due(DomainStatus::PendingCertificate), NOW), Work::Order);
        assert_eq!(work_for(&due(DomainStatus::Active), NOW), Work::Nothing);
        let later = PortalDomain {
            next_retry_at: Some(NOW.0 + 1),
            ..due(DomainStatus::PendingDns)
        };
        assert_eq!(work_for(&later, NOW), Work::Nothing);
        let gave_up = PortalDomain {
            next_retry_at: None,
            ..due(DomainStatus::Failed)
        };
        assert_eq!(work_for(&gave_up, NOW), Work::Nothing, "staff retry it");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_is_bounded() {
        let s = settings();
        for (attempts, base) in [
            (0, 60),
            (1, 120),
            (2, 240),
            (5, 1920),
            (6, 3600),
            (30, 3600),
            (-3, 60),
        ] {
            assert_eq!(
                backoff(attempts, &s, Jitter::NONE),
                Duration::from_secs(base),
                "{attempts}"
            );
        }
        assert_eq!(backoff(0, &s, Jitter::MIN), Duration::from_secs(48));
        assert_eq!(backoff(6, &s, Jitter::MAX), Duration::from_secs(4320));
        assert_eq!(Jitter::new(5.0), Jitter::MAX);
        assert_eq!(Jitter::new(0.1), Jitter::MIN);
        assert_eq!(Jitter::new(f64::NAN), Jitter::NONE);
        for _ in 0..100 {
            let f = Jitter::random().factor();
            assert!((0.8..1.2).contains(&f), "{f}");
        }
    }

    #[test]
    fn order_outcomes_are_the_metric_labels() {
        let labels: Vec<&str> = OrderOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            labels,
            [
                "issued",
                "rate_limited",
                "unreachable",
                "challenge_failed",
                "rejected",
                "budget_exhausted",
                "error"
            ]
        );
        assert!(OrderOutcome::Issued == "issued");
    }
}
