//! The tenant's branding on every page: its name, logo and favicon (served
//! from our own routes, [`images`]), colours (in `/theme.css`), support
//! contact and sign-in message. Each request's [`crate::request::Site`]
//! carries it, from a cache, so a page costs no query for it; staff edit
//! it on `/msp/settings/branding` ([`settings`]).

pub mod images;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use porta_core::branding::BrandImage;
use porta_core::change_feed::{Change, ChangeSink, FlushReason, SinkFuture};
use porta_core::db::branding::{self, Branding};
use porta_core::db::Db;
use porta_core::ids::TenantId;

use crate::error::AppError;

/// Branding by tenant, for the host cache's lifetime.
#[derive(Clone)]
pub struct BrandingCache {
    db: Db,
    entries: Cache<TenantId, Arc<Branding>>,
}

impl BrandingCache {
    pub fn new(db: Db, ttl: Duration) -> Self {
        Self {
            db,
            entries: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
        }
    }

    pub async fn get(&self, tenant: TenantId) -> Result<Arc<Branding>, AppError> {
        self.entries
            .try_get_with(tenant, async {
                branding::get(&self.db, tenant).await.map(Arc::new)
            })
            .await
            .map_err(AppError::from)
    }

    /// After this process changed the tenant's branding.
    pub async fn forget(&self, tenant: TenantId) {
        self.entries.invalidate(&tenant).await;
    }
}

/// Another node changed a tenant's branding: the change feed says so.
impl ChangeSink for BrandingCache {
    fn apply<'a>(&'a self, change: &'a Change) -> SinkFuture<'a> {
        Box::pin(async move {
            if let Change::Tenant { tenant, .. } = change {
                self.forget(*tenant).await;
            }
        })
    }

    fn flush_all(&self, _reason: FlushReason) {
        self.entries.invalidate_all();
    }
}

/// What the layout shows of the branding.
#[derive(Debug, Clone, Default)]
pub struct BrandView {
    pub name: String,
    pub logo_light: Option<String>,
    pub logo_dark: Option<String>,
    pub favicon: Option<String>,
    pub support_email: String,
    pub support_phone: String,
    pub signin_message: String,
}

impl BrandView {
    pub fn of(tenant_name: &str, b: &Branding) -> BrandView {
        let url = |kind: BrandImage| {
            b.image(kind)
                .map(|sha| format!("/branding/{}?v={}", kind.as_str(), &sha[..16.min(sha.len())]))
        };
        BrandView {
            name: if b.display_name.trim().is_empty() {
                tenant_name.to_owned()
            } else {
                b.display_name.clone()
            },
            logo_light: url(BrandImage::LogoLight),
            logo_dark: url(BrandImage::LogoDark),
            favicon: url(BrandImage::Favicon),
            support_email: b.support_email.clone(),
            support_phone: b.support_phone.clone(),
            signin_message: b.signin_message.clone(),
        }
    }
}
