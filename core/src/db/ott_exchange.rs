//! The one-time-token exchange as one write: spend the token, create the
//! custom domain's session and record the audit row, atomically, in one
//! round trip to the database.
//!
//! On PostgreSQL that is one statement (data-modifying `WITH` clauses, its
//! own transaction); on SQLite, which has no data-modifying `WITH`, one
//! script run by sqlx's worker thread as a single command (`BEGIN
//! IMMEDIATE` to `COMMIT`, see [`super::sqlite_script`]). Before, the
//! exchange was five round trips (`BEGIN`, the consume, the session, the
//! audit row, `COMMIT`), each a send, a receive and a task wake-up on both
//! sides: what set its rate (`docs/performance.md`).
//!
//! The token is spent exactly as [`super::otts::consume`] spends it (the
//! same condition, [`super::otts::CONSUMABLE`]), and only while the domain
//! has the status the caller's checks passed on; a session is created only
//! when it was spent and its user's type is still the one the token was
//! issued for. Either way one `handoff` audit row says what happened,
//! unless the domain's status had changed (then nothing is written).

use sqlx::FromRow;

use super::sessions::{self, NewSession, Session};
use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::domain_status::DomainStatus;
use crate::ids::{PortalDomainId, SessionId, TenantId, UserId};
use crate::ott::{BindingHash, OttHash, SessionSnapshot};
use crate::user_type::UserType;

/// One exchange: the token and the browser that presents it, and the
/// session it buys.
#[derive(Debug, Clone)]
pub struct OttExchange<'a> {
    pub hash: &'a OttHash,
    /// The browser's handoff nonce, hashed.
    pub binding: &'a BindingHash,
    pub tenant: TenantId,
    pub domain: PortalDomainId,
    /// The status the domain's checks passed on (`active`, as the host
    /// cache knows it, or a pending one whose CNAME was just checked): the
    /// write does nothing, not even the audit row, unless the domain still
    /// has it.
    pub domain_status: DomainStatus,
    /// The custom domain's name: the session's host and the audit row's
    /// subject.
    pub host: &'a str,
    pub session_expires_at: UnixMillis,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: UnixMillis,
}

/// A successful exchange: the new session and what the token carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedOff {
    pub session: Session,
    pub user_type: UserType,
    pub snapshot: SessionSnapshot,
    pub next_path: String,
}

#[derive(FromRow)]
struct HandedOffRow {
    user_id: UserId,
    user_type: UserType,
    session_snapshot: String,
    next_path: String,
    parent_session_id: Option<SessionId>,
}

/// What the audit row of a refused exchange says.
const REFUSED_DETAIL: &str = r#"{"reason":"invalid_or_expired"}"#;

/// Runs the exchange: `Some` when this caller spent the token and its
/// session now exists, `None` when the token does not match (unknown,
/// spent, expired, another domain's, tenant's or browser's; its issuing
/// session revoked; its user disabled), its user's type changed since it
/// was issued, or the domain's status is no longer `domain_status` (then
/// nothing is written). Of concurrent callers with one token, on any node,
/// at most one gets `Some`. An error leaves nothing written.
pub async fn exchange(db: &Db, ex: &OttExchange<'_>) -> Result<Option<HandedOff>, DbError> {
    let values = Values::of(ex);
    let row: Option<HandedOffRow> = match db {
        Db::Postgres(pool) => {
            bind_values!(sqlx::query_as(&POSTGRES), values)
                .fetch_optional(pool)
                .await?
        }
        Db::Sqlite(pool) => super::sqlite_script(pool, bind_values!(sqlx::query(&SQLITE), values))
            .await?
            .into_iter()
            .next()
            .map(|row| HandedOffRow::from_row(&row))
            .transpose()?,
    };
    let Some(row) = row else { return Ok(None) };
    let snapshot = serde_json::from_str(&row.session_snapshot)
        .map_err(|e| DbError::Invalid(format!("stored session snapshot: {e}")))?;
    let session = sessions::row_with_id(
        values.session_id,
        &NewSession {
            tenant: ex.tenant,
            user: row.user_id,
            host: ex.host,
            expires_at: ex.session_expires_at,
            ip: ex.ip,
            user_agent: ex.user_agent,
            login_method: LOGIN_METHOD,
            parent: row.parent_session_id,
        },
        ex.now,
    );
    Ok(Some(HandedOff {
        session,
        user_type: row.user_type,
        snapshot,
        next_path: row.next_path,
    }))
}

/// The new session's `login_method`.
const LOGIN_METHOD: &str = "ott";

/// The bound values, `$1` to `$14` in this order.
struct Values<'a> {
    ex: &'a OttExchange<'a>,
    hash: Vec<u8>,
    binding: Vec<u8>,
    session_id: SessionId,
    audit_id: String,
    // Bounded as every session's are (the audit row's bound on a user
    // agent is the same 512 characters).
    ip: Option<String>,
    user_agent: Option<String>,
}

impl<'a> Values<'a> {
    fn of(ex: &'a OttExchange<'a>) -> Values<'a> {
        Values {
            ex,
            hash: ex.hash.0.to_vec(),
            binding: ex.binding.0.to_vec(),
            session_id: SessionId::generate(),
            audit_id: uuid::Uuid::new_v4().to_string(),
            ip: ex.ip.map(sessions::bounded_ip),
            user_agent: ex.user_agent.map(sessions::bounded_user_agent),
        }
    }
}

/// Binds [`Values`] in placeholder order (a macro: the two backends' query
/// types differ).
macro_rules! bind_values {
    ($query:expr, $v:expr) => {
        $query
            .bind(&$v.hash)
            .bind($v.ex.now.0)
            .bind($v.ex.tenant)
            .bind($v.ex.domain)
            .bind(&$v.binding)
            .bind($v.session_id)
            .bind($v.ex.host)
            .bind($v.ex.session_expires_at.0)
            .bind(&$v.ip)
            .bind(&$v.user_agent)
            .bind(&$v.audit_id)
            .bind(REFUSED_DETAIL)
            .bind(LOGIN_METHOD)
            .bind($v.ex.domain_status.as_str())
    };
}
use bind_values;

/// The domain (`$4` of tenant `$3`) still has the status its checks
/// passed on (`$14`).
const DOMAIN_KEPT: &str = "EXISTS (SELECT 1 FROM portal_domains d \
                           WHERE d.id = $4 AND d.tenant_id = $3 AND d.status = $14)";

const AUDIT_COLUMNS: &str = "id, tenant_id, actor_user_id, action, outcome, subject, ip, user_agent, \
                             detail, created_at";

/// PostgreSQL: one statement. `spent` is the consume; `created` inserts
/// the session from it when the user's type is the snapshot's; `audit`
/// always inserts one row, a success when `created` did; the statement returns a row only
/// for a created session.
static POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH spent AS (\
             UPDATE portal_domain_otts SET consumed_at = $2 WHERE {consumable} AND {domain_kept} \
             RETURNING user_id, session_snapshot, next_path, \
                 (SELECT u.user_type FROM users u WHERE u.tenant_id = portal_domain_otts.tenant_id \
                     AND u.id = portal_domain_otts.user_id) AS user_type), \
         created AS (\
             INSERT INTO sessions ({session_columns}) \
             SELECT $6, $3, user_id, $7, $2, $8, $2, NULL, NULL, $9, $10, $13, \
                 session_snapshot::json ->> 'canonical_session_id' \
             FROM spent WHERE user_type = session_snapshot::json ->> 'user_type' \
             RETURNING user_id, parent_session_id), \
         audit AS (\
             INSERT INTO audit_log ({AUDIT_COLUMNS}) \
             SELECT $11, $3, s.user_id, 'handoff', \
                 CASE WHEN s.user_id IS NULL THEN 'failure' ELSE 'success' END, $7, $9, $10, \
                 CASE WHEN s.user_id IS NULL THEN $12 END, $2 \
             FROM (SELECT 1) AS one LEFT JOIN created s ON TRUE WHERE {domain_kept}) \
         SELECT spent.user_id, spent.user_type, spent.session_snapshot, spent.next_path, \
             created.parent_session_id \
         FROM spent JOIN created ON TRUE",
        consumable = super::otts::CONSUMABLE,
        domain_kept = DOMAIN_KEPT,
        session_columns = sessions::COLUMNS,
    )
});

/// SQLite: one script, one transaction. The session is inserted only when
/// the consume changed a row (`changes()`, of the statement just before)
/// and the user's type is the snapshot's; the audit row's outcome is
/// whether the session exists; the closing `SELECT` returns a row only for
/// a created session.
static SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "BEGIN IMMEDIATE; \
         UPDATE portal_domain_otts SET consumed_at = $2 WHERE {consumable} AND {domain_kept}; \
         INSERT INTO sessions ({session_columns}) \
             SELECT $6, $3, o.user_id, $7, $2, $8, $2, NULL, NULL, $9, $10, $13, \
                 json_extract(o.session_snapshot, '$.canonical_session_id') \
             FROM portal_domain_otts o JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id \
             WHERE changes() = 1 AND o.token_hash = $1 \
                 AND u.user_type = json_extract(o.session_snapshot, '$.user_type'); \
         INSERT INTO audit_log ({AUDIT_COLUMNS}) \
             SELECT $11, $3, s.user_id, 'handoff', \
                 CASE WHEN s.id IS NULL THEN 'failure' ELSE 'success' END, $7, $9, $10, \
                 CASE WHEN s.id IS NULL THEN $12 END, $2 \
             FROM (SELECT 1) LEFT JOIN sessions s ON s.id = $6 WHERE {domain_kept}; \
         SELECT o.user_id, u.user_type, o.session_snapshot, o.next_path, s.parent_session_id \
             FROM sessions s JOIN portal_domain_otts o ON o.token_hash = $1 \
             JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.user_id \
             WHERE s.id = $6; \
         COMMIT;",
        consumable = super::otts::CONSUMABLE,
        domain_kept = DOMAIN_KEPT,
        session_columns = sessions::COLUMNS,
    )
});
