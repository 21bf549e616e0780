//! Sending a signed-in client user to the tenant's custom domain.
//!
//! The handoff is bound to the browser (see [`porta_core::ott`]): a browser
//! arrives at the canonical sign-in from the custom domain's
//! [`HANDOFF_START`] with the hash of the nonce it holds there, and the
//! one-time token is issued for that hash. A sign-in that started on the
//! canonical host has no hash yet: it bounces once through the custom
//! domain's start, which comes straight back with one.

use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::otts::{self, NewOtt};
use porta_core::db::roles;
use porta_core::db::sessions::Session;
use porta_core::db::users::UserProfile;
use porta_core::next_path::NextPath;
use porta_core::ott::{BindingHash, SessionSnapshot};
use porta_core::paths::{HANDOFF, HANDOFF_START};

use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

/// Where `next` is reached through the handoff start of this (custom) host.
pub fn start_location(next: Option<&str>) -> String {
    let next = NextPath::or_landing(next, porta_core::next_path::PortalArea::ClientPortal);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next.as_str())
        .finish();
    format!("{HANDOFF_START}?{query}")
}

/// When the site's tenant has an active custom domain and this is its
/// canonical host, where to send `user` so they land signed in on `next`
/// there: the handoff page with a token bound to `binding`, or, without a
/// binding, the custom domain's handoff start (which returns with one).
/// `None` when there is nowhere to hand off to.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn handoff_url(
    state: &AppState,
    site: &Site,
    user: &UserProfile,
    canonical_session: &Session,
    next: &NextPath,
    binding: Option<&BindingHash>,
) -> Result<Option<String>, AppError> {
    if site.is_custom_domain() {
        return Ok(None);
    }
    let Some(domain) = state.hosts.custom_domain(site.tenant.id).await? else {
        return Ok(None);
    };
    let origin = Config::https_origin(&domain.name, state.config.public_https_port);
    let Some(binding) = binding else {
        return Ok(Some(format!("{origin}{}", start_location(Some(next.as_str())))));
    };
    let now = UnixMillis::now();
    let snapshot = SessionSnapshot {
        user_type: user.user_type,
        email: user.email.to_string(),
        display_name: user.display_name.clone(),
        client_id: user.client_id,
        roles: roles::grants(&state.db, site.tenant.id, user.id).await?.roles,
        canonical_session_id: Some(canonical_session.id),
    };
    let ttl = i64::try_from(state.config.portal_domain.ott_ttl.as_secs()).unwrap_or(90);
    let (token, fresh) = otts::issue_fresh(
        &state.db,
        state.ott_keys.signing().1,
        &NewOtt {
            tenant: site.tenant.id,
            user: user.id,
            domain: domain.id,
            session: canonical_session.id,
            binding,
            snapshot: &snapshot,
            next,
            expires_at: now.plus_seconds(ttl),
        },
        now,
    )
    .await?;
    if fresh {
        tracing::info!(tenant = %site.tenant.slug, domain = %domain.name, "handoff token issued");
        let ip = site.client_ip.to_string();
        porta_core::db::audit::record(
            &state.db,
            &porta_core::db::audit::AuditEvent {
                tenant: Some(site.tenant.id),
                actor: Some(user.id),
                action: "handoff.issue",
                outcome: "success",
                subject: Some(domain.name.as_str()),
                ip: Some(&ip),
                user_agent: site.user_agent.as_deref(),
                detail: None,
            },
            now,
        )
        .await?;
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ott", token.expose())
        .append_pair("next", next.as_str())
        .finish();
    Ok(Some(format!("{origin}{HANDOFF}?{query}")))
}
