//! The client portal (`/client-portal/*`), behind [`require_client`]: one
//! module per page, each declaring the permission it needs.

mod account;
pub(crate) mod billing;
mod dashboard;
pub(crate) mod projects;
mod settings;
pub(crate) mod tickets;

use axum::middleware::from_fn_with_state;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;

use crate::auth::guard::{needs, require_client};
use crate::error::AppError;
use crate::notifications;
use crate::state::AppState;
use porta_core::permission::perm;

pub const LANDING: &str = "/client-portal/dashboard";

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/client-portal", get(landing))
        .route("/client-portal/", get(landing))
        .route(LANDING, get(dashboard::show))
        .merge(tickets::router(&state))
        .merge(projects::router(&state))
        .merge(billing::router())
        .merge(crate::profile::routes("/client-portal/profile"))
        .route(
            account::PAGE,
            get(account::show).route_layer(needs(perm::CLIENT_READ)),
        )
        .route(
            "/client-portal/account/company",
            post(account::save_company).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route(
            "/client-portal/account/invitations",
            post(account::invite).route_layer(needs(perm::USER_CREATE)),
        )
        .route(
            "/client-portal/account/invitations/{id}/revoke",
            post(account::revoke_invitation).route_layer(needs(perm::USER_CREATE)),
        )
        .route(
            "/client-portal/account/invitations/{id}/resend",
            post(account::resend_invitation).route_layer(needs(perm::USER_CREATE)),
        )
        .route(
            "/client-portal/account/users/{id}/roles",
            post(account::change_roles).route_layer(needs(perm::USER_UPDATE)),
        )
        .route(
            "/client-portal/account/users/{id}/deactivate",
            post(account::deactivate).route_layer(needs(perm::USER_DELETE)),
        )
        .route(
            "/client-portal/account/users/{id}/reactivate",
            post(account::reactivate).route_layer(needs(perm::USER_UPDATE)),
        )
        .route(
            settings::PAGE,
            get(settings::show).route_layer(needs(perm::SETTINGS_READ)),
        )
        .route(
            settings::PAGE,
            post(settings::save).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route("/client-portal/notifications", get(notifications::list))
        .route(
            "/client-portal/notifications/read-all",
            post(notifications::read_all),
        )
        .route("/client-portal/notifications/{id}/open", get(notifications::open))
        // Unknown pages answer 404 only to signed-in clients.
        .route("/client-portal/{*rest}", get(not_found).post(not_found))
        .route_layer(from_fn_with_state(state, require_client))
}

async fn landing() -> Redirect {
    Redirect::to(LANDING)
}

async fn not_found() -> AppError {
    AppError::NotFound
}
