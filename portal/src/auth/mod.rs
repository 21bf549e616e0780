//! Signing in and out: the sign-in pages of both areas, sign-out, the
//! one-time-token handoff to a custom domain, password reset, the second
//! step (two-factor), account setup from an invitation, and the guards of
//! the signed-in areas ([`guard`]).

mod finish;
pub mod guard;
mod handoff;
mod limits;
pub(crate) mod links;
pub(crate) mod oidc;
mod reset;
pub mod second_step;
mod setup;
mod signin;
mod signout;

use axum::routing::{get, post};
use axum::Router;
use porta_core::paths;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            paths::CLIENT_SIGNIN,
            get(signin::client_signin_page).post(signin::client_signin),
        )
        .route(
            paths::MSP_SIGNIN,
            get(signin::msp_signin_page).post(signin::msp_signin),
        )
        .route(paths::SIGNOUT, post(signout::signout))
        .route(
            reset::CLIENT_FORGOT,
            get(reset::client_form).post(reset::client_request),
        )
        .route(reset::MSP_FORGOT, get(reset::msp_form).post(reset::msp_request))
        .route(reset::SET_NEW, get(reset::set_new_form).post(reset::set_new))
        .route(
            second_step::PATH,
            get(second_step::show).post(second_step::submit),
        )
        .route(crate::invitations::SETUP, get(setup::show).post(setup::submit))
        .route("/auth/oidc/{provider}/start", get(oidc::start))
        .route(oidc::CALLBACK, get(oidc::callback))
        .route(crate::i18n::switch::PATH, post(crate::i18n::switch::choose))
}
