//! Sessions on the portal side: reading the cookie into a [`SignedIn`]
//! (once per request, in [`crate::request::layer`]), and minting a new
//! session (row + token + cookie) after a sign-in.
//!
//! A request is signed in only when all of these hold: the cookie carries a
//! token whose signature, key id, expiry and host verify; its tenant is the
//! host's tenant; its session row is live (not revoked, not expired, user
//! not disabled) and belongs to the token's user of the token's type.
//! Anything else is simply "no session". It costs two queries: the session
//! with its user, and the user's roles with their permissions (plus, at
//! most once a minute, the `last_seen_at` write).

use axum::http::{header, HeaderMap};
use porta_core::clock::UnixMillis;
use porta_core::db::roles;
use porta_core::db::sessions::{self, Session};
use porta_core::db::users::UserProfile;
use porta_core::ids::UserId;
use porta_core::permission::{Permission, PermissionSet};
use porta_core::session_cookie::find_session_token;
use porta_core::session_issue::{self, IssuedSession, SessionRequest};
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

/// A verified, live session and who it belongs to.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: UserProfile,
    /// Names of the user's roles, sorted.
    pub roles: Vec<String>,
    /// What those roles grant.
    pub permissions: PermissionSet,
    /// Unread in-app notifications (the bell in the layout).
    pub unread_notifications: i64,
    /// The default language of the user's company (empty: none).
    pub client_locale: String,
}

impl SignedIn {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// `Ok` when the user holds `permission`, else the 403 for it.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(AppError::PermissionDenied(permission))
        }
    }
}

/// The request's session, as [`crate::request::layer`] found it.
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Option<SignedIn>);

/// All `Cookie` headers joined (HTTP/2 may send several).
pub fn cookie_header(headers: &HeaderMap) -> String {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The signed-in user of this request, if any.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(state: &AppState, site: &Site, headers: &HeaderMap) -> Result<Option<SignedIn>, AppError> {
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
    let Some(live) = sessions::find_live_with_user(&state.db, tenant, claims.sid, now).await? else {
        tracing::debug!("session revoked, expired or unknown");
        return Ok(None);
    };
    let sessions::LiveSession {
        session,
        user,
        unread_notifications,
        client_locale,
    } = live;
    if session.user_id != claims.sub
        || session.host != site.host.as_str()
        || user.user_type != claims.user_type
    {
        return Ok(None);
    }
    if now.0 - session.last_seen_at >= sessions::TOUCH_INTERVAL_MILLIS {
        sessions::touch(&state.db, tenant, session.id, now).await?;
    }
    let grants = roles::grants(&state.db, tenant, user.id).await?;
    Ok(Some(SignedIn {
        session,
        user,
        roles: grants.roles,
        permissions: grants.permissions,
        unread_notifications,
        client_locale,
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
        .map_err(AppError::internal)
}
