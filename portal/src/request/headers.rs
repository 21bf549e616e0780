//! Security headers of every tenant response.
//!
//! A strict Content-Security-Policy: scripts, styles, images and fetches
//! from this origin only (no inline script or style anywhere in the
//! portal), no framing, no `<base>`, no plugins; forms may post here and
//! be redirected to the tenant's other host (sign-in on the canonical host
//! continues on the custom domain, sign-out there returns to the canonical
//! sign-in). `X-Frame-Options` and `Referrer-Policy` are set for every
//! response by the app ([`crate::app`]); HSTS by the edge, which terminates
//! TLS.

use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::request::Site;
use crate::state::AppState;

/// The policy for a page of `site`, whose other host is `other_origin`.
pub fn content_security_policy(other_origin: Option<&str>) -> String {
    let form_action = match other_origin {
        Some(other) => format!("'self' {other}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; \
         base-uri 'none'; object-src 'none'"
    )
}

/// The origin of the tenant's other host, if it has one.
async fn other_origin(state: &AppState, site: &Site) -> Option<String> {
    if site.is_custom_domain() {
        return Some(site.canonical_origin(&state.config));
    }
    match state.hosts.custom_domain(site.tenant.id).await {
        Ok(domain) => {
            domain.map(|d| porta_core::config::Config::https_origin(&d.name, state.config.public_https_port))
        }
        // Without the lookup the policy is stricter, never looser.
        Err(e) => {
            tracing::warn!(error = %e, "custom domain lookup for the CSP failed");
            None
        }
    }
}

pub async fn add(state: &AppState, site: &Site, response: &mut Response) {
    if response.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        return;
    }
    let policy = content_security_policy(other_origin(state, site).await.as_deref());
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_forbids_inline_script_and_framing() {
        let policy = content_security_policy(Some("https://portal.acme-it.example"));
        assert!(policy.contains("script-src 'self';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("form-action 'self' https://portal.acme-it.example;"));
        assert!(content_security_policy(None).contains("form-action 'self';"));
    }
}
