//! The in-app notifications page of both areas (`/client-portal/notifications`,
//! `/msp/notifications`): the list, opening one (marks it read and goes to
//! its ticket), marking all read. Only the signed-in user's own.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use porta_core::clock::UnixMillis;
use porta_core::db::notifications::{self, Notification};
use porta_core::ids::NotificationId;
use porta_core::ticket::TicketNumber;
use porta_core::user_type::UserType;
use serde::Deserialize;

use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

const PAGE_SIZE: i64 = 20;

/// The paths of the signed-in user's area.
fn base(who: &SignedIn) -> (&'static str, &'static str) {
    match who.user.user_type {
        UserType::Client => ("/client-portal/notifications", "/client-portal/tickets"),
        UserType::Internal => ("/msp/notifications", "/msp/tickets"),
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    ctx: PageContext,
    items: Vec<Notification>,
    base: &'static str,
    page: i64,
    has_next: bool,
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let (items, total) = notifications::list(
        &state.db,
        who.user.tenant_id,
        who.user.id,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await?;
    render(&NotificationsPage {
        ctx,
        items,
        base: base(&who).0,
        page,
        has_next: page * PAGE_SIZE < total,
    })
}

/// Marks the notification read and opens its ticket.
pub async fn open(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: NotificationId = id.parse().map_err(|_| AppError::NotFound)?;
    let tenant = who.user.tenant_id;
    let found = notifications::find(&state.db, tenant, who.user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    notifications::mark_read(&state.db, tenant, who.user.id, id, UnixMillis::now()).await?;
    let (list, tickets) = base(&who);
    let target = found
        .ticket_number
        .map(|t| format!("{tickets}/{}", TicketNumber(t).display(&found.prefix)))
        .unwrap_or_else(|| list.to_owned());
    Ok(Redirect::to(&target).into_response())
}

pub async fn read_all(State(state): State<AppState>, who: SignedIn) -> Result<Response, AppError> {
    notifications::mark_all_read(&state.db, who.user.tenant_id, who.user.id, UnixMillis::now()).await?;
    Ok(Redirect::to(&format!(
        "{}?notice={}",
        base(&who).0,
        Message::NotificationsRead.code()
    ))
    .into_response())
}
