//! `/branding/{logo-light,logo-dark,favicon}`: a tenant's images from our
//! own origin, with their stored raster type, `nosniff`, a policy that
//! runs nothing, and long caching for the versioned URL the pages use.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use porta_core::branding::BrandImage;
use porta_core::db::branding;
use serde::Deserialize;

use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Version {
    v: Option<String>,
}

pub async fn serve(
    State(state): State<AppState>,
    site: Site,
    Path(kind): Path<String>,
    Query(version): Query<Version>,
    request_headers: HeaderMap,
) -> Result<Response, AppError> {
    let kind: BrandImage = kind.parse().map_err(|_| AppError::NotFound)?;
    let image = branding::image(&state.db, site.tenant.id, kind)
        .await?
        .ok_or(AppError::NotFound)?;
    // Only the raster types uploads accept are ever served.
    if !kind.allowed_types().contains(&image.content_type.as_str()) {
        return Err(AppError::NotFound);
    }
    let etag = format!("\"{}\"", &image.sha256[..32.min(image.sha256.len())]);
    let current = version
        .v
        .as_deref()
        .is_some_and(|v| image.sha256.starts_with(v) && v.len() >= 8);
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(AppError::internal)?,
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&image.content_type).map_err(AppError::internal)?,
    );
    Ok((headers, image.bytes).into_response())
}
