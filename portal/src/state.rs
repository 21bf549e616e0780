//! What every handler shares.

use std::sync::Arc;

use porta_core::config::Config;
use porta_core::db::Db;
use porta_core::host_cache::HostCache;
use porta_core::master_key::MasterKey;
use porta_core::request_context::ContextSigner;
use porta_core::session_token::{DerivedKeys, SessionKeys};

use crate::attachments::AttachmentStore;
use crate::request::csrf::CsrfKeys;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<SessionKeys>,
    /// Host -> tenant answers and tenant rows, cached.
    pub hosts: HostCache,
    /// Verifies the request context the edge sends.
    pub context: Arc<ContextSigner>,
    pub csrf: Arc<CsrfKeys>,
    /// Where documents are kept.
    pub files: AttachmentStore,
    /// Wakes the mail sender when this node wrote a message.
    pub mail_wake: crate::mail::worker::Wake,
    /// Derives handoff one-time tokens.
    pub ott_keys: Arc<DerivedKeys>,
    /// Signs what the second sign-in step carries.
    pub second_step_keys: Arc<DerivedKeys>,
    /// OpenID providers' discovery documents, and the client that talks to them.
    pub oidc: Arc<crate::oidc::Discovery>,
    pub oidc_http: openidconnect::reqwest::Client,
    /// Seals TOTP secrets and OpenID client secrets at rest.
    pub master_key: Arc<MasterKey>,
    /// Each tenant's branding, cached.
    pub branding: crate::branding::BrandingCache,
    /// Each tenant's ticket catalogue, cached.
    pub catalog: crate::tickets::catalog_cache::CatalogCache,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        db: Db,
        keys: SessionKeys,
        master_key: MasterKey,
        files: AttachmentStore,
    ) -> Self {
        let hosts = HostCache::new(
            db.clone(),
            config.canonical_base.clone(),
            config.edge.host_cache_ttl,
        );
        Self {
            context: Arc::new(ContextSigner::new(&keys)),
            csrf: Arc::new(CsrfKeys::new(&keys)),
            ott_keys: Arc::new(keys.derive("ott")),
            second_step_keys: Arc::new(keys.derive("second-step")),
            oidc: Arc::new(crate::oidc::Discovery::default()),
            oidc_http: crate::oidc::http_client(),
            master_key: Arc::new(master_key),
            branding: crate::branding::branding_cache(db.clone(), config.edge.host_cache_ttl),
            catalog: crate::tickets::catalog_cache::catalog_cache(db.clone(), config.edge.host_cache_ttl),
            mail_wake: crate::mail::worker::Wake::default(),
            hosts,
            files,
            config,
            db,
            keys: Arc::new(keys),
        }
    }
}
