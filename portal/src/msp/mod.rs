//! The MSP staff area (`/msp/*`, behind [`require_staff`]) and its JSON API
//! (`/api/msp/*`, behind [`require_staff_api`]).

mod audit;
mod billing;
mod clients;
mod home;
mod portal_domain;
mod projects;
mod signin_settings;
mod tickets;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::guard::{needs, require_staff, require_staff_api};
use crate::error::AppError;
use crate::notifications;
use crate::state::AppState;
use porta_core::permission::perm;

pub fn router(state: AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/msp", get(home::show))
        .route(
            portal_domain::PAGE,
            get(portal_domain::page::show).post(portal_domain::page::submit),
        )
        .merge(crate::profile::routes("/msp/profile"))
        .merge(tickets::router(&state))
        .merge(projects::router(&state))
        .merge(billing::router())
        .route(
            "/msp/clients",
            get(clients::show).route_layer(needs(perm::CLIENT_READ)),
        )
        .route(
            "/msp/clients/{id}",
            get(clients::detail).route_layer(needs(perm::CLIENT_READ)),
        )
        .route(
            "/msp/clients/{id}/invitations",
            post(clients::invite).route_layer(needs(perm::USER_CREATE)),
        )
        .route(
            "/msp/clients/{id}/invitations/{invitation}/resend",
            post(clients::resend).route_layer(needs(perm::USER_CREATE)),
        )
        .route(
            "/msp/clients/{id}/invitations/{invitation}/revoke",
            post(clients::revoke).route_layer(needs(perm::USER_CREATE)),
        )
        .route(
            "/msp/clients/{id}/contacts/{user}/reset-two-factor",
            post(clients::reset_two_factor).route_layer(needs(perm::USER_RESET_PASSWORD)),
        )
        .route(
            signin_settings::PAGE,
            get(signin_settings::show)
                .route_layer(needs(perm::SETTINGS_READ))
                .merge(post(signin_settings::save_policy).route_layer(needs(perm::SETTINGS_UPDATE))),
        )
        .route(
            "/msp/settings/sign-in/providers",
            post(signin_settings::add_provider).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route(
            "/msp/settings/sign-in/providers/{id}/{action}",
            post(signin_settings::change_provider).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route(
            crate::branding::settings::PAGE,
            get(crate::branding::settings::show)
                .route_layer(needs(perm::SETTINGS_READ))
                .merge(post(crate::branding::settings::save).route_layer(needs(perm::SETTINGS_UPDATE))),
        )
        .route(
            "/msp/settings/branding/images/{kind}",
            post(crate::branding::settings::upload_image)
                .route_layer(needs(perm::SETTINGS_UPDATE))
                .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024)),
        )
        .route(
            "/msp/settings/branding/images/{kind}/remove",
            post(crate::branding::settings::remove_image).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route(
            "/msp/audit",
            get(audit::show).route_layer(needs(perm::AUDIT_READ)),
        )
        .route(
            "/msp/audit.csv",
            get(audit::export).route_layer(needs(perm::AUDIT_READ)),
        )
        .route("/msp/notifications", get(notifications::list))
        .route("/msp/notifications/read-all", post(notifications::read_all))
        .route("/msp/notifications/{id}/open", get(notifications::open))
        .route("/msp/{*rest}", get(not_found).post(not_found))
        .route_layer(from_fn_with_state(state, require_staff));
    let api = Router::new()
        .route(
            portal_domain::API,
            get(portal_domain::api::show)
                .post(portal_domain::api::register)
                .put(portal_domain::api::change)
                .delete(portal_domain::api::remove),
        )
        .route(
            &format!("{}/retry", portal_domain::API),
            post(portal_domain::api::retry),
        )
        .route(
            &format!("{}/disable", portal_domain::API),
            post(portal_domain::api::disable),
        )
        .route_layer(from_fn(require_staff_api));
    pages.merge(api)
}

async fn not_found() -> AppError {
    AppError::NotFound
}
