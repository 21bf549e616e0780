//! What every part of the edge shares.

use std::sync::Arc;

use porta_certs::dns::CnameVerifier;
use porta_certs::resolver::CertResolver;
use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::host_cache::HostCache;
use porta_core::rate_limit::IpRateLimiter;
use porta_core::request_context::ContextSigner;
use porta_core::session_token::SessionKeys;

pub struct EdgeState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: SessionKeys,
    pub resolver: Arc<CertResolver>,
    /// Host -> tenant answers and tenant rows, cached.
    pub hosts: HostCache,
    /// Signs the request context passed to the portal.
    pub context: ContextSigner,
    pub dns: CnameVerifier,
    pub exchange_limiter: IpRateLimiter,
    /// The `Strict-Transport-Security` value of HTTPS responses, if any.
    pub hsts: Option<String>,
}
