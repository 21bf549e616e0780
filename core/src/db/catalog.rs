//! What tickets are filed under: a tenant's boards, each with its ordered
//! statuses (one the default for new tickets, some closed) and its
//! two-level categories, and the tenant's priorities with their colours.
//! A new tenant starts with [`DEFAULT_BOARD`], [`DEFAULT_STATUSES`] and
//! [`DEFAULT_PRIORITIES`] (the migration that introduced them gave existing
//! tenants the same).

use sqlx::FromRow;

use super::{changes, Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::{BoardId, CategoryId, PriorityId, StatusId, TenantId};
use crate::{on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Board {
    pub id: BoardId,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub display_order: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Status {
    pub id: StatusId,
    pub board_id: BoardId,
    pub name: String,
    pub is_closed: bool,
    pub is_default: bool,
    pub order_number: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Priority {
    pub id: PriorityId,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub order_number: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Category {
    pub id: CategoryId,
    pub board_id: BoardId,
    /// `None` for a category, the category for a subcategory.
    pub parent_id: Option<CategoryId>,
    pub name: String,
    pub order_number: i32,
}

impl Category {
    /// Whether this is a subcategory of `parent`.
    pub fn is_child_of(&self, parent: &Category) -> bool {
        self.parent_id == Some(parent.id)
    }
}

/// Everything of one tenant's catalog, for forms and filters.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub boards: Vec<Board>,
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub categories: Vec<Category>,
}

impl Catalog {
    pub fn board(&self, id: BoardId) -> Option<&Board> {
        self.boards.iter().find(|b| b.id == id)
    }

    pub fn status(&self, id: StatusId) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub fn priority(&self, id: PriorityId) -> Option<&Priority> {
        self.priorities.iter().find(|p| p.id == id)
    }

    pub fn category(&self, id: CategoryId) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The default board (the first if none is marked).
    pub fn default_board(&self) -> Option<&Board> {
        self.boards.iter().find(|b| b.is_default).or(self.boards.first())
    }

    /// The status new tickets of `board` start in.
    pub fn default_status(&self, board: BoardId) -> Option<&Status> {
        let mut of_board = self.statuses.iter().filter(|s| s.board_id == board);
        let first = of_board.clone().next();
        of_board.find(|s| s.is_default).or(first)
    }

    /// The first closed status of `board` (what "close" moves a ticket to),
    /// and the first open one after the default ("reopen").
    pub fn closing_status(&self, board: BoardId) -> Option<&Status> {
        self.statuses.iter().find(|s| s.board_id == board && s.is_closed)
    }

    pub fn reopening_status(&self, board: BoardId) -> Option<&Status> {
        self.statuses
            .iter()
            .find(|s| s.board_id == board && !s.is_closed && !s.is_default)
            .or_else(|| self.default_status(board))
    }

    /// The middle priority (for new tickets without a choice).
    pub fn default_priority(&self) -> Option<&Priority> {
        self.priorities.get(self.priorities.len().saturating_sub(1) / 2)
    }

    /// Top-level categories of `board`.
    pub fn top_categories(&self, board: BoardId) -> impl Iterator<Item = &Category> {
        self.categories
            .iter()
            .filter(move |c| c.board_id == board && c.parent_id.is_none())
    }

    pub fn subcategories(&self, parent: CategoryId) -> impl Iterator<Item = &Category> {
        self.categories
            .iter()
            .filter(move |c| c.parent_id == Some(parent))
    }
}

/// The board every tenant starts with.
pub const DEFAULT_BOARD: (&str, &str) = ("Support", "Questions and problems");
/// Its statuses: name, closed, default.
pub const DEFAULT_STATUSES: &[(&str, bool, bool)] = &[
    ("New", false, true),
    ("In progress", false, false),
    ("Waiting on client", false, false),
    ("Resolved", true, false),
    ("Closed", true, false),
];
/// The priorities every tenant starts with: name and colour.
pub const DEFAULT_PRIORITIES: &[(&str, &str)] = &[
    ("Low", "#64748b"),
    ("Medium", "#2563eb"),
    ("High", "#d97706"),
    ("Critical", "#dc2626"),
];

/// Creates the default catalog and the ticket number counter of a new
/// tenant, inside its creation transaction.
pub(crate) async fn create_defaults(tx: &mut DbTx, tenant: TenantId) -> Result<(), DbError> {
    let now = UnixMillis::now().0;
    let board = BoardId::generate();
    on_tx!(&mut *tx, |t| sqlx::query(
        "INSERT INTO boards (id, tenant_id, name, description, is_default, display_order, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, 1, $5)"
    )
    .bind(board)
    .bind(tenant)
    .bind(DEFAULT_BOARD.0)
    .bind(DEFAULT_BOARD.1)
    .bind(now)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    for (order, (name, closed, default)) in DEFAULT_STATUSES.iter().enumerate() {
        on_tx!(&mut *tx, |t| {
            sqlx::query(
            "INSERT INTO ticket_statuses (id, tenant_id, board_id, name, is_closed, is_default, order_number) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(StatusId::generate())
        .bind(tenant)
        .bind(board)
        .bind(*name)
        .bind(*closed)
        .bind(*default)
        .bind(i32::try_from(order + 1).unwrap_or(i32::MAX))
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
    }
    for (order, (name, color)) in DEFAULT_PRIORITIES.iter().enumerate() {
        on_tx!(&mut *tx, |t| sqlx::query(
            "INSERT INTO priorities (id, tenant_id, name, color, order_number) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(PriorityId::generate())
        .bind(tenant)
        .bind(*name)
        .bind(*color)
        .bind(i32::try_from(order + 1).unwrap_or(i32::MAX))
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    }
    on_tx!(&mut *tx, |t| sqlx::query(
        "INSERT INTO ticket_numbers (tenant_id, prefix, next_number) VALUES ($1, 'TIC', 1001)"
    )
    .bind(tenant)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The tenant's whole catalog, in display order.
pub async fn load(db: &Db, tenant: TenantId) -> Result<Catalog, DbError> {
    let boards = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, name, description, is_default, display_order FROM boards \
         WHERE tenant_id = $1 ORDER BY display_order, name"
    )
    .bind(tenant)
    .fetch_all(pool)
    .await)?;
    let statuses = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, board_id, name, is_closed, is_default, order_number FROM ticket_statuses \
         WHERE tenant_id = $1 ORDER BY board_id, order_number"
    )
    .bind(tenant)
    .fetch_all(pool)
    .await)?;
    let priorities = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, name, color, order_number FROM priorities WHERE tenant_id = $1 ORDER BY order_number"
    )
    .bind(tenant)
    .fetch_all(pool)
    .await)?;
    let categories = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, board_id, parent_id, name, order_number FROM categories \
         WHERE tenant_id = $1 ORDER BY order_number, name"
    )
    .bind(tenant)
    .fetch_all(pool)
    .await)?;
    Ok(Catalog {
        boards,
        statuses,
        priorities,
        categories,
    })
}

/// Adds a board (demo data, tests, staff settings). Like every catalogue
/// change, it records a tenant change in its transaction, so caches of the
/// catalogue on every node forget it.
pub async fn create_board(
    db: &Db,
    tenant: TenantId,
    name: &str,
    description: &str,
    display_order: i32,
) -> Result<BoardId, DbError> {
    let id = BoardId::generate();
    let now = UnixMillis::now();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "INSERT INTO boards (id, tenant_id, name, description, is_default, display_order, created_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $6)"
    )
    .bind(id)
    .bind(tenant)
    .bind(name)
    .bind(description)
    .bind(display_order)
    .bind(now.0)
    .execute(&mut **t)
    .await
    .map(|_| ()))
    .map_err(DbError::conflict_as("board"))?;
    changes::record_tenant(&mut tx, tenant, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a status to a board.
pub async fn create_status(
    db: &Db,
    tenant: TenantId,
    board: BoardId,
    name: &str,
    is_closed: bool,
    is_default: bool,
    order_number: i32,
) -> Result<StatusId, DbError> {
    let id = StatusId::generate();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "INSERT INTO ticket_statuses (id, tenant_id, board_id, name, is_closed, is_default, order_number) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(id)
    .bind(tenant)
    .bind(board)
    .bind(name)
    .bind(is_closed)
    .bind(is_default)
    .bind(order_number)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    changes::record_tenant(&mut tx, tenant, UnixMillis::now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds a category (`parent` `None`) or subcategory to a board.
pub async fn create_category(
    db: &Db,
    tenant: TenantId,
    board: BoardId,
    parent: Option<CategoryId>,
    name: &str,
    order_number: i32,
) -> Result<CategoryId, DbError> {
    let id = CategoryId::generate();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "INSERT INTO categories (id, tenant_id, board_id, parent_id, name, order_number) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(id)
    .bind(tenant)
    .bind(board)
    .bind(parent)
    .bind(name)
    .bind(order_number)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    changes::record_tenant(&mut tx, tenant, UnixMillis::now()).await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(board: BoardId, name: &str, closed: bool, default: bool, order: i32) -> Status {
        Status {
            id: StatusId::generate(),
            board_id: board,
            name: name.into(),
            is_closed: closed,
            is_default: default,
            order_number: order,
        }
    }

    #[test]
    fn defaults_closing_and_reopening_come_from_the_board() {
        let board = BoardId::generate();
        let other = BoardId::generate();
        let catalog = Catalog {
            statuses: vec![
                status(other, "Other", false, true, 1),
                status(board, "New", false, true, 1),
                status(board, "Working", false, false, 2),
                status(board, "Done", true, false, 3),
            ],
            ..Catalog::default()
        };
        assert_eq!(catalog.default_status(board).unwrap().name, "New");
        assert_eq!(catalog.closing_status(board).unwrap().name, "Done");
        assert_eq!(catalog.reopening_status(board).unwrap().name, "Working");
        assert!(catalog.closing_status(other).is_none());
    }
}
