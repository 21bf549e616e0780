//! The middleware that guards signed-in areas.
//!
//! `/client-portal/*`: no session -> 303 to the client sign-in with the
//! requested path as a safe `next`; a session whose user is not a client
//! user -> 303 to the client sign-in with `error=AccessDenied`. `/msp/*`
//! likewise for MSP staff. A session of another tenant is no session (see
//! [`crate::session::current`]). On success the [`Site`] and the
//! [`SignedIn`] are put into the request's extensions for the handlers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::session::{self, SignedIn};
use crate::site::Site;
use crate::state::AppState;

/// The sign-in page of an area.
pub fn signin_path(area: PortalArea) -> &'static str {
    match area {
        PortalArea::ClientPortal => "/auth/client-portal/signin",
        PortalArea::Msp => "/auth/msp/signin",
    }
}

/// The sign-in page (relative), with `next` when it is safe for the area.
pub fn signin_location(area: PortalArea, next: Option<&str>, error: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(error) = error {
        query.append_pair("error", error);
    }
    if let Some(next) = next.and_then(|n| NextPath::parse(n, area).ok()) {
        query.append_pair("next", next.as_str());
    }
    let query = query.finish();
    if query.is_empty() {
        signin_path(area).to_owned()
    } else {
        format!("{}?{query}", signin_path(area))
    }
}

/// Redirect to the sign-in page on this host.
pub fn signin_redirect(area: PortalArea, next: Option<&str>, error: Option<&str>) -> Redirect {
    Redirect::to(&signin_location(area, next, error))
}

/// Redirect to the sign-in page of the tenant's canonical host: where
/// sign-in happens for visitors of a custom domain.
pub fn canonical_signin_redirect(
    state: &AppState,
    site: &Site,
    area: PortalArea,
    next: Option<&str>,
) -> Redirect {
    let origin = site.canonical_origin(&state.config);
    Redirect::to(&format!("{origin}{}", signin_location(area, next, None)))
}

/// Redirect to the MSP area on the canonical host (staff never use the
/// client portal's custom domain), keeping a safe `/msp` path.
pub fn canonical_msp_redirect(state: &AppState, site: &Site, path: Option<&str>) -> Redirect {
    let origin = site.canonical_origin(&state.config);
    let path = NextPath::or_landing(path, PortalArea::Msp);
    Redirect::to(&format!("{origin}{path}"))
}

fn user_type_of(area: PortalArea) -> UserType {
    match area {
        PortalArea::ClientPortal => UserType::Client,
        PortalArea::Msp => UserType::Internal,
    }
}

async fn guard(area: PortalArea, state: AppState, site: Site, mut request: Request, next: Next) -> Response {
    let signed_in = match session::current(&state, &site, request.headers()).await {
        Ok(signed_in) => signed_in,
        Err(e) => return e.into_response(),
    };
    let requested = request.uri().path_and_query().map(|pq| pq.as_str().to_owned());
    let custom = site.is_custom_domain();
    let mut response = match signed_in {
        // Staff work on the canonical host only.
        _ if custom && area == PortalArea::Msp => {
            canonical_msp_redirect(&state, &site, requested.as_deref()).into_response()
        }
        None if custom => {
            canonical_signin_redirect(&state, &site, area, requested.as_deref()).into_response()
        }
        None => signin_redirect(area, requested.as_deref(), None).into_response(),
        Some(s) if custom && s.profile.user_type == UserType::Internal => {
            canonical_msp_redirect(&state, &site, None).into_response()
        }
        Some(s) if s.profile.user_type != user_type_of(area) => {
            signin_redirect(area, None, Some("AccessDenied")).into_response()
        }
        Some(s) => {
            request.extensions_mut().insert::<SignedIn>(s);
            request.extensions_mut().insert::<Site>(site);
            next.run(request).await
        }
    };
    // Signed-in pages are per user: never cached by browsers or proxies.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn require_client(
    State(state): State<AppState>,
    site: Site,
    request: Request,
    next: Next,
) -> Response {
    guard(PortalArea::ClientPortal, state, site, request, next).await
}

pub async fn require_staff(
    State(state): State<AppState>,
    site: Site,
    request: Request,
    next: Next,
) -> Response {
    guard(PortalArea::Msp, state, site, request, next).await
}

/// Extracts what [`guard`] stored; only used behind it.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or_else(|| AppError::Internal("SignedIn used outside the guard".to_owned()))
    }
}

/// For `/api/msp/*`: a staff session or a JSON 401/403, never a redirect.
pub async fn require_staff_api(
    State(state): State<AppState>,
    site: Site,
    mut request: Request,
    next: Next,
) -> Response {
    use axum::http::StatusCode;
    let json_error = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            axum::Json(serde_json::json!({ "error": code, "message": message })),
        )
            .into_response()
    };
    if site.is_custom_domain() {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the MSP API is on the canonical host",
        );
    }
    let signed_in = match session::current(&state, &site, request.headers()).await {
        Ok(signed_in) => signed_in,
        Err(e) => return e.into_response(),
    };
    match signed_in {
        None => json_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in as MSP staff first",
        ),
        Some(s) if s.profile.user_type != UserType::Internal => json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only MSP staff may use this API",
        ),
        Some(s) => {
            request.extensions_mut().insert::<SignedIn>(s);
            request.extensions_mut().insert::<Site>(site);
            next.run(request).await
        }
    }
}
