//! One invoice: its lines, credits, tax per rate, total, what was paid and
//! what is due.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use porta_core::billing::{CalendarDate, ClientStatus};
use porta_core::db::billing::invoices::{self, Credit, Invoice, Line};
use porta_core::db::billing::payments::{self, Payment};
use porta_core::db::billing::Scope;
use porta_core::ids::InvoiceId;

use crate::billing::figures::Figures;
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

/// An invoice the client may see, with all it shows.
pub struct Shown {
    pub invoice: Invoice,
    pub status: ClientStatus,
    pub lines: Vec<Line>,
    pub credits: Vec<Credit>,
    pub figures: Figures,
}

/// The invoice `raw` names, if it is the scope's and not a draft.
pub async fn load(state: &AppState, scope: Scope, raw: &str) -> Result<Shown, AppError> {
    let id: InvoiceId = raw.parse().map_err(|_| AppError::NotFound)?;
    let invoice = invoices::find(&state.db, scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = invoice
        .client_status(CalendarDate::today())
        .ok_or(AppError::NotFound)?;
    let lines = invoices::lines(&state.db, scope, id).await?;
    let credits = invoices::credits(&state.db, scope, id).await?;
    let figures = Figures::of(&invoice, &lines, &credits)?;
    Ok(Shown {
        invoice,
        status,
        lines,
        credits,
        figures,
    })
}

#[derive(Template)]
#[template(path = "client/billing/invoice.html")]
struct InvoicePage {
    ctx: PageContext,
    shown: Shown,
    payments: Vec<Payment>,
}

impl InvoicePage {
    /// Minor units in the invoice's currency.
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> porta_core::money::Money {
        self.shown.invoice.money(*minor.borrow())
    }
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let scope = super::scope(&who)?;
    let shown = load(&state, scope, &id).await?;
    let payments = payments::for_invoice(&state.db, scope, shown.invoice.id).await?;
    render(&InvoicePage { ctx, shown, payments })
}
