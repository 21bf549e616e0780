//! Contract lines (a service billed to a company at a rate and frequency)
//! and their usage, one figure per line per month.

use sqlx::FromRow;

use super::error::{optional_text, required_text};
use super::{BillingError, Scope};
use crate::billing::{CalendarDate, Frequency, Month, Quantity};
use crate::clock::UnixMillis;
use crate::db::{Db, DbError};
use crate::ids::ContractLineId;
use crate::money::{Currency, Money};
use crate::on_pool;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ContractLine {
    pub id: ContractLineId,
    pub service: String,
    pub description: String,
    pub rate_minor: i64,
    pub currency: Currency,
    pub frequency: Frequency,
    pub unit: String,
    pub start_date: CalendarDate,
    pub end_date: Option<CalendarDate>,
}

impl ContractLine {
    pub fn rate(&self) -> Money {
        Money::new(self.rate_minor, self.currency)
    }

    /// `USD 45.00 per user, monthly`.
    pub fn rate_label(&self) -> String {
        let per = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" per {}", self.unit)
        };
        format!("{}{per}, {}", self.rate(), self.frequency.label().to_lowercase())
    }

    /// Whether it runs on `day`.
    pub fn active_on(&self, day: CalendarDate) -> bool {
        self.start_date <= day && self.end_date.is_none_or(|e| day <= e)
    }
}

pub async fn list(db: &Db, scope: Scope) -> Result<Vec<ContractLine>, DbError> {
    let sql = "SELECT id, service, description, rate_minor, currency, frequency, unit, start_date, end_date \
               FROM contract_lines WHERE tenant_id = $1 AND client_id = $2 ORDER BY start_date, service, id";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone)]
pub struct NewContractLine<'a> {
    pub service: &'a str,
    pub description: &'a str,
    pub rate_minor: i64,
    pub frequency: Frequency,
    pub unit: &'a str,
    pub start_date: CalendarDate,
    pub end_date: Option<CalendarDate>,
}

/// Adds a line in the tenant's currency.
pub async fn add(
    db: &Db,
    scope: Scope,
    line: &NewContractLine<'_>,
    now: UnixMillis,
) -> Result<ContractLineId, BillingError> {
    let service = required_text(line.service, "a service name", 200)?;
    let description = optional_text(line.description, "a description", 1000)?;
    let unit = optional_text(line.unit, "a unit", 40)?;
    if line.rate_minor < 0 {
        return Err(BillingError::Invalid("a rate of zero or more".to_owned()));
    }
    if line.end_date.is_some_and(|e| e < line.start_date) {
        return Err(BillingError::Invalid("an end on or after the start".to_owned()));
    }
    let currency = super::tenant_currency(db, scope.tenant).await?;
    let id = ContractLineId::generate();
    let sql =
        "INSERT INTO contract_lines (id, tenant_id, client_id, service, description, rate_minor, currency, \
               frequency, unit, start_date, end_date, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(&service)
        .bind(&description)
        .bind(line.rate_minor)
        .bind(currency)
        .bind(line.frequency)
        .bind(&unit)
        .bind(line.start_date)
        .bind(line.end_date)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(id)
}

/// Removes a line and its usage; whether one was removed.
pub async fn remove(db: &Db, scope: Scope, id: ContractLineId) -> Result<bool, DbError> {
    let removed = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM contract_lines WHERE tenant_id = $1 AND client_id = $2 AND id = $3"
    )
    .bind(scope.tenant)
    .bind(scope.client)
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(removed > 0)
}

/// One month's usage of a contract line.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Usage {
    pub contract_line_id: ContractLineId,
    pub month: Month,
    pub quantity_milli: i64,
}

impl Usage {
    pub fn quantity(&self) -> Quantity {
        Quantity(self.quantity_milli)
    }
}

/// The company's usage from `from` to `to` (inclusive), by line and month.
pub async fn usage(db: &Db, scope: Scope, from: Month, to: Month) -> Result<Vec<Usage>, DbError> {
    let sql = "SELECT u.contract_line_id, u.month, u.quantity_milli FROM usage_records u \
               JOIN contract_lines l ON l.tenant_id = u.tenant_id AND l.id = u.contract_line_id \
               WHERE u.tenant_id = $1 AND l.client_id = $2 AND u.month >= $3 AND u.month <= $4 \
               ORDER BY u.contract_line_id, u.month";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?)
}

/// Sets a month's usage of one of the company's lines.
pub async fn set_usage(
    db: &Db,
    scope: Scope,
    line: ContractLineId,
    month: Month,
    quantity: Quantity,
    now: UnixMillis,
) -> Result<(), BillingError> {
    if quantity.0 < 0 {
        return Err(BillingError::Invalid("a quantity of zero or more".to_owned()));
    }
    let sql = "INSERT INTO usage_records (tenant_id, contract_line_id, month, quantity_milli, updated_at) \
               SELECT l.tenant_id, l.id, $4, $5, $6 FROM contract_lines l \
               WHERE l.tenant_id = $1 AND l.client_id = $2 AND l.id = $3 \
               ON CONFLICT (tenant_id, contract_line_id, month) DO UPDATE SET \
               quantity_milli = excluded.quantity_milli, updated_at = excluded.updated_at";
    let written = on_pool!(db, |pool| sqlx::query(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(line)
        .bind(month)
        .bind(quantity.0)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if written == 0 {
        return Err(BillingError::NotFound("contract line"));
    }
    Ok(())
}
