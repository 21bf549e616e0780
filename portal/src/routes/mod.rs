//! The routes and the layers around them.

pub(crate) mod auth;
mod client_portal;
mod msp;
mod msp_domain;
mod system;

use axum::http::{header, HeaderValue};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::guard;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let client_portal = Router::new()
        .route("/client-portal", get(client_portal::home))
        .route("/client-portal/", get(client_portal::home))
        .route("/client-portal/dashboard", get(client_portal::dashboard))
        .route("/client-portal/{*rest}", get(client_portal::not_found))
        .route_layer(from_fn_with_state(state.clone(), guard::require_client));
    let msp = Router::new()
        .route("/msp", get(msp::home))
        .route(
            "/msp/settings/portal-domain",
            get(msp_domain::show_page).post(msp_domain::submit_page),
        )
        .route("/msp/{*rest}", get(msp::not_found))
        .route_layer(from_fn_with_state(state.clone(), guard::require_staff));
    let msp_api = Router::new()
        .route(
            "/api/msp/portal-domain",
            get(msp_domain::api_show)
                .post(msp_domain::api_register)
                .put(msp_domain::api_change)
                .delete(msp_domain::api_remove),
        )
        .route("/api/msp/portal-domain/retry", post(msp_domain::api_retry))
        .route("/api/msp/portal-domain/disable", post(msp_domain::api_disable))
        .route_layer(from_fn_with_state(state.clone(), guard::require_staff_api));

    Router::new()
        .route("/", get(system::root))
        .route("/healthz", get(system::healthz))
        .route("/static/portal.css", get(system::stylesheet))
        .route(
            "/auth/client-portal/signin",
            get(auth::client_signin_page).post(auth::client_signin),
        )
        .route(
            "/auth/msp/signin",
            get(auth::msp_signin_page).post(auth::msp_signin),
        )
        .route("/auth/signout", post(auth::signout))
        .merge(client_portal)
        .merge(msp)
        .merge(msp_api)
        .fallback(|| async { AppError::NotFound })
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
