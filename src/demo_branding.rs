//! The demo tenant's branding: its colours, a support contact, a sign-in
//! message, and its logos and favicon (PNGs under `assets/demo/`), so the
//! pages show a branded portal from the first start.

use porta_core::branding::BrandImage;
use porta_core::branding::Colour;
use porta_core::clock::UnixMillis;
use porta_core::db::branding::{self, Branding, Image};
use porta_core::db::Db;
use porta_core::ids::TenantId;
use sha2::{Digest, Sha256};

const LOGO_LIGHT: &[u8] = include_bytes!("../assets/demo/acme-logo-light.png");
const LOGO_DARK: &[u8] = include_bytes!("../assets/demo/acme-logo-dark.png");
const FAVICON: &[u8] = include_bytes!("../assets/demo/acme-favicon.png");

fn png(bytes: &[u8]) -> Image {
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    Image {
        content_type: "image/png".to_owned(),
        bytes: bytes.to_vec(),
        sha256,
    }
}

pub async fn seed(db: &Db, tenant: TenantId) -> anyhow::Result<()> {
    let now = UnixMillis::now();
    let colour = |hex: &str| -> anyhow::Result<Colour> { Ok(hex.parse()?) };
    let look = Branding {
        display_name: String::new(),
        primary: Some(colour("#0f6e5a")?),
        secondary: Some(colour("#0b5c8a")?),
        support_email: "support@acme-it.example".to_owned(),
        support_phone: "+1 555 0100".to_owned(),
        signin_message: "Welcome to Acme IT Services. Sign in to open a ticket, follow your projects and see your invoices.".to_owned(),
        default_locale: None,
        images: Vec::new(),
        updated_at: 0,
    };
    branding::save(db, tenant, &look, now).await?;
    for (kind, bytes) in [
        (BrandImage::LogoLight, LOGO_LIGHT),
        (BrandImage::LogoDark, LOGO_DARK),
        (BrandImage::Favicon, FAVICON),
    ] {
        branding::set_image(db, tenant, kind, &png(bytes), now).await?;
    }
    Ok(())
}
