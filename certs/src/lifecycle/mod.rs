//! The custom-domain lifecycle: one worker per process, safe with several.
//!
//! - [`machine`]: the state machine as pure functions (domain as stored,
//!   what DNS or the issuer answered, `now` -> the next status, message,
//!   attempts and retry time): `pending_dns` -> `pending_certificate` ->
//!   `active`, backing off (jittered, capped, the CA's `Retry-After`
//!   respected) into `failed`, renewing when a third of the lifetime is
//!   left ([`crate::policy`]), `disabled` never touched;
//! - [`backoff`]: the growing, capped, jittered delay between tries;
//!   [`outcome`]: what an order ended as, and the order budget;
//! - [`worker`]: [`DomainWorker`], which finds the due domains, asks DNS
//!   and the issuers, and writes each step with its message, what DNS
//!   answered and an audit row;
//! - `issuance`: the domain's issuer (the local CA for `internal`, the
//!   ACME CA for `acme`) under a per-registered-domain budget of orders per
//!   7 days that stops storms;
//! - [`lease`]: a lease per domain keeps two processes from working on one
//!   domain at once, whatever issues its certificate.

pub mod backoff;
mod issuance;
pub mod lease;
pub mod machine;
pub mod outcome;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use issuance::registered_domain;
pub use lease::{release, try_lease};
pub use outcome::{OrderFailure, OrderOutcome};
pub use worker::{DomainWorker, TickReport};

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    pub first_retry: Duration,
    pub max_retry: Duration,
    pub give_up_after: Duration,
    /// ACME orders per registered domain per 7 days.
    pub weekly_order_budget: u32,
    /// How long a worker may hold a domain's lease.
    pub lease_ttl: Duration,
}

impl Default for LifecycleSettings {
    /// The configuration's defaults: first retry after 60 s, at most an
    /// hour apart, give up after 72 h, 40 orders a week, 10-minute leases.
    fn default() -> Self {
        LifecycleSettings {
            first_retry: Duration::from_secs(60),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(72 * 3600),
            weekly_order_budget: 40,
            lease_ttl: Duration::from_secs(600),
        }
    }
}

/// A shared worker, for background services.
pub type SharedWorker = Arc<DomainWorker>;
