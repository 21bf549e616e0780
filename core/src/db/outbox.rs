//! The durable mail outbox. A message is written with [`enqueue`] in the
//! same transaction as the token or event it carries, so nothing is mailed
//! that did not happen and nothing that happened goes unmailed. A worker
//! [`claim`]s due messages (locking them for a while, so one node sends
//! each), then marks them [`sent`] or [`failed`] with a retry time; mail
//! waits in the table while the SMTP server is down.

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::TenantId;
use crate::{on_pool, on_tx};

/// A message to send.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub tenant: Option<TenantId>,
    /// What it is (`password_reset`, `invitation`, `notification`), for logs.
    pub kind: &'a str,
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
}

/// A message claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Mail {
    pub id: String,
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
}

const INSERT: &str = "INSERT INTO mail_outbox (id, tenant_id, kind, to_address, to_name, reply_to, subject, \
    text_body, html_body, created_at, attempts, next_attempt_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $10)";

/// Writes `mail` inside `tx`; it is sent once the transaction commits.
pub async fn enqueue(tx: &mut DbTx, mail: &NewMail<'_>, now: UnixMillis) -> Result<String, DbError> {
    let id = uuid::Uuid::new_v4().to_string();
    on_tx!(&mut *tx, |t| sqlx::query(INSERT)
        .bind(&id)
        .bind(mail.tenant)
        .bind(mail.kind)
        .bind(mail.to_address)
        .bind(mail.to_name)
        .bind(mail.reply_to)
        .bind(mail.subject)
        .bind(mail.text_body)
        .bind(mail.html_body)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    Ok(id)
}

/// Claims up to `limit` due messages for `lock_seconds`: messages not sent,
/// whose retry time has come, that no other sender holds.
pub async fn claim(db: &Db, limit: i64, lock_seconds: i64, now: UnixMillis) -> Result<Vec<Mail>, DbError> {
    let sql = "UPDATE mail_outbox SET locked_until = $2 \
               WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
                   AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_attempt_at, created_at LIMIT $3) \
               AND sent_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
               RETURNING id, tenant_id, kind, to_address, to_name, reply_to, subject, text_body, html_body, attempts";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(now.0)
        .bind(now.plus_seconds(lock_seconds).0)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

pub async fn sent(db: &Db, id: &str, now: UnixMillis) -> Result<(), DbError> {
    let sql = "UPDATE mail_outbox SET sent_at = $2, locked_until = NULL, attempts = attempts + 1, last_error = NULL \
               WHERE id = $1";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Records a failed attempt; the message is tried again at `retry_at`.
pub async fn failed(db: &Db, id: &str, error: &str, retry_at: UnixMillis) -> Result<(), DbError> {
    let error: String = error.chars().take(500).collect();
    let sql = "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, \
               last_error = $3 WHERE id = $1";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(retry_at.0)
        .bind(&error)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// How many messages wait to be sent (for metrics and the operator).
pub async fn pending(db: &Db) -> Result<i64, DbError> {
    Ok(on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL"
    )
    .fetch_one(pool)
    .await)?)
}

/// The messages of a tenant, newest first (tests and the operator).
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<(Mail, Option<i64>)>, DbError> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        mail: Mail,
        sent_at: Option<i64>,
    }
    let sql = "SELECT id, tenant_id, kind, to_address, to_name, reply_to, subject, text_body, html_body, attempts, \
               sent_at FROM mail_outbox ORDER BY created_at DESC LIMIT $1";
    let rows: Vec<Row> = on_pool!(db, |pool| sqlx::query_as(sql).bind(limit).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| (r.mail, r.sent_at)).collect())
}

/// Deletes messages sent before `before` (their bodies carry links that
/// are no use to keep); returns how many.
pub async fn prune_sent(db: &Db, before: UnixMillis) -> Result<u64, DbError> {
    let sql = "DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at < $1";
    Ok(on_pool!(db, |pool| sqlx::query(sql)
        .bind(before.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
