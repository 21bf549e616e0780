//! The changes to a ticket and what follows from each: the response state
//! (a client reply means the MSP must answer, a staff public reply means
//! the client must), the notifications (public events only), the files.

use porta_core::clock::UnixMillis;
use porta_core::db::catalog::Catalog;
use porta_core::db::comments;
use porta_core::db::tickets::{self, NewTicket, Ticket};
use porta_core::ids::{BoardId, CategoryId, ClientId, PriorityId, StatusId};
use porta_core::ticket::{self, NotificationKind, ResponseState, TicketNumber, TicketOrigin};
use porta_core::user_type::UserType;

use crate::attachments::documents::{self as stored, Owner};
use crate::attachments::Upload;
use crate::error::AppError;
use crate::request::{SignedIn, Site};
use crate::state::AppState;

/// What the new-ticket form asks for.
#[derive(Debug, Clone, Default)]
pub struct NewTicketInput {
    pub title: String,
    pub description: String,
    pub board: Option<BoardId>,
    pub priority: Option<PriorityId>,
    /// A category, or a subcategory (its category is then implied).
    pub category: Option<CategoryId>,
}

fn invalid(message: &'static str) -> AppError {
    AppError::invalid("invalid_ticket", message)
}

/// What a new ticket is filed under, checked against the catalog.
struct Choices {
    board: BoardId,
    status: StatusId,
    priority: PriorityId,
    category: Option<CategoryId>,
    subcategory: Option<CategoryId>,
}

/// Checks the choices against the tenant's catalog (`defaults` are the
/// client company's board and priority).
fn resolve_choices(
    catalog: &Catalog,
    input: &NewTicketInput,
    defaults: (Option<BoardId>, Option<PriorityId>),
) -> Result<Choices, AppError> {
    let board = match input.board.or(defaults.0) {
        Some(id) => catalog
            .board(id)
            .ok_or(invalid("Choose one of the boards offered."))?,
        None => catalog
            .default_board()
            .ok_or(invalid("There is no board to file tickets on."))?,
    };
    let status = catalog
        .default_status(board.id)
        .ok_or(invalid("The board has no statuses."))?;
    let priority = match input.priority.or(defaults.1) {
        Some(id) => catalog
            .priority(id)
            .ok_or(invalid("Choose one of the priorities offered."))?,
        None => catalog
            .default_priority()
            .ok_or(invalid("There are no priorities."))?,
    };
    let (category, subcategory) = match input.category {
        None => (None, None),
        Some(id) => {
            let chosen = catalog
                .category(id)
                .filter(|c| c.board_id == board.id)
                .ok_or(invalid("Choose a category of the chosen board."))?;
            match chosen.parent_id {
                None => (Some(chosen.id), None),
                Some(parent) => (Some(parent), Some(chosen.id)),
            }
        }
    };
    Ok(Choices {
        board: board.id,
        status: status.id,
        priority: priority.id,
        category,
        subcategory,
    })
}

/// Opens a ticket for `client` with `files`, and announces it.
pub async fn open(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    client: ClientId,
    input: &NewTicketInput,
    files: Vec<Upload>,
) -> Result<TicketNumber, AppError> {
    let title = ticket::check_title(&input.title).map_err(invalid)?;
    let description = ticket::check_body(&input.description, false).map_err(invalid)?;
    let tenant = site.tenant.id;
    let catalog = state.catalog.get(tenant).await?;
    let defaults = match porta_core::db::clients::profile(&state.db, tenant, client).await? {
        Some(p) => (p.default_board_id, p.default_priority_id),
        None => return Err(AppError::NotFound),
    };
    let Choices {
        board,
        status,
        priority,
        category,
        subcategory,
    } = resolve_choices(&catalog, input, defaults)?;
    let from_client = who.user.user_type == UserType::Client;
    let now = UnixMillis::now();
    let (id, number) = tickets::create(
        &state.db,
        &NewTicket {
            tenant,
            client,
            board,
            status,
            priority,
            category,
            subcategory,
            title: &title,
            description: &description,
            entered_by: who.user.id,
            assigned_to: None,
            origin: if from_client {
                TicketOrigin::ClientPortal
            } else {
                TicketOrigin::Msp
            },
            response_state: from_client.then_some(ResponseState::AwaitingInternal),
            due_at: None,
        },
        now,
    )
    .await?;
    stored::store(
        state,
        site,
        who,
        client,
        Owner::Ticket {
            ticket: id,
            comment: None,
        },
        false,
        files,
    )
    .await?;
    let label = number.display(porta_core::ticket::DEFAULT_PREFIX);
    let summary = format!("{} opened {label}: {title}", who.user.display_name);
    super::announce::announce(
        state,
        site,
        (id, &label),
        NotificationKind::TicketCreated,
        who.user.id,
        &summary,
        now,
    )
    .await?;
    tracing::info!(tenant = %site.tenant.slug, ticket = %label, "ticket opened");
    Ok(number)
}

/// Who replies, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replier {
    /// A client user: always public.
    Client,
    /// Staff, publicly (the client sees it) or as an internal note.
    Staff { internal: bool },
}

/// Adds a reply (with files) to `ticket`, moves its response state, and
/// announces public replies.
pub async fn reply(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    ticket: &Ticket,
    replier: Replier,
    body: &str,
    files: Vec<Upload>,
) -> Result<(), AppError> {
    let body = ticket::check_body(body, true).map_err(invalid)?;
    let tenant = site.tenant.id;
    let now = UnixMillis::now();
    let internal = matches!(replier, Replier::Staff { internal: true });
    let comment = comments::add(&state.db, tenant, ticket.id, who.user.id, &body, internal, now).await?;
    stored::store(
        state,
        site,
        who,
        ticket.client_id,
        Owner::Ticket {
            ticket: ticket.id,
            comment: Some(comment),
        },
        internal,
        files,
    )
    .await?;
    match replier {
        Replier::Client => {
            tickets::set_response_state(
                &state.db,
                tenant,
                ticket.id,
                Some(ResponseState::AwaitingInternal),
                now,
            )
            .await?
        }
        Replier::Staff { internal: false } => {
            tickets::set_response_state(
                &state.db,
                tenant,
                ticket.id,
                Some(ResponseState::AwaitingClient),
                now,
            )
            .await?
        }
        // An internal note changes nothing the client sees, not even the
        // ticket's last update.
        Replier::Staff { internal: true } => {}
    }
    if !internal {
        let summary = format!(
            "{} replied on {}: {}",
            who.user.display_name,
            ticket.display_number(),
            ticket.title
        );
        super::announce::announce(
            state,
            site,
            (ticket.id, &ticket.display_number()),
            NotificationKind::CommentAdded,
            who.user.id,
            &summary,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Moves `ticket` to `status` (one of its board's) and announces it.
pub async fn change_status(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    ticket: &Ticket,
    status: StatusId,
    catalog: &Catalog,
) -> Result<(), AppError> {
    let target = catalog
        .status(status)
        .filter(|s| s.board_id == ticket.board_id)
        .ok_or(invalid("Choose a status of this ticket's board."))?;
    if target.id == ticket.status_id {
        return Ok(());
    }
    let tenant = site.tenant.id;
    let now = UnixMillis::now();
    tickets::set_status(&state.db, tenant, ticket.id, target.id, who.user.id, now).await?;
    let summary = format!(
        "{} set {} to {}: {}",
        who.user.display_name,
        ticket.display_number(),
        target.name,
        ticket.title
    );
    super::announce::announce(
        state,
        site,
        (ticket.id, &ticket.display_number()),
        NotificationKind::TicketStatusChanged,
        who.user.id,
        &summary,
        now,
    )
    .await?;
    Ok(())
}
