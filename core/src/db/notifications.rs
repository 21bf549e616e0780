//! In-app notifications and what each user wants to hear about.
//!
//! A ticket event ([`NotificationKind`]) notifies the client users of the
//! ticket's company and its assigned staff member, except whoever caused
//! it, each as their preferences say (no row: on). Events about internal
//! notes are never notified to clients (callers only notify public events).

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::email::EmailAddress;
use crate::ids::{NotificationId, TenantId, TicketId, UserId};
use crate::ticket::NotificationKind;
use crate::user_type::UserType;
use crate::{on_pool, on_tx};

/// Someone a notification goes to, and how.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Recipient {
    pub user_id: UserId,
    pub user_type: UserType,
    pub display_name: String,
    pub address: EmailAddress,
    pub in_app: bool,
    pub email: bool,
    /// The language for their letters: their own, else their company's,
    /// else the tenant's (empty: none chosen anywhere).
    pub locale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub ticket_number: Option<i64>,
    pub prefix: String,
    pub summary: String,
    pub read_at: Option<i64>,
    pub created_at: i64,
}

/// Who hears of `kind` on `ticket` when `actor` caused it.
pub async fn recipients(
    db: &Db,
    tenant: TenantId,
    ticket: TicketId,
    kind: NotificationKind,
    actor: UserId,
) -> Result<Vec<Recipient>, DbError> {
    let sql = "SELECT u.id AS user_id, u.user_type, u.display_name, u.email AS address, \
               COALESCE(np.in_app, TRUE) AS in_app, COALESCE(np.email, TRUE) AS email, \
               CASE WHEN u.locale <> '' THEN u.locale WHEN COALESCE(c.default_locale, '') <> '' THEN c.default_locale \
                    ELSE COALESCE(b.default_locale, '') END AS locale \
               FROM tickets t JOIN users u ON u.tenant_id = t.tenant_id \
               LEFT JOIN clients c ON c.tenant_id = u.tenant_id AND c.id = u.client_id \
               LEFT JOIN branding b ON b.tenant_id = u.tenant_id \
               LEFT JOIN notification_preferences np \
                   ON np.tenant_id = u.tenant_id AND np.user_id = u.id AND np.kind = $4 \
               WHERE t.tenant_id = $1 AND t.id = $2 AND u.disabled = FALSE AND u.id <> $3 \
               AND ((u.user_type = 'client' AND u.client_id = t.client_id) OR u.id = t.assigned_to) \
               ORDER BY u.id";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(ticket)
        .bind(actor)
        .bind(kind)
        .fetch_all(pool)
        .await)?)
}

/// Records `kind` on `ticket`, inside `tx` (with the mail the caller
/// writes for those who want it), for every recipient who wants it in the
/// app; returns all recipients.
#[allow(clippy::too_many_arguments)]
pub async fn notify(
    db: &Db,
    tx: &mut DbTx,
    tenant: TenantId,
    ticket: TicketId,
    kind: NotificationKind,
    actor: UserId,
    summary: &str,
    now: UnixMillis,
) -> Result<Vec<Recipient>, DbError> {
    let everyone = recipients(db, tenant, ticket, kind, actor).await?;
    let summary: String = summary.chars().take(300).collect();
    for recipient in everyone.iter().filter(|r| r.in_app) {
        let sql = "INSERT INTO notifications (id, tenant_id, user_id, kind, ticket_id, actor_id, summary, read_at, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)";
        on_tx!(&mut *tx, |t| sqlx::query(sql)
            .bind(NotificationId::generate())
            .bind(tenant)
            .bind(recipient.user_id)
            .bind(kind)
            .bind(ticket)
            .bind(actor)
            .bind(&summary)
            .bind(now.0)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
    }
    Ok(everyone)
}

/// A page of the user's notifications, newest first, and how many in all.
pub async fn list(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Notification>, i64), DbError> {
    let sql = "SELECT n.id, n.kind, t.number AS ticket_number, COALESCE(tn.prefix, 'TIC') AS prefix, n.summary, \
               n.read_at, n.created_at \
               FROM notifications n \
               LEFT JOIN tickets t ON t.tenant_id = n.tenant_id AND t.id = n.ticket_id \
               LEFT JOIN ticket_numbers tn ON tn.tenant_id = n.tenant_id \
               WHERE n.tenant_id = $1 AND n.user_id = $2 ORDER BY n.created_at DESC, n.id DESC LIMIT $3 OFFSET $4";
    let rows = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?;
    let total: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2"
    )
    .bind(tenant)
    .bind(user)
    .fetch_one(pool)
    .await)?;
    Ok((rows, total))
}

/// One of the user's notifications.
pub async fn find(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    id: NotificationId,
) -> Result<Option<Notification>, DbError> {
    let sql =
        "SELECT n.id, n.kind, t.number AS ticket_number, COALESCE(tn.prefix, 'TIC') AS prefix, n.summary, \
               n.read_at, n.created_at \
               FROM notifications n \
               LEFT JOIN tickets t ON t.tenant_id = n.tenant_id AND t.id = n.ticket_id \
               LEFT JOIN ticket_numbers tn ON tn.tenant_id = n.tenant_id \
               WHERE n.tenant_id = $1 AND n.user_id = $2 AND n.id = $3";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

pub async fn unread_count(db: &Db, tenant: TenantId, user: UserId) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(user)
        .fetch_one(pool)
        .await)?)
}

/// Marks one of the user's notifications read; `false` if it is not theirs.
pub async fn mark_read(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    id: NotificationId,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let sql = "UPDATE notifications SET read_at = COALESCE(read_at, $4) WHERE tenant_id = $1 AND user_id = $2 AND id = $3";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(id)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed > 0)
}

pub async fn mark_all_read(db: &Db, tenant: TenantId, user: UserId, now: UnixMillis) -> Result<u64, DbError> {
    let sql =
        "UPDATE notifications SET read_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL";
    Ok(on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

/// One kind's wishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference {
    pub kind: NotificationKind,
    pub in_app: bool,
    pub email: bool,
}

#[derive(FromRow)]
struct PreferenceRow {
    kind: NotificationKind,
    in_app: bool,
    email: bool,
}

/// The user's wishes for every kind (a kind without a row is on).
pub async fn preferences(db: &Db, tenant: TenantId, user: UserId) -> Result<Vec<Preference>, DbError> {
    let sql =
        "SELECT kind, in_app, email FROM notification_preferences WHERE tenant_id = $1 AND user_id = $2";
    let rows: Vec<PreferenceRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user)
        .fetch_all(pool)
        .await)?;
    Ok(NotificationKind::ALL
        .iter()
        .map(|&kind| match rows.iter().find(|r| r.kind == kind) {
            Some(r) => Preference {
                kind,
                in_app: r.in_app,
                email: r.email,
            },
            None => Preference {
                kind,
                in_app: true,
                email: true,
            },
        })
        .collect())
}

/// Stores the user's wishes for the kinds given.
pub async fn set_preferences(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    wishes: &[Preference],
) -> Result<(), DbError> {
    let sql = "INSERT INTO notification_preferences (tenant_id, user_id, kind, in_app, email) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (tenant_id, user_id, kind) DO UPDATE SET in_app = $4, email = $5";
    for wish in wishes {
        on_pool!(db, |pool| sqlx::query(sql)
            .bind(tenant)
            .bind(user)
            .bind(wish.kind)
            .bind(wish.in_app)
            .bind(wish.email)
            .execute(pool)
            .await
            .map(|_| ()))?;
    }
    Ok(())
}

/// A new user's wishes from their company's defaults: the kinds in `on`
/// are on, the others off (in the app and by mail alike).
pub async fn apply_defaults(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    on: &[NotificationKind],
) -> Result<(), DbError> {
    let wishes: Vec<Preference> = NotificationKind::ALL
        .iter()
        .map(|&kind| Preference {
            kind,
            in_app: on.contains(&kind),
            email: on.contains(&kind),
        })
        .collect();
    set_preferences(db, tenant, user, &wishes).await
}
