//! What every handler shares.

use std::sync::Arc;

use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::session_token::SessionKeys;

use porta_core::rate_limit::IpRateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<SessionKeys>,
    pub signin_limiter: Arc<IpRateLimiter>,
}

impl AppState {
    pub fn new(config: Arc<Config>, db: Db, keys: SessionKeys) -> Self {
        let limiter = IpRateLimiter::per_minute(config.signin.max_attempts_per_ip_per_minute);
        Self {
            config,
            db,
            keys: Arc::new(keys),
            signin_limiter: Arc::new(limiter),
        }
    }
}
