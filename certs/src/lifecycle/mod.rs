//! The custom-domain lifecycle: one worker per process, safe with several.
//!
//! - [`machine`]: the state machine as pure functions (domain as stored,
//!   what DNS or the issuer answered, `now` -> the next status, message,
//!   attempts and retry time): `pending_dns` -> `pending_certificate` ->
//!   `active`, backing off (jittered, capped, the CA's `Retry-After`
//!   respected) into `failed`, renewing when a third of the lifetime is
//!   left ([`crate::policy`]), `disabled` never touched;
//! - [`worker`]: [`DomainWorker`], which finds the due domains, asks DNS
//!   and the issuers, and writes each step with its message, what DNS
//!   answered and an audit row;
//! - `issuance`: the domain's issuer (the local CA for `internal`, the
//!   ACME CA for `acme`) under a per-registered-domain budget of orders per
//!   7 days that stops storms;
//! - [`lease`]: a lease per domain keeps two processes from working on one
//!   domain at once, whatever issues its certificate.

mod issuance;
pub mod lease;
pub mod machine;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use issuance::registered_domain;
pub use lease::{release, try_lease};
pub use machine::{OrderFailure, OrderOutcome};
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

/// A shared worker, for background services.
pub type SharedWorker = Arc<DomainWorker>;
