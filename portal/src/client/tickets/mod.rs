//! `/client-portal/tickets`: the company's tickets. Each route declares its
//! permission next to it (see [`router`]).

mod detail;
mod list;
mod new;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use porta_core::db::tickets::Reach;
use porta_core::permission::perm;

use crate::auth::guard::needs;
use crate::error::AppError;
use crate::request::SignedIn;
use crate::state::AppState;

pub const LIST: &str = "/client-portal/tickets";

pub fn router(state: &AppState) -> Router<AppState> {
    let uploads = DefaultBodyLimit::max(state.config.attachments.max_request_bytes());
    Router::new()
        .route(LIST, get(list::show).route_layer(needs(perm::TICKET_READ)))
        .route(
            LIST,
            post(new::create)
                .route_layer(needs(perm::TICKET_CREATE))
                .layer(uploads),
        )
        .route(
            "/client-portal/tickets/new",
            get(new::form).route_layer(needs(perm::TICKET_CREATE)),
        )
        .route(
            "/client-portal/tickets/{number}",
            get(detail::show).route_layer(needs(perm::TICKET_READ)),
        )
        .route(
            "/client-portal/tickets/{number}/comments",
            post(detail::comment)
                .route_layer(needs(perm::TICKET_UPDATE))
                .layer(uploads),
        )
        .route(
            "/client-portal/tickets/{number}/status",
            post(detail::set_status).route_layer(needs(perm::TICKET_UPDATE)),
        )
        .route(
            "/client-portal/tickets/{number}/documents/{document}",
            get(detail::document).route_layer(needs(perm::DOCUMENT_READ)),
        )
}

/// What a client user reaches: their own company's tickets.
pub fn reach(who: &SignedIn) -> Result<Reach, AppError> {
    let client = who.user.client_id.ok_or(AppError::WrongUserType)?;
    Ok(Reach::Client {
        tenant: who.user.tenant_id,
        client,
    })
}
