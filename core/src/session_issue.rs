//! Creating a session: the server-side row, the signed token and the cookie.
//! Used by the portal after a password sign-in and by the edge after a
//! one-time-token exchange, so both produce exactly the same thing.

use cookie::Cookie;

use crate::clock::UnixMillis;
use crate::db::sessions::{self, NewSession, Session};
use crate::db::{Db, DbError};
use crate::host::HostName;
use crate::ids::{SessionId, TenantId, UserId};
use crate::session_cookie::{session_cookie, Transport};
use crate::session_token::{SessionClaims, SessionKeys, TokenError};
use crate::user_type::UserType;

/// Who the session is for and where.
#[derive(Debug, Clone)]
pub struct SessionRequest<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    pub user_type: UserType,
    pub host: &'a HostName,
    pub transport: Transport,
    pub ttl_seconds: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// `password` or `ott`.
    pub login_method: &'a str,
    /// The canonical-host session a handoff session came from.
    pub parent: Option<SessionId>,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// The new session and the cookie that carries its token.
pub struct IssuedSession {
    pub session: Session,
    pub cookie: Cookie<'static>,
}

/// Creates the session's row (one statement) and signs its cookie.
pub async fn issue(
    db: &Db,
    keys: &SessionKeys,
    request: &SessionRequest<'_>,
) -> Result<IssuedSession, IssueError> {
    let now = UnixMillis::now();
    let expires_at = now.plus_seconds(request.ttl_seconds);
    let session = sessions::create(
        db,
        &NewSession {
            tenant: request.tenant,
            user: request.user,
            host: request.host.as_str(),
            expires_at,
            ip: request.ip,
            user_agent: request.user_agent,
            login_method: request.login_method,
            parent: request.parent,
        },
        now,
    )
    .await?;
    let cookie = cookie_for(keys, &session, request.user_type, request.transport)?;
    Ok(IssuedSession { session, cookie })
}

/// The cookie carrying the signed token of `session` (a row just created,
/// here or by the one-time-token exchange), for a user of `user_type`.
pub fn cookie_for(
    keys: &SessionKeys,
    session: &Session,
    user_type: UserType,
    transport: Transport,
) -> Result<Cookie<'static>, TokenError> {
    let claims = SessionClaims {
        sub: session.user_id,
        tenant: session.tenant_id,
        user_type,
        sid: session.id,
        host: session.host.clone(),
        iat: UnixMillis(session.created_at).as_seconds(),
        exp: UnixMillis(session.expires_at).as_seconds(),
        nbf: None,
    };
    let token = keys.sign(&claims)?;
    let ttl_seconds = (session.expires_at - session.created_at) / 1000;
    Ok(session_cookie(token, transport, ttl_seconds))
}
