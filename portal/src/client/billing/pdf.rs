//! The invoice as a PDF download in the tenant's branding.

use crate::i18n::labels::Labelled;
use crate::i18n::Texts;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use porta_core::branding::BrandImage;
use porta_core::db::billing::Scope;

use super::invoice::{load, Shown};
use crate::billing::pdf::{self, InvoicePdf, Logo};
use crate::branding::BrandView;
use crate::error::AppError;
use crate::request::{SignedIn, Site};
use crate::state::AppState;

pub async fn download(
    State(state): State<AppState>,
    site: Site,
    texts: Texts,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let scope = super::scope(&who)?;
    let shown = load(&state, scope, &id).await?;
    respond(&state, &site, texts, scope, &shown).await
}

/// Renders `shown` in `site`'s branding as an attachment (staff download
/// the same file).
pub async fn respond(
    state: &AppState,
    site: &Site,
    texts: Texts,
    scope: Scope,
    shown: &Shown,
) -> Result<Response, AppError> {
    let brand = BrandView::of(&site.tenant.name, &site.brand);
    let logo = porta_core::db::branding::image(&state.db, scope.tenant, BrandImage::LogoLight).await?;
    let status_label = texts.plain(&shown.status.message_id());
    let doc = InvoicePdf {
        brand_name: &brand.name,
        primary: site.brand.primary,
        logo: logo.as_ref().map(|image| Logo {
            content_type: &image.content_type,
            bytes: &image.bytes,
        }),
        support_email: &brand.support_email,
        support_phone: &brand.support_phone,
        invoice: &shown.invoice,
        status_label: &status_label,
        texts,
        lines: &shown.lines,
        credits: &shown.credits,
        figures: &shown.figures,
    };
    // A few milliseconds for an invoice of ordinary length.
    let bytes = pdf::render(&doc).map_err(AppError::internal)?;
    // The file name is the invoice number: letters, digits and a dash only.
    let name: String = shown
        .invoice
        .file_name()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .collect();
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).map_err(AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}
