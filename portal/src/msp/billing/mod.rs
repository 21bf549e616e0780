//! `/msp/billing`: staff bill their clients — draft invoices and credit
//! notes built line by line, credits, finalizing (which numbers the
//! invoice and freezes it), cancelling, payments; contract lines with
//! monthly usage, and prepaid hour blocks. Every page is one company's
//! (`/msp/billing/clients/{client}`), and every query is scoped by it.

mod company;
mod fields;
mod invoice;
mod overview;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use porta_core::db::billing::{BillingError, Scope};
use porta_core::db::clients::{self, ClientProfile};
use porta_core::ids::ClientId;
use porta_core::permission::perm;

use crate::auth::guard::needs;
use crate::error::AppError;
use crate::request::SignedIn;
use crate::state::AppState;

pub const PAGE: &str = "/msp/billing";

pub fn router() -> Router<AppState> {
    let read = || needs(perm::BILLING_READ);
    let create = || needs(perm::BILLING_CREATE);
    let update = || needs(perm::BILLING_UPDATE);
    let c = "/msp/billing/clients/{client}";
    let i = "/msp/billing/clients/{client}/invoices/{id}";
    Router::new()
        .route(PAGE, get(overview::show).route_layer(read()))
        .route(
            "/msp/billing/currency",
            post(overview::save_currency).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route(c, get(company::show).route_layer(read()))
        .route(
            &format!("{c}/invoices"),
            post(company::create_draft).route_layer(create()),
        )
        .route(
            &format!("{c}/contract-lines"),
            post(company::add_contract_line).route_layer(update()),
        )
        .route(
            &format!("{c}/contract-lines/{{line}}/delete"),
            post(company::remove_contract_line).route_layer(update()),
        )
        .route(
            &format!("{c}/usage"),
            post(company::set_usage).route_layer(update()),
        )
        .route(
            &format!("{c}/prepaid"),
            post(company::add_block).route_layer(update()),
        )
        .route(
            &format!("{c}/prepaid/{{block}}/draw"),
            post(company::draw_block).route_layer(update()),
        )
        .route(
            &format!("{c}/prepaid/{{block}}/delete"),
            post(company::remove_block).route_layer(update()),
        )
        .route(i, get(invoice::show).route_layer(read()))
        .route(&format!("{i}/pdf"), get(invoice::pdf).route_layer(read()))
        .route(
            &format!("{i}/lines"),
            post(invoice::add_line).route_layer(update()),
        )
        .route(
            &format!("{i}/lines/{{line}}/delete"),
            post(invoice::remove_line).route_layer(update()),
        )
        .route(
            &format!("{i}/credits"),
            post(invoice::add_credit).route_layer(update()),
        )
        .route(
            &format!("{i}/credits/{{credit}}/delete"),
            post(invoice::remove_credit).route_layer(update()),
        )
        .route(
            &format!("{i}/finalize"),
            post(invoice::finalize).route_layer(update()),
        )
        .route(
            &format!("{i}/cancel"),
            post(invoice::cancel).route_layer(update()),
        )
        .route(
            &format!("{i}/delete"),
            post(invoice::delete_draft).route_layer(needs(perm::BILLING_DELETE)),
        )
        .route(
            &format!("{i}/payments"),
            post(invoice::record_payment).route_layer(update()),
        )
}

/// The company in the path, if it is this tenant's, and its scope.
pub async fn company(
    state: &AppState,
    who: &SignedIn,
    raw: &str,
) -> Result<(ClientProfile, Scope), AppError> {
    let id: ClientId = raw.parse().map_err(|_| AppError::NotFound)?;
    let tenant = who.user.tenant_id;
    let profile = clients::profile(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((profile, Scope::staff(tenant, id)))
}

/// A refused change as the status and message its page shows; what is
/// missing is a 404, storage failures stay errors.
pub fn refusal(e: BillingError) -> Result<(StatusCode, String), AppError> {
    match e {
        BillingError::NotFound(_) => Err(AppError::NotFound),
        BillingError::Db(db) => Err(db.into()),
        other => {
            let status = match other {
                BillingError::NotDraft(_) | BillingError::NotFinalized(_) | BillingError::HasPayments => {
                    StatusCode::CONFLICT
                }
                _ => StatusCode::BAD_REQUEST,
            };
            Ok((status, format!("Not saved: {other}.")))
        }
    }
}
