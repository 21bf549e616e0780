//! `/msp/tickets`: the queue across the tenant's clients and the staff side
//! of a ticket (public replies, internal notes, triage). Each route
//! declares its permission next to it.

mod detail;
mod queue;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use porta_core::permission::perm;

use crate::auth::guard::needs;
use crate::state::AppState;

pub const QUEUE: &str = "/msp/tickets";

pub fn router(state: &AppState) -> Router<AppState> {
    let uploads = DefaultBodyLimit::max(state.config.attachments.max_request_bytes());
    Router::new()
        .route(QUEUE, get(queue::show).route_layer(needs(perm::TICKET_READ)))
        .route(
            "/msp/tickets/{number}",
            get(detail::show).route_layer(needs(perm::TICKET_READ)),
        )
        .route(
            "/msp/tickets/{number}/comments",
            post(detail::comment)
                .route_layer(needs(perm::TICKET_UPDATE))
                .layer(uploads),
        )
        .route(
            "/msp/tickets/{number}/triage",
            post(detail::triage).route_layer(needs(perm::TICKET_UPDATE)),
        )
        .route(
            "/msp/tickets/{number}/documents/{document}",
            get(detail::document).route_layer(needs(perm::DOCUMENT_READ)),
        )
}
