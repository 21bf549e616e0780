//! One change other nodes must hear of, and how it travels: as a row of
//! `changes` (kind, tenant, subject) and as a `NOTIFY` payload
//! `<kind> <tenant id or -> <subject>` (none of the three contains a
//! space).

use std::fmt;

use crate::host::HostName;
use crate::ids::TenantId;
use crate::slug::TenantSlug;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// A certificate was stored (issued, renewed, imported) for `name`: a
    /// host name or a one-level wildcard `*.<host>`.
    Certificate { tenant: Option<TenantId>, name: String },
    /// A registration of the custom domain `domain` by `tenant` changed
    /// (registered, claimed, moved to another status, removed).
    Domain { tenant: TenantId, domain: HostName },
    /// The tenant's row, its branding or its ticket catalogue changed, or
    /// it was created; `slug` names its canonical host.
    Tenant { tenant: TenantId, slug: TenantSlug },
}

/// A `changes` row or a notification that is not a [`Change`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a change: {0}")]
pub struct InvalidChange(pub String);

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Certificate { .. } => "certificate",
            Change::Domain { .. } => "domain",
            Change::Tenant { .. } => "tenant",
        }
    }

    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Change::Certificate { tenant, .. } => *tenant,
            Change::Domain { tenant, .. } | Change::Tenant { tenant, .. } => Some(*tenant),
        }
    }

    /// The name the change is about: a certificate name, a domain, a slug.
    pub fn subject(&self) -> &str {
        match self {
            Change::Certificate { name, .. } => name,
            Change::Domain { domain, .. } => domain.as_str(),
            Change::Tenant { slug, .. } => slug.as_str(),
        }
    }

    /// The change from the columns of its row.
    pub fn from_parts(kind: &str, tenant: Option<&str>, subject: &str) -> Result<Change, InvalidChange> {
        let invalid = |why: &str| InvalidChange(format!("{kind} {subject:?}: {why}"));
        let tenant = tenant
            .map(|t| t.parse::<TenantId>().map_err(|_| invalid("bad tenant id")))
            .transpose()?;
        match kind {
            "certificate" => {
                let host = subject.strip_prefix("*.").unwrap_or(subject);
                let host = HostName::parse(host).map_err(|_| invalid("bad certificate name"))?;
                let name = if subject.starts_with("*.") {
                    format!("*.{host}")
                } else {
                    host.to_string()
                };
                Ok(Change::Certificate { tenant, name })
            }
            "domain" => Ok(Change::Domain {
                tenant: tenant.ok_or_else(|| invalid("no tenant"))?,
                domain: HostName::parse(subject).map_err(|_| invalid("bad domain"))?,
            }),
            "tenant" => Ok(Change::Tenant {
                tenant: tenant.ok_or_else(|| invalid("no tenant"))?,
                slug: TenantSlug::parse(subject).map_err(|_| invalid("bad slug"))?,
            }),
            _ => Err(invalid("unknown kind")),
        }
    }

    /// The change in a `NOTIFY` payload ([`Change::payload`]).
    pub fn parse_payload(payload: &str) -> Result<Change, InvalidChange> {
        let mut parts = payload.split(' ');
        let (Some(kind), Some(tenant), Some(subject), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidChange(format!("payload {payload:?}")));
        };
        Change::from_parts(kind, (tenant != "-").then_some(tenant), subject)
    }

    /// What `NOTIFY` carries.
    pub fn payload(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tenant() {
            Some(t) => write!(f, "{} {t} {}", self.kind(), self.subject()),
            None => write!(f, "{} - {}", self.kind(), self.subject()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let tenant = TenantId::generate();
        for change in [
            Change::Certificate {
                tenant: None,
                name: "*.portal.localhost".to_owned(),
            },
            Change::Certificate {
                tenant: Some(tenant),
                name: "shop.example.com".to_owned(),
            },
            Change::Domain {
                tenant,
                domain: HostName::parse("shop.example.com").unwrap(),
            },
            Change::Tenant {
                tenant,
                slug: TenantSlug::parse("acme").unwrap(),
            },
        ] {
            assert_eq!(Change::parse_payload(&change.payload()), Ok(change.clone()));
        }
    }

    #[test]
    fn bad_payloads_are_refused() {
        let tenant = TenantId::generate();
        for payload in [
            String::new(),
            "certificate -".to_owned(),
            "certificate - a.example.com extra".to_owned(),
            "domain - a.example.com".to_owned(),
            format!("tenant {tenant} Not_A_Slug!"),
            format!("planet {tenant} earth"),
            "certificate not-a-uuid a.example.com".to_owned(),
            "certificate - *.".to_owned(),
        ] {
            assert!(Change::parse_payload(&payload).is_err(), "{payload:?}");
        }
    }
}
