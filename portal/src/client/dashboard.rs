//! `/client-portal/dashboard`: the client user's start page: what is open,
//! a way to file a ticket, and what happened lately.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use porta_core::db::activity::{self, Activity, ActivityKind};
use porta_core::db::tickets;
use porta_core::permission::perm;

use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

/// Items in the recent-activity feed.
const FEED_LENGTH: i64 = 8;

#[derive(Template)]
#[template(path = "client/dashboard.html")]
struct DashboardPage<'a> {
    ctx: PageContext,
    user_name: &'a str,
    email: &'a str,
    client_name: &'a str,
    roles: &'a [String],
    last_signin: Option<String>,
    open_tickets: i64,
    active_projects: i64,
    unpaid_invoices: i64,
    show_projects: bool,
    show_billing: bool,
    can_create: bool,
    activity: Vec<Activity>,
}

impl DashboardPage<'_> {
    pub fn is_comment(&self, item: &Activity) -> bool {
        item.kind == ActivityKind::PublicComment
    }
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    let user = &who.user;
    let client = user.client_id.ok_or(AppError::WrongUserType)?;
    let tenant = user.tenant_id;
    let open_tickets = if who.can(perm::TICKET_READ) {
        tickets::open_count(&state.db, tenant, client).await?
    } else {
        0
    };
    let feed = if who.can(perm::TICKET_READ) {
        activity::for_client(&state.db, tenant, client, FEED_LENGTH).await?
    } else {
        Vec::new()
    };
    let last_signin = user.last_signin_at.map(|at| ctx.time(at));
    render(&DashboardPage {
        user_name: &user.display_name,
        email: user.email.as_str(),
        client_name: user.client_name.as_deref().unwrap_or(""),
        roles: &who.roles,
        last_signin,
        open_tickets,
        active_projects: 0,
        unpaid_invoices: 0,
        show_projects: who.can(perm::PROJECT_READ),
        show_billing: who.can(perm::BILLING_READ),
        can_create: who.can(perm::TICKET_CREATE),
        activity: feed,
        ctx,
    })
}
