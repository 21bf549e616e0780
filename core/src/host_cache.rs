//! A cache of host -> route answers and of tenant rows, as the edge and
//! the portal both keep one: a signed-in page or a proxied request then
//! costs no query to find its tenant. Answers, negative ones included, live
//! for the configured TTL (`edge.host_cache_ttl_seconds`). As a
//! [`ChangeSink`] it forgets the entries a change names as soon as the
//! change feed hears of it (within about a second, on every node); the TTL
//! is the bound when the feed cannot deliver.
//!
//! Answers past their TTL are kept while the database cannot be read
//! ([`crate::stale_cache`]): a known host stays known through an outage. A flush of the change feed (after it reconnects) marks every
//! answer stale instead of dropping it, so it is reloaded on its next use —
//! or kept, if the database is gone again by then.

use std::sync::Arc;
use std::time::Duration;

use crate::change_feed::{Change, ChangeSink, FlushReason, SinkFuture};
use crate::db::tenants::{self, Tenant};
use crate::db::{portal_domains, routes, Db, DbError};
use crate::host::HostName;
use crate::ids::{PortalDomainId, TenantId};
use crate::request_context::Route;
use crate::stale_cache::{Generation, StaleCache};

/// The most hosts (and tenants) kept.
const MAX_ENTRIES: u64 = 100_000;

#[derive(Clone)]
pub struct HostCache {
    db: Db,
    canonical_base: HostName,
    generation: Generation,
    routes: Arc<StaleCache<HostName, Option<Route>>>,
    tenants: Arc<StaleCache<TenantId, Arc<Tenant>>>,
    custom_domains: Arc<StaleCache<TenantId, Option<ActiveDomain>>>,
}

/// A tenant's active custom domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveDomain {
    pub id: PortalDomainId,
    pub name: HostName,
}

impl std::fmt::Debug for HostCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCache")
            .field("routes", &self.routes.entry_count())
            .field("tenants", &self.tenants.entry_count())
            .finish()
    }
}

impl HostCache {
    pub fn new(db: Db, canonical_base: HostName, ttl: Duration) -> Self {
        let generation = Generation::default();
        Self {
            db,
            canonical_base,
            routes: Arc::new(StaleCache::new(MAX_ENTRIES, ttl, generation.clone())),
            tenants: Arc::new(StaleCache::new(MAX_ENTRIES, ttl, generation.clone())),
            custom_domains: Arc::new(StaleCache::new(MAX_ENTRIES, ttl, generation.clone())),
            generation,
        }
    }

    /// The route for `host`, or `None` for an unknown host.
    pub async fn route(&self, host: &HostName) -> Result<Option<Route>, Arc<DbError>> {
        self.routes
            .get(host, || {
                let (db, base, host) = (self.db.clone(), self.canonical_base.clone(), host.clone());
                async move { routes::resolve(&db, &base, &host).await }
            })
            .await
    }

    /// The tenant `id` (which a route or a verified context named).
    pub async fn tenant(&self, id: TenantId) -> Result<Arc<Tenant>, Arc<DbError>> {
        self.tenants
            .get(&id, || {
                let db = self.db.clone();
                async move { tenants::get(&db, id).await.map(Arc::new) }
            })
            .await
    }

    /// The tenant's active custom domain, if it has one.
    pub async fn custom_domain(&self, tenant: TenantId) -> Result<Option<ActiveDomain>, Arc<DbError>> {
        self.custom_domains
            .get(&tenant, || {
                let db = self.db.clone();
                async move {
                    Ok(portal_domains::active_for_tenant(&db, tenant)
                        .await?
                        .map(|d| ActiveDomain {
                            id: d.id,
                            name: d.domain,
                        }))
                }
            })
            .await
    }

    /// Forgets one tenant's row (its reply-to address changed, say).
    pub async fn forget_tenant(&self, id: TenantId) {
        self.tenants.invalidate(&id).await;
    }

    /// Forgets everything (after a change this process made itself).
    pub fn invalidate_all(&self) {
        self.routes.invalidate_all();
        self.tenants.invalidate_all();
        self.custom_domains.invalidate_all();
    }
}

impl ChangeSink for HostCache {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        Box::pin(async move {
            match change {
                Change::Certificate { .. } => {}
                Change::Domain { tenant, domain } => {
                    self.routes.invalidate(domain).await;
                    self.custom_domains.invalidate(tenant).await;
                }
                Change::Tenant { tenant, slug } => {
                    self.tenants.invalidate(tenant).await;
                    self.custom_domains.invalidate(tenant).await;
                    let host = HostName::tenant_host(slug, &self.canonical_base);
                    self.routes.invalidate(&host).await;
                }
            }
        })
    }

    /// Marks every answer stale rather than forgetting it: one that cannot
    /// be reloaded (the database gone again) is still served.
    fn flush_all(&self, _reason: FlushReason) {
        self.generation.advance();
    }
}
