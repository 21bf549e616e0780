//! Certificates over ACME (instant-acme, ring), one job per module:
//!
//! - [`client`]: [`AcmeClient`], an account on one directory that orders a
//!   certificate for a host name, answering each authorization with the
//!   first challenge kind of [`AcmeSettings::challenge_order`] the CA
//!   offers and falling back to the next kind when one fails; the result
//!   is stored with [`crate::store::insert`] (source `acme`);
//! - `account`: loading or creating that account, its credentials sealed
//!   under the [`crate::master_key::MasterKey`] in `acme_accounts`;
//! - [`tls_alpn01`]: the TLS-ALPN-01 challenge certificate and the rustls
//!   configuration the edge answers `acme-tls/1` handshakes with;
//! - [`error`]: [`AcmeError`], in the terms a scheduler backs off by (rate
//!   limits with the CA's `Retry-After`, an unreachable CA, a failed
//!   challenge, a refusal), classified by the problem's [`ProblemType`]
//!   ([`problem`]);
//! - `http`: the HTTP client underneath, which keeps `Retry-After` and
//!   tells transport failures apart.
//!
//! The challenge rows themselves are [`porta_core::db::acme_challenges`];
//! which node may order for a domain is the lifecycle's lease. Nothing here
//! logs account keys, key authorizations or challenge tokens above debug
//! level.

mod account;
pub mod client;
pub mod error;
mod http;
pub mod problem;
mod settings;
pub mod tls_alpn01;

pub use client::AcmeClient;
pub use error::AcmeError;
pub use problem::ProblemType;
pub use settings::AcmeSettings;
pub use tls_alpn01::ACME_TLS_ALPN;

/// Forgets the stored account of `directory_url` (the CA no longer knows
/// it), so that the next [`AcmeClient::connect`] creates a new one.
/// Returns whether one was stored.
pub async fn forget_account(
    db: &porta_core::db::Db,
    directory_url: &str,
) -> Result<bool, porta_core::db::DbError> {
    account::forget(db, directory_url).await
}
