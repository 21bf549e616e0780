//! The session cookie, named and shaped as Auth.js does.

use cookie::{Cookie, SameSite};

/// Cookie name on HTTPS: the `__Secure-` prefix makes browsers refuse it
/// unless it is `Secure` and set over HTTPS.
pub const SECURE_NAME: &str = "__Secure-authjs.session-token";
/// Cookie name on plain HTTP (local development only).
pub const PLAIN_NAME: &str = "authjs.session-token";

/// Whether the public URL the browser sees is HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Https,
    PlainHttp,
}

impl Transport {
    pub fn cookie_name(self) -> &'static str {
        match self {
            Transport::Https => SECURE_NAME,
            Transport::PlainHttp => PLAIN_NAME,
        }
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Path=/, host-only (no
/// Domain), `Secure` exactly when the transport is HTTPS, and a Max-Age
/// matching the session's lifetime.
pub fn session_cookie(token: String, transport: Transport, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build((transport.cookie_name(), token))
        .http_only(true)
        .secure(transport == Transport::Https)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_seconds.max(0)))
        .build()
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(transport: Transport) -> Cookie<'static> {
    let mut cookie = session_cookie(String::new(), transport, 0);
    cookie.make_removal();
    cookie
}

/// The session token from a `Cookie` header, under the name `transport`
/// uses. Malformed pairs are skipped, never an error.
pub fn find_session_token(cookie_header: &str, transport: Transport) -> Option<String> {
    Cookie::split_parse(cookie_header)
        .filter_map(Result::ok)
        .find(|c| c.name() == transport.cookie_name())
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookie_has_secure_prefix_and_attributes() {
        let c = session_cookie("tok".into(), Transport::Https, 3600).to_string();
        assert_eq!(
            c,
            "__Secure-authjs.session-token=tok; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600"
        );
    }

    #[test]
    fn plain_http_cookie_has_no_secure_and_no_prefix() {
        let c = session_cookie("tok".into(), Transport::PlainHttp, 60).to_string();
        assert_eq!(
            c,
            "authjs.session-token=tok; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"
        );
        assert!(!c.contains("__Secure-"));
    }

    #[test]
    fn removal_expires_the_cookie() {
        let c = clear_session_cookie(Transport::Https).to_string();
        assert!(c.starts_with("__Secure-authjs.session-token=;"));
        assert!(c.contains("Max-Age=0"));
        assert!(c.contains("Secure"));
    }

    #[test]
    fn finds_token_among_other_and_malformed_cookies() {
        let header = "a=1; ;garbage; authjs.session-token=abc; __Secure-authjs.session-token=def";
        assert_eq!(
            find_session_token(header, Transport::PlainHttp).as_deref(),
            Some("abc")
        );
        assert_eq!(
            find_session_token(header, Transport::Https).as_deref(),
            Some("def")
        );
        assert_eq!(find_session_token("x=1", Transport::Https), None);
        assert_eq!(
            find_session_token("authjs.session-token=", Transport::PlainHttp),
            None
        );
    }
}
