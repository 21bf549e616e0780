//! One company's billing, staff side: its invoices (drafts included), a new
//! draft, contract lines and their usage, prepaid hour blocks.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::billing::{CalendarDate, Frequency, Month};
use porta_core::clock::UnixMillis;
use porta_core::db::billing::contracts::{self, ContractLine, NewContractLine};
use porta_core::db::billing::invoices::{self, Invoice, NewDraft};
use porta_core::db::billing::prepaid::{self, NewBlock, PrepaidBlock};
use porta_core::db::billing::{self, BillingError, Scope};
use porta_core::db::clients::ClientProfile;
use porta_core::ids::{ContractLineId, PrepaidBlockId};
use porta_core::money::Currency;

use super::fields::{self, Fields};
use crate::client::billing::usage::{self, UsageView};
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "msp/billing/company.html")]
struct CompanyPage {
    ctx: PageContext,
    company: ClientProfile,
    invoices: Vec<Invoice>,
    lines: Vec<ContractLine>,
    blocks: Vec<PrepaidBlock>,
    usage: Vec<UsageView>,
    frequencies: &'static [Frequency],
    currency: Currency,
    this_month: Month,
    today: CalendarDate,
    base: String,
    error: Option<String>,
}

impl CompanyPage {
    pub fn hours(&self, minutes: impl std::borrow::Borrow<i64>) -> String {
        prepaid::hours(*minutes.borrow())
    }

    pub fn status_label(&self, invoice: &Invoice) -> &'static str {
        invoice.client_status(self.today).map_or("Draft", |s| s.label())
    }

    pub fn status_class(&self, invoice: &Invoice) -> &'static str {
        invoice.client_status(self.today).map_or("draft", |s| s.as_str())
    }
}

pub fn base(scope: Scope) -> String {
    format!("/msp/billing/clients/{}", scope.client)
}

pub async fn page(
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    company: ClientProfile,
    scope: Scope,
    error: Option<(StatusCode, String)>,
) -> Result<Response, AppError> {
    let lines = contracts::list(&state.db, scope).await?;
    let usage = usage::build(&state.db, scope, &lines, site.brand.primary, ctx.texts.locale()).await?;
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let today = CalendarDate::today();
    let html: Html<String> = render(&CompanyPage {
        ctx,
        invoices: invoices::list(&state.db, scope).await?,
        blocks: prepaid::list(&state.db, scope).await?,
        lines,
        usage,
        frequencies: Frequency::ALL,
        currency: billing::tenant_currency(&state.db, scope.tenant).await?,
        this_month: today.month(),
        today,
        base: base(scope),
        company,
        error,
    })?;
    Ok((status, html).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(client): Path<String>,
) -> Result<Response, AppError> {
    let (company, scope) = super::company(&state, &who, &client).await?;
    page(&state, &site, ctx, company, scope, None).await
}

/// Back to the page after a change, or the page with the refusal.
async fn outcome<T>(
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    company: ClientProfile,
    scope: Scope,
    result: Result<T, BillingError>,
    anchor: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}?notice={}#{anchor}",
            base(scope),
            Message::BillingSaved.code()
        ))
        .into_response()),
        Err(e) => {
            let refusal = super::refusal(e)?;
            page(state, site, ctx, company, scope, Some(refusal)).await
        }
    }
}

fn bad(message: String) -> Result<(), BillingError> {
    Err(BillingError::Invalid(message.trim_end_matches('.').to_owned()))
}

pub async fn create_draft(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(client): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let (company, scope) = super::company(&state, &who, &client).await?;
    let terms = match fields::days(&form, "terms_days") {
        Ok(d) => d,
        Err(m) => return outcome(&state, &site, ctx, company, scope, bad(m), "invoices").await,
    };
    let draft = NewDraft {
        credit_note: fields::ticked(&form, "credit_note"),
        terms_days: terms,
        memo: fields::text(&form, "memo"),
    };
    match invoices::create_draft(&state.db, scope, &draft, UnixMillis::now()).await {
        Ok(id) => Ok(Redirect::to(&format!(
            "{}/invoices/{id}?notice={}",
            base(scope),
            Message::InvoiceCreated.code()
        ))
        .into_response()),
        Err(e) => outcome(&state, &site, ctx, company, scope, Err::<(), _>(e), "invoices").await,
    }
}

pub async fn add_contract_line(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(client): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let (company, scope) = super::company(&state, &who, &client).await?;
    let currency = billing::tenant_currency(&state.db, scope.tenant).await?;
    let parsed = (|| {
        Ok::<_, String>((
            fields::amount(&form, "rate", "Rate", currency, false)?,
            fields::text(&form, "frequency")
                .parse::<Frequency>()
                .map_err(|_| "Choose a frequency.".to_owned())?,
            fields::required_date(&form, "start_date", "Start")?,
            fields::date(&form, "end_date", "End")?,
        ))
    })();
    let result = match parsed {
        Ok((rate_minor, frequency, start_date, end_date)) => {
            let line = NewContractLine {
                service: fields::text(&form, "service"),
                description: fields::text(&form, "description"),
                rate_minor,
                frequency,
                unit: fields::text(&form, "unit"),
                start_date,
                end_date,
            };
            contracts::add(&state.db, scope, &line, UnixMillis::now())
                .await
                .map(|_| ())
        }
        Err(m) => bad(m),
    };
    outcome(&state, &site, ctx, company, scope, result, "contract-lines").await
}

pub async fn remove_contract_line(
    State(state): State<AppState>,
    who: SignedIn,
    Path((client, line)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (_, scope) = super::company(&state, &who, &client).await?;
    let line: ContractLineId = line.parse().map_err(|_| AppError::NotFound)?;
    if !contracts::remove(&state.db, scope, line).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!(
        "{}?notice={}#contract-lines",
        base(scope),
        Message::BillingSaved.code()
    ))
    .into_response())
}

pub async fn set_usage(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(client): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let (company, scope) = super::company(&state, &who, &client).await?;
    let line: Result<ContractLineId, String> = fields::text(&form, "contract_line")
        .parse()
        .map_err(|_| "Choose a contract line.".to_owned());
    let parsed = line.and_then(|l| {
        Ok((
            l,
            fields::month(&form, "month")?,
            fields::quantity(&form, "quantity", "Quantity", true)?,
        ))
    });
    let result = match parsed {
        Ok((line, month, quantity)) => {
            contracts::set_usage(&state.db, scope, line, month, quantity, UnixMillis::now()).await
        }
        Err(m) => bad(m),
    };
    outcome(&state, &site, ctx, company, scope, result, "usage").await
}

pub async fn add_block(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(client): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let (company, scope) = super::company(&state, &who, &client).await?;
    let parsed = (|| {
        Ok::<_, String>((
            fields::hours(&form, "hours", "Hours")?,
            fields::required_date(&form, "purchased_on", "Bought on")?,
            fields::date(&form, "expires_on", "Expires")?,
        ))
    })();
    let result = match parsed {
        Ok((minutes_bought, purchased_on, expires_on)) => {
            let block = NewBlock {
                name: fields::text(&form, "name"),
                minutes_bought,
                purchased_on,
                expires_on,
            };
            prepaid::add(&state.db, scope, &block, UnixMillis::now())
                .await
                .map(|_| ())
        }
        Err(m) => bad(m),
    };
    outcome(&state, &site, ctx, company, scope, result, "prepaid").await
}

pub async fn draw_block(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path((client, block)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let (company, scope) = super::company(&state, &who, &client).await?;
    let block: PrepaidBlockId = block.parse().map_err(|_| AppError::NotFound)?;
    let result = match fields::hours(&form, "hours", "Hours used") {
        Ok(minutes) => prepaid::draw(&state.db, scope, block, minutes, UnixMillis::now()).await,
        Err(m) => bad(m),
    };
    outcome(&state, &site, ctx, company, scope, result, "prepaid").await
}

pub async fn remove_block(
    State(state): State<AppState>,
    who: SignedIn,
    Path((client, block)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (_, scope) = super::company(&state, &who, &client).await?;
    let block: PrepaidBlockId = block.parse().map_err(|_| AppError::NotFound)?;
    if !prepaid::remove(&state.db, scope, block).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!(
        "{}?notice={}#prepaid",
        base(scope),
        Message::BillingSaved.code()
    ))
    .into_response())
}
