//! The audit log: one row per security-relevant event (sign-in attempts,
//! sign-out). Rows hold who, what, from where and the outcome, never a
//! password or a token.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{TenantId, UserId};
use crate::on_pool;

/// An event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub tenant: Option<TenantId>,
    pub actor: Option<UserId>,
    /// What happened, e.g. `signin.client`, `signin.msp`, `signout`.
    pub action: &'a str,
    /// `success`, `failure`, `denied`, `rate_limited`, ...
    pub outcome: &'a str,
    /// What the action was about, e.g. the email that tried to sign in.
    pub subject: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// Extra facts as JSON.
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditRow {
    pub tenant_id: Option<TenantId>,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub outcome: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub created_at: i64,
}

pub async fn record(db: &Db, event: &AuditEvent<'_>, at: UnixMillis) -> Result<(), DbError> {
    let row = Row::of(event, at);
    on_pool!(db, |pool| bind_row!(sqlx::query(INSERT), row)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

const INSERT: &str = "INSERT INTO audit_log (id, tenant_id, actor_user_id, action, outcome, subject, ip, \
                      user_agent, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// An event's column values, bounded (subject and user agent are
/// client-controlled).
struct Row<'a> {
    id: String,
    event: &'a AuditEvent<'a>,
    subject: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
    at: i64,
}

impl<'a> Row<'a> {
    fn of(event: &'a AuditEvent<'a>, at: UnixMillis) -> Row<'a> {
        Row {
            id: uuid::Uuid::new_v4().to_string(),
            event,
            subject: event.subject.map(|s| s.chars().take(320).collect()),
            user_agent: event.user_agent.map(|s| s.chars().take(512).collect()),
            detail: event.detail.as_ref().map(|d| d.to_string()),
            at: at.0,
        }
    }
}

/// Binds [`INSERT`]'s values in order (a macro: the two backends' query
/// types differ).
macro_rules! bind_row {
    ($query:expr, $row:expr) => {
        $query
            .bind(&$row.id)
            .bind($row.event.tenant)
            .bind($row.event.actor)
            .bind($row.event.action)
            .bind($row.event.outcome)
            .bind(&$row.subject)
            .bind($row.event.ip)
            .bind(&$row.user_agent)
            .bind(&$row.detail)
            .bind($row.at)
    };
}
use bind_row;

/// The tenant's most recent rows, newest first.
pub async fn recent(db: &Db, tenant: TenantId, limit: i64) -> Result<Vec<AuditRow>, DbError> {
    let sql =
        "SELECT tenant_id, actor_user_id, action, outcome, subject, ip, user_agent, detail, created_at \
               FROM audit_log WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// How many rows of `action` about `subject` any tenant logged since
/// `since`: for budgets that are not per tenant (ACME orders count per
/// registered domain, whoever placed them).
pub async fn count_since(db: &Db, action: &str, subject: &str, since: UnixMillis) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject = $2 AND created_at >= $3";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(action)
        .bind(subject)
        .bind(since.0)
        .fetch_one(pool)
        .await)?)
}

/// What the audit viewer asks for; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Rows this user did (the actor).
    pub actor: Option<UserId>,
    /// Rows of this action, or of every action under it (`2fa` finds
    /// `2fa.enable` and `2fa.disable`).
    pub kind: Option<String>,
    /// From this instant (inclusive) to that one (exclusive).
    pub from: Option<UnixMillis>,
    pub until: Option<UnixMillis>,
}

/// A row as the viewer shows it: with the actor's name.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub created_at: i64,
    pub actor_user_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub action: String,
    pub outcome: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// The tenant's rows matching `filter`, newest first, `limit` of them
/// starting after `offset`.
pub async fn search(
    db: &Db,
    tenant: TenantId,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let sql =
        "SELECT a.id, a.created_at, a.actor_user_id, u.display_name AS actor_name, u.email AS actor_email, \
               a.action, a.outcome, a.subject, a.ip, a.user_agent, a.detail \
               FROM audit_log a LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor_user_id \
               WHERE a.tenant_id = $1 \
               AND ($2 IS NULL OR a.actor_user_id = $2) \
               AND ($3 IS NULL OR a.action = $3 OR a.action LIKE $4) \
               AND ($5 IS NULL OR a.created_at >= $5) \
               AND ($6 IS NULL OR a.created_at < $6) \
               ORDER BY a.created_at DESC, a.id DESC LIMIT $7 OFFSET $8";
    let prefix = filter
        .kind
        .as_ref()
        .map(|k| format!("{}.%", k.replace(['%', '_'], "")));
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(filter.actor)
        .bind(filter.kind.as_deref())
        .bind(prefix.as_deref())
        .bind(filter.from.map(|t| t.0))
        .bind(filter.until.map(|t| t.0))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
}

/// The actions the tenant's log holds, for the viewer's kind filter.
pub async fn actions(db: &Db, tenant: TenantId) -> Result<Vec<String>, DbError> {
    let sql = "SELECT DISTINCT action FROM audit_log WHERE tenant_id = $1 ORDER BY action";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .fetch_all(pool)
        .await)?)
}
