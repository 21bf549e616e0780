//! Sessions on the portal side: reading the cookie into a [`SignedIn`], and
//! minting a new session (row + token + cookie) after a sign-in.
//!
//! A request is signed in only when all of these hold: the cookie carries a
//! token whose signature, key id, expiry and host verify; its tenant is the
//! host's tenant; its session row is live (not revoked, not expired, user
//! not disabled) and belongs to the token's user. Anything else is simply
//! "no session".

use axum::http::{header, HeaderMap};
use porta_core::clock::UnixMillis;
use porta_core::db::roles;
use porta_core::db::sessions::{self, Session};
use porta_core::db::users::{self, UserProfile};
use porta_core::ids::UserId;
use porta_core::session_cookie::find_session_token;
use porta_core::session_issue::{self, IssuedSession, SessionRequest};
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::site::Site;
use crate::state::AppState;

/// A verified, live session and who it belongs to.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub profile: UserProfile,
    pub roles: Vec<String>,
    /// `resource:action` permissions through all the user's roles.
    pub permissions: Vec<String>,
}

impl SignedIn {
    pub fn can(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

/// All `Cookie` headers joined (HTTP/2 may send several).
fn cookie_header(headers: &HeaderMap) -> String {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The signed-in user of this request, if any.
pub async fn current(
    state: &AppState,
    site: &Site,
    headers: &HeaderMap,
) -> Result<Option<SignedIn>, AppError> {
    let Some(token) = find_session_token(&cookie_header(headers), site.transport) else {
        return Ok(None);
    };
    let now = UnixMillis::now();
    let claims = match state.keys.verify(&token, &site.host, now) {
        Ok(claims) => claims,
        Err(reason) => {
            tracing::debug!(%reason, "session token refused");
            return Ok(None);
        }
    };
    if claims.tenant != site.tenant.id {
        tracing::debug!("session token of another tenant refused");
        return Ok(None);
    }
    let tenant = site.tenant.id;
    let Some(session) = sessions::find_live(&state.db, tenant, claims.sid, now).await? else {
        tracing::debug!("session revoked, expired or unknown");
        return Ok(None);
    };
    if session.user_id != claims.sub || session.host != site.host.as_str() {
        return Ok(None);
    }
    let Some(profile) = users::profile(&state.db, tenant, claims.sub).await? else {
        return Ok(None);
    };
    if profile.user_type != claims.user_type {
        return Ok(None);
    }
    sessions::touch(&state.db, tenant, session.id, now).await?;
    let roles = roles::role_names(&state.db, tenant, profile.id).await?;
    let permissions = roles::permissions(&state.db, tenant, profile.id).await?;
    Ok(Some(SignedIn {
        session,
        profile,
        roles,
        permissions,
    }))
}

/// Creates a session for `user` on this site and returns it with its cookie.
pub async fn mint(
    state: &AppState,
    site: &Site,
    user: UserId,
    user_type: UserType,
    login_method: &str,
) -> Result<IssuedSession, AppError> {
    let ip = site.client_ip.to_string();
    let request = SessionRequest {
        tenant: site.tenant.id,
        user,
        user_type,
        host: &site.host,
        transport: site.transport,
        ttl_seconds: i64::try_from(state.config.session.ttl.as_secs()).unwrap_or(86_400),
        ip: Some(&ip),
        user_agent: site.user_agent.as_deref(),
        login_method,
        parent: None,
    };
    session_issue::issue(&state.db, &state.keys, &request)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}
