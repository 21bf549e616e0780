//! What every part of the edge shares.

use std::sync::Arc;

use porta_certs::dns::CnameVerifier;
use porta_certs::resolver::CertResolver;
use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::rate_limit::IpRateLimiter;
use porta_core::session_token::SessionKeys;

use crate::host_router::HostRouter;

pub struct EdgeState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: SessionKeys,
    pub resolver: Arc<CertResolver>,
    pub router: HostRouter,
    pub dns: CnameVerifier,
    pub exchange_limiter: IpRateLimiter,
}
