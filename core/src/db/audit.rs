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
    let sql = "INSERT INTO audit_log (id, tenant_id, actor_user_id, action, outcome, subject, ip, \
               user_agent, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let subject: Option<String> = event.subject.map(|s| s.chars().take(320).collect());
    let user_agent: Option<String> = event.user_agent.map(|s| s.chars().take(512).collect());
    let detail = event.detail.as_ref().map(|d| d.to_string());
    on_pool!(db, |pool| sqlx::query(sql)
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
        .execute(pool)
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
