//! Certificate policy, in one place for the CLI and the lifecycle worker:
//!
//! - **renewal**: a certificate is renewed when a third of its lifetime is
//!   left ([`renewal_at`], [`needs_renewal`]), whoever issued it;
//! - **the local CA's names** ([`local_ca_targets`]): the canonical hosts
//!   (one wildcard `*.<canonical_base>` that also names the base) and every
//!   active custom domain whose issuer is `internal`;
//! - issuing from the local CA and storing the result ([`issue_local`],
//!   [`ensure_local`], [`ensure_local_certificates`]).

use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, PortalDomain};
use porta_core::db::Db;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::Issuer;

use crate::local_ca::{LocalCa, LocalCaError, DEFAULT_LEAF_VALIDITY};
use crate::master_key::MasterKey;
use crate::store::{self, CertificateInfo, NewCertificate, StoreError};

/// When `info` is due for renewal: a third of its lifetime before it
/// expires.
pub fn renewal_at(info: &CertificateInfo) -> UnixMillis {
    let lifetime = info.not_after.0.saturating_sub(info.not_before.0);
    UnixMillis(info.not_after.0.saturating_sub(lifetime / 3))
}

/// Whether a name whose current certificate is `current` (the one valid
/// at `now`, if any) needs a new one: it has none, or less than a third of
/// the lifetime is left.
pub fn needs_renewal(current: Option<&CertificateInfo>, now: UnixMillis) -> bool {
    match current {
        None => true,
        Some(info) => !info.is_valid_at(now) || now > renewal_at(info),
    }
}

/// A name the local CA keeps a certificate for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTarget {
    /// The tenant it belongs to (none for the canonical wildcard).
    pub tenant: Option<TenantId>,
    /// The name it is stored and served for.
    pub domain: String,
    /// The names in the certificate (covering `domain`).
    pub names: Vec<String>,
}

impl LocalTarget {
    /// The custom domain's own certificate.
    pub fn for_domain(domain: &PortalDomain) -> LocalTarget {
        let name = domain.domain.to_string();
        LocalTarget {
            tenant: Some(domain.tenant_id),
            domain: name.clone(),
            names: vec![name],
        }
    }
}

/// What the local CA signs: `*.<canonical_base>` (also naming the base)
/// and every active custom domain of `domains` whose issuer is `internal`.
pub fn local_ca_targets(canonical_base: &HostName, domains: &[PortalDomain]) -> Vec<LocalTarget> {
    let wildcard = format!("*.{canonical_base}");
    let mut targets = vec![LocalTarget {
        tenant: None,
        domain: wildcard.clone(),
        names: vec![wildcard, canonical_base.to_string()],
    }];
    targets.extend(
        domains
            .iter()
            .filter(|d| d.status == DomainStatus::Active && d.issuer == Issuer::Internal)
            .map(LocalTarget::for_domain),
    );
    targets
}

/// Issues a certificate for `target` from the local CA, valid from `now`
/// for [`DEFAULT_LEAF_VALIDITY`], and stores it (source `internal`),
/// replacing the name's current one.
pub async fn issue_local(
    db: &Db,
    ca: &LocalCa,
    master: &MasterKey,
    target: &LocalTarget,
    now: UnixMillis,
) -> Result<CertificateInfo, LocalCaError> {
    let issued = ca.issue_at(&target.names, now, DEFAULT_LEAF_VALIDITY)?;
    let info = store::insert(
        db,
        master,
        &NewCertificate {
            tenant: target.tenant,
            domain: &target.domain,
            issuer: Issuer::Internal.into(),
            chain_pem: &issued.chain_pem,
            key_pem: &issued.key_pem,
        },
        now,
    )
    .await?;
    Ok(info)
}

/// Issues and stores a certificate for `target` when [`needs_renewal`]
/// says so. Returns whether it issued.
pub async fn ensure_local(
    db: &Db,
    ca: &LocalCa,
    master: &MasterKey,
    target: &LocalTarget,
    now: UnixMillis,
) -> Result<bool, LocalCaError> {
    let current = store::current_for(db, &target.domain, now).await?;
    if !needs_renewal(current.as_ref().map(|c| &c.info), now) {
        return Ok(false);
    }
    issue_local(db, ca, master, target, now).await?;
    Ok(true)
}

/// [`ensure_local`] for every one of [`local_ca_targets`]; returns the
/// names it issued for.
pub async fn ensure_local_certificates(
    db: &Db,
    ca: &LocalCa,
    master: &MasterKey,
    canonical_base: &HostName,
    now: UnixMillis,
) -> Result<Vec<String>, LocalCaError> {
    let domains = portal_domains::list_all(db)
        .await
        .map_err(|e| LocalCaError::Store(StoreError::Db(e)))?;
    let mut issued = Vec::new();
    for target in local_ca_targets(canonical_base, &domains) {
        if ensure_local(db, ca, master, &target, now).await? {
            tracing::info!(domain = %target.domain, "issued a local-CA certificate");
            issued.push(target.domain);
        }
    }
    Ok(issued)
}

#[cfg(test)]
mod tests {
    use porta_core::ids::PortalDomainId;
    use porta_core::issuer::CertificateSource;

    use super::*;

    const DAY: i64 = 86_400_000;

    fn info(not_before: i64, not_after: i64) -> CertificateInfo {
        CertificateInfo {
            id: crate::store::CertificateId::generate(),
            tenant_id: None,
            domain: "a.example.test".to_owned(),
            issuer: CertificateSource::Issued(Issuer::Internal),
            serial: "01".to_owned(),
            not_before: UnixMillis(not_before),
            not_after: UnixMillis(not_after),
            created_at: UnixMillis(not_before),
            replaced_at: None,
        }
    }

    #[test]
    fn renewal_starts_when_a_third_of_the_lifetime_is_left() {
        let cert = info(0, 90 * DAY);
        assert_eq!(renewal_at(&cert), UnixMillis(60 * DAY));
        assert!(!needs_renewal(Some(&cert), UnixMillis(0)));
        assert!(
            !needs_renewal(Some(&cert), UnixMillis(60 * DAY)),
            "not before the mark"
        );
        assert!(needs_renewal(Some(&cert), UnixMillis(60 * DAY + 1)));
        assert!(needs_renewal(Some(&cert), UnixMillis(89 * DAY)));
        assert!(needs_renewal(None, UnixMillis(0)), "no certificate at all");
        assert!(needs_renewal(Some(&cert), UnixMillis(90 * DAY)), "expired");
        // Another lifetime, the same rule.
        let short = info(10 * DAY, 16 * DAY);
        assert_eq!(renewal_at(&short), UnixMillis(14 * DAY));
    }

    fn domain(name: &str, status: DomainStatus, issuer: Issuer) -> PortalDomain {
        PortalDomain {
            id: PortalDomainId::generate(),
            tenant_id: TenantId::generate(),
            domain: HostName::parse(name).unwrap(),
            status,
            status_message: String::new(),
            expected_cname: "acme.portal.localhost".to_owned(),
            observed_cname: None,
            issuer,
            trust_dns: false,
            attempts: 0,
            next_retry_at: None,
            last_checked_at: None,
            activated_at: None,
            created_at: 0,
            updated_at: 0,
            verified_at: None,
            verification_token: String::new(),
        }
    }

    #[test]
    fn the_local_ca_signs_the_canonical_wildcard_and_active_internal_domains() {
        let base = HostName::parse("portal.localhost").unwrap();
        let internal = domain("a.example.test", DomainStatus::Active, Issuer::Internal);
        let domains = [
            internal.clone(),
            domain("b.example.test", DomainStatus::Active, Issuer::Acme),
            domain(
                "c.example.test",
                DomainStatus::PendingCertificate,
                Issuer::Internal,
            ),
            domain("d.example.test", DomainStatus::Disabled, Issuer::Internal),
            domain("e.example.test", DomainStatus::Failed, Issuer::Internal),
        ];
        let targets = local_ca_targets(&base, &domains);
        assert_eq!(
            targets,
            [
                LocalTarget {
                    tenant: None,
                    domain: "*.portal.localhost".to_owned(),
                    names: vec!["*.portal.localhost".to_owned(), "portal.localhost".to_owned()],
                },
                LocalTarget {
                    tenant: Some(internal.tenant_id),
                    domain: "a.example.test".to_owned(),
                    names: vec!["a.example.test".to_owned()],
                },
            ]
        );
    }
}
