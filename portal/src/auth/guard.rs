//! The guards of the signed-in areas, applied as a layer on each feature's
//! router (never called inside handlers).
//!
//! - [`require_client`] (`/client-portal/*`): no session -> 303 to the
//!   client sign-in with the requested path as a safe `next` (on a custom
//!   domain: the canonical host's sign-in, which hands the user back); a
//!   staff session -> `?error=AccessDenied` (on a custom domain: the MSP
//!   area on the canonical host).
//! - [`require_staff`] (`/msp/*`): likewise for MSP staff, who work on the
//!   canonical host only.
//! - [`require_staff_api`] (`/api/msp/*`): 401/403 JSON, never a redirect.
//!
//! A session of another tenant never gets here: it is no session
//! ([`crate::request::session`]). Signed-in pages are never cached.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::permission::Permission;
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::request::{CurrentSession, Site};
use crate::state::AppState;

/// The sign-in page (relative), with `error` and `next` (when it is safe
/// for the area).
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
        area.signin_path().to_owned()
    } else {
        format!("{}?{query}", area.signin_path())
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
fn canonical_msp_redirect(state: &AppState, site: &Site, path: Option<&str>) -> Redirect {
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

/// Signed-in answers are never stored; one that already says `no-store`
/// (with more, like `private, no-store` on downloads) keeps its header.
fn no_store(mut response: Response) -> Response {
    let already = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|d| d.trim() == "no-store"));
    if !already {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn guard(
    area: PortalArea,
    state: AppState,
    site: Site,
    current: CurrentSession,
    request: Request,
    next: Next,
) -> Response {
    let requested = request.uri().path_and_query().map(|pq| pq.as_str().to_owned());
    let requested = requested.as_deref();
    let custom = site.is_custom_domain();
    let response = match &current.0 {
        // Staff work on the canonical host only.
        _ if custom && area == PortalArea::Msp => {
            canonical_msp_redirect(&state, &site, requested).into_response()
        }
        // Sign-in happens on the canonical host, bound to this browser by
        // the handoff start.
        None if custom => Redirect::to(&super::handoff::start_location(requested)).into_response(),
        None => signin_redirect(area, requested, None).into_response(),
        Some(s) if custom && s.user.user_type == UserType::Internal => {
            canonical_msp_redirect(&state, &site, None).into_response()
        }
        Some(s) if s.user.user_type != user_type_of(area) => {
            signin_redirect(area, None, Some("AccessDenied")).into_response()
        }
        Some(_) => next.run(request).await,
    };
    no_store(response)
}

pub async fn require_client(
    State(state): State<AppState>,
    site: Site,
    current: CurrentSession,
    request: Request,
    next: Next,
) -> Response {
    guard(PortalArea::ClientPortal, state, site, current, request, next).await
}

pub async fn require_staff(
    State(state): State<AppState>,
    site: Site,
    current: CurrentSession,
    request: Request,
    next: Next,
) -> Response {
    guard(PortalArea::Msp, state, site, current, request, next).await
}

pub async fn require_staff_api(
    site: Site,
    current: CurrentSession,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if site.is_custom_domain() {
        return Err(AppError::NotFound);
    }
    match &current.0 {
        None => Err(AppError::Unauthenticated),
        Some(s) if s.user.user_type != UserType::Internal => Err(AppError::WrongUserType),
        Some(_) => Ok(no_store(next.run(request).await)),
    }
}

type PermissionCheck = fn(
    State<Permission>,
    CurrentSession,
    Request,
    Next,
) -> futures::future::BoxFuture<'static, Result<Response, AppError>>;

/// The layer [`needs`] makes.
pub type NeedsLayer =
    axum::middleware::FromFnLayer<PermissionCheck, Permission, (State<Permission>, CurrentSession, Request)>;

/// The layer that declares a route's permission:
/// `get(list).route_layer(needs(perm::TICKET_READ))`. Behind an area's
/// guard, a user without it gets the 403 page (or JSON under `/api/`).
pub fn needs(permission: Permission) -> NeedsLayer {
    axum::middleware::from_fn_with_state(permission, |State(p), current, request, next| {
        Box::pin(require_permission(p, current, request, next))
    })
}

async fn require_permission(
    permission: Permission,
    current: CurrentSession,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    match &current.0 {
        Some(s) if s.can(permission) => Ok(next.run(request).await),
        Some(_) => Err(AppError::PermissionDenied(permission)),
        None => Err(AppError::Unauthenticated),
    }
}
