//! Invoices and credit notes: drafts staff build line by line, finalizing
//! (a number from the tenant's sequence, the issue and due dates, the
//! totals frozen), cancelling, and what clients see (never a draft).

use sqlx::FromRow;

use super::error::{optional_text, required_text};
use super::{lock, BillingError, Scope};
use crate::billing::{
    line_total, CalendarDate, ClientStatus, InvoiceNumber, InvoiceState, Quantity, TaxRate, Totals,
};
use crate::clock::UnixMillis;
use crate::db::{Db, DbError};
use crate::ids::{CreditId, InvoiceId, InvoiceLineId};
use crate::money::{Currency, Money};
use crate::{on_pool, on_tx};

/// An invoice as its pages show it, with what was paid against it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Invoice {
    pub id: InvoiceId,
    pub client_name: String,
    pub number: Option<i64>,
    pub is_credit_note: bool,
    pub status: InvoiceState,
    pub currency: Currency,
    pub terms_days: i32,
    pub memo: String,
    pub issue_date: Option<CalendarDate>,
    pub due_date: Option<CalendarDate>,
    pub subtotal_minor: Option<i64>,
    pub tax_minor: Option<i64>,
    pub credit_minor: Option<i64>,
    pub total_minor: Option<i64>,
    pub paid_minor: i64,
    pub created_at: i64,
    pub finalized_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub cancel_reason: String,
}

impl Invoice {
    pub fn number(&self) -> Option<InvoiceNumber> {
        self.number.map(|number| InvoiceNumber {
            number,
            credit_note: self.is_credit_note,
        })
    }

    /// `INV-1001`, `CN-1002`, or `Draft` before it has a number.
    pub fn label(&self) -> String {
        self.number()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "Draft".to_owned())
    }

    pub fn is_draft(&self) -> bool {
        self.status == InvoiceState::Draft
    }

    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }

    /// The frozen total (zero for a draft: see [`Totals`] of its lines).
    pub fn total(&self) -> Money {
        self.money(self.total_minor.unwrap_or(0))
    }

    pub fn paid(&self) -> Money {
        self.money(self.paid_minor)
    }

    /// What the client still owes: nothing on drafts, credit notes and
    /// cancelled invoices.
    pub fn due_minor(&self) -> i64 {
        match self.status {
            InvoiceState::Finalized if !self.is_credit_note => {
                (self.total_minor.unwrap_or(0) - self.paid_minor).max(0)
            }
            _ => 0,
        }
    }

    pub fn due(&self) -> Money {
        self.money(self.due_minor())
    }

    /// What the client sees on `today`; `None` for a draft.
    pub fn client_status(&self, today: CalendarDate) -> Option<ClientStatus> {
        ClientStatus::of(
            self.status,
            self.is_credit_note,
            self.total_minor.unwrap_or(0),
            self.paid_minor,
            self.due_date?,
            today,
        )
    }

    /// The PDF's file name: `INV-1001.pdf`.
    pub fn file_name(&self) -> String {
        format!("{}.pdf", self.label())
    }
}

const SELECT: &str = "SELECT i.id, c.name AS client_name, i.number, i.is_credit_note, i.status, i.currency, \
    i.terms_days, i.memo, i.issue_date, i.due_date, i.subtotal_minor, i.tax_minor, i.credit_minor, i.total_minor, \
    (SELECT CAST(COALESCE(SUM(y.amount_minor), 0) AS BIGINT) FROM payments y \
     WHERE y.tenant_id = i.tenant_id AND y.invoice_id = i.id) AS paid_minor, \
    i.created_at, i.finalized_at, i.cancelled_at, i.cancel_reason \
    FROM invoices i JOIN clients c ON c.tenant_id = i.tenant_id AND c.id = i.client_id";

/// `i.` conditions of a scope (`$1` tenant, `$2` client).
fn scoped(scope: Scope) -> &'static str {
    if scope.drafts {
        "i.tenant_id = $1 AND i.client_id = $2"
    } else {
        "i.tenant_id = $1 AND i.client_id = $2 AND i.status <> 'draft'"
    }
}

/// The scope's invoices: drafts first, then newest issued first.
pub async fn list(db: &Db, scope: Scope) -> Result<Vec<Invoice>, DbError> {
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY CASE WHEN i.status = 'draft' THEN 0 ELSE 1 END, \
         i.issue_date DESC, i.number DESC, i.created_at DESC",
        scoped(scope)
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .fetch_all(pool)
        .await)?)
}

pub async fn find(db: &Db, scope: Scope, id: InvoiceId) -> Result<Option<Invoice>, DbError> {
    let sql = format!("{SELECT} WHERE {} AND i.id = $3", scoped(scope));
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// A line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Line {
    pub id: InvoiceLineId,
    pub position: i32,
    pub description: String,
    pub quantity_milli: i64,
    pub unit_price_minor: i64,
    pub tax_rate_bp: i32,
    pub line_total_minor: i64,
    pub service_start: Option<CalendarDate>,
    pub service_end: Option<CalendarDate>,
}

impl Line {
    pub fn quantity(&self) -> Quantity {
        Quantity(self.quantity_milli)
    }

    pub fn tax_rate(&self) -> TaxRate {
        TaxRate(self.tax_rate_bp)
    }

    /// `2026-11-01 – 2026-11-30`, or empty.
    pub fn service_period(&self) -> String {
        match (self.service_start, self.service_end) {
            (Some(s), Some(e)) => format!("{s} – {e}"),
            (Some(s), None) => format!("from {s}"),
            (None, Some(e)) => format!("until {e}"),
            (None, None) => String::new(),
        }
    }
}

/// A credit applied to an invoice.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Credit {
    pub id: CreditId,
    pub description: String,
    pub amount_minor: i64,
    pub created_at: i64,
}

/// The invoice's lines in order (the invoice must be in `scope`).
pub async fn lines(db: &Db, scope: Scope, invoice: InvoiceId) -> Result<Vec<Line>, DbError> {
    let sql = format!(
        "SELECT l.id, l.position, l.description, l.quantity_milli, l.unit_price_minor, l.tax_rate_bp, \
         l.line_total_minor, l.service_start, l.service_end FROM invoice_lines l \
         JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id \
         WHERE {} AND l.invoice_id = $3 ORDER BY l.position, l.id",
        scoped(scope)
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(invoice)
        .fetch_all(pool)
        .await)?)
}

pub async fn credits(db: &Db, scope: Scope, invoice: InvoiceId) -> Result<Vec<Credit>, DbError> {
    let sql = format!(
        "SELECT k.id, k.description, k.amount_minor, k.created_at FROM invoice_credits k \
         JOIN invoices i ON i.tenant_id = k.tenant_id AND i.id = k.invoice_id \
         WHERE {} AND k.invoice_id = $3 ORDER BY k.created_at, k.id",
        scoped(scope)
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(invoice)
        .fetch_all(pool)
        .await)?)
}

/// The figures of lines and credits (a draft's running totals, and what
/// finalizing freezes).
pub fn totals(lines: &[Line], credits: &[Credit]) -> Option<Totals> {
    let lines: Vec<(i64, TaxRate)> = lines.iter().map(|l| (l.line_total_minor, l.tax_rate())).collect();
    let credits: Vec<i64> = credits.iter().map(|c| c.amount_minor).collect();
    Totals::of(&lines, &credits)
}

/// What staff set on a new draft.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    pub credit_note: bool,
    pub terms_days: i32,
    pub memo: &'a str,
}

/// A draft for the scope's company in the tenant's currency.
pub async fn create_draft(
    db: &Db,
    scope: Scope,
    draft: &NewDraft<'_>,
    now: UnixMillis,
) -> Result<InvoiceId, BillingError> {
    if !(0..=365).contains(&draft.terms_days) {
        return Err(BillingError::Invalid("payment terms of 0 to 365 days".to_owned()));
    }
    let memo = optional_text(draft.memo, "a note", 2000)?;
    let currency = super::tenant_currency(db, scope.tenant).await?;
    let id = InvoiceId::generate();
    let sql = "INSERT INTO invoices (id, tenant_id, client_id, is_credit_note, status, currency, terms_days, memo, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $8)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(draft.credit_note)
        .bind(currency)
        .bind(draft.terms_days)
        .bind(&memo)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(id)
}

/// A line staff add to a draft.
#[derive(Debug, Clone)]
pub struct NewLine<'a> {
    pub description: &'a str,
    pub quantity: Quantity,
    pub unit_price_minor: i64,
    pub tax_rate: TaxRate,
    pub service_start: Option<CalendarDate>,
    pub service_end: Option<CalendarDate>,
}

async fn touch(
    tx: &mut crate::db::DbTx,
    scope: Scope,
    id: InvoiceId,
    now: UnixMillis,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, |t| {
        sqlx::query(
        "UPDATE invoices SET updated_at = $4 WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND status = 'draft'"
    )
    .bind(scope.tenant)
    .bind(scope.client)
    .bind(id)
    .bind(now.0)
    .execute(&mut **t)
    .await
    .map(|_| ())
    })
}

pub async fn add_line(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    line: &NewLine<'_>,
    now: UnixMillis,
) -> Result<InvoiceLineId, BillingError> {
    let description = required_text(line.description, "a description", 500)?;
    if line.quantity.0 <= 0 {
        return Err(BillingError::Invalid("a quantity above zero".to_owned()));
    }
    if let (Some(s), Some(e)) = (line.service_start, line.service_end) {
        if s > e {
            return Err(BillingError::Invalid(
                "a service period that ends on or after its start".to_owned(),
            ));
        }
    }
    let total = line_total(line.quantity, line.unit_price_minor).ok_or(BillingError::Overflow)?;
    let mut tx = db.begin().await?;
    lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?
        .draft()?;
    let position: i32 = on_tx!(&mut tx, |t| {
        sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS INTEGER) FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .fetch_one(&mut **t)
    .await
    })?;
    let id = InvoiceLineId::generate();
    let sql = "INSERT INTO invoice_lines (id, tenant_id, invoice_id, position, description, quantity_milli, \
               unit_price_minor, tax_rate_bp, line_total_minor, service_start, service_end) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(scope.tenant)
        .bind(invoice)
        .bind(position)
        .bind(&description)
        .bind(line.quantity.0)
        .bind(line.unit_price_minor)
        .bind(line.tax_rate.0)
        .bind(total)
        .bind(line.service_start)
        .bind(line.service_end)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    touch(&mut tx, scope, invoice, now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn remove_line(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    line: InvoiceLineId,
    now: UnixMillis,
) -> Result<(), BillingError> {
    let mut tx = db.begin().await?;
    lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?
        .draft()?;
    let removed = on_tx!(&mut tx, |t| sqlx::query(
        "DELETE FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2 AND id = $3"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .bind(line)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    if removed == 0 {
        return Err(BillingError::NotFound("line"));
    }
    touch(&mut tx, scope, invoice, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn add_credit(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    description: &str,
    amount_minor: i64,
    now: UnixMillis,
) -> Result<CreditId, BillingError> {
    let description = required_text(description, "a description", 500)?;
    if amount_minor <= 0 {
        return Err(BillingError::Invalid("a credit above zero".to_owned()));
    }
    let mut tx = db.begin().await?;
    let locked = lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?;
    locked.draft()?;
    if locked.is_credit_note {
        return Err(BillingError::Invalid(
            "an invoice, not a credit note, to apply a credit to".to_owned(),
        ));
    }
    let id = CreditId::generate();
    on_tx!(&mut tx, |t| sqlx::query(
        "INSERT INTO invoice_credits (id, tenant_id, invoice_id, description, amount_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(id)
    .bind(scope.tenant)
    .bind(invoice)
    .bind(&description)
    .bind(amount_minor)
    .bind(now.0)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    touch(&mut tx, scope, invoice, now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn remove_credit(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    credit: CreditId,
    now: UnixMillis,
) -> Result<(), BillingError> {
    let mut tx = db.begin().await?;
    lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?
        .draft()?;
    let removed = on_tx!(&mut tx, |t| sqlx::query(
        "DELETE FROM invoice_credits WHERE tenant_id = $1 AND invoice_id = $2 AND id = $3"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .bind(credit)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    if removed == 0 {
        return Err(BillingError::NotFound("credit"));
    }
    touch(&mut tx, scope, invoice, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Finalizes a draft issued on `issue_date`: the next number of the
/// tenant's sequence, the due date after its terms, and the totals
/// frozen. From here on it cannot change.
pub async fn finalize(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    issue_date: CalendarDate,
    now: UnixMillis,
) -> Result<InvoiceNumber, BillingError> {
    let mut tx = db.begin().await?;
    let locked = lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?;
    locked.draft()?;
    let line_rows: Vec<(i64, i32)> = on_tx!(&mut tx, |t| {
        sqlx::query_as(
        "SELECT line_total_minor, tax_rate_bp FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .fetch_all(&mut **t)
    .await
    })?;
    if line_rows.is_empty() {
        return Err(BillingError::NoLines);
    }
    let credit_rows: Vec<i64> = on_tx!(&mut tx, |t| sqlx::query_scalar(
        "SELECT amount_minor FROM invoice_credits WHERE tenant_id = $1 AND invoice_id = $2"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .fetch_all(&mut **t)
    .await)?;
    let lines: Vec<(i64, TaxRate)> = line_rows.into_iter().map(|(t, r)| (t, TaxRate(r))).collect();
    let totals = Totals::of(&lines, &credit_rows).ok_or(BillingError::Overflow)?;
    if totals.total_minor < 0 {
        let money = |m| Money::new(m, locked.currency);
        return Err(BillingError::CreditsExceedCharges {
            credits: money(totals.credit_minor),
            charges: money(totals.subtotal_minor + totals.tax_minor),
        });
    }
    let due_date = issue_date
        .plus_days(i64::from(locked.terms_days))
        .ok_or(BillingError::Overflow)?;
    let number: i64 = on_tx!(&mut tx, |t| sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(number), $2) + 1 AS BIGINT) FROM invoices WHERE tenant_id = $1"
    )
    .bind(scope.tenant)
    .bind(InvoiceNumber::FIRST - 1)
    .fetch_one(&mut **t)
    .await)?;
    let sql = "UPDATE invoices SET status = 'finalized', number = $4, issue_date = $5, due_date = $6, \
               subtotal_minor = $7, tax_minor = $8, credit_minor = $9, total_minor = $10, finalized_at = $11, \
               updated_at = $11 WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND status = 'draft'";
    let updated = on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(invoice)
        .bind(number)
        .bind(issue_date)
        .bind(due_date)
        .bind(totals.subtotal_minor)
        .bind(totals.tax_minor)
        .bind(totals.credit_minor)
        .bind(totals.total_minor)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))
    .map_err(DbError::conflict_as("invoice number"))?;
    if updated != 1 {
        return Err(BillingError::NotDraft("finalized"));
    }
    tx.commit().await?;
    Ok(InvoiceNumber {
        number,
        credit_note: locked.is_credit_note,
    })
}

/// Cancels a finalized invoice that has no payments; its figures stay.
pub async fn cancel(
    db: &Db,
    scope: Scope,
    invoice: InvoiceId,
    reason: &str,
    now: UnixMillis,
) -> Result<(), BillingError> {
    let reason = optional_text(reason, "a reason", 500)?;
    let mut tx = db.begin().await?;
    let locked = lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?;
    if locked.status != InvoiceState::Finalized {
        return Err(BillingError::NotFinalized("cancelled"));
    }
    let payments: i64 = on_tx!(&mut tx, |t| sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE tenant_id = $1 AND invoice_id = $2"
    )
    .bind(scope.tenant)
    .bind(invoice)
    .fetch_one(&mut **t)
    .await)?;
    if payments > 0 {
        return Err(BillingError::HasPayments);
    }
    on_tx!(&mut tx, |t| sqlx::query(
        "UPDATE invoices SET status = 'cancelled', cancelled_at = $4, cancel_reason = $5, updated_at = $4 \
         WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND status = 'finalized'"
    )
    .bind(scope.tenant)
    .bind(scope.client)
    .bind(invoice)
    .bind(now.0)
    .bind(&reason)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a draft (with its lines and credits); a finalized invoice is
/// never deleted.
pub async fn delete_draft(db: &Db, scope: Scope, invoice: InvoiceId) -> Result<(), BillingError> {
    let mut tx = db.begin().await?;
    lock::invoice(&mut tx, scope, invoice)
        .await?
        .ok_or(BillingError::NotFound("invoice"))?
        .draft()?;
    on_tx!(&mut tx, |t| sqlx::query(
        "DELETE FROM invoices WHERE tenant_id = $1 AND client_id = $2 AND id = $3 AND status = 'draft'"
    )
    .bind(scope.tenant)
    .bind(scope.client)
    .bind(invoice)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    tx.commit().await?;
    Ok(())
}

/// What the company still owes: how many invoices, and the amounts due
/// per currency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unpaid {
    pub count: i64,
    pub due: Vec<Money>,
}

pub async fn unpaid(db: &Db, scope: Scope) -> Result<Unpaid, DbError> {
    let sql =
        "SELECT i.currency, CAST(i.total_minor - (SELECT COALESCE(SUM(y.amount_minor), 0) FROM payments y \
               WHERE y.tenant_id = i.tenant_id AND y.invoice_id = i.id) AS BIGINT) AS due \
               FROM invoices i WHERE i.tenant_id = $1 AND i.client_id = $2 AND i.status = 'finalized' \
               AND NOT i.is_credit_note ORDER BY i.currency";
    let rows: Vec<(Currency, i64)> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .fetch_all(pool)
        .await)?;
    let mut unpaid = Unpaid::default();
    for (currency, due) in rows.into_iter().filter(|(_, due)| *due > 0) {
        unpaid.count += 1;
        match unpaid.due.iter_mut().find(|m| m.currency == currency) {
            Some(m) => m.minor = m.minor.saturating_add(due),
            None => unpaid.due.push(Money::new(due, currency)),
        }
    }
    Ok(unpaid)
}

/// The company's most recently finalized invoices (the activity feed).
pub async fn recently_finalized(db: &Db, scope: Scope, limit: i64) -> Result<Vec<Invoice>, DbError> {
    let sql = format!(
        "{SELECT} WHERE i.tenant_id = $1 AND i.client_id = $2 AND i.status <> 'draft' \
         ORDER BY i.finalized_at DESC LIMIT $3"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(scope.tenant)
        .bind(scope.client)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}
