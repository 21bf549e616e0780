//! Tickets: created with the tenant's next human number, listed with
//! filters and paging, changed (status, priority, assignee, response state).
//!
//! Every read takes a [`Reach`]: a client user reaches only their own
//! company's tickets of their tenant, staff every ticket of their tenant.
//! The reach is a condition of the query itself, never a check afterwards.

use sqlx::FromRow;

use super::args::{bind_query_as, bind_scalar, contains_pattern, Arg, Conditions};
use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{BoardId, CategoryId, ClientId, PriorityId, StatusId, TenantId, TicketId, UserId};
use crate::ticket::{ResponseState, TicketNumber, TicketOrigin};
use crate::{on_pool, on_tx};

/// Whose tickets a query may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A client user: their company's tickets only.
    Client { tenant: TenantId, client: ClientId },
    /// MSP staff: every ticket of the tenant.
    Staff { tenant: TenantId },
}

impl Reach {
    pub fn tenant(self) -> TenantId {
        match self {
            Reach::Client { tenant, .. } | Reach::Staff { tenant } => tenant,
        }
    }

    /// The reach's own conditions on `t` (the tickets table).
    fn conditions(self) -> Conditions {
        let mut c = Conditions::new();
        c.add(Arg::Text(self.tenant().to_string()), |p| {
            format!("t.tenant_id = {p}")
        });
        if let Reach::Client { client, .. } = self {
            c.add(Arg::Text(client.to_string()), |p| format!("t.client_id = {p}"));
        }
        c
    }
}

/// What a new ticket records.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    pub tenant: TenantId,
    pub client: ClientId,
    pub board: BoardId,
    pub status: StatusId,
    pub priority: PriorityId,
    pub category: Option<CategoryId>,
    pub subcategory: Option<CategoryId>,
    pub title: &'a str,
    pub description: &'a str,
    pub entered_by: UserId,
    pub assigned_to: Option<UserId>,
    pub origin: TicketOrigin,
    pub response_state: Option<ResponseState>,
    pub due_at: Option<i64>,
}

/// A ticket as pages show it, with the names of what it refers to.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Ticket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub client_name: String,
    pub number: i64,
    pub prefix: String,
    pub board_id: BoardId,
    pub board_name: String,
    pub status_id: StatusId,
    pub status_name: String,
    pub status_closed: bool,
    pub priority_id: PriorityId,
    pub priority_name: String,
    pub priority_color: String,
    pub category_id: Option<CategoryId>,
    pub category_name: Option<String>,
    pub subcategory_id: Option<CategoryId>,
    pub subcategory_name: Option<String>,
    pub title: String,
    pub description: String,
    pub assigned_to: Option<UserId>,
    pub assignee_name: Option<String>,
    pub entered_by: UserId,
    pub entered_by_name: String,
    pub origin: TicketOrigin,
    pub response_state: Option<ResponseState>,
    pub due_at: Option<i64>,
    pub entered_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub closed_by_name: Option<String>,
}

impl Ticket {
    /// `TIC-1042`.
    pub fn display_number(&self) -> String {
        TicketNumber(self.number).display(&self.prefix)
    }
}

const SELECT: &str = "SELECT t.id, t.tenant_id, t.client_id, cl.name AS client_name, t.number, n.prefix, \
    t.board_id, b.name AS board_name, t.status_id, s.name AS status_name, s.is_closed AS status_closed, \
    t.priority_id, p.name AS priority_name, p.color AS priority_color, \
    t.category_id, c.name AS category_name, t.subcategory_id, sc.name AS subcategory_name, \
    t.title, t.description, t.assigned_to, a.display_name AS assignee_name, \
    t.entered_by, e.display_name AS entered_by_name, t.origin, t.response_state, t.due_at, \
    t.entered_at, t.updated_at, t.closed_at, cb.display_name AS closed_by_name \
    FROM tickets t \
    JOIN clients cl ON cl.tenant_id = t.tenant_id AND cl.id = t.client_id \
    JOIN ticket_numbers n ON n.tenant_id = t.tenant_id \
    JOIN boards b ON b.tenant_id = t.tenant_id AND b.id = t.board_id \
    JOIN ticket_statuses s ON s.tenant_id = t.tenant_id AND s.id = t.status_id \
    JOIN priorities p ON p.tenant_id = t.tenant_id AND p.id = t.priority_id \
    LEFT JOIN categories c ON c.tenant_id = t.tenant_id AND c.id = t.category_id \
    LEFT JOIN categories sc ON sc.tenant_id = t.tenant_id AND sc.id = t.subcategory_id \
    LEFT JOIN users a ON a.tenant_id = t.tenant_id AND a.id = t.assigned_to \
    JOIN users e ON e.tenant_id = t.tenant_id AND e.id = t.entered_by \
    LEFT JOIN users cb ON cb.tenant_id = t.tenant_id AND cb.id = t.closed_by";

/// Creates a ticket with the tenant's next number, in one transaction.
/// The board, status, priority and categories must be the tenant's (the
/// composite foreign keys refuse anything else).
pub async fn create(
    db: &Db,
    new: &NewTicket<'_>,
    now: UnixMillis,
) -> Result<(TicketId, TicketNumber), DbError> {
    let id = TicketId::generate();
    let mut tx = db.begin().await?;
    let number: i64 = on_tx!(&mut tx, |t| {
        sqlx::query_scalar(
        "UPDATE ticket_numbers SET next_number = next_number + 1 WHERE tenant_id = $1 RETURNING next_number - 1"
    )
    .bind(new.tenant)
    .fetch_one(&mut **t)
    .await
    })?;
    let sql = "INSERT INTO tickets (id, tenant_id, client_id, number, board_id, status_id, priority_id, \
               category_id, subcategory_id, title, description, assigned_to, entered_by, origin, response_state, \
               due_at, entered_at, updated_at, closed_at, closed_by) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, NULL, NULL)";
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(new.tenant)
        .bind(new.client)
        .bind(number)
        .bind(new.board)
        .bind(new.status)
        .bind(new.priority)
        .bind(new.category)
        .bind(new.subcategory)
        .bind(new.title)
        .bind(new.description)
        .bind(new.assigned_to)
        .bind(new.entered_by)
        .bind(new.origin)
        .bind(new.response_state)
        .bind(new.due_at)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    tx.commit().await?;
    Ok((id, TicketNumber(number)))
}

/// Which tickets by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    All,
    Open,
    Closed,
    Status(StatusId),
}

/// Who a staff queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    User(UserId),
}

/// The filters of a ticket list; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub state: StateFilter,
    pub priority: Option<PriorityId>,
    /// A category matches itself and its subcategories.
    pub category: Option<CategoryId>,
    /// Words of the title, or the number (`TIC-1042`, `1042`).
    pub text: Option<String>,
    /// Staff only: one client company.
    pub client: Option<ClientId>,
    /// Staff only.
    pub assignee: Option<AssigneeFilter>,
}

/// One page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// From 1.
    pub number: u32,
    pub size: u32,
}

impl Page {
    fn offset(self) -> i64 {
        i64::from(self.number.max(1) - 1) * i64::from(self.size)
    }
}

fn filter_conditions(reach: Reach, filter: &TicketFilter) -> Conditions {
    let mut c = reach.conditions();
    match filter.state {
        StateFilter::All => {}
        // The tenant's open (or closed) statuses as a list, so a count reads
        // only the `(tenant_id, client_id, status_id)` index ranges of those
        // statuses instead of joining every ticket to its status.
        StateFilter::Open => {
            c.add(Arg::Text(reach.tenant().to_string()), |p| {
                format!("t.status_id IN (SELECT st.id FROM ticket_statuses st WHERE st.tenant_id = {p} AND st.is_closed = FALSE)")
            });
        }
        StateFilter::Closed => {
            c.add(Arg::Text(reach.tenant().to_string()), |p| {
                format!("t.status_id IN (SELECT st.id FROM ticket_statuses st WHERE st.tenant_id = {p} AND st.is_closed = TRUE)")
            });
        }
        StateFilter::Status(status) => {
            c.add(Arg::Text(status.to_string()), |p| format!("t.status_id = {p}"));
        }
    }
    if let Some(priority) = filter.priority {
        c.add(Arg::Text(priority.to_string()), |p| {
            format!("t.priority_id = {p}")
        });
    }
    if let Some(category) = filter.category {
        c.add(Arg::Text(category.to_string()), |p| {
            format!("(t.category_id = {p} OR t.subcategory_id = {p})")
        });
    }
    if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // `TIC-1042` or `1042` (whatever the tenant's prefix) also finds by number.
        let digits = text.rsplit_once('-').map_or(text, |(_, d)| d);
        let number = (!digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<i64>().ok().map(TicketNumber))
            .flatten();
        let like = c.value(Arg::Text(contains_pattern(text)));
        match number {
            Some(n) => {
                let number = c.value(Arg::Int(n.0));
                c.raw(&format!(
                    "(lower(t.title) LIKE {like} ESCAPE '\\' OR t.number = {number})"
                ));
            }
            None => {
                c.raw(&format!("lower(t.title) LIKE {like} ESCAPE '\\'"));
            }
        }
    }
    if let (Reach::Staff { .. }, Some(client)) = (reach, filter.client) {
        c.add(Arg::Text(client.to_string()), |p| format!("t.client_id = {p}"));
    }
    match (reach, filter.assignee) {
        (Reach::Staff { .. }, Some(AssigneeFilter::Unassigned)) => {
            c.raw("t.assigned_to IS NULL");
        }
        (Reach::Staff { .. }, Some(AssigneeFilter::User(user))) => {
            c.add(Arg::Text(user.to_string()), |p| format!("t.assigned_to = {p}"));
        }
        _ => {}
    }
    c
}

/// Where the tickets that match `filter` are counted: the per-status
/// tallies the triggers keep (`ticket_counts`, a few rows a company) when the
/// filter asks only for a state and a company, which the tallies hold under
/// the same column names; otherwise the tickets themselves. Every field is
/// named, so a new filter must say which it needs.
fn count_source(filter: &TicketFilter) -> &'static str {
    let TicketFilter {
        state: _,
        client: _,
        priority,
        category,
        text,
        assignee,
    } = filter;
    let tallies_answer = priority.is_none()
        && category.is_none()
        && text.as_deref().is_none_or(|t| t.trim().is_empty())
        && assignee.is_none();
    if tallies_answer {
        // `SUM` is numeric on PostgreSQL, hence the cast.
        "CAST(COALESCE(SUM(t.tickets), 0) AS BIGINT) FROM ticket_counts t"
    } else {
        "COUNT(*) FROM tickets t"
    }
}

/// How many tickets `reach` sees that match `filter`.
async fn count(db: &Db, reach: Reach, filter: &TicketFilter) -> Result<i64, DbError> {
    let c = filter_conditions(reach, filter);
    let sql = format!("SELECT {} WHERE {}", count_source(filter), c.sql());
    Ok(on_pool!(db, |pool| bind_scalar(
        sqlx::query_scalar(&sql),
        c.args()
    )
    .fetch_one(pool)
    .await)?)
}

/// One page of the tickets `reach` sees that match `filter`, newest
/// activity first, and how many match in all.
pub async fn list(
    db: &Db,
    reach: Reach,
    filter: &TicketFilter,
    page: Page,
) -> Result<(Vec<Ticket>, i64), DbError> {
    let total = count(db, reach, filter).await?;
    let mut c = filter_conditions(reach, filter);
    let limit = c.value(Arg::Int(i64::from(page.size)));
    let offset = c.value(Arg::Int(page.offset()));
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY t.updated_at DESC, t.number DESC LIMIT {limit} OFFSET {offset}",
        c.sql()
    );
    let rows = on_pool!(db, |pool| bind_query_as(sqlx::query_as(&sql), c.args())
        .fetch_all(pool)
        .await)?;
    Ok((rows, total))
}

/// The ticket with `number`, if `reach` sees it.
pub async fn find(db: &Db, reach: Reach, number: TicketNumber) -> Result<Option<Ticket>, DbError> {
    let mut c = reach.conditions();
    c.add(Arg::Int(number.0), |p| format!("t.number = {p}"));
    let sql = format!("{SELECT} WHERE {}", c.sql());
    Ok(on_pool!(db, |pool| bind_query_as(
        sqlx::query_as(&sql),
        c.args()
    )
    .fetch_optional(pool)
    .await)?)
}

/// Moves a ticket to `status` (of its board), recording who closed it when
/// the status is a closed one and clearing that when it is not.
pub async fn set_status(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    status: StatusId,
    actor: UserId,
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "UPDATE tickets SET status_id = s.id, updated_at = $4, \
               closed_at = CASE WHEN s.is_closed THEN $4 ELSE NULL END, \
               closed_by = CASE WHEN s.is_closed THEN $5 ELSE NULL END \
               FROM ticket_statuses s \
               WHERE tickets.tenant_id = $1 AND tickets.id = $2 AND s.tenant_id = $1 AND s.id = $3 \
               AND s.board_id = tickets.board_id";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(ticket)
        .bind(status)
        .bind(now.0)
        .bind(actor)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(DbError::NotFound("status of this ticket's board"));
    }
    Ok(())
}

/// Changes what staff triage: priority and assignee.
pub async fn set_triage(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    priority: PriorityId,
    assigned_to: Option<UserId>,
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "UPDATE tickets SET priority_id = $3, assigned_to = $4, updated_at = $5 \
               WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(ticket)
        .bind(priority)
        .bind(assigned_to)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Records who must answer next (and that the ticket changed).
pub async fn set_response_state(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    state: Option<ResponseState>,
    now: UnixMillis,
) -> Result<(), DbError> {
    let sql = "UPDATE tickets SET response_state = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(ticket)
        .bind(state)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// How many of a client's tickets are open (not in a closed status).
pub async fn open_count(db: &Db, tenant: TenantId, client: ClientId) -> Result<i64, DbError> {
    let open = TicketFilter {
        state: StateFilter::Open,
        ..TicketFilter::default()
    };
    count(db, Reach::Client { tenant, client }, &open).await
}

/// Every ticket of a tenant for operators (`porta ticket list`), newest first.
pub async fn list_for_tenant(db: &Db, tenant: TenantId, limit: i64) -> Result<Vec<Ticket>, DbError> {
    let sql = format!("{SELECT} WHERE t.tenant_id = $1 ORDER BY t.number DESC LIMIT $2");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}
