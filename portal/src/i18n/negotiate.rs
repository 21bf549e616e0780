//! Which language a reader gets, first match wins:
//!
//! 1. the language in their profile (signed in);
//! 2. the language chosen with the switcher in this browser (the
//!    `porta_lang` cookie the sign-in page's switcher sets);
//! 3. their company's default (client users);
//! 4. the tenant's default (its branding settings);
//! 5. the browser's `Accept-Language`;
//! 6. English.
//!
//! A language picked with the switcher before signing in becomes the
//! profile's at sign-in when the profile has none (`auth::finish`), so it
//! follows the user to the custom domain and to their other devices.

use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::HeaderMap;
use porta_core::locale::Locale;

/// The cookie the language switcher sets.
pub const COOKIE_NAME: &str = "porta_lang";

/// What a choice is made from.
#[derive(Debug, Default, Clone, Copy)]
pub struct Preferences<'a> {
    pub profile: &'a str,
    pub client_default: &'a str,
    pub tenant_default: &'a str,
}

/// The reader's language for a request with `headers`.
pub fn choose(preferences: Preferences<'_>, headers: &HeaderMap) -> Locale {
    Locale::of_preference(preferences.profile)
        .or_else(|| switcher_choice(headers))
        .or_else(|| Locale::of_preference(preferences.client_default))
        .or_else(|| Locale::of_preference(preferences.tenant_default))
        .or_else(|| {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::negotiate)
        })
        .unwrap_or_default()
}

/// The language the switcher stored, when the cookie holds one of ours.
pub fn switcher_choice(headers: &HeaderMap) -> Option<Locale> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_first_stated_preference_wins() {
        let browser = headers(&[
            ("accept-language", "de-DE,de;q=0.9"),
            ("cookie", "a=b; porta_lang=es"),
        ]);
        let all = Preferences {
            profile: "fr",
            client_default: "de",
            tenant_default: "en",
        };
        assert_eq!(choose(all, &browser), Locale::Fr);
        assert_eq!(choose(Preferences { profile: "", ..all }, &browser), Locale::Es);
        let no_cookie = headers(&[("accept-language", "es")]);
        assert_eq!(choose(Preferences { profile: "", ..all }, &no_cookie), Locale::De);
        let only_tenant = Preferences {
            tenant_default: "fr",
            ..Default::default()
        };
        assert_eq!(choose(only_tenant, &no_cookie), Locale::Fr);
        assert_eq!(choose(Preferences::default(), &no_cookie), Locale::Es);
        assert_eq!(choose(Preferences::default(), &HeaderMap::new()), Locale::En);
        // Unknown values anywhere fall through, never fail.
        let junk = headers(&[("cookie", "porta_lang=<script>"), ("accept-language", "xx;q=bad")]);
        let unknown = Preferences {
            profile: "nl",
            client_default: "zz",
            tenant_default: "",
        };
        assert_eq!(choose(unknown, &junk), Locale::En);
    }
}
