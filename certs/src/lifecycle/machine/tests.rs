//! The state machine's transitions, each with a fake clock.

use porta_core::host::HostName;
use porta_core::ids::{PortalDomainId, TenantId};
use porta_core::issuer::{CertificateSource, Issuer};

use super::*;
use crate::lifecycle::outcome::{order_budget, OrderOutcome};
use crate::store::CertificateId;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The fake clock: every test's `now`.
const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

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
        verified_at: None,
        verification_token: "0123456789abcdef0123456789abcdef".to_owned(),
    }
}

fn step(d: &PortalDomain, finding: &Finding, jitter: Jitter) -> Step {
    next_step(d, finding, NOW, &LifecycleSettings::default(), jitter).expect("a transition")
}

/// Whether `finding` leaves `d` as it is.
fn untouched(d: &PortalDomain, finding: &Finding) -> bool {
    next_step(d, finding, NOW, &LifecycleSettings::default(), Jitter::NONE).is_none()
}

/// `d`, next due at `at` (unix millis).
fn due_at(d: PortalDomain, at: Option<i64>) -> PortalDomain {
    PortalDomain {
        next_retry_at: at,
        ..d
    }
}

fn issued(serial: &str) -> Finding {
    Finding::Issued {
        serial: serial.to_owned(),
    }
}

fn missing_cname() -> Finding {
    Finding::Dns(DnsAnswer::default())
}

fn dns(aligned: bool, observed: &[&str], error: Option<&str>) -> Finding {
    let observed = observed.iter().map(|o| (*o).to_owned()).collect();
    let error = error.map(str::to_owned);
    Finding::Dns(DnsAnswer {
        aligned,
        observed,
        error,
        ..DnsAnswer::default()
    })
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
    let aligned = dns(true, &["shop.example.test CNAME acme.portal.example.test"], None);
    let next = step(&d, &aligned, Jitter::MAX);
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
    let next = step(&failed, &dns(true, &[], None), Jitter::NONE);
    assert_eq!(next.status, DomainStatus::PendingCertificate);
}

#[test]
fn the_txt_record_proves_control_as_well() {
    let d = domain(DomainStatus::PendingDns, 2, HOUR_MS);
    let txt = Finding::Dns(DnsAnswer {
        txt_verified: true,
        observed: vec!["_porta-challenge.shop.example.test TXT \"0123\"".to_owned()],
        ..DnsAnswer::default()
    });
    let next = step(&d, &txt, Jitter::NONE);
    assert_eq!(next.status, DomainStatus::PendingCertificate);
    assert_eq!(
        next.message,
        "TXT record verified: _porta-challenge.shop.example.test holds this registration's token"
    );
    assert_eq!((next.attempts, next.next_retry_at), (0, Some(NOW)));
}

#[test]
fn a_name_held_by_another_tenant_fails_with_the_reason_and_no_retry() {
    for status in [DomainStatus::PendingDns, DomainStatus::Failed] {
        let d = domain(status, 1, HOUR_MS);
        let next = step(&d, &Finding::HeldByAnother, Jitter::MAX);
        assert_eq!(next.status, DomainStatus::Failed);
        assert!(
            next.message
                .starts_with("Verified by another organisation: shop.example.test "),
            "{next:?}"
        );
        assert_eq!((next.attempts, next.next_retry_at), (2, None));
    }
    for status in [
        DomainStatus::PendingCertificate,
        DomainStatus::Active,
        DomainStatus::Disabled,
    ] {
        assert!(
            untouched(&domain(status, 0, HOUR_MS), &Finding::HeldByAnother),
            "{status}"
        );
    }
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
    let capped = step(&many, &missing_cname(), Jitter::NONE);
    assert_eq!(capped.next_retry_at, at(3600));
    assert_eq!(step(&many, &missing_cname(), Jitter::MAX).next_retry_at, at(4320));

    // What DNS said is in the message and the observed list.
    let seen = "shop.example.test A 192.0.2.7";
    let next = step(&d, &dns(false, &[seen], None), Jitter::NONE);
    assert!(
        next.message.contains(&format!(": DNS answers {seen}. ")),
        "{next:?}"
    );
    assert_eq!(next.observed, Some(format!(r#"["{seen}"]"#)));
    let next = step(&d, &dns(false, &[], Some("timed out")), Jitter::NONE);
    assert!(
        next.message.contains(": DNS lookup failed (timed out). "),
        "{next:?}"
    );
}

#[test]
fn pending_dns_fails_after_the_give_up_period() {
    let just_before = domain(DomainStatus::PendingDns, 9, 72 * HOUR_MS - 1);
    let next = step(&just_before, &missing_cname(), Jitter::NONE);
    assert_eq!(next.status, DomainStatus::PendingDns);
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
    assert_eq!(
        step(&d, &issued("0a1b"), Jitter::MAX),
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
    let limited = failure(OrderOutcome::RateLimited, Some(3 * 3600));
    let next = step(&d, &limited, Jitter::MAX);
    assert_eq!(next.status, DomainStatus::Failed);
    assert_eq!(next.attempts, 1);
    assert_eq!(next.next_retry_at, at(3 * 3600));
    // Rate limited without a Retry-After: the backoff alone.
    let next = step(&d, &failure(OrderOutcome::RateLimited, None), Jitter::MIN);
    assert_eq!(next.next_retry_at, at(48));
}

#[test]
fn an_exhausted_budget_holds_orders_for_a_day() {
    let exhausted = order_budget(40, 40, "example.test").unwrap_err();
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
    let d = due_at(domain(DomainStatus::Active, 0, 100 * DAY_MS), None);
    // 90 days issued 59 (and 60) days ago: not in the last third yet.
    assert!(!renewal_due(&d, Some(&certificate(90, 59)), NOW));
    assert!(
        !renewal_due(&d, Some(&certificate(90, 60)), NOW),
        "exactly at the mark"
    );
    assert!(renewal_due(&d, Some(&certificate(90, 61)), NOW));
    assert!(renewal_due(&d, None, NOW), "no current certificate");
    // Backing off from a failed renewal: not yet, then again.
    let backing_off = due_at(d.clone(), Some(NOW.0 + 1));
    assert!(!renewal_due(&backing_off, Some(&certificate(90, 61)), NOW));
    let retry_now = due_at(d.clone(), Some(NOW.0));
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
            message: "Renewal failed: the CA said no. The current certificate is still served.".to_owned(),
            observed: None,
            attempts: 2,
            next_retry_at: at(120),
        }
    );
    let renewed = step(&d, &issued("ff"), Jitter::NONE);
    let expected = (DomainStatus::Active, 0, None);
    assert_eq!(
        (renewed.status, renewed.attempts, renewed.next_retry_at),
        expected
    );
}

#[test]
fn a_disabled_domain_is_never_touched() {
    let d = domain(DomainStatus::Disabled, 0, 100 * DAY_MS);
    for finding in [
        Finding::DnsTrusted,
        missing_cname(),
        issued("01"),
        failure(OrderOutcome::Error, None),
    ] {
        assert!(untouched(&d, &finding), "{finding:?}");
    }
    assert_eq!(work_for(&d, NOW), Work::Nothing);
    assert!(!renewal_due(&d, None, NOW));
}

#[test]
fn dns_findings_only_apply_at_the_dns_step() {
    for status in [DomainStatus::PendingCertificate, DomainStatus::Active] {
        let d = domain(status, 0, HOUR_MS);
        assert!(untouched(&d, &missing_cname()) && untouched(&d, &Finding::DnsTrusted));
    }
}

#[test]
fn due_domains_get_the_work_of_their_status() {
    let due = |status| domain(status, 0, HOUR_MS);
    assert_eq!(work_for(&due(DomainStatus::PendingDns), NOW), Work::CheckDns);
    assert_eq!(work_for(&due(DomainStatus::Failed), NOW), Work::CheckDns);
    assert_eq!(work_for(&due(DomainStatus::PendingCertificate), NOW), Work::Order);
    assert_eq!(work_for(&due(DomainStatus::Active), NOW), Work::Nothing);
    let later = due_at(due(DomainStatus::PendingDns), Some(NOW.0 + 1));
    assert_eq!(work_for(&later, NOW), Work::Nothing);
    let gave_up = due_at(due(DomainStatus::Failed), None);
    assert_eq!(work_for(&gave_up, NOW), Work::Nothing, "staff retry it");
}
