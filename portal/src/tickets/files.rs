//! Files of tickets: stored under Porta's own names, recorded as documents
//! (internal ones for staff notes), and served only through a ticket the
//! reader may see.

use axum::response::Response;
use porta_core::clock::UnixMillis;
use porta_core::db::comments::Visibility;
use porta_core::db::documents::{self, NewDocument};
use porta_core::db::tickets::Ticket;
use porta_core::ids::{ClientId, CommentId, DocumentId, TicketId};

use crate::attachments::{download as serve, AttachmentStore, Upload};
use crate::error::AppError;
use crate::request::{SignedIn, Site};
use crate::state::AppState;

/// Stores `files` as documents of the ticket (and comment). An object whose
/// row could not be written is removed again.
#[allow(clippy::too_many_arguments)]
pub async fn store_files(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    client: ClientId,
    ticket: TicketId,
    comment: Option<CommentId>,
    internal: bool,
    files: Vec<Upload>,
) -> Result<(), AppError> {
    for file in files {
        let id = DocumentId::generate();
        let key = AttachmentStore::key(site.tenant.id, id);
        state
            .files
            .put(&key, file.bytes.clone())
            .await
            .map_err(AppError::internal)?;
        let recorded = documents::insert(
            &state.db,
            &NewDocument {
                id,
                tenant: site.tenant.id,
                client,
                ticket: Some(ticket),
                comment,
                file_name: &file.file_name,
                content_type: &file.content_type,
                size_bytes: i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
                sha256: &file.sha256,
                storage_key: &key,
                is_internal: internal,
                uploaded_by: who.user.id,
            },
            UnixMillis::now(),
        )
        .await;
        if let Err(e) = recorded {
            if let Err(cleanup) = state.files.delete(&key).await {
                tracing::warn!(error = %cleanup, "could not remove an unrecorded attachment");
            }
            return Err(e.into());
        }
    }
    Ok(())
}

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
    let bytes = state
        .files
        .get(&document.storage_key)
        .await
        .map_err(AppError::internal)?;
    Ok(serve::response(
        &document.file_name,
        &document.content_type,
        bytes,
    ))
}
