//! `/msp/clients`: the tenant's client companies with their people and
//! open tickets.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use porta_core::db::clients::{self, ClientSummary};

use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "msp/clients.html")]
struct ClientsPage {
    ctx: PageContext,
    clients: Vec<ClientSummary>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    render(&ClientsPage {
        ctx,
        clients: clients::summaries(&state.db, who.user.tenant_id).await?,
    })
}
