//! `POST /auth/signout`: revokes the session row (with the sessions the
//! custom-domain handoff ties to it), clears the cookie and returns to the
//! sign-in page of the user's area, on the canonical host.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::sessions;
use porta_core::next_path::PortalArea;
use porta_core::session_cookie::clear_session_cookie;
use porta_core::user_type::UserType;

use super::signin::no_store;
use crate::error::AppError;
use crate::request::{CurrentSession, Site};
use crate::state::AppState;

#[tracing::instrument(skip_all)]
pub async fn signout(
    State(state): State<AppState>,
    site: Site,
    CurrentSession(current): CurrentSession,
) -> Result<Response, AppError> {
    let now = UnixMillis::now();
    let mut area = PortalArea::ClientPortal;
    if let Some(signed_in) = current {
        sessions::revoke_family(&state.db, &signed_in.session, "signout", now).await?;
        if signed_in.user.user_type == UserType::Internal {
            area = PortalArea::Msp;
        }
        let ip = site.client_ip.to_string();
        let event = AuditEvent {
            tenant: Some(site.tenant.id),
            actor: Some(signed_in.user.id),
            action: "signout",
            outcome: "success",
            subject: Some(signed_in.user.email.as_str()),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: None,
        };
        audit::record(&state.db, &event, now).await?;
    }
    let location = if site.is_custom_domain() {
        format!("{}{}", site.canonical_origin(&state.config), area.signin_path())
    } else {
        area.signin_path().to_owned()
    };
    let mut response = Redirect::to(&location).into_response();
    let clear = clear_session_cookie(site.transport);
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear.to_string()).map_err(AppError::internal)?,
    );
    Ok(no_store(response))
}
