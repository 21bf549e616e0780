//! TOTP second factors and recovery codes. The secret is stored sealed
//! under the master key (by the caller); a secret with no `totp_enabled_at`
//! is an enrolment in progress. `totp_last_step` is the newest time step
//! used, advanced by one conditional UPDATE, so a code works once even
//! when two requests race.

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::{TenantId, UserId};
use crate::master_key::Sealed;
use crate::{on_pool, on_tx};

/// A user's second factor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactor {
    pub sealed: Option<Sealed>,
    pub enabled_at: Option<i64>,
    pub recovery_codes_left: i64,
}

impl TwoFactor {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some() && self.sealed.is_some()
    }
}

pub async fn get(db: &Db, tenant: TenantId, user: UserId) -> Result<TwoFactor, DbError> {
    type Row = (Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>, i64);
    let sql = "SELECT totp_secret_encrypted, totp_nonce, totp_enabled_at, \
               (SELECT COUNT(*) FROM recovery_codes r WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id \
                AND r.used_at IS NULL) FROM users u WHERE u.tenant_id = $1 AND u.id = $2";
    let row: Option<Row> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user)
        .fetch_optional(pool)
        .await)?;
    let (ciphertext, nonce, enabled_at, left) = row.ok_or(DbError::NotFound("user"))?;
    let sealed = match (ciphertext, nonce) {
        (Some(ciphertext), Some(nonce)) => Some(Sealed { ciphertext, nonce }),
        _ => None,
    };
    Ok(TwoFactor {
        sealed,
        enabled_at,
        recovery_codes_left: left,
    })
}

/// Starts (or restarts) an enrolment with a new sealed secret; refused
/// (`false`) while a second factor is enabled.
pub async fn begin_enrolment(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    sealed: &Sealed,
) -> Result<bool, DbError> {
    let sql = "UPDATE users SET totp_secret_encrypted = $3, totp_nonce = $4, totp_last_step = NULL \
               WHERE tenant_id = $1 AND id = $2 AND totp_enabled_at IS NULL";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(&sealed.ciphertext)
        .bind(&sealed.nonce)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Enables the enrolment in progress, marking `step` used and replacing the
/// recovery codes with `codes` (hashes); `false` when there was nothing to
/// enable.
pub async fn enable(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    step: i64,
    codes: &[[u8; 32]],
    now: UnixMillis,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let sql = "UPDATE users SET totp_enabled_at = $3, totp_last_step = $4 \
               WHERE tenant_id = $1 AND id = $2 AND totp_enabled_at IS NULL AND totp_secret_encrypted IS NOT NULL";
    let changed = on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(now.0)
        .bind(step)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    if changed != 1 {
        return Ok(false);
    }
    replace_codes(&mut tx, tenant, user, codes).await?;
    tx.commit().await?;
    Ok(true)
}

async fn replace_codes(
    tx: &mut DbTx,
    tenant: TenantId,
    user: UserId,
    codes: &[[u8; 32]],
) -> Result<(), DbError> {
    on_tx!(&mut *tx, |t| sqlx::query(
        "DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2"
    )
    .bind(tenant)
    .bind(user)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    for hash in codes {
        on_tx!(&mut *tx, |t| sqlx::query(
            "INSERT INTO recovery_codes (tenant_id, user_id, code_hash, used_at) VALUES ($1, $2, $3, NULL)"
        )
        .bind(tenant)
        .bind(user)
        .bind(hash.to_vec())
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// New recovery codes for a user with a second factor (the old stop working).
pub async fn replace_recovery_codes(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    codes: &[[u8; 32]],
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    replace_codes(&mut tx, tenant, user, codes).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks `step` used if it is newer than the last one used; `false` means
/// the code was already used (or an older one was).
pub async fn use_step(db: &Db, tenant: TenantId, user: UserId, step: i64) -> Result<bool, DbError> {
    let sql = "UPDATE users SET totp_last_step = $3 WHERE tenant_id = $1 AND id = $2 \
               AND totp_enabled_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $3)";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(step)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Uses up a recovery code; `false` when it is not one of the user's
/// unused codes.
pub async fn use_recovery_code(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    hash: &[u8; 32],
    now: UnixMillis,
) -> Result<bool, DbError> {
    let sql = "UPDATE recovery_codes SET used_at = $4 \
               WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(hash.to_vec())
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Removes the second factor and its recovery codes.
pub async fn disable(db: &Db, tenant: TenantId, user: UserId) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "UPDATE users SET totp_secret_encrypted = NULL, totp_nonce = NULL, totp_enabled_at = NULL, \
         totp_last_step = NULL WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(user)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    replace_codes(&mut tx, tenant, user, &[]).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a user created in `tx` an enabled second factor (enrolled on the
/// account setup page) with its recovery codes.
pub async fn enable_new(
    tx: &mut DbTx,
    tenant: TenantId,
    user: UserId,
    sealed: &Sealed,
    step: i64,
    codes: &[[u8; 32]],
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "UPDATE users SET totp_secret_encrypted = $3, totp_nonce = $4, totp_enabled_at = $5, totp_last_step = $6 \
               WHERE tenant_id = $1 AND id = $2";
    on_tx!(&mut *tx, |t| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(&sealed.ciphertext)
        .bind(&sealed.nonce)
        .bind(now.0)
        .bind(step)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    replace_codes(tx, tenant, user, codes).await
}
