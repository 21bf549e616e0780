//! The tenant's branding on every page: its name, logo and favicon (served
//! from our own routes, [`images`]), colours (in `/theme.css`), support
//! contact and sign-in message. Each request's [`crate::request::Site`]
//! carries it, from a cache, so a page costs no query for it; staff edit
//! it on `/msp/settings/branding` ([`settings`]).

pub mod images;
pub mod settings;

use std::time::Duration;

use porta_core::branding::BrandImage;
use porta_core::db::branding::{self, Branding};
use porta_core::db::Db;

use crate::tenant_cache::TenantCache;

/// Branding by tenant ([`crate::tenant_cache`]).
pub type BrandingCache = TenantCache<Branding>;

pub fn branding_cache(db: Db, ttl: Duration) -> BrandingCache {
    TenantCache::new(db, ttl, |db, tenant| Box::pin(branding::get(db, tenant)))
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
