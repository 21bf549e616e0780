//! Files recorded as documents: stored under Porta's own names, a row per
//! file saying what it belongs to (a ticket or comment, a project or one of
//! its tasks), and served from that row. An object whose row could not be
//! written is removed again.

use axum::response::Response;
use porta_core::clock::UnixMillis;
use porta_core::db::documents::{self, Document, NewDocument};
use porta_core::ids::{ClientId, CommentId, DocumentId, ProjectId, ProjectTaskId, TicketId};

use super::{download as serve, AttachmentStore, Upload};
use crate::error::AppError;
use crate::request::{SignedIn, Site};
use crate::state::AppState;

/// What documents belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Ticket {
        ticket: TicketId,
        comment: Option<CommentId>,
    },
    Project {
        project: ProjectId,
        task: Option<ProjectTaskId>,
    },
}

/// Stores `files` as documents of `owner` (of the company `client`).
pub async fn store(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    client: ClientId,
    owner: Owner,
    internal: bool,
    files: Vec<Upload>,
) -> Result<(), AppError> {
    let (ticket, comment, project, task) = match owner {
        Owner::Ticket { ticket, comment } => (Some(ticket), comment, None, None),
        Owner::Project { project, task } => (None, None, Some(project), task),
    };
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
                ticket,
                comment,
                project,
                task,
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

/// Serves a document the caller found through something the reader may see.
pub async fn serve_document(state: &AppState, document: &Document) -> Result<Response, AppError> {
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
