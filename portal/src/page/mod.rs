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

use std::fmt::Display;

use askama::filters::Safe;
use porta_core::locale::Locale;

use crate::error::AppError;
use crate::i18n::labels::Labelled;
use crate::i18n::{format, Arg, Texts};
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
    /// The reader's language (`lang` of the page).
    pub lang: &'static str,
    /// Messages, dates and money in it.
    pub texts: Texts,
    /// Whether a tenant is known (its stylesheet can be linked).
    pub tenant_known: bool,
    /// Unread notifications (the bell), for a signed-in user.
    pub unread: i64,
    /// The reader's time zone.
    pub zone: time::Zone,
    /// This page's path and query (where a language switch comes back to).
    pub here: String,
}

impl PageContext {
    pub fn new(
        site: &Site,
        signed_in: Option<&SignedIn>,
        path: &str,
        csrf_token: String,
        texts: Texts,
    ) -> Self {
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
            lang: texts.locale().tag(),
            texts,
            tenant_known: true,
            unread: signed_in.map_or(0, |s| s.unread_notifications),
            zone: signed_in.map_or_else(time::Zone::utc, |s| time::Zone::named(&s.user.time_zone)),
            here: path.to_owned(),
        }
    }

    /// For pages without a tenant (an unknown host).
    pub fn bare(texts: Texts) -> Self {
        PageContext {
            tenant_name: "Client portal".to_owned(),
            brand: crate::branding::BrandView::default(),
            area: Area::Public,
            user: None,
            nav: Vec::new(),
            csrf_token: String::new(),
            flash: None,
            lang: texts.locale().tag(),
            texts,
            tenant_known: false,
            unread: 0,
            zone: time::Zone::utc(),
            here: "/".to_owned(),
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

    /// A time in the reader's zone and language (`Nov 29, 2026, 3:05 PM CET`).
    pub fn time(&self, millis: impl Millis) -> String {
        self.zone.time(self.texts.locale(), millis.millis())
    }

    /// A date in the reader's zone and language (`29 nov. 2026`).
    pub fn date(&self, millis: impl Millis) -> String {
        self.zone.date(self.texts.locale(), millis.millis())
    }

    /// A calendar date (`2026-11-29`, as stored) in the reader's language,
    /// as a `<time>` element carrying the ISO date; a value that is no date
    /// is shown as it is.
    pub fn day(&self, iso: impl Display) -> Safe<String> {
        let iso = iso.to_string();
        let iso = iso.as_str();
        let escaped = crate::i18n::escape(iso);
        match iso.parse::<jiff::civil::Date>() {
            Ok(d) => Safe(format!(
                "<time datetime=\"{escaped}\">{}</time>",
                crate::i18n::escape(&format::date(self.texts.locale(), d))
            )),
            Err(_) => Safe(escaped),
        }
    }

    /// An amount of money as the reader's language writes it (`$1,234.50`,
    /// `1 234,50 $US`).
    pub fn money(&self, m: impl Held<porta_core::money::Money>) -> String {
        let m = m.held();
        format::money(
            self.texts.locale(),
            m.minor,
            m.currency.code(),
            u8::try_from(m.currency.exponent()).unwrap_or(2),
        )
    }

    /// A calendar month (`Nov 2026`, `nov. 2026`).
    pub fn month(&self, m: impl Held<porta_core::billing::Month>) -> String {
        let m = m.held();
        format::year_month(self.texts.locale(), i32::from(m.year()), m.number())
    }

    /// A count with the language's grouping.
    pub fn number(&self, n: &i64) -> String {
        format::integer(self.texts.locale(), *n)
    }

    /// Message `id` in the reader's language.
    pub fn t(&self, id: impl AsRef<str>) -> Safe<String> {
        self.texts.html(id.as_ref())
    }

    /// The name of a status, priority or kind in the reader's language.
    pub fn label(&self, value: impl Labelled) -> Safe<String> {
        self.texts.html(&value.message_id())
    }

    /// Whose turn a ticket is, as staff read it.
    pub fn staff_state(&self, state: &porta_core::ticket::ResponseState) -> Safe<String> {
        self.texts.html(&crate::i18n::labels::staff_response_state(state))
    }

    /// A message that is either a catalogue id (shown in the reader's
    /// language) or text a handler already composed (shown as it is).
    pub fn m(&self, id_or_text: impl AsRef<str>) -> Safe<String> {
        let s = id_or_text.as_ref();
        if crate::i18n::messages::has(self.texts.locale(), s) {
            self.texts.html(s)
        } else {
            Safe(crate::i18n::escape(s))
        }
    }

    /// Message `id` with one placeable `name` (a number or a text).
    pub fn t1(&self, id: impl AsRef<str>, name: impl AsRef<str>, value: impl Display) -> Safe<String> {
        self.texts
            .html_with(id.as_ref(), &[(name.as_ref(), Arg::of(value))])
    }

    /// Message `id` with two placeables.
    pub fn t2(
        &self,
        id: impl AsRef<str>,
        name: impl AsRef<str>,
        value: impl Display,
        name2: impl AsRef<str>,
        value2: impl Display,
    ) -> Safe<String> {
        self.texts.html_with(
            id.as_ref(),
            &[(name.as_ref(), Arg::of(value)), (name2.as_ref(), Arg::of(value2))],
        )
    }

    /// The languages a reader may choose, with the current one marked.
    pub fn languages(&self) -> Vec<(Locale, bool)> {
        Locale::ALL
            .into_iter()
            .map(|l| (l, l == self.texts.locale()))
            .collect()
    }
}

/// A value of type `T`, however deeply a template borrowed it.
pub trait Held<T> {
    fn held(&self) -> &T;
}

impl Held<porta_core::money::Money> for porta_core::money::Money {
    fn held(&self) -> &Self {
        self
    }
}

impl Held<porta_core::billing::Month> for porta_core::billing::Month {
    fn held(&self) -> &Self {
        self
    }
}

impl<T, U: Held<T> + ?Sized> Held<T> for &U {
    fn held(&self) -> &T {
        (**self).held()
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
        let texts = Texts::from_request_parts(parts, state).await?;
        let mut ctx =
            PageContext::new(&site, current.as_ref(), parts.uri.path(), csrf, texts).with_flash(flash);
        if let Some(pq) = parts.uri.path_and_query() {
            ctx.here = pq.as_str().to_owned();
        }
        Ok(ctx)
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
    let (title, message) = error.public_text(ctx.texts);
    let page = ErrorPage {
        ctx,
        status: error.status_code().as_u16(),
        title: &title,
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
    texts: Texts,
    error: &AppError,
) -> Response {
    let csrf = signed_in
        .map(|s| state.csrf.session_token(s.session.id))
        .unwrap_or_default();
    error_response(PageContext::new(site, signed_in, path, csrf, texts), error)
}

/// The error page before a tenant is known.
pub fn bare_error_page(texts: Texts, error: &AppError) -> Response {
    error_response(PageContext::bare(texts), error)
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
        let response = error_response(PageContext::bare(Texts::default()), &error);
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("Something went wrong"), "{html}");
        assert!(!html.contains("<p></p>"));
    }
}
