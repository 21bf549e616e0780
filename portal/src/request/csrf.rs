//! Cross-site request forgery, refused in one layer so no handler can
//! forget it.
//!
//! Every request that changes state (POST, PUT, PATCH, DELETE) must pass
//! the same-origin check ([`super::origin`]). Form posts must also carry
//! the field [`FIELD`] with this visitor's token: HMAC-SHA256 under a key
//! derived from the session keys, of the session id when signed in, else of
//! a random value in the visitor's [`cookie_name`] cookie (set by this
//! layer on the first page they load, double-submit style, so the sign-in
//! form is covered too). JSON APIs (`/api/*`) need no token (a cross-site
//! page cannot send JSON without a preflight we never answer) but must say
//! `Content-Type: application/json` when they have a body.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use porta_core::paths;
use porta_core::session_cookie::Transport;
use porta_core::session_token::{DerivedKeys, SessionKeys};
use rand::RngCore;
use sha2::Sha256;

use crate::error::AppError;
use crate::request::session::cookie_header;
use crate::request::{CurrentSession, Site};
use crate::state::AppState;

/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";
/// The most a plain (url-encoded) form body may hold.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The anonymous visitor's cookie (`__Host-` on HTTPS: host-only, Secure,
/// Path=/).
pub fn cookie_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Https => "__Host-porta.csrf",
        Transport::PlainHttp => "porta.csrf",
    }
}

/// The keys tokens are computed with.
pub struct CsrfKeys(DerivedKeys);

/// Whose token: a session's, or an anonymous visitor's.
enum Subject {
    Session(String),
    Anonymous(String),
}

type HmacSha256 = Hmac<Sha256>;

impl CsrfKeys {
    pub fn new(keys: &SessionKeys) -> Self {
        Self(keys.derive("csrf"))
    }

    fn mac(key: &[u8; 32], subject: &Subject) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        match subject {
            Subject::Session(id) => {
                mac.update(b"session:");
                mac.update(id.as_bytes());
            }
            Subject::Anonymous(nonce) => {
                mac.update(b"anonymous:");
                mac.update(nonce.as_bytes());
            }
        }
        mac
    }

    fn token(&self, subject: &Subject) -> String {
        let (_, key) = self.0.signing();
        URL_SAFE_NO_PAD.encode(Self::mac(key.expose(), subject).finalize().into_bytes())
    }

    /// The token of a signed-in session.
    pub fn session_token(&self, session: porta_core::ids::SessionId) -> String {
        self.token(&Subject::Session(session.to_string()))
    }

    /// Whether `token` is the subject's under any current key.
    fn verify(&self, subject: &Subject, token: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        self.0
            .all()
            .any(|key| Self::mac(key.expose(), subject).verify_slice(&tag).is_ok())
    }
}

/// The token of this request's visitor, for the forms of its page.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn anonymous_cookie(headers: &HeaderMap, transport: Transport) -> Option<String> {
    Cookie::split_parse(cookie_header(headers))
        .filter_map(Result::ok)
        .find(|c| c.name() == cookie_name(transport))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43 && URL_SAFE_NO_PAD.decode(v).is_ok())
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn set_cookie(transport: Transport, nonce: &str) -> Option<HeaderValue> {
    let cookie = Cookie::build((cookie_name(transport), nonce.to_owned()))
        .http_only(true)
        .secure(transport == Transport::Https)
        .same_site(SameSite::Lax)
        .path("/")
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

fn is_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// The token field of a url-encoded form body.
fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned())
}

/// The token field of a multipart form body (files before it are skipped,
/// not kept).
async fn multipart_token(body: bytes::Bytes, boundary: &str) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

pub async fn layer(
    State(state): State<AppState>,
    site: Site,
    CurrentSession(current): CurrentSession,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let mut set_nonce = None;
    let subject = match (&current, anonymous_cookie(request.headers(), site.transport)) {
        (Some(s), _) => Subject::Session(s.session.id.to_string()),
        (None, Some(nonce)) => Subject::Anonymous(nonce),
        (None, None) => {
            let nonce = new_nonce();
            set_nonce = Some(nonce.clone());
            Subject::Anonymous(nonce)
        }
    };
    let mut request = if is_safe(request.method()) {
        request
    } else {
        check_unsafe(&state, &site, current.is_some(), &subject, request).await?
    };
    request
        .extensions_mut()
        .insert(CsrfToken(state.csrf.token(&subject)));
    let mut response = next.run(request).await;
    if let Some(value) = set_nonce.as_deref().and_then(|n| set_cookie(site.transport, n)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The checks of a state-changing request; returns it with its body.
async fn check_unsafe(
    state: &AppState,
    site: &Site,
    signed_in: bool,
    subject: &Subject,
    request: Request,
) -> Result<Request, AppError> {
    let path = request.uri().path().to_owned();
    // Signing out without a live session has nothing to forge: let it
    // through so a visitor whose session expired is not stuck.
    if path == paths::SIGNOUT && !signed_in {
        return Ok(request);
    }
    super::origin::check(request.headers(), site, &state.config)?;
    if path.starts_with(paths::API_PREFIX) {
        if has_body(request.headers()) && !is_content_type(request.headers(), "application/json") {
            return Err(AppError::UnsupportedMediaType);
        }
        return Ok(request);
    }
    // Page routes take forms only; anything else is refused before a
    // handler could mistake it for one.
    let headers = request.headers();
    let boundary = if is_content_type(headers, "application/x-www-form-urlencoded") {
        None
    } else if is_content_type(headers, "multipart/form-data") {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Some(
            multer::parse_boundary(content_type)
                .map_err(|_| AppError::invalid("bad_form", "The form could not be read."))?,
        )
    } else {
        return Err(AppError::UnsupportedMediaType);
    };
    let limit = match boundary {
        None => FORM_BODY_LIMIT,
        Some(_) => state.config.attachments.max_request_bytes(),
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let token = match &boundary {
        None => form_token(&bytes),
        Some(boundary) => multipart_token(bytes.clone(), boundary).await,
    }
    .ok_or(AppError::Forbidden("form post without a CSRF token"))?;
    if !state.csrf.verify(subject, &token) {
        return Err(AppError::Forbidden("form post with a wrong CSRF token"));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
