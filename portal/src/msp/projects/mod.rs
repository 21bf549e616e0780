//! `/msp/projects`: staff manage the projects of their clients — the
//! facts, phases, tasks, dependencies, documents, and what clients see of
//! each (the visibility config, defaulted from the tenant's).

mod detail;
mod fields;
mod list;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use porta_core::permission::perm;

use crate::auth::guard::needs;
use crate::state::AppState;

pub const LIST: &str = "/msp/projects";

pub fn router(state: &AppState) -> Router<AppState> {
    let uploads = DefaultBodyLimit::max(state.config.attachments.max_request_bytes());
    let update = || needs(perm::PROJECT_UPDATE);
    Router::new()
        .route(LIST, get(list::show).route_layer(needs(perm::PROJECT_READ)))
        .route(LIST, post(list::create).route_layer(needs(perm::PROJECT_CREATE)))
        .route(
            "/msp/projects/visibility-defaults",
            post(list::save_defaults).route_layer(needs(perm::SETTINGS_UPDATE)),
        )
        .route(
            "/msp/projects/{number}",
            get(detail::show).route_layer(needs(perm::PROJECT_READ)),
        )
        .route(
            "/msp/projects/{number}",
            post(detail::save_facts).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/visibility",
            post(detail::save_visibility).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/phases",
            post(detail::add_phase).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/phases/{phase}/delete",
            post(detail::delete_phase).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/tasks",
            post(detail::add_task).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/tasks/{task}",
            post(detail::save_task).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/tasks/{task}/delete",
            post(detail::delete_task).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/dependencies",
            post(detail::add_dependency).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/dependencies/{dependency}/delete",
            post(detail::delete_dependency).route_layer(update()),
        )
        .route(
            "/msp/projects/{number}/documents",
            post(detail::upload)
                .route_layer(needs(perm::DOCUMENT_CREATE))
                .layer(uploads),
        )
        .route(
            "/msp/projects/{number}/documents/{document}",
            get(detail::document).route_layer(needs(perm::DOCUMENT_READ)),
        )
}
