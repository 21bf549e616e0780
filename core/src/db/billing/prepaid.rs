//! Prepaid hour blocks: hours bought, hours used, what remains. Minutes
//! are stored so that fractions of hours stay exact.

use sqlx::FromRow;

use super::error::required_text;
use super::{BillingError, Scope};
use crate::billing::CalendarDate;
use crate::clock::UnixMillis;
use crate::db::{Db, DbError};
use crate::ids::PrepaidBlockId;
use crate::on_pool;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PrepaidBlock {
    pub id: PrepaidBlockId,
    pub name: String,
    pub minutes_bought: i64,
    pub minutes_used: i64,
    pub purchased_on: CalendarDate,
    pub expires_on: Option<CalendarDate>,
}

impl PrepaidBlock {
    pub fn minutes_remaining(&self) -> i64 {
        (self.minutes_bought - self.minutes_used).max(0)
    }

    pub fn expired_on(&self, day: CalendarDate) -> bool {
        self.expires_on.is_some_and(|e| e < day)
    }
}

/// Minutes as hours with up to two decimals (`12.5`, `3`, `0.25`).
pub fn hours(minutes: i64) -> String {
    let hundredths = minutes * 100 / 60;
    crate::money::format_scaled(hundredths, 2)
}

pub async fn list(db: &Db, scope: Scope) -> Result<Vec<PrepaidBlock>, DbError> {
    let sql = "SELECT id, name, minutes_bought, minutes_used, purchased_on, expires_on FROM prepaid_blocks \
               WHERE tenant_id = $1 AND client_id = $2 ORDER BY purchased_on DESC, id";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone)]
pub struct NewBlock<'a> {
    pub name: &'a str,
    pub minutes_bought: i64,
    pub purchased_on: CalendarDate,
    pub expires_on: Option<CalendarDate>,
}

pub async fn add(
    db: &Db,
    scope: Scope,
    block: &NewBlock<'_>,
    now: UnixMillis,
) -> Result<PrepaidBlockId, BillingError> {
    let name = required_text(block.name, "a name", 200)?;
    if block.minutes_bought <= 0 {
        return Err(BillingError::Invalid("hours bought above zero".to_owned()));
    }
    if block.expires_on.is_some_and(|e| e < block.purchased_on) {
        return Err(BillingError::Invalid(
            "an expiry on or after the purchase".to_owned(),
        ));
    }
    let id = PrepaidBlockId::generate();
    let sql = "INSERT INTO prepaid_blocks (id, tenant_id, client_id, name, minutes_bought, minutes_used, purchased_on, \
               expires_on, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $8)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(&name)
        .bind(block.minutes_bought)
        .bind(block.purchased_on)
        .bind(block.expires_on)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(id)
}

/// Draws `minutes` from a block, never past what remains.
pub async fn draw(
    db: &Db,
    scope: Scope,
    block: PrepaidBlockId,
    minutes: i64,
    now: UnixMillis,
) -> Result<(), BillingError> {
    if minutes <= 0 {
        return Err(BillingError::Invalid("hours above zero".to_owned()));
    }
    let sql = "UPDATE prepaid_blocks SET minutes_used = minutes_used + $4, updated_at = $5 \
               WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND minutes_used + $4 <= minutes_bought";
    let updated = on_pool!(db, |pool| sqlx::query(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(block)
        .bind(minutes)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if updated == 1 {
        return Ok(());
    }
    let exists = list(db, scope).await?.into_iter().find(|b| b.id == block);
    match exists {
        None => Err(BillingError::NotFound("prepaid block")),
        Some(b) => Err(BillingError::Invalid(format!(
            "at most the {} h that remain",
            hours(b.minutes_remaining())
        ))),
    }
}

pub async fn remove(db: &Db, scope: Scope, block: PrepaidBlockId) -> Result<bool, DbError> {
    let removed = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM prepaid_blocks WHERE tenant_id = $1 AND client_id = $2 AND id = $3"
    )
    .bind(scope.tenant)
    .bind(scope.client)
    .bind(block)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(removed > 0)
}
