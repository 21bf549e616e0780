//! The signed-in user's own page (`/client-portal/profile`, and
//! `/msp/profile` for staff): their details, password, sessions and
//! notification wishes. Nothing here needs a permission: it is all their
//! own, and every query names the user. Two-factor authentication has
//! its pages in [`crate::two_factor::pages`], routed here.

mod device;
pub(crate) mod page;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use crate::two_factor::pages as two_factor;

/// The profile's routes under `base` (`/client-portal/profile`).
pub fn routes(base: &'static str) -> Router<AppState> {
    Router::new()
        .route(base, get(page::show).post(page::save_details))
        .route(&format!("{base}/password"), post(page::change_password))
        .route(
            &format!("{base}/sessions/revoke-others"),
            post(page::revoke_others),
        )
        .route(&format!("{base}/sessions/{{id}}/revoke"), post(page::revoke_one))
        .route(&format!("{base}/notifications"), post(page::save_preferences))
        .route(
            &format!("{base}/two-factor"),
            get(two_factor::show).post(two_factor::enable),
        )
        .route(&format!("{base}/two-factor/disable"), post(two_factor::disable))
        .route(
            &format!("{base}/two-factor/recovery-codes"),
            post(two_factor::new_recovery_codes),
        )
}
