//! Is a state-changing request from our own pages?
//!
//! Browsers send `Origin` on every POST (and on fetches that change
//! state); it must equal this host's origin exactly: scheme, host and port.
//! Without `Origin`, `Sec-Fetch-Site: same-origin` or a `Referer` on this
//! origin will do; a request that none of them vouches for is refused.

use axum::http::{header, HeaderMap};
use porta_core::config::Config;

use crate::error::AppError;
use crate::request::Site;

/// `scheme://host[:port]` of a URL, with the scheme's default port left
/// out (as browsers write `Origin`).
fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

pub fn check(headers: &HeaderMap, site: &Site, config: &Config) -> Result<(), AppError> {
    let ours = site.origin(config);
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = text(header::ORIGIN) {
        return match origin_of(origin) {
            Some(o) if o.eq_ignore_ascii_case(&ours) => Ok(()),
            _ => Err(AppError::Forbidden("request from another origin")),
        };
    }
    match text(axum::http::HeaderName::from_static("sec-fetch-site")) {
        Some("same-origin") => return Ok(()),
        Some(_) => return Err(AppError::Forbidden("cross-site request")),
        None => {}
    }
    match text(header::REFERER).and_then(origin_of) {
        Some(o) if o.eq_ignore_ascii_case(&ours) => Ok(()),
        Some(_) => Err(AppError::Forbidden("request referred by another origin")),
        None => Err(AppError::Forbidden(
            "request without Origin, Sec-Fetch-Site or Referer",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_keep_non_default_ports_only() {
        assert_eq!(
            origin_of("https://a.example:8443/x?y").as_deref(),
            Some("https://a.example:8443")
        );
        assert_eq!(
            origin_of("https://a.example:443/").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            origin_of("http://a.example:80").as_deref(),
            Some("http://a.example")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("data:text/plain,x"), None);
    }
}
