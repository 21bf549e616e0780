//! `/client-portal/projects`: the company's projects (needs
//! `project:read`), and what their visibility config lets clients see.

mod detail;
pub(crate) mod list;
pub mod visible;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use porta_core::permission::perm;

use crate::auth::guard::needs;
use crate::state::AppState;

pub const LIST: &str = "/client-portal/projects";

pub fn router(state: &AppState) -> Router<AppState> {
    let uploads = DefaultBodyLimit::max(state.config.attachments.max_request_bytes());
    Router::new()
        .route(LIST, get(list::show).route_layer(needs(perm::PROJECT_READ)))
        .route(
            "/client-portal/projects/{number}",
            get(detail::show).route_layer(needs(perm::PROJECT_READ)),
        )
        .route(
            "/client-portal/projects/{number}/view",
            post(detail::choose_view).route_layer(needs(perm::PROJECT_READ)),
        )
        .route(
            "/client-portal/projects/{number}/documents/{document}",
            get(detail::document).route_layer(needs(perm::DOCUMENT_READ)),
        )
        .route(
            "/client-portal/projects/{number}/tasks/{task}/documents",
            post(detail::upload)
                .route_layer(needs(perm::DOCUMENT_CREATE))
                .layer(uploads),
        )
}
