//! Billing storage: invoices with their lines and credits, payments,
//! contract lines with monthly usage, and prepaid hour blocks. Every query
//! is scoped by tenant **and** client company ([`Scope`]); a client user's
//! scope never reaches a draft.
//!
//! A finalized invoice is immutable: the functions here refuse to change
//! one ([`BillingError::NotDraft`]), and the database's triggers refuse
//! it too (migration `20261201000050_billing`).

pub mod contracts;
mod error;
pub mod invoices;
mod lock;
pub mod payments;
pub mod prepaid;

pub use error::BillingError;

use super::{Db, DbError};
use crate::ids::{ClientId, TenantId};
use crate::money::Currency;
use crate::on_pool;

/// Whose billing a query sees: one company of one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub tenant: TenantId,
    pub client: ClientId,
    /// Staff see drafts; clients never do.
    pub drafts: bool,
}

impl Scope {
    /// A client user of `client`: finalized and cancelled invoices only.
    pub fn client_user(tenant: TenantId, client: ClientId) -> Scope {
        Scope {
            tenant,
            client,
            drafts: false,
        }
    }

    /// Staff working on `client`'s billing: drafts included.
    pub fn staff(tenant: TenantId, client: ClientId) -> Scope {
        Scope {
            tenant,
            client,
            drafts: true,
        }
    }
}

/// The tenant's currency for new invoices and contract lines.
pub async fn tenant_currency(db: &Db, tenant: TenantId) -> Result<Currency, DbError> {
    let code: String = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT currency FROM tenants WHERE id = $1"
    )
    .bind(tenant)
    .fetch_one(pool)
    .await)?;
    Ok(code.parse().unwrap_or(Currency::USD))
}

/// Changes it; invoices and contract lines made before keep theirs.
pub async fn set_tenant_currency(db: &Db, tenant: TenantId, currency: Currency) -> Result<(), DbError> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE tenants SET currency = $2 WHERE id = $1"
    )
    .bind(tenant)
    .bind(currency)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}
