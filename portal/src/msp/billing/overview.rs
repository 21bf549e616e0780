//! The staff billing start page: every company with what it owes, and the
//! tenant's currency.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::db::billing::invoices::Unpaid;
use porta_core::db::billing::{self, invoices, Scope};
use porta_core::db::clients::{self, Client};
use porta_core::money::Currency;

use super::fields::{self, Fields};
use super::PAGE;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

pub struct CompanyRow {
    pub client: Client,
    pub unpaid: Unpaid,
}

#[derive(Template)]
#[template(path = "msp/billing/overview.html")]
struct OverviewPage {
    ctx: PageContext,
    companies: Vec<CompanyRow>,
    currency: Currency,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<String>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let mut companies = Vec::new();
    for client in clients::list(&state.db, tenant).await? {
        let unpaid = invoices::unpaid(&state.db, Scope::staff(tenant, client.id)).await?;
        companies.push(CompanyRow { client, unpaid });
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(&OverviewPage {
        ctx,
        companies,
        currency: billing::tenant_currency(&state.db, tenant).await?,
        error,
    })?;
    Ok((status, html).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Response, AppError> {
    page(&state, ctx, &who, None).await
}

pub async fn save_currency(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let Ok(currency) = fields::text(&form, "currency").parse::<Currency>() else {
        return page(
            &state,
            ctx,
            &who,
            Some("Currency: an ISO 4217 code of three letters, like USD or EUR.".to_owned()),
        )
        .await;
    };
    billing::set_tenant_currency(&state.db, who.user.tenant_id, currency).await?;
    Ok(Redirect::to(&format!("{PAGE}?notice={}", Message::SettingsSaved.code())).into_response())
}
