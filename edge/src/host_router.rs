//! Host -> tenant, for requests the edge proxies: a tenant's canonical host
//! `<slug>.<canonical_base>` or an `active` custom domain. Answers are cached
//! (negative ones too) for `edge.host_cache_ttl_seconds`.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use porta_core::db::{portal_domains, tenants, Db, DbError};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::TenantId;

/// Which kind of host a request came in on (a metrics label too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    Canonical,
    Custom,
}

impl HostKind {
    pub fn label(self) -> &'static str {
        match self {
            HostKind::Canonical => "canonical",
            HostKind::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub tenant: TenantId,
    pub kind: HostKind,
}

pub struct HostRouter {
    db: Db,
    canonical_base: HostName,
    cache: Cache<HostName, Option<Route>>,
}

impl HostRouter {
    pub fn new(db: Db, canonical_base: HostName, ttl: Duration) -> Self {
        Self {
            db,
            canonical_base,
            cache: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
        }
    }

    /// The route for `host`, or `None` for an unknown host.
    pub async fn route(&self, host: &HostName) -> Result<Option<Route>, Arc<DbError>> {
        self.cache.try_get_with(host.clone(), self.lookup(host)).await
    }

    async fn lookup(&self, host: &HostName) -> Result<Option<Route>, DbError> {
        if let Some(slug) = host.tenant_slug_under(&self.canonical_base) {
            let tenant = tenants::find_by_slug(&self.db, &slug).await?;
            return Ok(tenant.map(|t| Route {
                tenant: t.id,
                kind: HostKind::Canonical,
            }));
        }
        let domain = portal_domains::find_by_name(&self.db, host).await?;
        Ok(domain
            .filter(|d| d.status == DomainStatus::Active)
            .map(|d| Route {
                tenant: d.tenant_id,
                kind: HostKind::Custom,
            }))
    }
}
