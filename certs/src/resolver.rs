//! The certificate cache rustls reads during handshakes.
//!
//! rustls asks for a certificate synchronously ([`ResolvesServerCert`]), so
//! [`CertResolver::resolve`] only reads a bounded moka cache keyed by the
//! lower-cased server name. The cache is filled before the handshake: the
//! edge's pre-TLS hook reads the ClientHello's SNI and awaits
//! [`CertResolver::ensure_loaded`], which on a miss loads the certificate
//! from the database ([`store::for_server_name`]: the exact name or the
//! parent wildcard, in one query). A caller may refuse misses
//! ([`CertResolver::ensure_loaded_if`]): the edge limits them per client.
//!
//! Entries are reloaded when the change feed announces a certificate
//! stored for their name (the resolver is a [`ChangeSink`]: within about a
//! second on every node), and:
//! - a certificate is reloaded on its first use after
//!   [`ResolverSettings::positive_ttl`]. That TTL is the bound within which
//!   a renewed or replaced certificate is served on a node whose feed
//!   missed the change. Until a reload succeeds the cached certificate is
//!   served (*stale if error*): while the database is down a known name
//!   keeps completing handshakes. The reload is tried by one handshake at a
//!   time (the others are served at once), and after a failure not again
//!   for the negative TTL, by this name or any other
//!   ([`porta_core::stale_cache::outage`]), so an outage makes one
//!   handshake per negative TTL wait, not each. A certificate is
//!   never served past its `not_after`, nor [`STALE_LIMIT`] after its last
//!   load. A flush of the change feed (after it reconnects) marks every
//!   certificate stale instead of forgetting it, for the same reason;
//! - an unknown name (or a failed load) is remembered for
//!   [`ResolverSettings::negative_ttl`], so a flood of random SNIs costs at
//!   most one query per name per negative TTL.
//!
//! Concurrent misses for one name share one database lookup.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use porta_core::change_feed::{Change, ChangeSink, FlushReason, SinkFuture};
use porta_core::clock::UnixMillis;
use porta_core::db::Db;
use porta_core::host::HostName;
use porta_core::stale_cache::outage;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::OnceCell;

use crate::master_key::MasterKey;
use crate::store::{self, StoreError};

/// How long entries live and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolverSettings {
    /// How long a loaded certificate is served without looking at the
    /// database again: the bound within which a renewal or replacement is
    /// picked up without an explicit invalidation.
    pub positive_ttl: Duration,
    /// How long "no certificate for this name" is remembered.
    pub negative_ttl: Duration,
    /// Entries kept at most (positive and negative together); at least 1.
    pub max_entries: u64,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        Self {
            positive_ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(30),
            max_entries: 10_000,
        }
    }
}

/// What [`CertResolver::ensure_loaded`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// A certificate was already cached.
    Hit,
    /// A certificate was loaded from the database (by this call or by a
    /// concurrent one it waited for) and is now cached.
    Loaded,
    /// There is no certificate for this name (from the negative cache or
    /// the database), or the name is not a valid host name; the handshake
    /// will fail.
    Unknown,
    /// Loading failed (database down, key undecryptable); logged, and
    /// remembered like an unknown name for the negative TTL.
    Error,
    /// A certificate cached past its TTL (or marked stale by a flush) is
    /// served because reloading it failed (the database is down), is under
    /// way in another handshake, or is not tried during an outage.
    Stale,
    /// Nothing was cached and the caller did not allow a database lookup
    /// (the client has used up its misses): nothing is remembered about
    /// the name, and the handshake will fail.
    Refused,
}

/// Counters since the resolver was built.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ResolverStats {
    /// `ensure_loaded` found a cached certificate.
    pub hits: u64,
    /// `ensure_loaded` found a cached "unknown".
    pub negative_hits: u64,
    /// `ensure_loaded` found nothing cached.
    pub misses: u64,
    /// Database lookups performed (at most one per concurrent miss).
    pub db_lookups: u64,
    /// Lookups that failed.
    pub errors: u64,
    /// Misses refused without a lookup (the caller's limit).
    pub refused: u64,
    /// Certificates served past their TTL (reload failed or under way).
    pub stale: u64,
}

/// Database lookups of every resolver in this process, for the edge's
/// `porta_edge_cert_db_lookups_total`.
static DB_LOOKUPS: AtomicU64 = AtomicU64::new(0);

/// How many certificate lookups reached the database in this process.
pub fn db_lookups_total() -> u64 {
    DB_LOOKUPS.load(Ordering::Relaxed)
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    negative_hits: AtomicU64,
    misses: AtomicU64,
    db_lookups: AtomicU64,
    errors: AtomicU64,
    refused: AtomicU64,
    stale: AtomicU64,
}

/// How long after its last load a certificate may still be served while it
/// cannot be reloaded (never past its `not_after`).
pub const STALE_LIMIT: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
enum Entry {
    Found(Found),
    Missing,
}

#[derive(Clone)]
struct Found {
    key: Arc<CertifiedKey>,
    /// Served without a reload until then (the positive TTL after a load,
    /// the negative TTL after a failed reload).
    fresh_until: Instant,
    /// [`CertResolver::generation`] when loaded; older ones are stale.
    generation: u64,
    /// Dropped from the cache then: the certificate's `not_after`, or
    /// [`STALE_LIMIT`] after the load, whichever is sooner.
    expires_at: Instant,
}

struct EntryExpiry {
    negative: Duration,
}

impl EntryExpiry {
    fn ttl(&self, entry: &Entry) -> Duration {
        match entry {
            Entry::Found(found) => found.expires_at.saturating_duration_since(Instant::now()),
            Entry::Missing => self.negative,
        }
    }
}

impl moka::Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(self.ttl(entry))
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.ttl(entry))
    }
}

type Inflight = Mutex<HashMap<String, Arc<OnceCell<(Entry, LoadOutcome)>>>>;

/// Serves certificates from the database through a cache; see the module
/// documentation.
pub struct CertResolver {
    db: Db,
    master: MasterKey,
    settings: ResolverSettings,
    cache: Cache<String, Entry>,
    /// The certificate each `ensure_loaded` just confirmed, kept briefly so
    /// that an entry of `cache` expiring between the pre-TLS hook and
    /// rustls's `resolve` (microseconds apart) cannot fail that handshake.
    confirmed: Cache<String, Arc<CertifiedKey>>,
    inflight: Inflight,
    /// Names whose stale certificate one handshake is reloading.
    reloading: Mutex<HashSet<String>>,
    /// Advanced by a flush: every certificate loaded before is stale.
    generation: AtomicU64,
    counters: Counters,
    /// Without the pre-TLS hook ([`CertResolver::queue_misses`]): names
    /// `resolve` did not find, for a background task to load.
    misses: OnceLock<tokio::sync::mpsc::Sender<String>>,
}

/// How long a confirmed certificate stays available to the handshake that
/// follows its confirmation.
const HANDSHAKE_GRACE: Duration = Duration::from_secs(10);

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("backend", &self.db.backend())
            .field("settings", &self.settings)
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

/// The cache key for a server name; `None` for what cannot be a host name.
fn cache_key(server_name: &str) -> Option<String> {
    HostName::parse(server_name).ok().map(|h| h.to_string())
}

impl CertResolver {
    pub fn new(db: Db, master: MasterKey, settings: ResolverSettings) -> CertResolver {
        let cache = Cache::builder()
            .max_capacity(settings.max_entries.max(1))
            .expire_after(EntryExpiry {
                negative: settings.negative_ttl,
            })
            .support_invalidation_closures()
            .build();
        CertResolver {
            db,
            master,
            settings,
            cache,
            confirmed: Cache::builder()
                .max_capacity(settings.max_entries.max(1))
                .time_to_live(HANDSHAKE_GRACE)
                .build(),
            inflight: Mutex::new(HashMap::new()),
            reloading: Mutex::new(HashSet::new()),
            generation: AtomicU64::new(0),
            counters: Counters::default(),
            misses: OnceLock::new(),
        }
    }

    /// For an edge without the pre-TLS hook: from now on, a name
    /// [`ResolvesServerCert::resolve`] does not find (that handshake fails)
    /// is sent to the returned receiver (up to `capacity` waiting; more
    /// are dropped), whose reader loads it with
    /// [`CertResolver::ensure_loaded`] for the next connection. `None` if
    /// already called.
    pub fn queue_misses(&self, capacity: usize) -> Option<tokio::sync::mpsc::Receiver<String>> {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
        self.misses.set(tx).ok()?;
        Some(rx)
    }

    pub fn settings(&self) -> ResolverSettings {
        self.settings
    }

    /// Makes sure the cache knows about `server_name`: called by the edge's
    /// pre-TLS hook with the ClientHello's SNI, before the handshake, so
    /// that [`ResolvesServerCert::resolve`] finds the certificate. On a miss
    /// this awaits one database lookup, shared with concurrent callers for
    /// the same name.
    pub async fn ensure_loaded(&self, server_name: &str) -> LoadOutcome {
        self.ensure_loaded_if(server_name, || true).await
    }

    /// [`CertResolver::ensure_loaded`], but a cache miss first asks
    /// `may_query` (once) whether this caller may cost a database lookup;
    /// when it says no the answer is [`LoadOutcome::Refused`]. Names that
    /// are cached (found or known unknown) never ask: the edge limits the
    /// misses of each client IP with it.
    pub async fn ensure_loaded_if(&self, server_name: &str, may_query: impl FnOnce() -> bool) -> LoadOutcome {
        let Some(key) = cache_key(server_name) else {
            return LoadOutcome::Unknown;
        };
        match self.cache.get(&key) {
            Some(Entry::Found(found)) => {
                let now = Instant::now();
                if now >= found.fresh_until || found.generation != self.generation.load(Ordering::Acquire) {
                    return self.reload_stale(key, found).await;
                }
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                // Only an entry that may expire before the handshake needs
                // the grace copy: a write per hit would cost more than the
                // lookup (moka inserts queue maintenance work).
                if found.expires_at.saturating_duration_since(now) <= HANDSHAKE_GRACE {
                    self.confirmed.insert(key, found.key);
                }
                return LoadOutcome::Hit;
            }
            Some(Entry::Missing) => {
                self.counters.negative_hits.fetch_add(1, Ordering::Relaxed);
                return LoadOutcome::Unknown;
            }
            None => {
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !may_query() {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return LoadOutcome::Refused;
        }

        let guard = InflightGuard::join(&self.inflight, &key);
        let (entry, outcome) = guard
            .cell
            .get_or_init(|| async {
                // The load this call missed may have finished between the
                // cache check above and joining: look again before querying.
                match self.cache.get(&key) {
                    Some(entry @ Entry::Found(_)) => return (entry, LoadOutcome::Hit),
                    Some(Entry::Missing) => return (Entry::Missing, LoadOutcome::Unknown),
                    None => {}
                }
                let (entry, outcome) = self.load(&key).await;
                self.cache.insert(key.clone(), entry.clone());
                (entry, outcome)
            })
            .await
            .clone();
        if let Entry::Found(found) = entry {
            self.confirmed.insert(key.clone(), found.key);
        }
        outcome
    }

    /// A certificate past its TTL (or a flush): reloaded by this
    /// handshake, unless another is doing it or a reload anywhere in the
    /// process found the database unavailable less than a negative TTL ago
    /// (then served as it is at once); served as it is when the reload
    /// fails, and not tried again for the negative TTL.
    async fn reload_stale(&self, key: String, stale: Found) -> LoadOutcome {
        let retry = self.settings.negative_ttl;
        let claimed = !outage::seen_within(retry) && {
            let mut names = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
            names.insert(key.clone())
        };
        if claimed {
            let release = ReloadGuard {
                resolver: self,
                key: &key,
            };
            let (entry, outcome) = self.load(&key).await;
            drop(release);
            if outcome != LoadOutcome::Error {
                if let Entry::Found(found) = &entry {
                    self.confirmed.insert(key.clone(), found.key.clone());
                }
                self.cache.insert(key, entry);
                return outcome;
            }
            tracing::warn!(server_name = %key, "serving a cached certificate past its TTL: it cannot be reloaded");
            self.keep_stale(key.clone(), stale.clone(), retry);
        }
        self.counters.stale.fetch_add(1, Ordering::Relaxed);
        self.confirmed.insert(key, stale.key);
        LoadOutcome::Stale
    }

    /// Keeps serving `stale` for `name`, and tries to reload it after `retry_in`.
    fn keep_stale(&self, name: String, stale: Found, retry_in: Duration) {
        let kept = Found {
            fresh_until: Instant::now() + retry_in,
            generation: self.generation.load(Ordering::Acquire),
            ..stale
        };
        self.cache.insert(name, Entry::Found(kept));
    }

    async fn load(&self, key: &str) -> (Entry, LoadOutcome) {
        self.counters.db_lookups.fetch_add(1, Ordering::Relaxed);
        DB_LOOKUPS.fetch_add(1, Ordering::Relaxed);
        let now = UnixMillis::now();
        let loaded: Result<_, StoreError> = async {
            let Some(stored) = store::for_server_name(&self.db, key, now).await? else {
                return Ok(None);
            };
            let certified = stored.certified_key(&self.master)?;
            let valid_for = u64::try_from(stored.info.not_after.0.saturating_sub(now.0))
                .map(Duration::from_millis)
                .unwrap_or_default();
            Ok(Some((certified, valid_for, stored.info)))
        }
        .await;
        match loaded {
            Ok(Some((certified, valid_for, info))) => {
                tracing::debug!(server_name = key, id = %info.id, domain = %info.domain, "certificate loaded");
                let now = Instant::now();
                (
                    Entry::Found(Found {
                        key: certified,
                        fresh_until: now + self.settings.positive_ttl.min(valid_for),
                        generation: self.generation.load(Ordering::Acquire),
                        expires_at: now + valid_for.min(STALE_LIMIT),
                    }),
                    LoadOutcome::Loaded,
                )
            }
            Ok(None) => (Entry::Missing, LoadOutcome::Unknown),
            Err(error) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                if matches!(&error, StoreError::Db(e) if e.is_unavailable()) {
                    outage::note();
                }
                tracing::warn!(server_name = key, %error, "cannot load certificate");
                (Entry::Missing, LoadOutcome::Error)
            }
        }
    }

    /// Forgets `name` (after a renewal, replacement or removal). A wildcard
    /// (`*.example.com`) forgets every cached name it covers. What a pre-TLS
    /// hook just confirmed stays for the handshake it belongs to: the change
    /// feed invalidates at any moment, and a handshake between its hook and
    /// rustls's `resolve` must not lose its certificate (the next
    /// connection's hook loads the new one).
    pub fn invalidate(&self, name: &str) {
        let raw = name.trim().to_ascii_lowercase();
        if let Some(parent) = raw.strip_prefix("*.") {
            let parent = parent.trim_end_matches('.');
            let covered: Vec<Arc<String>> = self
                .cache
                .iter()
                .map(|(k, _)| k)
                .filter(|k| {
                    k.split_once('.')
                        .is_some_and(|(_, key_parent)| key_parent == parent)
                })
                .collect();
            for key in covered {
                self.cache.invalidate(key.as_str());
            }
        } else if let Some(key) = cache_key(&raw) {
            self.cache.invalidate(&key);
        }
    }

    /// Forgets everything (but what handshakes under way were confirmed, as
    /// [`CertResolver::invalidate`]).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    pub fn stats(&self) -> ResolverStats {
        let c = &self.counters;
        ResolverStats {
            hits: c.hits.load(Ordering::Relaxed),
            negative_hits: c.negative_hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            db_lookups: c.db_lookups.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            stale: c.stale.load(Ordering::Relaxed),
        }
    }

    /// The cached certificate for `server_name`, without touching the
    /// database.
    pub fn cached(&self, server_name: &str) -> Option<Arc<CertifiedKey>> {
        match self.cache.get(&cache_key(server_name)?)? {
            Entry::Found(found) => Some(found.key),
            Entry::Missing => None,
        }
    }
}

impl ResolvesServerCert for CertResolver {
    /// Runs during the handshake. Returns the cached certificate for the
    /// SNI; `None` (the handshake fails) for a name with no certificate,
    /// one that was not loaded by [`CertResolver::ensure_loaded`], and a
    /// ClientHello without SNI.
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let key = cache_key(client_hello.server_name()?)?;
        match self.cache.get(&key) {
            Some(Entry::Found(found)) => Some(found.key),
            Some(Entry::Missing) => None,
            // Expired since the pre-TLS hook confirmed it: serve what it confirmed.
            None => {
                let confirmed = self.confirmed.get(&key);
                if let (None, Some(misses)) = (&confirmed, self.misses.get()) {
                    let _ = misses.try_send(key);
                }
                confirmed
            }
        }
    }
}

impl CertResolver {
    /// The cached names a change of `name`'s certificate concerns (every
    /// name a wildcard covers).
    fn cached_names_of(&self, name: &str) -> Vec<String> {
        let raw = name.trim().to_ascii_lowercase();
        match raw.strip_prefix("*.") {
            Some(parent) => {
                let parent = parent.trim_end_matches('.');
                self.cache
                    .iter()
                    .map(|(k, _)| k)
                    .filter(|k| k.split_once('.').is_some_and(|(_, p)| p == parent))
                    .map(|k| k.as_str().to_owned())
                    .collect()
            }
            None => cache_key(&raw)
                .filter(|k| self.cache.contains_key(k))
                .into_iter()
                .collect(),
        }
    }

    /// Loads the cached names of a changed certificate again and replaces
    /// their entries: until the new one is in, the old one is served, so a
    /// change never turns a known name into a miss (which the per-address
    /// limit on unknown names could refuse). When the store cannot be read
    /// the old certificate stays, stale: the next handshake tries again.
    async fn refresh(&self, name: &str) {
        for key in self.cached_names_of(name) {
            match self.load(&key).await {
                (_, LoadOutcome::Error) => {
                    if let Some(Entry::Found(old)) = self.cache.get(&key) {
                        self.keep_stale(key, old, Duration::ZERO);
                    } else {
                        self.cache.invalidate(&key);
                    }
                }
                (entry, _) => self.cache.insert(key, entry),
            }
        }
    }

    /// Marks every cached certificate stale: each is reloaded on its next
    /// use, and served as it is if that fails.
    pub fn mark_all_stale(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl ChangeSink for CertResolver {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        match change {
            Change::Certificate { name, .. } => Box::pin(self.refresh(name)),
            _ => Box::pin(std::future::ready(())),
        }
    }

    /// Marks everything stale rather than forgetting it: a certificate that
    /// cannot be reloaded (the database gone again) still completes handshakes.
    /// Unknown names are forgotten (one may have got a certificate).
    fn flush_all(&self, _reason: FlushReason) {
        self.mark_all_stale();
        let _ = self
            .cache
            .invalidate_entries_if(|_, entry| matches!(entry, Entry::Missing));
    }
}

/// The reload of one stale name under way; released on drop (also when the
/// handshake waiting for it is abandoned).
struct ReloadGuard<'a> {
    resolver: &'a CertResolver,
    key: &'a str,
}

impl Drop for ReloadGuard<'_> {
    fn drop(&mut self) {
        let mut names = self.resolver.reloading.lock().unwrap_or_else(|e| e.into_inner());
        names.remove(self.key);
    }
}

/// Membership in the set of loads under way for one name; the entry is
/// removed when the load finishes or every caller gave up.
struct InflightGuard<'a> {
    map: &'a Inflight,
    key: &'a str,
    cell: Arc<OnceCell<(Entry, LoadOutcome)>>,
}

impl<'a> InflightGuard<'a> {
    fn join(map: &'a Inflight, key: &'a str) -> Self {
        let mut loads = map.lock().unwrap_or_else(|e| e.into_inner());
        let cell = loads.entry(key.to_owned()).or_default().clone();
        InflightGuard { map, key, cell }
    }
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        let mut loads = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if loads
            .get(self.key)
            .is_some_and(|cell| Arc::ptr_eq(cell, &self.cell))
        {
            loads.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_lower_case_host_names() {
        assert_eq!(
            cache_key("A.Portal.LOCALHOST.").as_deref(),
            Some("a.portal.localhost")
        );
        assert_eq!(cache_key("127.0.0.1"), None);
        assert_eq!(cache_key("*.portal.localhost"), None);
        assert_eq!(cache_key(""), None);
    }

    #[test]
    fn unknown_names_use_the_negative_ttl() {
        let expiry = EntryExpiry {
            negative: Duration::from_secs(5),
        };
        assert_eq!(expiry.ttl(&Entry::Missing), Duration::from_secs(5));
    }
}
