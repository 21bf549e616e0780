//! What every tenant request goes through before its handler, in one
//! layer ([`layer`]):
//!
//! 1. [`site`]: which tenant and host it is for: from the edge's signed
//!    request context, else from the host through the cache (unknown host:
//!    404);
//! 2. [`session`]: the signed-in user, when the request carries a session
//!    cookie (two queries, once per request);
//! 3. the handler (behind [`csrf::layer`] and the feature routers' guards);
//! 4. [`crate::error::finish`]: an error becomes its JSON or its page;
//! 5. the security headers ([`headers`]).
//!
//! The results are request extensions, read by the extractors here and by
//! [`crate::page::PageContext`].

pub mod csrf;
mod headers;
pub mod origin;
pub mod session;
pub mod signed_cookie;
pub mod site;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{self, AppError};
use crate::i18n::negotiate::{self, Preferences};
use crate::i18n::Texts;
use crate::page;
use crate::state::AppState;

pub use session::{CurrentSession, SignedIn};
pub use site::Site;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let (mut parts, body) = request.into_parts();
    let resolved = async {
        let site = site::resolve(&state, &parts).await?;
        let signed_in = session::load(&state, &site, &parts.headers).await?;
        Ok::<_, AppError>((site, signed_in))
    }
    .await;
    let (site, signed_in) = match resolved {
        Ok(found) => found,
        Err(e) => {
            let texts = Texts(negotiate::choose(Preferences::default(), &parts.headers));
            return error::finish(e.into_response(), &path, |e| page::bare_error_page(texts, e));
        }
    };
    let tenant_default = site.brand.default_locale.map_or("", |l| l.tag());
    let preferences = match &signed_in {
        Some(s) => Preferences {
            profile: &s.user.locale,
            client_default: &s.client_locale,
            tenant_default,
        },
        None => Preferences {
            tenant_default,
            ..Preferences::default()
        },
    };
    let texts = Texts(negotiate::choose(preferences, &parts.headers));
    let span = tracing::Span::current();
    span.record("tenant", site.tenant.slug.as_str());
    if let Some(s) = &signed_in {
        span.record("user", tracing::field::display(s.user.id));
    }
    let current = CurrentSession(signed_in);
    parts.extensions.insert(site.clone());
    parts.extensions.insert(current.clone());
    parts.extensions.insert(texts);
    let response = next.run(Request::from_parts(parts, body)).await;
    let mut response = error::finish(response, &path, |e| {
        page::error_page(&state, &site, current.0.as_ref(), &path, texts, e)
    });
    headers::add(&state, &site, &mut response).await;
    response
}

/// Reads what [`layer`] stored; a handler outside the layer is a bug.
fn stored<T: Clone + Send + Sync + 'static>(parts: &Parts, what: &'static str) -> Result<T, AppError> {
    parts.extensions.get::<T>().cloned().ok_or(AppError::bug(what))
}

impl<S: Send + Sync> FromRequestParts<S> for Site {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        stored(parts, "Site used outside the request layer")
    }
}

/// The reader's language, as the request layer chose it.
impl<S: Send + Sync> FromRequestParts<S> for Texts {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        stored(parts, "Texts used outside the request layer")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        stored(parts, "CurrentSession used outside the request layer")
    }
}

/// The signed-in user; only behind a guard, which has checked there is one.
impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let CurrentSession(current) = stored(parts, "SignedIn used outside the request layer")?;
        current.ok_or(AppError::bug("SignedIn used outside a guard"))
    }
}
