//! `POST /language`: the language switcher of pages before sign-in (the
//! sign-in page's). It remembers the choice in the `porta_lang` cookie for
//! a year and goes back to the page it came from. Signed-in users choose
//! in their profile, which wins over the cookie.

use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use cookie::{Cookie, SameSite};
use porta_core::locale::Locale;

use super::negotiate::COOKIE_NAME;
use crate::error::AppError;
use crate::request::Site;
use porta_core::session_cookie::Transport;

pub const PATH: &str = "/language";

#[derive(Debug, serde::Deserialize)]
pub struct Choice {
    lang: String,
    #[serde(default)]
    back: String,
}

/// Where to go back to: a path of this site (`/auth/…?…`), never another
/// origin (`//evil.example`, `/\evil.example`), else the start page.
pub fn back_path(raw: &str) -> &str {
    let same_site = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= 1024
        && raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if same_site {
        raw
    } else {
        "/"
    }
}

pub async fn choose(site: Site, Form(choice): Form<Choice>) -> Result<Response, AppError> {
    let locale: Locale = choice
        .lang
        .parse()
        .map_err(|_| AppError::invalid("invalid_language", "Choose one of the languages offered."))?;
    let cookie = Cookie::build((COOKIE_NAME, locale.tag()))
        .path("/")
        .http_only(true)
        .secure(site.transport == Transport::Https)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    let location = HeaderValue::from_str(back_path(&choice.back)).unwrap_or(HeaderValue::from_static("/"));
    headers.insert(LOCATION, location);
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        headers.insert(SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::back_path;

    #[test]
    fn only_paths_of_this_site_are_gone_back_to() {
        assert_eq!(
            back_path("/auth/client-portal/signin?next=%2Fclient-portal%2Ftickets"),
            "/auth/client-portal/signin?next=%2Fclient-portal%2Ftickets"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "javascript:alert(1)",
            "/a b",
            "/\u{7f}",
        ] {
            assert_eq!(back_path(bad), "/", "{bad:?}");
        }
    }
}
