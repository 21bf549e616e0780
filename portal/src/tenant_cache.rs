//! A value per tenant read on most pages (its branding, its ticket
//! catalogue), cached for the host cache's lifetime. Every write of such a
//! value records a tenant change in its transaction, so the change feed
//! makes every node forget the tenant's entry within its bound; the
//! lifetime is the safety net.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use moka::future::Cache;
use porta_core::change_feed::{Change, ChangeSink, FlushReason, SinkFuture};
use porta_core::db::{Db, DbError};
use porta_core::ids::TenantId;

use crate::error::AppError;

/// Reads a tenant's value from the database.
pub type Loader<V> = for<'a> fn(&'a Db, TenantId) -> BoxFuture<'a, Result<V, DbError>>;

pub struct TenantCache<V> {
    db: Db,
    entries: Cache<TenantId, Arc<V>>,
    load: Loader<V>,
}

impl<V> Clone for TenantCache<V> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            entries: self.entries.clone(),
            load: self.load,
        }
    }
}

impl<V: Send + Sync + 'static> TenantCache<V> {
    pub fn new(db: Db, ttl: Duration, load: Loader<V>) -> Self {
        Self {
            db,
            entries: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
            load,
        }
    }

    /// The tenant's value, loaded once per lifetime (concurrent misses
    /// share one load).
    pub async fn get(&self, tenant: TenantId) -> Result<Arc<V>, AppError> {
        self.entries
            .try_get_with(tenant, async {
                (self.load)(&self.db, tenant).await.map(Arc::new)
            })
            .await
            .map_err(AppError::from)
    }

    /// After this process changed the tenant's value (before its own change
    /// feed says so).
    pub async fn forget(&self, tenant: TenantId) {
        self.entries.invalidate(&tenant).await;
    }
}

/// A tenant changed on some node: the change feed says so.
impl<V: Send + Sync + 'static> ChangeSink for TenantCache<V> {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        Box::pin(async move {
            if let Change::Tenant { tenant, .. } = change {
                self.forget(*tenant).await;
            }
        })
    }

    fn flush_all(&self, _reason: FlushReason) {
        self.entries.invalidate_all();
    }
}
