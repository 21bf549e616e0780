//! What a browser takes from a page before it posts a form: the hidden
//! fields (the CSRF token, `next`, the handoff binding) and the cookies the
//! page set. The portal's CSRF layer wants, for every form post, an Origin
//! of the site and the token of the page the form came from; an anonymous
//! visitor's token is bound to the CSRF cookie the sign-in page sets.

/// The CSRF cookie of an anonymous visitor on HTTPS (host-only, Secure).
pub const CSRF_COOKIE: &str = "__Host-porta.csrf";
/// The handoff nonce cookie the edge sets on a custom domain.
pub const NONCE_COOKIE: &str = "__Host-porta.handoff";
/// The form field of the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// The value of the first hidden input called `name` in `html`.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The CSRF token of a page's forms.
pub fn csrf_field(html: &str) -> Option<String> {
    hidden_field(html, CSRF_FIELD)
}

/// `name=value` of the cookie `name` among `set_cookies` (whole
/// `Set-Cookie` values).
pub fn cookie_pair(set_cookies: &[String], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    set_cookies
        .iter()
        .find(|c| c.starts_with(&prefix))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// What an anonymous visitor needs to post a form: the CSRF cookie pair
/// (`name=value`) and the token of the page that set it.
#[derive(Debug, Clone)]
pub struct Csrf {
    pub cookie: String,
    pub token: String,
}

/// The value of query parameter `name` in `url` (absolute or a path).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A handoff binding param has the shape of SHA-256 in unpadded base64url.
pub fn is_binding_param(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
