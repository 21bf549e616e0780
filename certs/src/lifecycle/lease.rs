//! This process's side of the per-domain lease ([`porta_core::db::leases`]):
//! a holder name unique to the process and worker, and the TTL a lease is
//! taken for. Whatever issues the certificate, one node at a time works on
//! a domain.

use std::future::Future;
use std::time::Duration;

use porta_core::clock::UnixMillis;
use porta_core::db::{leases, Db, DbError};
use porta_core::host::HostName;

pub use porta_core::db::leases::{release, try_lease};

/// The leases one worker takes.
#[derive(Debug, Clone)]
pub struct Lease {
    holder: String,
    ttl: Duration,
}

impl Lease {
    /// A holder named after this process and a random id.
    pub fn new(ttl: Duration) -> Lease {
        Lease {
            holder: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            ttl,
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Runs `work` while holding the lease on `domain`; `Ok(false)` when
    /// another holder has it (and `work` did not run). The lease is
    /// released afterwards, whatever `work` returned.
    pub async fn run<Fut>(
        &self,
        db: &Db,
        domain: &HostName,
        now: UnixMillis,
        work: Fut,
    ) -> Result<bool, DbError>
    where
        Fut: Future<Output = Result<(), DbError>>,
    {
        if !leases::try_lease(db, domain, &self.holder, self.ttl, now).await? {
            return Ok(false);
        }
        let result = work.await;
        leases::release(db, domain, &self.holder).await?;
        result.map(|()| true)
    }
}
