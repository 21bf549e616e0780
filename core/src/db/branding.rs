//! A tenant's branding row and its images.

use sqlx::FromRow;

use super::{changes, Db, DbError};
use crate::branding::{BrandImage, Colour};
use crate::clock::UnixMillis;
use crate::ids::TenantId;
use crate::{on_pool, on_tx};

/// What a tenant set (empty fields: Porta's defaults apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// Shown instead of the tenant's name when set.
    pub display_name: String,
    pub primary: Option<Colour>,
    pub secondary: Option<Colour>,
    pub support_email: String,
    pub support_phone: String,
    pub signin_message: String,
    /// The language of readers who have not chosen one.
    pub default_locale: Option<crate::locale::Locale>,
    /// The images it has, with their SHA-256 (for cache-busting URLs).
    pub images: Vec<(BrandImage, String)>,
    pub updated_at: i64,
}

impl Branding {
    pub fn image(&self, kind: BrandImage) -> Option<&str> {
        self.images
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, sha)| sha.as_str())
    }
}

#[derive(FromRow)]
struct Row {
    display_name: String,
    primary_color: Option<String>,
    secondary_color: Option<String>,
    support_email: String,
    support_phone: String,
    signin_message: String,
    default_locale: String,
    updated_at: i64,
}

pub async fn get(db: &Db, tenant: TenantId) -> Result<Branding, DbError> {
    let row: Option<Row> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT display_name, primary_color, secondary_color, support_email, support_phone, signin_message, default_locale, updated_at \
         FROM branding WHERE tenant_id = $1"
    )
    .bind(tenant)
    .fetch_optional(pool)
    .await
    })?;
    let images: Vec<(String, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT kind, sha256 FROM brand_images WHERE tenant_id = $1 ORDER BY kind"
    )
    .bind(tenant)
    .fetch_all(pool)
    .await)?;
    let images = images
        .into_iter()
        .filter_map(|(kind, sha)| kind.parse::<BrandImage>().ok().map(|k| (k, sha)))
        .collect();
    Ok(match row {
        None => Branding {
            images,
            ..Branding::default()
        },
        Some(r) => Branding {
            display_name: r.display_name,
            // A stored value that is no colour any more is ignored.
            primary: r.primary_color.and_then(|c| c.parse().ok()),
            secondary: r.secondary_color.and_then(|c| c.parse().ok()),
            support_email: r.support_email,
            support_phone: r.support_phone,
            signin_message: r.signin_message,
            default_locale: crate::locale::Locale::of_preference(&r.default_locale),
            images,
            updated_at: r.updated_at,
        },
    })
}

/// Saves the texts and colours (the images are set one by one).
pub async fn save(db: &Db, tenant: TenantId, b: &Branding, now: UnixMillis) -> Result<(), DbError> {
    let sql =
        "INSERT INTO branding (tenant_id, display_name, primary_color, secondary_color, support_email, \
               support_phone, signin_message, default_locale, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
               ON CONFLICT (tenant_id) DO UPDATE SET display_name = excluded.display_name, \
               primary_color = excluded.primary_color, secondary_color = excluded.secondary_color, \
               support_email = excluded.support_email, support_phone = excluded.support_phone, \
               signin_message = excluded.signin_message, default_locale = excluded.default_locale, updated_at = excluded.updated_at";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(tenant)
        .bind(&b.display_name)
        .bind(b.primary.map(|c| c.to_string()))
        .bind(b.secondary.map(|c| c.to_string()))
        .bind(&b.support_email)
        .bind(&b.support_phone)
        .bind(&b.signin_message)
        .bind(b.default_locale.map_or("", |l| l.tag()))
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    changes::record_tenant(&mut tx, tenant, now).await?;
    tx.commit().await
}

/// A stored image: its type and bytes.
pub struct Image {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

pub async fn set_image(
    db: &Db,
    tenant: TenantId,
    kind: BrandImage,
    image: &Image,
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "INSERT INTO brand_images (tenant_id, kind, content_type, bytes, sha256, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, kind) DO UPDATE SET \
               content_type = excluded.content_type, bytes = excluded.bytes, sha256 = excluded.sha256, \
               updated_at = excluded.updated_at";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(tenant)
        .bind(kind.as_str())
        .bind(&image.content_type)
        .bind(&image.bytes)
        .bind(&image.sha256)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    changes::record_tenant(&mut tx, tenant, now).await?;
    tx.commit().await
}

pub async fn remove_image(db: &Db, tenant: TenantId, kind: BrandImage) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "DELETE FROM brand_images WHERE tenant_id = $1 AND kind = $2"
    )
    .bind(tenant)
    .bind(kind.as_str())
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    changes::record_tenant(&mut tx, tenant, UnixMillis::now()).await?;
    tx.commit().await
}

pub async fn image(db: &Db, tenant: TenantId, kind: BrandImage) -> Result<Option<Image>, DbError> {
    let row: Option<(String, Vec<u8>, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT content_type, bytes, sha256 FROM brand_images WHERE tenant_id = $1 AND kind = $2"
    )
    .bind(tenant)
    .bind(kind.as_str())
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(content_type, bytes, sha256)| Image {
        content_type,
        bytes,
        sha256,
    }))
}
