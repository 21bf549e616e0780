//! Payments received against finalized invoices: never more than is due,
//! never on a credit note, never changed afterwards (append-only; the
//! database refuses updates and deletes).

use sqlx::FromRow;

use super::error::optional_text;
use super::{lock, BillingError, Scope};
use crate::billing::{CalendarDate, InvoiceNumber, InvoiceState, PaymentMethod};
use crate::clock::UnixMillis;
use crate::db::{Db, DbError};
use crate::ids::{InvoiceId, PaymentId, UserId};
use crate::money::{Currency, Money};
use crate::{on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Payment {
    pub id: PaymentId,
    pub invoice_id: InvoiceId,
    pub invoice_number: Option<i64>,
    pub amount_minor: i64,
    pub currency: Currency,
    pub paid_on: CalendarDate,
    pub method: PaymentMethod,
    pub reference: String,
    pub created_at: i64,
}

impl Payment {
    pub fn amount(&self) -> Money {
        Money::new(self.amount_minor, self.currency)
    }

    pub fn invoice_label(&self) -> String {
        self.invoice_number
            .map(|number| {
                InvoiceNumber {
                    number,
                    credit_note: false,
                }
                .to_string()
            })
            .unwrap_or_default()
    }
}

const SELECT: &str =
    "SELECT y.id, y.invoice_id, i.number AS invoice_number, y.amount_minor, y.currency, y.paid_on, \
    y.method, y.reference, y.created_at FROM payments y \
    JOIN invoices i ON i.tenant_id = y.tenant_id AND i.id = y.invoice_id";

/// The company's payments, newest first.
pub async fn for_client(db: &Db, scope: Scope) -> Result<Vec<Payment>, DbError> {
    let sql = format!(
        "{SELECT} WHERE y.tenant_id = $1 AND y.client_id = $2 AND i.client_id = $2 \
         ORDER BY y.paid_on DESC, y.created_at DESC"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .fetch_all(pool)
        .await)?)
}

pub async fn for_invoice(db: &Db, scope: Scope, invoice: InvoiceId) -> Result<Vec<Payment>, DbError> {
    let sql = format!(
        "{SELECT} WHERE y.tenant_id = $1 AND y.client_id = $2 AND y.invoice_id = $3 \
         ORDER BY y.paid_on, y.created_at"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(invoice)
        .fetch_all(pool)
        .await)?)
}

/// A payment staff record.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub amount_minor: i64,
    pub paid_on: CalendarDate,
    pub method: PaymentMethod,
    pub reference: &'a str,
    pub recorded_by: Option<UserId>,
}

/// Records a payment against a finalized invoice, up to what is due.
pub async fn record(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    payment: &NewPayment<'_>,
    now: UnixMillis,
) -> Result<PaymentId, BillingError> {
    let reference = optional_text(payment.reference, "a reference", 200)?;
    if payment.amount_minor <= 0 {
        return Err(BillingError::Invalid("an amount above zero".to_owned()));
    }
    let mut tx = db.begin().await?;
    let locked = lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?;
    if locked.status != InvoiceState::Finalized {
        return Err(BillingError::NotFinalized("paid"));
    }
    if locked.is_credit_note {
        return Err(BillingError::CreditNotePayment);
    }
    let paid: i64 = on_tx!(&mut tx, |t| {
        sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments WHERE tenant_id = $1 AND invoice_id = $2"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .fetch_one(&mut **t)
    .await
    })?;
    let due = locked.total_minor.unwrap_or(0) - paid;
    if payment.amount_minor > due {
        return Err(BillingError::MoreThanDue(Money::new(due.max(0), locked.currency)));
    }
    let id = PaymentId::generate();
    let sql = "INSERT INTO payments (id, tenant_id, client_id, invoice_id, amount_minor, currency, paid_on, method, \
               reference, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(invoice)
        .bind(payment.amount_minor)
        .bind(locked.currency)
        .bind(payment.paid_on)
        .bind(payment.method)
        .bind(&reference)
        .bind(payment.recorded_by)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    tx.commit().await?;
    Ok(id)
}
