//! Files of tickets, served only through a ticket the reader may see.

use axum::response::Response;
use porta_core::db::comments::Visibility;
use porta_core::db::documents;
use porta_core::db::tickets::Ticket;
use porta_core::ids::DocumentId;

use crate::attachments::documents::serve_document;
use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

/// Serves document `id` of `ticket` to a reader who sees `visibility`.
pub async fn download(
    state: &AppState,
    site: &Site,
    ticket: &Ticket,
    id: DocumentId,
    visibility: Visibility,
) -> Result<Response, AppError> {
    let document = documents::find_for_ticket(&state.db, site.tenant.id, ticket.id, id, visibility)
        .await?
        .ok_or(AppError::NotFound)?;
    serve_document(state, &document).await
}
