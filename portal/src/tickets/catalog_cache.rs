//! Each tenant's ticket catalogue (boards, statuses, priorities,
//! categories), cached: every ticket page shows it, and loading it is four
//! queries. A catalogue change records a tenant change in its transaction,
//! so the change feed makes every node forget the tenant's entry within its
//! bound; the host cache's lifetime is the safety net.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use porta_core::change_feed::{Change, ChangeSink, FlushReason, SinkFuture};
use porta_core::db::catalog::{self, Catalog};
use porta_core::db::Db;
use porta_core::ids::TenantId;

use crate::error::AppError;

#[derive(Clone)]
pub struct CatalogCache {
    db: Db,
    entries: Cache<TenantId, Arc<Catalog>>,
}

impl CatalogCache {
    pub fn new(db: Db, ttl: Duration) -> Self {
        Self {
            db,
            entries: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
        }
    }

    /// The tenant's catalogue, loaded once per lifetime (concurrent misses
    /// share one load).
    pub async fn get(&self, tenant: TenantId) -> Result<Arc<Catalog>, AppError> {
        self.entries
            .try_get_with(tenant, async {
                catalog::load(&self.db, tenant).await.map(Arc::new)
            })
            .await
            .map_err(AppError::from)
    }
}

impl ChangeSink for CatalogCache {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        Box::pin(async move {
            if let Change::Tenant { tenant, .. } = change {
                self.entries.invalidate(tenant).await;
            }
        })
    }

    fn flush_all(&self, _reason: FlushReason) {
        self.entries.invalidate_all();
    }
}
