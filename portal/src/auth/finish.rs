//! The last step of every way in (password, second factor, account setup,
//! OpenID Connect): the session, its cookie, and where the browser goes
//! next (through the handoff when a client user's tenant has an active
//! custom domain).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use porta_core::clock::UnixMillis;
use porta_core::db::users;
use porta_core::ids::UserId;
use porta_core::next_path::NextPath;
use porta_core::ott::BindingHash;
use porta_core::user_type::UserType;

use super::handoff::handoff_url;
use crate::error::AppError;
use crate::request::{session, Site};
use crate::state::AppState;

/// Where a signed-in browser goes, and the cookie it carries there.
pub struct Arrival {
    pub location: String,
    pub cookie: HeaderValue,
}

impl Arrival {
    /// The cookie on `response`.
    pub fn attach(&self, mut response: Response) -> Response {
        response
            .headers_mut()
            .append(header::SET_COOKIE, self.cookie.clone());
        response
    }

    /// A redirect to [`Arrival::location`] with the cookie.
    pub fn redirect(&self) -> Response {
        self.attach(Redirect::to(&self.location).into_response())
    }
}

/// Creates the session of `user` (signed in by `method`) and says where to go.
pub async fn arrive(
    state: &AppState,
    site: &Site,
    user: UserId,
    user_type: UserType,
    method: &str,
    next: &NextPath,
    handoff: Option<&BindingHash>,
) -> Result<Arrival, AppError> {
    let now = UnixMillis::now();
    users::record_signin(&state.db, site.tenant.id, user, now).await?;
    if let Some(locale) = site.switcher_language {
        users::adopt_locale(&state.db, site.tenant.id, user, locale).await?;
    }
    let issued = session::mint(state, site, user, user_type, method).await?;
    tracing::info!(tenant = %site.tenant.slug, user = %user, method, "signed in");
    let onward = match user_type {
        UserType::Client => {
            let profile = users::profile(&state.db, site.tenant.id, user)
                .await?
                .ok_or(AppError::NotFound)?;
            handoff_url(state, site, &profile, &issued.session, next, handoff).await?
        }
        UserType::Internal => None,
    };
    Ok(Arrival {
        location: onward.unwrap_or_else(|| next.as_str().to_owned()),
        cookie: HeaderValue::from_str(&issued.cookie.to_string()).map_err(AppError::internal)?,
    })
}
