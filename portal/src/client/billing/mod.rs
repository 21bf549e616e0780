//! `/client-portal/billing` (needs `billing:read`: client Admin and
//! Finance): the company's invoices (finalized only, never drafts),
//! payments, contract lines, prepaid hours and usage; an invoice's detail
//! and its PDF. Another company's or tenant's invoice, and any draft, is
//! a 404.

pub mod invoice;
mod overview;
pub mod pdf;
pub mod usage;

use axum::routing::get;
use axum::Router;
use porta_core::db::billing::Scope;
use porta_core::permission::perm;

use crate::auth::guard::needs;
use crate::error::AppError;
use crate::request::SignedIn;
use crate::state::AppState;

pub const PAGE: &str = "/client-portal/billing";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(overview::show).route_layer(needs(perm::BILLING_READ)))
        .route(
            "/client-portal/billing/invoices/{id}",
            get(invoice::show).route_layer(needs(perm::BILLING_READ)),
        )
        .route(
            "/client-portal/billing/invoices/{id}/pdf",
            get(pdf::download).route_layer(needs(perm::BILLING_READ)),
        )
}

/// A client user's billing: their own company's, without drafts.
pub fn scope(who: &SignedIn) -> Result<Scope, AppError> {
    let client = who.user.client_id.ok_or(AppError::WrongUserType)?;
    Ok(Scope::client_user(who.user.tenant_id, client))
}
