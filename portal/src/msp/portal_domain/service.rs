//! What MSP staff do with their tenant's custom domain, shared by the
//! settings page and the JSON API: read its status and the records that
//! prove control of it, a CNAME to the tenant's canonical host or a TXT
//! record with the registration's token (needs `settings:read`); register,
//! retry, disable, remove (need `settings:update`). Every change is
//! audited. A name another tenant has merely registered can be registered
//! too (the first to prove control gets it); one another tenant holds
//! cannot.

use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::portal_domains::{self, NewPortalDomain, PortalDomain};
use porta_core::db::DbError;
use porta_core::domain_name::DomainName;
use porta_core::domain_status::DomainStatus;
use serde::Serialize;

use porta_core::permission::{perm, Permission};

use crate::error::AppError;
use crate::request::{SignedIn, Site};
use crate::state::AppState;

pub const READ: Permission = perm::SETTINGS_READ;
pub const UPDATE: Permission = perm::SETTINGS_UPDATE;

/// Why a staff request was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("you do not have the {0} permission")]
    Forbidden(Permission),
    #[error("{0}")]
    InvalidDomain(#[from] porta_core::domain_name::InvalidDomain),
    #[error("{0} is already in use by another organisation's portal")]
    Taken(String),
    #[error("this tenant already has a custom domain ({0}); change or remove it first")]
    AlreadyRegistered(String),
    #[error("this tenant has no custom domain")]
    NoDomain,
    #[error("the domain is disabled; register it again to use it")]
    Disabled,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<SettingsError> for AppError {
    fn from(e: SettingsError) -> Self {
        let message = e.to_string();
        match e {
            SettingsError::Forbidden(permission) => AppError::PermissionDenied(permission),
            SettingsError::InvalidDomain(_) => AppError::invalid("invalid_domain", message),
            SettingsError::Taken(_) => AppError::conflict("domain_taken", message),
            SettingsError::AlreadyRegistered(_) => AppError::conflict("already_registered", message),
            SettingsError::NoDomain => AppError::missing("no_domain", message),
            SettingsError::Disabled => AppError::conflict("domain_disabled", message),
            SettingsError::Db(e) => e.into(),
        }
    }
}

/// The DNS record staff must create.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CnameRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub target: String,
}

/// The TXT record that proves control of the domain instead of the CNAME
/// (for a domain whose CNAME cannot point here yet, say).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TxtRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub value: String,
}

/// A domain as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct DomainView {
    pub name: String,
    pub status: DomainStatus,
    pub status_message: String,
    pub issuer: String,
    pub trust_dns: bool,
    pub cname: CnameRecord,
    pub txt: TxtRecord,
    /// Whether this registration has proven control of the name (and so
    /// holds it).
    pub verified: bool,
    /// What DNS answered at the last check.
    pub observed: Option<Vec<String>>,
    pub attempts: i32,
    pub next_check_at: Option<i64>,
    pub last_checked_at: Option<i64>,
    pub activated_at: Option<i64>,
    pub created_at: i64,
}

impl From<&PortalDomain> for DomainView {
    fn from(d: &PortalDomain) -> Self {
        DomainView {
            name: d.domain.to_string(),
            status: d.status,
            status_message: d.status_message.clone(),
            issuer: d.issuer.to_string(),
            trust_dns: d.trust_dns,
            cname: CnameRecord {
                name: d.domain.to_string(),
                record_type: "CNAME",
                target: d.expected_cname.clone(),
            },
            txt: TxtRecord {
                name: portal_domains::txt_record_name(&d.domain),
                record_type: "TXT",
                value: d.verification_token.clone(),
            },
            verified: d.verified_at.is_some(),
            observed: d
                .observed_cname
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok()),
            attempts: d.attempts,
            next_check_at: d.next_retry_at,
            last_checked_at: d.last_checked_at,
            activated_at: d.activated_at,
            created_at: d.created_at,
        }
    }
}

fn require(signed_in: &SignedIn, permission: Permission) -> Result<(), SettingsError> {
    if signed_in.can(permission) {
        Ok(())
    } else {
        Err(SettingsError::Forbidden(permission))
    }
}

async fn current(state: &AppState, site: &Site) -> Result<Option<PortalDomain>, SettingsError> {
    Ok(portal_domains::list_for_tenant(&state.db, site.tenant.id)
        .await?
        .into_iter()
        .next())
}

async fn audit(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    action: &str,
    domain: &str,
) -> Result<(), SettingsError> {
    let ip = site.client_ip.to_string();
    let event = AuditEvent {
        tenant: Some(site.tenant.id),
        actor: Some(who.user.id),
        action,
        outcome: "success",
        subject: Some(domain),
        ip: Some(&ip),
        user_agent: site.user_agent.as_deref(),
        detail: None,
    };
    audit::record(&state.db, &event, UnixMillis::now()).await?;
    Ok(())
}

/// The tenant's domain, if any.
pub async fn show(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
) -> Result<Option<DomainView>, SettingsError> {
    require(who, READ)?;
    Ok(current(state, site).await?.as_ref().map(DomainView::from))
}

/// Registers `raw` as the tenant's domain, waiting for its CNAME. With
/// `replace`, an existing domain is removed first (a change of domain).
pub async fn register(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    raw: &str,
    replace: bool,
) -> Result<DomainView, SettingsError> {
    require(who, UPDATE)?;
    let domain = DomainName::parse(raw)?;
    domain.check_against_base(&state.config.canonical_base)?;
    let existing = current(state, site).await?;
    if let (Some(existing), false) = (&existing, replace) {
        return Err(SettingsError::AlreadyRegistered(existing.domain.to_string()));
    }
    // Refused before the old registration is removed: a name that another
    // tenant's registration has proven control of is theirs. (One another
    // tenant has only registered reserves nothing.)
    let holder = portal_domains::holder(&state.db, domain.as_host()).await?;
    if holder.is_some_and(|h| h.tenant_id != site.tenant.id) {
        return Err(SettingsError::Taken(domain.to_string()));
    }
    if let Some(existing) = existing {
        portal_domains::remove(&state.db, site.tenant.id, existing.id).await?;
        audit(state, site, who, "portal_domain.remove", existing.domain.as_str()).await?;
    }
    let canonical = site.canonical_host(&state.config);
    let created = portal_domains::create(
        &state.db,
        &NewPortalDomain {
            tenant: site.tenant.id,
            domain: domain.as_host(),
            status: DomainStatus::PendingDns,
            status_message: "Waiting for the CNAME record to point at the portal",
            expected_cname: &canonical,
            // Without an ACME CA (development), the local CA issues.
            issuer: porta_core::issuer::Issuer::default_for(&state.config),
            trust_dns: false,
        },
        UnixMillis::now(),
    )
    .await
    .map_err(|e| match e {
        DbError::Conflict(_) => SettingsError::Taken(domain.to_string()),
        other => other.into(),
    })?;
    audit(state, site, who, "portal_domain.register", domain.as_str()).await?;
    tracing::info!(tenant = %site.tenant.slug, domain = %domain, "custom domain registered");
    Ok(DomainView::from(&created))
}

/// Asks for an immediate re-check.
pub async fn retry(state: &AppState, site: &Site, who: &SignedIn) -> Result<DomainView, SettingsError> {
    require(who, UPDATE)?;
    let domain = current(state, site).await?.ok_or(SettingsError::NoDomain)?;
    if domain.status == DomainStatus::Disabled {
        return Err(SettingsError::Disabled);
    }
    let now = UnixMillis::now();
    if domain.status != DomainStatus::Active {
        portal_domains::schedule_check(&state.db, site.tenant.id, domain.id, now, now).await?;
    }
    audit(state, site, who, "portal_domain.retry", domain.domain.as_str()).await?;
    let refreshed = current(state, site).await?.ok_or(SettingsError::NoDomain)?;
    Ok(DomainView::from(&refreshed))
}

/// Stops serving the domain (sign-in handoffs stop at once).
pub async fn disable(state: &AppState, site: &Site, who: &SignedIn) -> Result<DomainView, SettingsError> {
    require(who, UPDATE)?;
    let domain = current(state, site).await?.ok_or(SettingsError::NoDomain)?;
    let now = UnixMillis::now();
    portal_domains::set_status(
        &state.db,
        site.tenant.id,
        domain.id,
        DomainStatus::Disabled,
        "Disabled by staff",
        now,
    )
    .await?;
    audit(state, site, who, "portal_domain.disable", domain.domain.as_str()).await?;
    let refreshed = current(state, site).await?.ok_or(SettingsError::NoDomain)?;
    Ok(DomainView::from(&refreshed))
}

/// Removes the domain registration.
pub async fn remove(state: &AppState, site: &Site, who: &SignedIn) -> Result<(), SettingsError> {
    require(who, UPDATE)?;
    let domain = current(state, site).await?.ok_or(SettingsError::NoDomain)?;
    portal_domains::remove(&state.db, site.tenant.id, domain.id).await?;
    audit(state, site, who, "portal_domain.remove", domain.domain.as_str()).await?;
    Ok(())
}
