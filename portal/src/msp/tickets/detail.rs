//! The staff side of a ticket: the whole conversation (internal notes
//! marked), replying publicly or noting internally with files, and triage
//! (status, priority, assignee).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::catalog::Catalog;
use porta_core::db::comments::{self, Visibility};
use porta_core::db::documents::{self, Document};
use porta_core::db::tickets::{self, Reach, Ticket};
use porta_core::db::users::{self, UserProfile};
use porta_core::ids::{DocumentId, PriorityId, StatusId, UserId};
use porta_core::permission::perm;
use porta_core::ticket::{TicketNumber, DEFAULT_PREFIX};
use serde::Deserialize;

use super::QUEUE;
use crate::attachments::upload::{self, human_size};
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;
use crate::tickets::conversation::{group, Entry};
use crate::tickets::{self as ticket_service, Replier};

#[derive(Template)]
#[template(path = "msp/tickets/detail.html")]
struct DetailPage {
    ctx: PageContext,
    ticket: Ticket,
    conversation: Vec<Entry>,
    documents: Vec<Document>,
    catalog: Arc<Catalog>,
    staff: Vec<UserProfile>,
    can_update: bool,
    can_attach: bool,
    max_files: u32,
    max_size: String,
    form_error: Option<String>,
    typed: String,
    doc_base: String,
}

impl DetailPage {
    pub fn assigned(&self, user: &UserProfile) -> bool {
        self.ticket.assigned_to == Some(user.id)
    }
}

async fn find(state: &AppState, who: &SignedIn, raw: &str) -> Result<Ticket, AppError> {
    let number = TicketNumber::parse(raw, DEFAULT_PREFIX).map_err(|_| AppError::NotFound)?;
    let reach = Reach::Staff {
        tenant: who.user.tenant_id,
    };
    tickets::find(&state.db, reach, number)
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
    let comments = comments::for_ticket(&state.db, tenant, ticket.id, Visibility::All).await?;
    let documents = documents::for_ticket(&state.db, tenant, ticket.id, Visibility::All).await?;
    let (conversation, documents) = group(comments, documents);
    render(&DetailPage {
        ctx,
        doc_base: format!("{QUEUE}/{}/documents", ticket.display_number()),
        conversation,
        documents,
        catalog: state.catalog.get(tenant).await?,
        staff: users::staff(&state.db, tenant).await?,
        can_update: who.can(perm::TICKET_UPDATE),
        can_attach: who.can(perm::DOCUMENT_CREATE),
        max_files: state.config.attachments.max_files,
        max_size: human_size(state.config.attachments.max_file_bytes),
        form_error,
        typed,
        ticket,
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

fn back(ticket: &Ticket, message: Message) -> Response {
    Redirect::to(&format!(
        "{QUEUE}/{}?notice={}",
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
    let form = match upload::read_form(multipart, &state.config.attachments).await {
        Ok(form) => form,
        Err(e) => {
            let html = page(&state, ctx, &who, ticket, Some(e.to_string()), String::new()).await?;
            return Ok((StatusCode::BAD_REQUEST, html).into_response());
        }
    };
    let internal = form.field("visibility") == Some("internal");
    let body = form.field("body").unwrap_or_default().to_owned();
    if let Some(refusal) = form.refusal() {
        let html = page(&state, ctx, &who, ticket, Some(refusal.to_string()), body).await?;
        return Ok((StatusCode::BAD_REQUEST, html).into_response());
    }
    if !form.files.is_empty() && !who.can(perm::DOCUMENT_CREATE) {
        return Err(AppError::PermissionDenied(perm::DOCUMENT_CREATE));
    }
    match ticket_service::reply(
        &state,
        &site,
        &who,
        &ticket,
        Replier::Staff { internal },
        &body,
        form.files,
    )
    .await
    {
        Ok(()) => Ok(back(
            &ticket,
            if internal {
                Message::NoteAdded
            } else {
                Message::ReplySent
            },
        )),
        Err(AppError::Invalid { message, .. }) => {
            let html = page(&state, ctx, &who, ticket, Some(message), body).await?;
            Ok((StatusCode::BAD_REQUEST, html).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct TriageForm {
    status: String,
    priority: String,
    #[serde(default)]
    assignee: String,
}

pub async fn triage(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<TriageForm>,
) -> Result<Response, AppError> {
    let ticket = find(&state, &who, &number).await?;
    let tenant = site.tenant.id;
    let catalog = state.catalog.get(tenant).await?;
    let bad = |what: &'static str| AppError::invalid("invalid_triage", what);
    let status: StatusId = form.status.parse().map_err(|_| bad("Choose a status."))?;
    let priority: PriorityId = form
        .priority
        .parse()
        .ok()
        .filter(|p| catalog.priority(*p).is_some())
        .ok_or(bad("Choose a priority."))?;
    let assignee: Option<UserId> = match form.assignee.trim() {
        "" => None,
        raw => {
            let id: UserId = raw.parse().map_err(|_| bad("Choose someone of your team."))?;
            let staff = users::staff(&state.db, tenant).await?;
            Some(
                staff
                    .iter()
                    .find(|u| u.id == id)
                    .ok_or(bad("Choose someone of your team."))?
                    .id,
            )
        }
    };
    ticket_service::change_status(&state, &site, &who, &ticket, status, &catalog).await?;
    if priority != ticket.priority_id || assignee != ticket.assigned_to {
        tickets::set_triage(
            &state.db,
            tenant,
            ticket.id,
            priority,
            assignee,
            UnixMillis::now(),
        )
        .await?;
    }
    Ok(back(&ticket, Message::TicketUpdated))
}

pub async fn document(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path((number, document)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let ticket = find(&state, &who, &number).await?;
    let id: DocumentId = document.parse().map_err(|_| AppError::NotFound)?;
    ticket_service::download(&state, &site, &ticket, id, Visibility::All).await
}
