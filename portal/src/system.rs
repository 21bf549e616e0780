//! Routes that are not about a user: health, assets, the root.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use porta_core::db::tenants;

use crate::site::Site;
use crate::state::AppState;

/// `/`: the client portal (which sends visitors without a session to sign-in).
pub async fn root(_site: Site) -> Redirect {
    Redirect::to("/client-portal/dashboard")
}

/// `/healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match tenants::count(&state.db).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/portal.css"),
    )
        .into_response()
}
