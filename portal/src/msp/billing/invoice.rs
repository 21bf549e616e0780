//! One invoice, staff side: a draft's lines and credits added and removed,
//! finalizing, deleting a draft; a finalized invoice's payments,
//! cancelling it, its PDF. Finalize, cancel and payments are audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::billing::{CalendarDate, PaymentMethod};
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::billing::invoices::{self, Credit, Invoice, Line, NewLine};
use porta_core::db::billing::payments::{self, NewPayment, Payment};
use porta_core::db::billing::{BillingError, Scope};
use porta_core::db::clients::ClientProfile;
use porta_core::ids::{CreditId, InvoiceId, InvoiceLineId};
use porta_core::money::Money;

use super::company::base;
use super::fields::{self, Fields};
use crate::billing::figures::Figures;
use crate::client::billing::invoice::Shown;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "msp/billing/invoice.html")]
struct InvoicePage {
    ctx: PageContext,
    company: ClientProfile,
    invoice: Invoice,
    lines: Vec<Line>,
    credits: Vec<Credit>,
    figures: Figures,
    payments: Vec<Payment>,
    methods: &'static [PaymentMethod],
    status_label: &'static str,
    status_class: &'static str,
    base: String,
    today: CalendarDate,
    error: Option<String>,
}

impl InvoicePage {
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> Money {
        self.invoice.money(*minor.borrow())
    }
}

struct Found {
    company: ClientProfile,
    scope: Scope,
    invoice: Invoice,
}

async fn find(state: &AppState, who: &SignedIn, client: &str, id: &str) -> Result<Found, AppError> {
    let (company, scope) = super::company(state, who, client).await?;
    let id: InvoiceId = id.parse().map_err(|_| AppError::NotFound)?;
    let invoice = invoices::find(&state.db, scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Found {
        company,
        scope,
        invoice,
    })
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    found: Found,
    error: Option<(StatusCode, String)>,
) -> Result<Response, AppError> {
    let Found {
        company,
        scope,
        invoice,
    } = found;
    let lines = invoices::lines(&state.db, scope, invoice.id).await?;
    let credits = invoices::credits(&state.db, scope, invoice.id).await?;
    let figures = Figures::of(&invoice, &lines, &credits)?;
    let today = CalendarDate::today();
    let status = invoice.client_status(today);
    let (code, error) = match error {
        Some((code, message)) => (code, Some(message)),
        None => (StatusCode::OK, None),
    };
    let html: Html<String> = render(&InvoicePage {
        ctx,
        payments: payments::for_invoice(&state.db, scope, invoice.id).await?,
        methods: PaymentMethod::ALL,
        status_label: status.map_or("Draft", |s| s.label()),
        status_class: status.map_or("draft", |s| s.as_str()),
        base: format!("{}/invoices/{}", base(scope), invoice.id),
        company,
        invoice,
        lines,
        credits,
        figures,
        today,
        error,
    })?;
    Ok((code, html).into_response())
}

/// Back to the invoice after a change, or the page with the refusal.
async fn outcome<T>(
    state: &AppState,
    ctx: PageContext,
    found: Found,
    result: Result<T, BillingError>,
    message: Message,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}/invoices/{}?notice={}",
            base(found.scope),
            found.invoice.id,
            message.code()
        ))
        .into_response()),
        Err(e) => {
            let refusal = super::refusal(e)?;
            page(state, ctx, found, Some(refusal)).await
        }
    }
}

fn bad<T>(message: String) -> Result<T, BillingError> {
    Err(BillingError::Invalid(message.trim_end_matches('.').to_owned()))
}

async fn record_audit(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(who.user.tenant_id),
            actor: Some(who.user.id),
            action,
            outcome: "success",
            subject: Some(subject),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: Some(detail),
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    page(&state, ctx, found, None).await
}

pub async fn pdf(
    State(state): State<AppState>,
    site: Site,
    texts: crate::i18n::Texts,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let Some(status) = found.invoice.client_status(CalendarDate::today()) else {
        // A draft has no number and no PDF.
        return Err(AppError::NotFound);
    };
    let lines = invoices::lines(&state.db, found.scope, found.invoice.id).await?;
    let credits = invoices::credits(&state.db, found.scope, found.invoice.id).await?;
    let figures = Figures::of(&found.invoice, &lines, &credits)?;
    let shown = Shown {
        invoice: found.invoice,
        status,
        lines,
        credits,
        figures,
    };
    crate::client::billing::pdf::respond(&state, &site, texts, found.scope, &shown).await
}

pub async fn add_line(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let currency = found.invoice.currency;
    let parsed = (|| {
        Ok::<_, String>((
            fields::quantity(&form, "quantity", "Quantity", false)?,
            fields::amount(&form, "unit_price", "Unit price", currency, true)?,
            fields::tax_rate(&form, "tax_rate")?,
            fields::date(&form, "service_start", "Service from")?,
            fields::date(&form, "service_end", "Service to")?,
        ))
    })();
    let result = match parsed {
        Ok((quantity, unit_price_minor, tax_rate, service_start, service_end)) => {
            let line = NewLine {
                description: fields::text(&form, "description"),
                quantity,
                unit_price_minor,
                tax_rate,
                service_start,
                service_end,
            };
            invoices::add_line(&state.db, found.scope, found.invoice.id, &line, UnixMillis::now())
                .await
                .map(|_| ())
        }
        Err(m) => bad(m),
    };
    outcome(&state, ctx, found, result, Message::InvoiceSaved).await
}

pub async fn remove_line(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id, line)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let line: InvoiceLineId = line.parse().map_err(|_| AppError::NotFound)?;
    let result =
        invoices::remove_line(&state.db, found.scope, found.invoice.id, line, UnixMillis::now()).await;
    outcome(&state, ctx, found, result, Message::InvoiceSaved).await
}

pub async fn add_credit(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let result = match fields::amount(&form, "amount", "Credit", found.invoice.currency, false) {
        Ok(amount) => invoices::add_credit(
            &state.db,
            found.scope,
            found.invoice.id,
            fields::text(&form, "description"),
            amount,
            UnixMillis::now(),
        )
        .await
        .map(|_| ()),
        Err(m) => bad(m),
    };
    outcome(&state, ctx, found, result, Message::InvoiceSaved).await
}

pub async fn remove_credit(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id, credit)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let credit: CreditId = credit.parse().map_err(|_| AppError::NotFound)?;
    let result = invoices::remove_credit(
        &state.db,
        found.scope,
        found.invoice.id,
        credit,
        UnixMillis::now(),
    )
    .await;
    outcome(&state, ctx, found, result, Message::InvoiceSaved).await
}

pub async fn finalize(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let result = invoices::finalize(
        &state.db,
        found.scope,
        found.invoice.id,
        CalendarDate::today(),
        UnixMillis::now(),
    )
    .await;
    if let Ok(number) = &result {
        let after = invoices::find(&state.db, found.scope, found.invoice.id).await?;
        let total = after.as_ref().map(|i| i.total().to_string()).unwrap_or_default();
        record_audit(
            &state,
            &site,
            &who,
            "billing.invoice.finalize",
            &number.to_string(),
            serde_json::json!({ "invoice": found.invoice.id.to_string(), "client": found.scope.client.to_string(), "total": total }),
        )
        .await?;
    }
    outcome(&state, ctx, found, result, Message::InvoiceFinalized).await
}

pub async fn cancel(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let reason = fields::text(&form, "reason");
    let result = invoices::cancel(
        &state.db,
        found.scope,
        found.invoice.id,
        reason,
        UnixMillis::now(),
    )
    .await;
    if result.is_ok() {
        record_audit(
            &state,
            &site,
            &who,
            "billing.invoice.cancel",
            &found.invoice.label(),
            serde_json::json!({ "invoice": found.invoice.id.to_string(), "client": found.scope.client.to_string(), "reason": reason }),
        )
        .await?;
    }
    outcome(&state, ctx, found, result, Message::InvoiceCancelled).await
}

pub async fn delete_draft(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    match invoices::delete_draft(&state.db, found.scope, found.invoice.id).await {
        Ok(()) => Ok(Redirect::to(&format!(
            "{}?notice={}#invoices",
            base(found.scope),
            Message::DraftDeleted.code()
        ))
        .into_response()),
        Err(e) => outcome(&state, ctx, found, Err::<(), _>(e), Message::InvoiceSaved).await,
    }
}

pub async fn record_payment(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path((client, id)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let found = find(&state, &who, &client, &id).await?;
    let parsed = (|| {
        Ok::<_, String>((
            fields::amount(&form, "amount", "Amount", found.invoice.currency, false)?,
            fields::required_date(&form, "paid_on", "Paid on")?,
            fields::text(&form, "method")
                .parse::<PaymentMethod>()
                .map_err(|_| "Choose how it was paid.".to_owned())?,
        ))
    })();
    let result = match parsed {
        Ok((amount_minor, paid_on, method)) => {
            let payment = NewPayment {
                amount_minor,
                paid_on,
                method,
                reference: fields::text(&form, "reference"),
                recorded_by: Some(who.user.id),
            };
            let result = payments::record(
                &state.db,
                found.scope,
                found.invoice.id,
                &payment,
                UnixMillis::now(),
            )
            .await;
            if let Ok(payment_id) = &result {
                record_audit(
                    &state,
                    &site,
                    &who,
                    "billing.payment.record",
                    &found.invoice.label(),
                    serde_json::json!({
                        "invoice": found.invoice.id.to_string(),
                        "payment": payment_id.to_string(),
                        "amount": found.invoice.money(amount_minor).to_string(),
                        "method": method.as_str(),
                    }),
                )
                .await?;
            }
            result.map(|_| ())
        }
        Err(m) => bad(m),
    };
    outcome(&state, ctx, found, result, Message::PaymentRecorded).await
}
