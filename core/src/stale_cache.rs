//! A cache whose entries are served past their TTL while the database
//! cannot be read ("stale if error"), so a known answer never turns into an
//! error because the database is away.
//!
//! An entry is *fresh* for the TTL after it was loaded and until the next
//! [`Generation::advance`] (the change feed's flush after it reconnects:
//! changes may have been missed). A stale entry is served as it is while
//! one background task loads it again (*stale while revalidate*), so no
//! request waits on a reload and none waits on the database when it is
//! away. When the reload finds the database unavailable
//! ([`DbError::is_unavailable`]) the stale value stays and the next reload
//! is tried a TTL later; any other failure forgets the entry (its next use
//! loads it and reports the error). A value is served for at most
//! [`STALE_LIMIT`] after it was last loaded. A miss is loaded by the
//! request that needs it (concurrent misses share one load).

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::future::Cache;

use crate::db::DbError;

/// How long after its last successful load a value may still be served
/// while the database cannot be read.
pub const STALE_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// Marks every entry of the caches that share it stale at once.
#[derive(Debug, Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Every entry loaded before now is stale.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

#[derive(Clone)]
struct Stamped<V> {
    value: V,
    loaded_at: Instant,
    /// Fresh until then (a TTL after the load, or after a failed reload).
    fresh_until: Instant,
    generation: u64,
}

/// See the module documentation.
pub struct StaleCache<K, V> {
    entries: Cache<K, Stamped<V>>,
    ttl: Duration,
    generation: Generation,
    reloading: Mutex<HashSet<K>>,
}

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(max_entries: u64, ttl: Duration, generation: Generation) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl + STALE_LIMIT)
                .build(),
            ttl,
            generation,
            reloading: Mutex::new(HashSet::new()),
        }
    }

    /// The value for `key`: cached (fresh, or stale while a background
    /// task reloads it with `load`), else loaded with `load` now.
    pub async fn get<F, Fut>(self: &Arc<Self>, key: &K, load: F) -> Result<V, Arc<DbError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, DbError>> + Send + 'static,
    {
        let generation = self.generation.current();
        let Some(cached) = self.entries.get(key).await else {
            let loaded = self
                .entries
                .try_get_with_by_ref(key, async {
                    load().await.map(|value| stamp(value, self.ttl, generation))
                })
                .await?;
            return Ok(loaded.value);
        };
        if Instant::now() < cached.fresh_until && cached.generation == generation {
            return Ok(cached.value);
        }
        if let Some(reload) = Reload::claim(self, key) {
            let reloading = load();
            let stale = cached.clone();
            tokio::spawn(async move {
                let result = reloading.await;
                reload.finish(result, stale, generation).await;
            });
        }
        Ok(cached.value)
    }

    /// Forgets `key` (a change named it: the database is up, since it said so).
    pub async fn invalidate(&self, key: &K) {
        self.entries.invalidate(key).await;
    }

    /// Forgets everything.
    pub fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }
}

fn stamp<V>(value: V, ttl: Duration, generation: u64) -> Stamped<V> {
    let now = Instant::now();
    Stamped {
        value,
        loaded_at: now,
        fresh_until: now + ttl,
        generation,
    }
}

/// The one reload under way for a key; the key is released on drop (even
/// if the reload panicked).
struct Reload<K: Hash + Eq + Clone + Send + Sync + 'static, V: Clone + Send + Sync + 'static> {
    cache: Arc<StaleCache<K, V>>,
    key: K,
}

impl<K, V> Reload<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn claim(cache: &Arc<StaleCache<K, V>>, key: &K) -> Option<Self> {
        let mut keys = cache.reloading.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.clone()).then(|| Reload {
            cache: cache.clone(),
            key: key.clone(),
        })
    }

    async fn finish(self, result: Result<V, DbError>, stale: Stamped<V>, generation: u64) {
        let cache = &self.cache;
        match result {
            Ok(value) => {
                let fresh = stamp(value, cache.ttl, generation);
                cache.entries.insert(self.key.clone(), fresh).await;
            }
            Err(e) if e.is_unavailable() && stale.loaded_at.elapsed() < STALE_LIMIT => {
                tracing::warn!(error = %e, "database unavailable; serving a cached answer past its TTL");
                let retry = Stamped {
                    fresh_until: Instant::now() + cache.ttl,
                    generation,
                    ..stale
                };
                cache.entries.insert(self.key.clone(), retry).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload a cached answer; forgetting it");
                cache.entries.invalidate(&self.key).await;
            }
        }
    }
}

impl<K, V> Drop for Reload<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        let mut keys = self.cache.reloading.lock().unwrap_or_else(|e| e.into_inner());
        keys.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> DbError {
        DbError::Sqlx(sqlx::Error::PoolTimedOut)
    }

    /// Waits (bounded) until no reload is under way.
    async fn settled<K: Hash + Eq + Clone + Send + Sync, V: Clone + Send + Sync>(cache: &StaleCache<K, V>) {
        for _ in 0..200 {
            if cache.reloading.lock().unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("a reload did not finish");
    }

    #[tokio::test]
    async fn stale_values_are_served_while_the_database_is_down() {
        let generation = Generation::default();
        let ttl = Duration::from_millis(50);
        let cache: Arc<StaleCache<u32, &'static str>> = Arc::new(StaleCache::new(10, ttl, generation.clone()));
        assert_eq!(cache.get(&1, || async { Ok("first") }).await.unwrap(), "first");
        // Fresh: no load.
        let never = || async { panic!("a fresh entry is not loaded") };
        assert_eq!(cache.get(&1, never).await.unwrap(), "first");
        tokio::time::sleep(ttl + Duration::from_millis(30)).await;
        // Stale and the database is down: the old value at once, and no
        // retry for a TTL.
        assert_eq!(cache.get(&1, || async { Err(down()) }).await.unwrap(), "first");
        settled(&cache).await;
        let never = || async { panic!("retried before a TTL passed") };
        assert_eq!(cache.get(&1, never).await.unwrap(), "first");
        // A flush marks it stale without forgetting it.
        generation.advance();
        assert_eq!(cache.get(&1, || async { Err(down()) }).await.unwrap(), "first");
        settled(&cache).await;
        generation.advance();
        assert_eq!(cache.get(&1, || async { Ok("second") }).await.unwrap(), "first");
        settled(&cache).await;
        let never = || async { panic!("reloaded twice") };
        assert_eq!(cache.get(&1, never).await.unwrap(), "second");
        // A miss with the database down is an error (nothing to serve).
        assert!(cache.get(&2, || async { Err(down()) }).await.is_err());
        // Other errors are not papered over: the entry goes, and its next
        // use reports the error.
        generation.advance();
        let bad = || async { Err(DbError::Invalid("bad row".to_owned())) };
        assert_eq!(cache.get(&1, bad).await.unwrap(), "second");
        settled(&cache).await;
        assert!(cache.get(&1, bad).await.is_err());
    }
}
