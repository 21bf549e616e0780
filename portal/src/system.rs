//! Routes that are not about a tenant: health and assets. They answer on
//! any host (load balancers probe `/healthz` by address).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use porta_core::db::tenants;
use porta_core::paths;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::HEALTHZ, get(healthz))
        .route("/static/portal.css", get(stylesheet))
}

/// `/healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match tenants::count(&state.db).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/portal.css"),
    )
        .into_response()
}
