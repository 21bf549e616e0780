//! `/client-portal/tickets/{number}`: the facts, the public conversation
//! with its files, closing and reopening, replying with attachments.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::db::comments::{self, Visibility};
use porta_core::db::documents::{self, Document};
use porta_core::db::tickets::{self, Ticket};
use porta_core::ids::DocumentId;
use porta_core::permission::perm;
use porta_core::ticket::{TicketNumber, DEFAULT_PREFIX};
use serde::Deserialize;

use super::{reach, LIST};
use crate::attachments::upload::{self, human_size};
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;
use crate::tickets::conversation::{group, Entry};
use crate::tickets::{self as ticket_service, Replier};

#[derive(Template)]
#[template(path = "client/tickets/detail.html")]
struct DetailPage {
    ctx: PageContext,
    ticket: Ticket,
    conversation: Vec<Entry>,
    /// Files attached to the ticket itself.
    documents: Vec<Document>,
    can_update: bool,
    can_attach: bool,
    max_files: u32,
    max_size: String,
    form_error: Option<String>,
    typed: String,
    doc_base: String,
}

/// The ticket `raw` names, if this client user's company has it.
async fn find(state: &AppState, who: &SignedIn, raw: &str) -> Result<Ticket, AppError> {
    let number = TicketNumber::parse(raw, DEFAULT_PREFIX).map_err(|_| AppError::NotFound)?;
    tickets::find(&state.db, reach(who)?, number)
        .await?
        .ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    ticket: Ticket,
    form_error: Option<String>,
    typed: String,
) -> Result<Html<String>, AppError> {
    let tenant = ticket.tenant_id;
    let comments = comments::for_ticket(&state.db, tenant, ticket.id, Visibility::Public).await?;
    let documents = documents::for_ticket(&state.db, tenant, ticket.id, Visibility::Public).await?;
    let (conversation, documents) = group(comments, documents);
    let doc_base = format!("{LIST}/{}/documents", ticket.display_number());
    render(&DetailPage {
        ctx,
        doc_base,
        ticket,
        conversation,
        documents,
        can_update: who.can(perm::TICKET_UPDATE),
        can_attach: who.can(perm::DOCUMENT_CREATE),
        max_files: state.config.attachments.max_files,
        max_size: human_size(state.config.attachments.max_file_bytes),
        form_error,
        typed,
    })
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
) -> Result<Html<String>, AppError> {
    let ticket = find(&state, &who, &number).await?;
    page(&state, ctx, &who, ticket, None, String::new()).await
}

fn back(ticket: &Ticket, message: Message, anchor: &str) -> Response {
    Redirect::to(&format!(
        "{LIST}/{}?notice={}{anchor}",
        ticket.display_number(),
        message.code()
    ))
    .into_response()
}

pub async fn comment(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let ticket = find(&state, &who, &number).await?;
    let refuse = |ticket, error: String, typed: String| async {
        let html = page(&state, ctx, &who, ticket, Some(error), typed).await?;
        Ok::<_, AppError>((axum::http::StatusCode::BAD_REQUEST, html).into_response())
    };
    let form = match upload::read_form(multipart, &state.config.attachments).await {
        Ok(form) => form,
        Err(e) => return refuse(ticket, e.to_string(), String::new()).await,
    };
    let body = form.field("body").unwrap_or_default().to_owned();
    if let Some(refusal) = form.refusal() {
        return refuse(ticket, refusal.to_string(), body).await;
    }
    if !form.files.is_empty() && !who.can(perm::DOCUMENT_CREATE) {
        return Err(AppError::PermissionDenied(perm::DOCUMENT_CREATE));
    }
    match ticket_service::reply(&state, &site, &who, &ticket, Replier::Client, &body, form.files).await {
        Ok(()) => Ok(back(&ticket, Message::CommentAdded, "#conversation")),
        Err(AppError::Invalid { message, .. }) => refuse(ticket, message, body).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    action: String,
}

/// Close or reopen: to the board's first closed status, or back to open.
pub async fn set_status(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    let ticket = find(&state, &who, &number).await?;
    let catalog = state.catalog.get(site.tenant.id).await?;
    let (target, message) = match form.action.as_str() {
        "close" => (catalog.closing_status(ticket.board_id), Message::TicketClosed),
        "reopen" => (catalog.reopening_status(ticket.board_id), Message::TicketReopened),
        _ => {
            return Err(AppError::invalid(
                "unknown_action",
                "This form action does not exist.",
            ))
        }
    };
    let target = target.ok_or(AppError::conflict(
        "no_status",
        "The board has no status for this.",
    ))?;
    ticket_service::change_status(&state, &site, &who, &ticket, target.id, &catalog).await?;
    Ok(back(&ticket, message, ""))
}

pub async fn document(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path((number, document)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let ticket = find(&state, &who, &number).await?;
    let id: DocumentId = document.parse().map_err(|_| AppError::NotFound)?;
    ticket_service::download(&state, &site, &ticket, id, Visibility::Public).await
}
