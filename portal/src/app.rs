//! The application: every feature's router merged in one place, and the
//! layers around them.
//!
//! A tenant request passes, outermost first: the trace span (method, path,
//! matched route; tenant and user recorded once known), security headers,
//! [`request::layer`] (site, session, and errors turned into responses),
//! [`csrf::layer`] (state-changing requests), then the feature routers,
//! each behind its own guard. Health and assets skip the tenant layers.

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::from_fn_with_state;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::AppError;
use crate::request::{self, csrf};
use crate::state::AppState;
use crate::{auth, client, msp, system, theme};

pub fn app(state: AppState) -> Router {
    let tenant = Router::new()
        .route("/", get(|| async { Redirect::to(client::LANDING) }))
        .route("/theme.css", get(theme::stylesheet))
        .route("/branding/{kind}", get(crate::branding::images::serve))
        .merge(auth::router())
        .merge(client::router(state.clone()))
        .merge(msp::router(state.clone()))
        .fallback(|| async { AppError::NotFound })
        .layer(from_fn_with_state(state.clone(), csrf::layer))
        .layer(from_fn_with_state(state.clone(), request::layer));
    Router::new()
        .merge(system::router())
        .merge(tenant)
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
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // Failures are logged once, by the error layer.
                .on_failure(()),
        )
        .with_state(state)
}

/// The span of one request: the path without its query (which may carry a
/// token), the matched route, and fields the request layer fills in.
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        route,
        tenant = tracing::field::Empty,
        user = tracing::field::Empty,
    )
}
