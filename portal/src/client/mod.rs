//! The client portal (`/client-portal/*`), behind [`require_client`]: one
//! module per page, each declaring the permission it needs.

mod dashboard;

use axum::middleware::from_fn_with_state;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;

use crate::auth::guard::require_client;
use crate::error::AppError;
use crate::state::AppState;

pub const LANDING: &str = "/client-portal/dashboard";

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/client-portal", get(landing))
        .route("/client-portal/", get(landing))
        .route(LANDING, get(dashboard::show))
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
