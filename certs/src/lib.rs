//! Porta's certificates: everything the edge needs to terminate TLS for
//! tenants' custom domains.
//!
//! - [`master_key`]: the key that encrypts private keys (and ACME
//!   credentials) at rest, from configuration or `<data_dir>/master.key`;
//! - [`store`]: certificate rows (chain, sealed private key, validity) on
//!   SQLite or PostgreSQL, and the lookup of the certificate to serve for a
//!   server name;
//! - [`resolver`]: a bounded moka cache implementing rustls's
//!   `ResolvesServerCert`, filled before the handshake by the edge's pre-TLS
//!   hook and expiring on a configurable TTL;
//! - [`local_ca`]: the internal CA for development and private deployments;
//! - [`policy`]: which names get a local-CA certificate and when a
//!   certificate is renewed, for the CLI and the worker alike;
//! - [`dns`]: CNAME-alignment checks of custom domains over hickory-resolver;
//! - [`acme`]: the ACME client (account, orders with challenge fallback,
//!   TLS-ALPN-01, errors by problem type);
//! - [`lifecycle`]: the state machine and the worker that move custom
//!   domains from registration to an active, renewed certificate, one node
//!   per domain at a time (a lease).
//!
//! This crate depends on `porta-core` only.

pub mod acme;
pub mod dns;
pub mod expiry;
pub mod lifecycle;
pub mod local_ca;
pub use porta_core::master_key;
pub mod policy;
pub mod resolver;
pub mod store;
