//! Documents (attachments of tickets and their comments). The row keeps
//! what the uploader called the file, for display only; the stored object
//! is named by `storage_key`, which Porta chose. Internal documents are
//! staff's: every client read asks for public ones in the query.

use sqlx::FromRow;

use super::comments::Visibility;
use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{ClientId, CommentId, DocumentId, ProjectId, ProjectTaskId, TenantId, TicketId, UserId};
use crate::on_pool;

/// What storing a document records.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    pub id: DocumentId,
    pub tenant: TenantId,
    pub client: ClientId,
    pub ticket: Option<TicketId>,
    pub comment: Option<CommentId>,
    pub project: Option<ProjectId>,
    pub task: Option<ProjectTaskId>,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub is_internal: bool,
    pub uploaded_by: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Document {
    pub id: DocumentId,
    pub client_id: ClientId,
    pub ticket_id: Option<TicketId>,
    pub comment_id: Option<CommentId>,
    pub project_id: Option<ProjectId>,
    pub task_id: Option<ProjectTaskId>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub is_internal: bool,
    pub uploaded_by: UserId,
    pub uploader_name: String,
    pub created_at: i64,
}

impl Document {
    /// `12.5 KB`-style size for people.
    pub fn size_label(&self) -> String {
        size_label(u64::try_from(self.size_bytes).unwrap_or(0))
    }
}

/// `12.5 KB`-style sizes (1024-based) for people.
pub fn size_label(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

const SELECT: &str = "SELECT d.id, d.client_id, d.ticket_id, d.comment_id, d.project_id, d.task_id, d.file_name, d.content_type, \
    d.size_bytes, d.sha256, d.storage_key, d.is_internal, d.uploaded_by, u.display_name AS uploader_name, d.created_at \
    FROM documents d JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.uploaded_by";

pub async fn insert(db: &Db, new: &NewDocument<'_>, now: UnixMillis) -> Result<(), DbError> {
    let sql =
        "INSERT INTO documents (id, tenant_id, client_id, ticket_id, comment_id, project_id, task_id, file_name, \
               content_type, size_bytes, sha256, storage_key, is_internal, uploaded_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(new.id)
        .bind(new.tenant)
        .bind(new.client)
        .bind(new.ticket)
        .bind(new.comment)
        .bind(new.project)
        .bind(new.task)
        .bind(new.file_name)
        .bind(new.content_type)
        .bind(new.size_bytes)
        .bind(new.sha256)
        .bind(new.storage_key)
        .bind(new.is_internal)
        .bind(new.uploaded_by)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The ticket's documents (its own and its comments') the reader may see.
pub async fn for_ticket(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    visibility: Visibility,
) -> Result<Vec<Document>, DbError> {
    let sql = format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.ticket_id = $2 AND (d.is_internal = FALSE OR $3 = FALSE) \
         ORDER BY d.created_at, d.id"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(ticket)
        .bind(visibility == Visibility::Public)
        .fetch_all(pool)
        .await)?)
}

/// One document of the ticket, if the reader may see it.
pub async fn find_for_ticket(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    id: DocumentId,
    visibility: Visibility,
) -> Result<Option<Document>, DbError> {
    let sql = format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.ticket_id = $2 AND d.id = $3 AND (d.is_internal = FALSE OR $4 = FALSE)"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(ticket)
        .bind(id)
        .bind(visibility == Visibility::Public)
        .fetch_optional(pool)
        .await)?)
}

/// The project's documents (its own and its tasks') the reader may see.
pub async fn for_project(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    visibility: Visibility,
) -> Result<Vec<Document>, DbError> {
    let sql = format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.project_id = $2 AND (d.is_internal = FALSE OR $3 = FALSE) \
         ORDER BY d.created_at, d.id"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(project)
        .bind(visibility == Visibility::Public)
        .fetch_all(pool)
        .await)?)
}

/// One document of the project, if the reader may see it.
pub async fn find_for_project(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    id: DocumentId,
    visibility: Visibility,
) -> Result<Option<Document>, DbError> {
    let sql = format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.project_id = $2 AND d.id = $3 AND (d.is_internal = FALSE OR $4 = FALSE)"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(project)
        .bind(id)
        .bind(visibility == Visibility::Public)
        .fetch_optional(pool)
        .await)?)
}
