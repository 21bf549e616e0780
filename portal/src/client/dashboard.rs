//! `/client-portal/dashboard`: the client user's start page: what is open,
//! a way to file a ticket, and what happened lately.

use crate::i18n::labels::Labelled;
use crate::i18n::Arg;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use porta_core::billing::CalendarDate;
use porta_core::db::activity::{self, ActivityKind};
use porta_core::db::billing::{invoices, Scope};
use porta_core::db::{projects, tickets};
use porta_core::money::Money;
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
    /// What is due, per currency (empty: nothing).
    amount_due: Vec<Money>,
    show_projects: bool,
    show_billing: bool,
    can_create: bool,
    activity: Vec<FeedItem>,
}

/// One line of the recent-activity feed: a ticket event or a project change.
pub struct FeedItem {
    pub href: String,
    pub label: String,
    pub title: String,
    pub detail: String,
    pub at: i64,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    let user = &who.user;
    let texts = ctx.texts;
    let client = user.client_id.ok_or(AppError::WrongUserType)?;
    let tenant = user.tenant_id;
    let open_tickets = if who.can(perm::TICKET_READ) {
        tickets::open_count(&state.db, tenant, client).await?
    } else {
        0
    };
    let mut feed: Vec<FeedItem> = if who.can(perm::TICKET_READ) {
        activity::for_client(&state.db, tenant, client, FEED_LENGTH)
            .await?
            .into_iter()
            .map(|item| FeedItem {
                href: format!("/client-portal/tickets/{}", item.ticket_label),
                detail: if item.kind == ActivityKind::PublicComment {
                    texts.plain_with("dashboard-feed-reply-from", &[("name", Arg::of(&item.detail))])
                } else {
                    texts.plain_with("dashboard-feed-status", &[("status", Arg::of(&item.detail))])
                },
                label: item.ticket_label,
                title: item.title,
                at: item.at,
            })
            .collect()
    } else {
        Vec::new()
    };
    let active_projects = if who.can(perm::PROJECT_READ) {
        for p in projects::recently_updated(&state.db, tenant, client, FEED_LENGTH).await? {
            feed.push(FeedItem {
                href: format!("/client-portal/projects/{}", p.display_number()),
                label: p.display_number(),
                detail: texts.plain_with(
                    "dashboard-feed-project",
                    &[
                        ("status", Arg::of(texts.plain(&p.status.message_id()))),
                        ("percent", Arg::of(p.completion())),
                    ],
                ),
                title: p.name,
                at: p.updated_at,
            });
        }
        projects::open_count(&state.db, tenant, client).await?
    } else {
        0
    };
    let (unpaid_invoices, amount_due) = if who.can(perm::BILLING_READ) {
        let scope = Scope::client_user(tenant, client);
        let today = CalendarDate::today();
        for invoice in invoices::recently_finalized(&state.db, scope, FEED_LENGTH).await? {
            let Some(status) = invoice.client_status(today) else {
                continue;
            };
            let kind = if invoice.is_credit_note {
                "Credit note"
            } else {
                "Invoice"
            };
            feed.push(FeedItem {
                href: format!("/client-portal/billing/invoices/{}", invoice.id),
                label: invoice.label(),
                title: format!("{kind} of {}", invoice.total()),
                detail: format!("Invoice {}", status.label().to_lowercase()),
                at: invoice
                    .cancelled_at
                    .or(invoice.finalized_at)
                    .unwrap_or(invoice.created_at),
            });
        }
        let unpaid = invoices::unpaid(&state.db, scope).await?;
        (unpaid.count, unpaid.due)
    } else {
        (0, Vec::new())
    };
    feed.sort_by_key(|item| std::cmp::Reverse(item.at));
    feed.truncate(FEED_LENGTH as usize);
    let last_signin = user.last_signin_at.map(|at| ctx.time(at));
    render(&DashboardPage {
        user_name: &user.display_name,
        email: user.email.as_str(),
        client_name: user.client_name.as_deref().unwrap_or(""),
        roles: &who.roles,
        last_signin,
        open_tickets,
        active_projects,
        unpaid_invoices,
        amount_due,
        show_projects: who.can(perm::PROJECT_READ),
        show_billing: who.can(perm::BILLING_READ),
        can_create: who.can(perm::TICKET_CREATE),
        activity: feed,
        ctx,
    })
}
