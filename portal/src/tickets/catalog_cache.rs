//! Each tenant's ticket catalogue (boards, statuses, priorities,
//! categories), cached ([`crate::tenant_cache`]): every ticket page shows
//! it, and loading it is four queries. Every catalogue write records a
//! tenant change in its transaction.

use std::time::Duration;

use porta_core::db::catalog::{self, Catalog};
use porta_core::db::Db;

use crate::tenant_cache::TenantCache;

pub type CatalogCache = TenantCache<Catalog>;

pub fn catalog_cache(db: Db, ttl: Duration) -> CatalogCache {
    TenantCache::new(db, ttl, |db, tenant| Box::pin(catalog::load(db, tenant)))
}
