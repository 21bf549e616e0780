//! The list: filters (state, priority, category, text), 10 a page.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use porta_core::db::catalog::Catalog;
use porta_core::db::tickets::{self, Ticket};

use super::{reach, LIST};
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;
use crate::tickets::filters::{ListQuery, Pager, StaffFilters};

#[derive(Template)]
#[template(path = "client/tickets/list.html")]
struct ListPage {
    ctx: PageContext,
    tickets: Vec<Ticket>,
    catalog: Arc<Catalog>,
    query: ListQuery,
    pager: Pager,
    can_create: bool,
    staff_filters: Option<StaffFilters>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let reach = reach(&who)?;
    let (rows, total) = tickets::list(&state.db, reach, &query.filter(), query.page()).await?;
    let catalog = state.catalog.get(reach.tenant()).await?;
    render(&ListPage {
        ctx,
        tickets: rows,
        catalog,
        pager: Pager::new(LIST, &query, total),
        query,
        can_create: who.can(porta_core::permission::perm::TICKET_CREATE),
        staff_filters: None,
    })
}
