//! The billing page: invoices with their status, payments, contract
//! lines, prepaid hours and usage.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use porta_core::billing::{CalendarDate, ClientStatus};
use porta_core::db::billing::contracts::{self, ContractLine};
use porta_core::db::billing::invoices::{self, Invoice, Unpaid};
use porta_core::db::billing::payments::{self, Payment};
use porta_core::db::billing::prepaid::{self, PrepaidBlock};

use super::usage::{self, UsageView};
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

/// An invoice with the status the client sees today.
pub struct InvoiceRow {
    pub invoice: Invoice,
    pub status: ClientStatus,
}

#[derive(Template)]
#[template(path = "client/billing/overview.html")]
struct OverviewPage {
    ctx: PageContext,
    invoices: Vec<InvoiceRow>,
    unpaid: Unpaid,
    payments: Vec<Payment>,
    lines: Vec<ContractLine>,
    blocks: Vec<PrepaidBlock>,
    usage: Vec<UsageView>,
    today: CalendarDate,
}

impl OverviewPage {
    pub fn hours(&self, minutes: impl std::borrow::Borrow<i64>) -> String {
        prepaid::hours(*minutes.borrow())
    }

    pub fn expired(&self, block: &PrepaidBlock) -> bool {
        block.expired_on(self.today)
    }
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    let scope = super::scope(&who)?;
    let today = CalendarDate::today();
    let invoices = invoices::list(&state.db, scope)
        .await?
        .into_iter()
        .filter_map(|invoice| {
            invoice
                .client_status(today)
                .map(|status| InvoiceRow { invoice, status })
        })
        .collect();
    let lines = contracts::list(&state.db, scope).await?;
    let usage = usage::build(&state.db, scope, &lines, site.brand.primary, ctx.texts.locale()).await?;
    render(&OverviewPage {
        ctx,
        invoices,
        unpaid: invoices::unpaid(&state.db, scope).await?,
        payments: payments::for_client(&state.db, scope).await?,
        blocks: prepaid::list(&state.db, scope).await?,
        lines,
        usage,
        today,
    })
}
