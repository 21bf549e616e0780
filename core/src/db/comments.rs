//! Comments on tickets: public (the conversation a client sees) or
//! internal (staff notes, never shown to a client: every client read asks
//! for public ones in the query).

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{CommentId, TenantId, TicketId, UserId};
use crate::on_pool;
use crate::user_type::UserType;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Comment {
    pub id: CommentId,
    pub ticket_id: TicketId,
    pub author_id: UserId,
    pub author_name: String,
    pub author_type: UserType,
    pub body: String,
    pub is_internal: bool,
    pub created_at: i64,
}

/// Which comments a reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Public comments only (client users).
    Public,
    /// Public and internal (staff).
    All,
}

pub async fn add(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    author: UserId,
    body: &str,
    is_internal: bool,
    now: UnixMillis,
) -> Result<CommentId, DbError> {
    let id = CommentId::generate();
    let sql =
        "INSERT INTO ticket_comments (id, tenant_id, ticket_id, author_id, body, is_internal, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(tenant)
        .bind(ticket)
        .bind(author)
        .bind(body)
        .bind(is_internal)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(id)
}

/// The ticket's comments the reader may see, oldest first.
pub async fn for_ticket(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    visibility: Visibility,
) -> Result<Vec<Comment>, DbError> {
    let only_public = visibility == Visibility::Public;
    let sql =
        "SELECT c.id, c.ticket_id, c.author_id, u.display_name AS author_name, u.user_type AS author_type, \
               c.body, c.is_internal, c.created_at \
               FROM ticket_comments c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id \
               WHERE c.tenant_id = $1 AND c.ticket_id = $2 AND (c.is_internal = FALSE OR $3 = FALSE) \
               ORDER BY c.created_at, c.id";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(ticket)
        .bind(only_public)
        .fetch_all(pool)
        .await)?)
}
