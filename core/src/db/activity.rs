//! What happened lately in a client company's support relationship: ticket
//! updates and public comments (never internal notes), newest first, for
//! the dashboard's feed.

use std::str::FromStr;

use sqlx::FromRow;

use super::{Db, DbError};
use crate::ids::{ClientId, TenantId};
use crate::on_pool;
use crate::ticket::{InvalidValue, TicketNumber};

/// What an item of the feed is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A ticket was opened or changed (its current status is shown).
    TicketUpdated,
    /// A public reply on a ticket.
    PublicComment,
}

impl FromStr for ActivityKind {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ticket" => Ok(ActivityKind::TicketUpdated),
            "comment" => Ok(ActivityKind::PublicComment),
            other => Err(InvalidValue(other.to_owned(), "activity kind")),
        }
    }
}

#[derive(FromRow)]
struct Row {
    kind: String,
    number: i64,
    prefix: String,
    title: String,
    detail: Option<String>,
    at: i64,
}

/// One item of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub kind: ActivityKind,
    pub ticket: TicketNumber,
    pub ticket_label: String,
    pub title: String,
    /// The ticket's status, or who replied.
    pub detail: String,
    pub at: i64,
}

/// The latest `limit` items of the company's activity.
pub async fn for_client(
    db: &Db,
    tenant: TenantId,
    client: ClientId,
    limit: i64,
) -> Result<Vec<Activity>, DbError> {
    let sql = "SELECT * FROM ( \
                 SELECT 'ticket' AS kind, t.number, n.prefix, t.title, s.name AS detail, t.updated_at AS at \
                 FROM tickets t JOIN ticket_numbers n ON n.tenant_id = t.tenant_id \
                 JOIN ticket_statuses s ON s.tenant_id = t.tenant_id AND s.id = t.status_id \
                 WHERE t.tenant_id = $1 AND t.client_id = $2 \
               UNION ALL \
                 SELECT 'comment' AS kind, t.number, n.prefix, t.title, u.display_name AS detail, c.created_at AS at \
                 FROM ticket_comments c JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id \
                 JOIN ticket_numbers n ON n.tenant_id = t.tenant_id \
                 JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_id \
                 WHERE c.tenant_id = $1 AND t.client_id = $2 AND c.is_internal = FALSE \
               ) AS feed ORDER BY at DESC, number DESC LIMIT $3";
    let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(client)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(Activity {
                kind: r
                    .kind
                    .parse()
                    .map_err(|e: InvalidValue| DbError::Invalid(e.to_string()))?,
                ticket: TicketNumber(r.number),
                ticket_label: TicketNumber(r.number).display(&r.prefix),
                title: r.title,
                detail: r.detail.unwrap_or_default(),
                at: r.at,
            })
        })
        .collect()
}
