//! `/client-portal/tickets/new`: title, description, priority, board (when
//! there are several), category, files.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use porta_core::db::catalog::Catalog;
use porta_core::db::clients;
use porta_core::permission::perm;
use porta_core::ticket::DEFAULT_PREFIX;

use super::LIST;
use crate::attachments::upload::{self, human_size, ParsedForm};
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;
use crate::tickets::{self, NewTicketInput};

#[derive(Template)]
#[template(path = "client/tickets/new.html")]
struct NewPage {
    ctx: PageContext,
    catalog: Arc<Catalog>,
    chosen_board: String,
    chosen_priority: String,
    chosen_category: String,
    title: String,
    description: String,
    error: Option<String>,
    can_attach: bool,
    max_files: u32,
    max_size: String,
}

impl NewPage {
    fn new(state: &AppState, ctx: PageContext, who: &SignedIn, catalog: Arc<Catalog>) -> NewPage {
        NewPage {
            ctx,
            catalog,
            chosen_board: String::new(),
            chosen_priority: String::new(),
            chosen_category: String::new(),
            title: String::new(),
            description: String::new(),
            error: None,
            can_attach: who.can(perm::DOCUMENT_CREATE),
            max_files: state.config.attachments.max_files,
            max_size: human_size(state.config.attachments.max_file_bytes),
        }
    }
}

pub async fn form(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    let client = super::reach(&who)
        .map(|_| who.user.client_id)?
        .ok_or(AppError::WrongUserType)?;
    let catalog = state.catalog.get(site.tenant.id).await?;
    let profile = clients::profile(&state.db, site.tenant.id, client)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut page = NewPage::new(&state, ctx, &who, catalog);
    page.chosen_board = profile
        .default_board_id
        .or(page.catalog.default_board().map(|b| b.id))
        .map(|b| b.to_string())
        .unwrap_or_default();
    page.chosen_priority = profile
        .default_priority_id
        .or(page.catalog.default_priority().map(|p| p.id))
        .map(|p| p.to_string())
        .unwrap_or_default();
    render(&page)
}

fn id<T: std::str::FromStr>(form: &ParsedForm, name: &str) -> Option<T> {
    form.field(name).and_then(|v| v.trim().parse().ok())
}

fn input_of(form: &ParsedForm) -> NewTicketInput {
    NewTicketInput {
        title: form.field("title").unwrap_or_default().to_owned(),
        description: form.field("description").unwrap_or_default().to_owned(),
        board: id(form, "board"),
        priority: id(form, "priority"),
        category: id(form, "category"),
    }
}

pub async fn create(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let client = who.user.client_id.ok_or(AppError::WrongUserType)?;
    let parsed = upload::read_form(multipart, &state.config.attachments).await;
    let refused = |page: NewPage, error: String| -> Result<Response, AppError> {
        let mut page = page;
        page.error = Some(error);
        Ok((axum::http::StatusCode::BAD_REQUEST, render(&page)?).into_response())
    };
    let catalog = state.catalog.get(site.tenant.id).await?;
    let mut page = NewPage::new(&state, ctx, &who, catalog);
    let form = match parsed {
        Ok(form) => form,
        Err(e) => return refused(page, e.to_string()),
    };
    let input = input_of(&form);
    page.title = input.title.clone();
    page.description = input.description.clone();
    page.chosen_board = form.field("board").unwrap_or_default().to_owned();
    page.chosen_priority = form.field("priority").unwrap_or_default().to_owned();
    page.chosen_category = form.field("category").unwrap_or_default().to_owned();
    if let Some(refusal) = form.refusal() {
        let message = refusal.to_string();
        return refused(page, message);
    }
    if !form.files.is_empty() && !who.can(perm::DOCUMENT_CREATE) {
        return Err(AppError::PermissionDenied(perm::DOCUMENT_CREATE));
    }
    match tickets::open(&state, &site, &who, client, &input, form.files).await {
        Ok(number) => Ok(Redirect::to(&format!(
            "{LIST}/{}?notice={}",
            number.display(DEFAULT_PREFIX),
            Message::TicketCreated.code()
        ))
        .into_response()),
        Err(AppError::Invalid { message, .. }) => refused(page, message),
        Err(e) => Err(e),
    }
}
