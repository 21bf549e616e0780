//! The audit log: one row per security-relevant event (sign-in attempts,
//! sign-out). Rows hold who, what, from where and the outcome, never a
//! password or a token.

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::{TenantId, UserId};
use crate::{on_pool, on_tx};

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
    let mut tx = db.begin().await?;
    record_in(&mut tx, event, at).await?;
    tx.commit().await
}

/// [`record`] inside `tx`: the row commits with the change it is about.
pub async fn record_in(tx: &mut DbTx, event: &AuditEvent<'_>, at: UnixMillis) -> Result<(), DbError> {
    let sql = "INSERT INTO audit_log (id, tenant_id, actor_user_id, action, outcome, subject, ip, \
               user_agent, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let subject: Option<String> = event.subject.map(|s| s.chars().take(320).collect());
    let user_agent: Option<String> = event.user_agent.map(|s| s.chars().take(512).collect());
    let detail = event.detail.as_ref().map(|d| d.to_string());
    on_tx!(tx, |t| sqlx::query(sql)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(event.tenant)
        .bind(event.actor)
        .bind(event.action)
        .bind(event.outcome)
        .bind(&subject)
        .bind(event.ip)
        .bind(&user_agent)
        .bind(&detail)
        .bind(at.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    Ok(())
}

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
