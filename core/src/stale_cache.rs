//! A cache whose entries are served past their TTL while the database
//! cannot be read ("stale if error"), so a known answer never turns into an
//! error because the database is away.
//!
//! An entry is *fresh* for the TTL after it was loaded and until the next
//! [`Generation::advance`] (the change feed's flush after it reconnects:
//! changes may have been missed). A stale entry is loaded again by the
//! first request that needs it (the others meanwhile get the stale value at
//! once). When that load finds the database unavailable
//! ([`DbError::is_unavailable`]) the stale value is served, the entry is
//! left alone for a TTL, and the outage is noted process-wide ([`outage`]):
//! until it is a TTL old, stale entries of every cache are served without
//! another attempt, so one request per TTL and process waits on the
//! database's absence, not one per entry. Any other failure forgets the
//! entry and is reported. A value is served for at most [`STALE_LIMIT`]
//! after it was last loaded. A miss is loaded by the request that needs it
//! (concurrent misses share one load).

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

    /// The value for `key`: cached and fresh, else loaded with `load`, else
    /// (the database unavailable) the stale value; see the module
    /// documentation.
    pub async fn get<F, Fut>(&self, key: &K, load: F) -> Result<V, Arc<DbError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, DbError>>,
    {
        let generation = self.generation.current();
        let Some(cached) = self.entries.get(key).await else {
            let loaded = self
                .entries
                .try_get_with_by_ref(key, async {
                    load().await.map(|value| stamp(value, self.ttl, generation))
                })
                .await;
            if let Err(e) = &loaded {
                if e.is_unavailable() {
                    outage::note();
                }
            }
            return loaded.map(|s| s.value);
        };
        if Instant::now() < cached.fresh_until && cached.generation == generation {
            return Ok(cached.value);
        }
        if outage::seen_within(self.ttl) {
            return Ok(cached.value);
        }
        let Some(_reload) = Reload::claim(&self.reloading, key) else {
            // Another request is loading it: serve what we have meanwhile.
            return Ok(cached.value);
        };
        match load().await {
            Ok(value) => {
                let fresh = stamp(value.clone(), self.ttl, generation);
                self.entries.insert(key.clone(), fresh).await;
                Ok(value)
            }
            Err(e) if e.is_unavailable() && cached.loaded_at.elapsed() < STALE_LIMIT => {
                outage::note();
                tracing::warn!(error = %e, "database unavailable; serving a cached answer past its TTL");
                let retry = Stamped {
                    fresh_until: Instant::now() + self.ttl,
                    generation,
                    ..cached.clone()
                };
                self.entries.insert(key.clone(), retry).await;
                Ok(cached.value)
            }
            Err(e) => {
                self.entries.invalidate(key).await;
                Err(Arc::new(e))
            }
        }
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

/// The one reload under way for a key; released on drop.
struct Reload<'a, K: Hash + Eq> {
    set: &'a Mutex<HashSet<K>>,
    key: K,
}

impl<'a, K: Hash + Eq + Clone> Reload<'a, K> {
    fn claim(set: &'a Mutex<HashSet<K>>, key: &K) -> Option<Self> {
        let mut keys = set.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(key.clone()).then(|| Reload {
            set,
            key: key.clone(),
        })
    }
}

impl<K: Hash + Eq> Drop for Reload<'_, K> {
    fn drop(&mut self) {
        let mut keys = self.set.lock().unwrap_or_else(|e| e.into_inner());
        keys.remove(&self.key);
    }
}

/// When a reload last found the database unavailable, for the whole
/// process: the caches then serve stale entries without trying again
/// until their retry interval has passed.
pub mod outage {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// Milliseconds since [`epoch`] (plus one, 0 meaning never).
    static SEEN_AT: AtomicU64 = AtomicU64::new(0);

    fn epoch() -> Instant {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        *EPOCH.get_or_init(Instant::now)
    }

    fn now_millis() -> u64 {
        u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// A reload found the database unavailable just now.
    pub fn note() {
        SEEN_AT.store(now_millis(), Ordering::Release);
    }

    /// Whether that happened less than `within` ago.
    pub fn seen_within(within: Duration) -> bool {
        let seen = SEEN_AT.load(Ordering::Acquire);
        seen != 0 && u128::from(now_millis().saturating_sub(seen)) < within.as_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> DbError {
        DbError::Sqlx(sqlx::Error::PoolTimedOut)
    }

    #[tokio::test]
    async fn stale_values_are_served_while_the_database_is_down() {
        let generation = Generation::default();
        let ttl = Duration::from_millis(50);
        let cache: StaleCache<u32, &'static str> = StaleCache::new(10, ttl, generation.clone());
        assert_eq!(cache.get(&1, || async { Ok("first") }).await.unwrap(), "first");
        // Fresh: no load.
        let never = || async { panic!("a fresh entry is not loaded") };
        assert_eq!(cache.get(&1, never).await.unwrap(), "first");
        tokio::time::sleep(ttl + Duration::from_millis(30)).await;
        // Stale, the database up: reloaded by the request that needs it.
        assert_eq!(cache.get(&1, || async { Ok("second") }).await.unwrap(), "second");
        tokio::time::sleep(ttl + Duration::from_millis(30)).await;
        // Stale and the database down: the old value, and no retry (of this
        // entry or any other) for a TTL.
        assert_eq!(cache.get(&1, || async { Err(down()) }).await.unwrap(), "second");
        assert!(outage::seen_within(ttl));
        let never = || async { panic!("retried before a TTL passed") };
        assert_eq!(cache.get(&1, never).await.unwrap(), "second");
        // A flush marks it stale without forgetting it.
        tokio::time::sleep(ttl + Duration::from_millis(30)).await;
        generation.advance();
        assert_eq!(cache.get(&1, || async { Err(down()) }).await.unwrap(), "second");
        tokio::time::sleep(ttl + Duration::from_millis(30)).await;
        generation.advance();
        assert_eq!(cache.get(&1, || async { Ok("third") }).await.unwrap(), "third");
        // A miss with the database down is an error (nothing to serve).
        assert!(cache.get(&2, || async { Err(down()) }).await.is_err());
        // Other errors are not papered over: the entry goes. (Once the
        // outage that miss noted is a TTL old.)
        tokio::time::sleep(ttl + Duration::from_millis(30)).await;
        generation.advance();
        let bad = || async { Err(DbError::Invalid("bad row".to_owned())) };
        assert!(cache.get(&1, bad).await.is_err());
        assert!(cache.get(&1, bad).await.is_err());
    }
}
