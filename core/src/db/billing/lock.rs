//! Reading an invoice's state inside a write transaction, locked against
//! concurrent changes: `FOR UPDATE` on PostgreSQL; SQLite's write
//! transactions (`BEGIN IMMEDIATE`) already exclude other writers.

use sqlx::FromRow;

use super::Scope;
use crate::billing::InvoiceState;
use crate::db::DbTx;
use crate::ids::InvoiceId;
use crate::money::Currency;

#[derive(Debug, Clone, FromRow)]
pub(crate) struct Locked {
    pub status: InvoiceState,
    pub is_credit_note: bool,
    pub currency: Currency,
    pub terms_days: i32,
    pub total_minor: Option<i64>,
}

const SELECT: &str = "SELECT status, is_credit_note, currency, terms_days, total_minor FROM invoices \
                      WHERE tenant_id = $1 AND client_id = $2 AND id = $3";

/// The invoice in `scope`, locked until the transaction ends.
pub(crate) async fn invoice(
    tx: &mut DbTx,
    scope: Scope,
    id: InvoiceId,
) -> Result<Option<Locked>, sqlx::Error> {
    match tx {
        DbTx::Sqlite(t) => {
            sqlx::query_as(SELECT)
                .bind(scope.tenant)
                .bind(scope.client)
                .bind(id)
                .fetch_optional(&mut **t)
                .await
        }
        DbTx::Postgres(t) => {
            sqlx::query_as(&format!("{SELECT} FOR UPDATE"))
                .bind(scope.tenant)
                .bind(scope.client)
                .bind(id)
                .fetch_optional(&mut **t)
                .await
        }
    }
}

impl Locked {
    /// Refuses anything but a draft.
    pub fn draft(&self) -> Result<(), super::BillingError> {
        match self.status {
            InvoiceState::Draft => Ok(()),
            InvoiceState::Finalized => Err(super::BillingError::NotDraft("finalized")),
            InvoiceState::Cancelled => Err(super::BillingError::NotDraft("cancelled")),
        }
    }
}
