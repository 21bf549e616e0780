//! The queue: every ticket of the tenant, with the client's filters plus
//! client company and assignee.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use porta_core::db::catalog::Catalog;
use porta_core::db::tickets::{self, Reach, Ticket};
use porta_core::db::{clients, users};

use super::QUEUE;
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;
use crate::tickets::filters::{ListQuery, Pager, StaffFilters};

#[derive(Template)]
#[template(path = "msp/tickets/queue.html")]
struct QueuePage {
    ctx: PageContext,
    tickets: Vec<Ticket>,
    catalog: Arc<Catalog>,
    query: ListQuery,
    pager: Pager,
    staff_filters: Option<StaffFilters>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    let (rows, total) =
        tickets::list(&state.db, Reach::Staff { tenant }, &query.filter(), query.page()).await?;
    render(&QueuePage {
        ctx,
        tickets: rows,
        catalog: state.catalog.get(tenant).await?,
        pager: Pager::new(QUEUE, &query, total),
        query,
        staff_filters: Some(StaffFilters {
            clients: clients::list(&state.db, tenant).await?,
            staff: users::staff(&state.db, tenant).await?,
        }),
    })
}
