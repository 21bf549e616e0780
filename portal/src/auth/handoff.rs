//! Sending a signed-in client user to the tenant's custom domain: issue a
//! one-time token and build the URL of the edge's handoff page.

use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::otts::{self, NewOtt};
use porta_core::db::portal_domains;
use porta_core::db::roles;
use porta_core::db::sessions::Session;
use porta_core::db::users::UserProfile;
use porta_core::next_path::NextPath;
use porta_core::ott::SessionSnapshot;

use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

/// When the site's tenant has an active custom domain and this is its
/// canonical host, the handoff URL that signs `user` in there and lands on
/// `next`; `None` when there is nowhere to hand off to.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn handoff_url(
    state: &AppState,
    site: &Site,
    user: &UserProfile,
    canonical_session: &Session,
    next: &NextPath,
) -> Result<Option<String>, AppError> {
    if site.is_custom_domain() {
        return Ok(None);
    }
    let Some(domain) = portal_domains::active_for_tenant(&state.db, site.tenant.id).await? else {
        return Ok(None);
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
    let token = otts::issue(
        &state.db,
        &NewOtt {
            tenant: site.tenant.id,
            user: user.id,
            domain: domain.id,
            snapshot: &snapshot,
            next,
            expires_at: now.plus_seconds(ttl),
        },
        now,
    )
    .await?;
    tracing::info!(tenant = %site.tenant.slug, domain = %domain.domain, "handoff token issued");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ott", token.expose())
        .append_pair("next", next.as_str())
        .finish();
    let origin = Config::https_origin(&domain.domain, state.config.public_https_port);
    Ok(Some(format!("{origin}{}?{query}", porta_core::paths::HANDOFF)))
}
