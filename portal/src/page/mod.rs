//! Pages: the context every page shows ([`PageContext`]), rendering, and
//! the error page.
//!
//! Templates live under `portal/templates/`, one folder per feature, and
//! extend `layouts/client.html`, `layouts/msp.html` or `layouts/base.html`;
//! each page struct embeds a `ctx: PageContext` that the layouts read. A
//! template that fails to render is a 500 ([`render`]), never a 200 with a
//! stub.

pub mod nav;
pub mod notice;
pub mod time;

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;
use crate::request::csrf::CsrfToken;
use crate::request::{CurrentSession, SignedIn, Site};
use crate::state::AppState;
use nav::{Area, NavItem};
use notice::{Flash, FlashQuery};

/// The signed-in user, as the layout shows them.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub name: String,
    pub email: String,
}

/// What every page shows around its content.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The tenant (the MSP) whose portal this is, as its branding names it.
    pub tenant_name: String,
    /// Its logo, favicon, support contact and sign-in message.
    pub brand: crate::branding::BrandView,
    pub area: Area,
    pub user: Option<UserSummary>,
    /// The menu of the area, filtered by the user's permissions.
    pub nav: Vec<NavItem>,
    /// For the hidden field of every form on the page.
    pub csrf_token: String,
    /// A message a redirect asked for, by code.
    pub flash: Option<Flash>,
    pub lang: &'static str,
    /// Whether a tenant is known (its stylesheet can be linked).
    pub tenant_known: bool,
    /// Unread notifications (the bell), for a signed-in user.
    pub unread: i64,
    /// The reader's time zone.
    pub zone: time::Zone,
}

impl PageContext {
    pub fn new(site: &Site, signed_in: Option<&SignedIn>, path: &str, csrf_token: String) -> Self {
        let area = Area::of_path(path);
        let area = match signed_in {
            Some(_) => area,
            None => Area::Public,
        };
        let brand = crate::branding::BrandView::of(&site.tenant.name, &site.brand);
        PageContext {
            tenant_name: brand.name.clone(),
            brand,
            area,
            user: signed_in.map(|s| UserSummary {
                name: s.user.display_name.clone(),
                email: s.user.email.to_string(),
            }),
            nav: nav::menu(area, signed_in.map(|s| s.permissions).unwrap_or_default(), path),
            csrf_token,
            flash: None,
            lang: "en",
            tenant_known: true,
            unread: signed_in.map_or(0, |s| s.unread_notifications),
            zone: signed_in.map_or_else(time::Zone::utc, |s| time::Zone::named(&s.user.time_zone)),
        }
    }

    /// For pages without a tenant (an unknown host).
    pub fn bare() -> Self {
        PageContext {
            tenant_name: "Client portal".to_owned(),
            brand: crate::branding::BrandView::default(),
            area: Area::Public,
            user: None,
            nav: Vec::new(),
            csrf_token: String::new(),
            flash: None,
            lang: "en",
            tenant_known: false,
            unread: 0,
            zone: time::Zone::utc(),
        }
    }

    pub fn with_flash(mut self, flash: Option<Flash>) -> Self {
        if flash.is_some() {
            self.flash = flash;
        }
        self
    }

    pub fn is_staff_area(&self) -> bool {
        self.area == Area::Staff
    }

    pub fn is_client_area(&self) -> bool {
        self.area == Area::Client
    }

    pub fn has_tenant(&self) -> bool {
        self.tenant_known
    }

    /// Where the brand leads: the area's start page.
    pub fn home_href(&self) -> &'static str {
        match self.area {
            Area::Client => "/client-portal/dashboard",
            Area::Staff => "/msp",
            Area::Public => "/",
        }
    }

    /// Where the bell leads.
    pub fn notifications_href(&self) -> &'static str {
        match self.area {
            Area::Staff => "/msp/notifications",
            _ => "/client-portal/notifications",
        }
    }

    /// A time in the reader's zone (`2026-11-29 15:05 CET`).
    pub fn time(&self, millis: impl Millis) -> String {
        self.zone.time(millis.millis())
    }

    /// A date in the reader's zone.
    pub fn date(&self, millis: impl Millis) -> String {
        self.zone.date(millis.millis())
    }
}

/// A timestamp in milliseconds, however deeply a template borrowed it.
pub trait Millis {
    fn millis(&self) -> i64;
}

impl Millis for i64 {
    fn millis(&self) -> i64 {
        *self
    }
}

impl<T: Millis + ?Sized> Millis for &T {
    fn millis(&self) -> i64 {
        (**self).millis()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let site = Site::from_request_parts(parts, state).await?;
        let CurrentSession(current) = CurrentSession::from_request_parts(parts, state).await?;
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .ok_or(AppError::bug("PageContext used outside the CSRF layer"))?;
        // A malformed query just shows no message.
        let flash = Query::<FlashQuery>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(q)| q.flash());
        Ok(PageContext::new(&site, current.as_ref(), parts.uri.path(), csrf).with_flash(flash))
    }
}

/// Renders a template; a failure is a 500 (logged once, with its cause).
pub fn render(template: &impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(template.render()?))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: PageContext,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// The last resort when even the error page cannot be rendered.
const FALLBACK: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Error</title>\
                        <p>The portal could not complete this request. Please try again.</p></html>";

fn error_response(ctx: PageContext, error: &AppError) -> Response {
    let (title, message) = error.public_text();
    let page = ErrorPage {
        ctx,
        status: error.status_code().as_u16(),
        title,
        message: &message,
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the error page failed to render");
            Html(FALLBACK).into_response()
        }
    }
}

/// The error page in the layout of the visitor's area (the menu of the
/// signed-in user, with the sign-out form).
pub fn error_page(
    state: &AppState,
    site: &Site,
    signed_in: Option<&SignedIn>,
    path: &str,
    error: &AppError,
) -> Response {
    let csrf = signed_in
        .map(|s| state.csrf.session_token(s.session.id))
        .unwrap_or_default();
    error_response(PageContext::new(site, signed_in, path, csrf), error)
}

/// The error page before a tenant is known.
pub fn bare_error_page(error: &AppError) -> Response {
    error_response(PageContext::bare(), error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// A value whose `Display` fails, as a buggy formatter would.
    struct Broken;

    impl fmt::Display for Broken {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            Err(fmt::Error)
        }
    }

    #[derive(Template)]
    #[template(source = "<p>{{ value }}</p>", ext = "html")]
    struct Fails {
        value: Broken,
    }

    #[test]
    fn a_template_that_fails_is_a_500() {
        let error = render(&Fails { value: Broken }).unwrap_err();
        assert_eq!(error.status_code(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let response = error_response(PageContext::bare(), &error);
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("Something went wrong"), "{html}");
        assert!(!html.contains("<p></p>"));
    }
}
