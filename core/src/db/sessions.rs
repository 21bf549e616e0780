//! Server-side sessions: the row a session token's `sid` names. A token is
//! only honoured while its row is neither revoked nor expired.

use sqlx::FromRow;

use super::users::UserProfile;
use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{SessionId, TenantId, UserId};
use crate::on_pool;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Session {
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub host: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub login_method: String,
    pub parent_session_id: Option<SessionId>,
}

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    pub host: &'a str,
    pub expires_at: UnixMillis,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// `password`, `ott` (custom-domain handoff), ...
    pub login_method: &'a str,
    /// The canonical-host session a handoff session came from.
    pub parent: Option<SessionId>,
}

/// A session row's columns, in the order of every insert.
pub(super) const COLUMNS: &str = "id, tenant_id, user_id, host, created_at, expires_at, last_seen_at, \
                       revoked_at, revoked_reason, ip, user_agent, login_method, parent_session_id";

pub async fn create(db: &Db, new: &NewSession<'_>, now: UnixMillis) -> Result<Session, DbError> {
    let session = new_row(new, now);
    let sql = insert_sql();
    on_pool!(db, |pool| bind_row(sqlx::query(&sql), &session)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(session)
}

fn new_row(new: &NewSession<'_>, now: UnixMillis) -> Session {
    row_with_id(SessionId::generate(), new, now)
}

/// The row `new` makes at `now` under `id` (the exchange inserts it in SQL
/// of its own and describes it with this).
pub(super) fn row_with_id(id: SessionId, new: &NewSession<'_>, now: UnixMillis) -> Session {
    Session {
        id,
        tenant_id: new.tenant,
        user_id: new.user,
        host: new.host.to_owned(),
        created_at: now.0,
        expires_at: new.expires_at.0,
        last_seen_at: now.0,
        revoked_at: None,
        revoked_reason: None,
        ip: new.ip.map(bounded_ip),
        user_agent: new.user_agent.map(bounded_user_agent),
        login_method: new.login_method.to_owned(),
        parent_session_id: new.parent,
    }
}

/// A session's stored IP address, bounded.
pub(super) fn bounded_ip(ip: &str) -> String {
    ip.chars().take(64).collect()
}

/// A session's stored user agent, bounded: it is client-controlled.
pub(super) fn bounded_user_agent(agent: &str) -> String {
    agent.chars().take(512).collect()
}

fn insert_sql() -> String {
    format!(
        "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, $9, $10, $11)"
    )
}

/// Binds a new session's columns, in [`insert_sql`]'s order, on either backend.
fn bind_row<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    s: &'q Session,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    SessionId: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    TenantId: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    UserId: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<SessionId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(s.id)
        .bind(s.tenant_id)
        .bind(s.user_id)
        .bind(&s.host)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.last_seen_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(&s.login_method)
        .bind(s.parent_session_id)
}

/// The tenant's session `id` if it is live at `now` (not revoked, not
/// expired, its user not disabled).
pub async fn find_live(
    db: &Db,
    tenant: TenantId,
    id: SessionId,
    now: UnixMillis,
) -> Result<Option<Session>, DbError> {
    let sql = "SELECT s.id, s.tenant_id, s.user_id, s.host, s.created_at, s.expires_at, s.last_seen_at, \
               s.revoked_at, s.revoked_reason, s.ip, s.user_agent, s.login_method, s.parent_session_id \
               FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
               WHERE s.tenant_id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
               AND u.disabled = FALSE";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(id)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// A live session with its user, as one query reads them.
#[derive(FromRow)]
struct LiveRow {
    id: SessionId,
    tenant_id: TenantId,
    user_id: UserId,
    host: String,
    created_at: i64,
    expires_at: i64,
    last_seen_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    login_method: String,
    parent_session_id: Option<SessionId>,
    user_type: crate::user_type::UserType,
    email: crate::email::EmailAddress,
    display_name: String,
    client_id: Option<crate::ids::ClientId>,
    client_name: Option<String>,
    last_signin_at: Option<i64>,
    phone: String,
    time_zone: String,
    locale: String,
    client_locale: String,
    unread_notifications: i64,
}

/// A live session with its user and what the layout shows of them.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: Session,
    pub user: UserProfile,
    /// Unread in-app notifications (the bell).
    pub unread_notifications: i64,
    /// The default language of the user's company (empty: none).
    pub client_locale: String,
}

/// Like [`find_live`], with the session's user (their client company's
/// name, their unread notifications) in the same query: what every
/// signed-in request needs.
pub async fn find_live_with_user(
    db: &Db,
    tenant: TenantId,
    id: SessionId,
    now: UnixMillis,
) -> Result<Option<LiveSession>, DbError> {
    let sql = "SELECT s.id, s.tenant_id, s.user_id, s.host, s.created_at, s.expires_at, s.last_seen_at, \
               s.ip, s.user_agent, s.login_method, s.parent_session_id, \
               u.user_type, u.email, u.display_name, u.client_id, c.name AS client_name, u.last_signin_at, \
               u.phone, u.time_zone, u.locale, COALESCE(c.default_locale, '') AS client_locale, \
               (SELECT COUNT(*) FROM notifications n WHERE n.tenant_id = s.tenant_id AND n.user_id = s.user_id \
                AND n.read_at IS NULL) AS unread_notifications \
               FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
               LEFT JOIN clients c ON c.tenant_id = u.tenant_id AND c.id = u.client_id \
               WHERE s.tenant_id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
               AND u.disabled = FALSE";
    let row: Option<LiveRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(id)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|r| {
        let profile = UserProfile {
            id: r.user_id,
            tenant_id: r.tenant_id,
            user_type: r.user_type,
            email: r.email,
            display_name: r.display_name,
            client_id: r.client_id,
            client_name: r.client_name,
            disabled: false,
            last_signin_at: r.last_signin_at,
            phone: r.phone,
            time_zone: r.time_zone,
            locale: r.locale,
        };
        let session = Session {
            id: r.id,
            tenant_id: r.tenant_id,
            user_id: r.user_id,
            host: r.host,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_seen_at: r.last_seen_at,
            revoked_at: None,
            revoked_reason: None,
            ip: r.ip,
            user_agent: r.user_agent,
            login_method: r.login_method,
            parent_session_id: r.parent_session_id,
        };
        LiveSession {
            session,
            user: profile,
            unread_notifications: r.unread_notifications,
            client_locale: r.client_locale,
        }
    }))
}

/// How stale `last_seen_at` may get before a request writes it again.
pub const TOUCH_INTERVAL_MILLIS: i64 = 60_000;

/// Updates `last_seen_at`, at most once a minute per session so that page
/// views do not each cost a write.
pub async fn touch(db: &Db, tenant: TenantId, id: SessionId, now: UnixMillis) -> Result<(), DbError> {
    let sql = "UPDATE sessions SET last_seen_at = $3 \
               WHERE tenant_id = $1 AND id = $2 AND last_seen_at < $4";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(now.0)
        .bind(now.0 - TOUCH_INTERVAL_MILLIS)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Which sessions a revocation ends.
#[derive(Debug, Clone, Copy)]
enum Scope {
    One(SessionId),
    User(UserId),
    /// A canonical session and every handoff session of it (`root`), and
    /// `member` itself.
    Family {
        root: SessionId,
        member: SessionId,
    },
    /// Every session of `user` outside the family of `root`.
    OthersOf {
        user: UserId,
        root: SessionId,
    },
}

impl Scope {
    /// The condition on `sessions`, its placeholders numbered from `first`.
    fn predicate(self, first: usize) -> String {
        let (a, b) = (first, first + 1);
        match self {
            Scope::One(_) => format!("id = ${a}"),
            Scope::User(_) => format!("user_id = ${a}"),
            Scope::Family { .. } => format!("(id = ${a} OR parent_session_id = ${a} OR id = ${b})"),
            Scope::OthersOf { .. } => format!(
                "user_id = ${a} AND id <> ${b} AND (parent_session_id IS NULL OR parent_session_id <> ${b})"
            ),
        }
    }

    fn bind<'q, DB: sqlx::Database>(
        self,
        query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        SessionId: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        UserId: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        match self {
            Scope::One(id) => query.bind(id),
            Scope::User(user) => query.bind(user),
            Scope::Family { root, member } => query.bind(root).bind(member),
            Scope::OthersOf { user, root } => query.bind(user).bind(root),
        }
    }
}

/// Revokes the live sessions in `scope` and, in the same transaction,
/// invalidates the one-time tokens they issued (a handoff must not outlive
/// the session that asked for it). Returns how many sessions were live.
async fn revoke_scope(
    db: &Db,
    tenant: TenantId,
    scope: Scope,
    reason: &str,
    now: UnixMillis,
) -> Result<u64, DbError> {
    let sessions_sql = format!(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
         WHERE tenant_id = $1 AND revoked_at IS NULL AND {}",
        scope.predicate(4)
    );
    let tokens_sql = format!(
        "UPDATE portal_domain_otts SET consumed_at = $2 \
         WHERE tenant_id = $1 AND consumed_at IS NULL \
         AND issuing_session_id IN (SELECT id FROM sessions WHERE tenant_id = $1 AND {})",
        scope.predicate(3)
    );
    let mut tx = db.begin().await?;
    let revoked = crate::on_tx!(&mut tx, |t| scope
        .bind(sqlx::query(&sessions_sql).bind(tenant).bind(now.0).bind(reason))
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    crate::on_tx!(&mut tx, |t| scope
        .bind(sqlx::query(&tokens_sql).bind(tenant).bind(now.0))
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    tx.commit().await?;
    Ok(revoked)
}

/// Revokes one session; returns whether it was live.
pub async fn revoke(
    db: &Db,
    tenant: TenantId,
    id: SessionId,
    reason: &str,
    now: UnixMillis,
) -> Result<bool, DbError> {
    Ok(revoke_scope(db, tenant, Scope::One(id), reason, now).await? > 0)
}

/// Revokes every live session of a user ("sign out everywhere"); returns
/// how many.
pub async fn revoke_all_for_user(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    reason: &str,
    now: UnixMillis,
) -> Result<u64, DbError> {
    revoke_scope(db, tenant, Scope::User(user), reason, now).await
}

pub async fn get(db: &Db, tenant: TenantId, id: SessionId) -> Result<Option<Session>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await)?)
}

/// Revokes a session together with the sessions it is tied to by the
/// custom-domain handoff: its canonical parent, and every handoff session
/// of that parent. Returns how many were live.
pub async fn revoke_family(
    db: &Db,
    session: &Session,
    reason: &str,
    now: UnixMillis,
) -> Result<u64, DbError> {
    let root = session.parent_session_id.unwrap_or(session.id);
    let scope = Scope::Family {
        root,
        member: session.id,
    };
    revoke_scope(db, session.tenant_id, scope, reason, now).await
}

/// Revokes every session of the user but `keep` and the handoff sessions
/// tied to it ("sign out everywhere else"); returns how many were live.
pub async fn revoke_others(db: &Db, keep: &Session, reason: &str, now: UnixMillis) -> Result<u64, DbError> {
    let root = keep.parent_session_id.unwrap_or(keep.id);
    let scope = Scope::OthersOf {
        user: keep.user_id,
        root,
    };
    revoke_scope(db, keep.tenant_id, scope, reason, now).await
}

/// The user's live sessions, most recently seen first.
pub async fn live_for_user(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    now: UnixMillis,
) -> Result<Vec<Session>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL \
         AND expires_at > $3 ORDER BY last_seen_at DESC, created_at DESC"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(user)
        .bind(now.0)
        .fetch_all(pool)
        .await)?)
}
