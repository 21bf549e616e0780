//! The one place errors become responses.
//!
//! Handlers, extractors and layers return [`AppError`]. Its `IntoResponse`
//! only marks the response (status + the error in an extension); the
//! request layer ([`crate::request::layer`]) then calls [`finish`], which
//! logs the error once, inside the request's span, and writes the body:
//! JSON `{"error": code, "message": ...}` under `/api/`, otherwise the
//! error page in the layout of the area the visitor is in. Internal causes
//! keep their source chain for the log and never reach the visitor.

use crate::i18n::Texts;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use porta_core::db::DbError;
use porta_core::paths;
use porta_core::permission::Permission;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The host is neither a tenant's canonical host nor an active domain.
    #[error("unknown host")]
    UnknownHost,
    #[error("not found")]
    NotFound,
    /// Something named by the request does not exist, with a code.
    #[error("{message}")]
    Missing { code: &'static str, message: String },
    /// No session where one is needed (APIs; pages redirect instead).
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but without this permission.
    #[error("you do not have the {0} permission")]
    PermissionDenied(Permission),
    /// Signed in as the wrong kind of user for this area.
    #[error("this account does not have access here")]
    WrongUserType,
    /// A refused request (cross-site, missing CSRF token); the reason is
    /// for the log only.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Bad input, with a machine-readable code and a message for people.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A state conflict (already exists, already done).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// JSON where a form is expected, or the reverse.
    #[error("this kind of request body is not accepted here")]
    UnsupportedMediaType,
    /// The database (or another dependency) cannot be reached.
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot write for lack of space (a full disk); what the
    /// request wrote was rolled back.
    #[error("storage full")]
    StorageFull(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Internal(Box::new(e))
    }

    /// An internal error described only by a message (a broken invariant).
    pub fn bug(message: &'static str) -> Self {
        AppError::Internal(message.into())
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn missing(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Missing {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::UnknownHost | AppError::NotFound | AppError::Missing { .. } => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::PermissionDenied(_) | AppError::WrongUserType | AppError::Forbidden(_) => {
                StatusCode::FORBIDDEN
            }
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) | AppError::StorageFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON error code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::UnknownHost | AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::PermissionDenied(_) | AppError::WrongUserType | AppError::Forbidden(_) => "forbidden",
            AppError::Invalid { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Missing { code, .. } => code,
            AppError::PayloadTooLarge => "body_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::Unavailable(_) => "unavailable",
            AppError::StorageFull(_) => "storage_full",
            AppError::Internal(_) => "error",
        }
    }

    /// A page title and a message for the visitor; internal details never
    /// leave the server.
    pub fn public_text(&self, texts: Texts) -> (String, String) {
        let t = |id: &str| texts.plain(id);
        // A message with a code reads the catalogue's `error-{code}` when it
        // has one; the handler's own words otherwise.
        let coded = |code: &str, message: &str| {
            let id = format!("error-{code}");
            if crate::i18n::messages::has(texts.locale(), &id) {
                texts.plain(&id)
            } else {
                message.to_owned()
            }
        };
        match self {
            AppError::UnknownHost => (t("error-title-unknown-host"), t("error-unknown-host")),
            AppError::NotFound => (t("error-title-not-found"), t("error-not-found")),
            AppError::Missing { code, message } => (t("error-title-not-found"), coded(code, message)),
            AppError::Unauthenticated => (t("error-title-unauthenticated"), t("error-unauthenticated")),
            AppError::PermissionDenied(_) => (t("error-title-not-allowed"), t("error-permission-denied")),
            AppError::WrongUserType => (t("error-title-not-allowed"), t("error-wrong-user-type")),
            AppError::Forbidden(_) => (t("error-title-forbidden"), t("error-forbidden")),
            AppError::Invalid { code, message } => (t("error-title-bad-request"), coded(code, message)),
            AppError::Conflict { code, message } => (t("error-title-conflict"), coded(code, message)),
            AppError::PayloadTooLarge => (t("error-title-too-large"), t("error-too-large")),
            AppError::UnsupportedMediaType => (t("error-title-unsupported"), t("error-unsupported")),
            AppError::Unavailable(_) => (t("error-title-unavailable"), t("error-unavailable")),
            AppError::StorageFull(_) => (t("error-title-unavailable"), t("error-storage-full")),
            AppError::Internal(_) => (t("error-title-internal"), t("error-internal")),
        }
    }

    /// What API clients are told: the permission message is useful to them.
    fn api_message(&self) -> String {
        match self {
            AppError::PermissionDenied(_) | AppError::WrongUserType => self.to_string(),
            AppError::Unauthenticated => "sign in first".to_owned(),
            _ => self.public_text(Texts::default()).1,
        }
    }

    /// Logs the error once, at a level that says whose fault it is.
    fn log(&self) {
        match self {
            AppError::Internal(_) => tracing::error!(error = %chain(self), "request failed"),
            AppError::Unavailable(_) => tracing::warn!(error = %chain(self), "dependency unavailable"),
            AppError::StorageFull(_) => {
                tracing::error!(error = %chain(self), "the database's storage is full")
            }
            AppError::Forbidden(reason) => tracing::warn!(reason, "request refused"),
            other => tracing::debug!(error = %other, "request rejected"),
        }
    }
}

/// `error: cause: cause…`, the whole source chain in one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(what) => AppError::conflict("conflict", format!("{what} already exists")),
            DbError::NotFound(_) => AppError::NotFound,
            DbError::Invalid(message) => AppError::invalid("invalid", message),
            ref full if full.is_storage_full() => AppError::StorageFull(Box::new(e)),
            ref unavailable if unavailable.is_unavailable() => AppError::Unavailable(Box::new(e)),
            other => AppError::internal(other),
        }
    }
}

impl From<Arc<DbError>> for AppError {
    fn from(e: Arc<DbError>) -> Self {
        if e.is_storage_full() {
            AppError::StorageFull(Box::new(e))
        } else if e.is_unavailable() {
            AppError::Unavailable(Box::new(e))
        } else {
            AppError::internal(e)
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(e)
    }
}

/// The error, carried from `into_response` to [`finish`].
#[derive(Clone)]
pub(crate) struct Carried(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = self.status_code().into_response();
        response.extensions_mut().insert(Carried(Arc::new(self)));
        response
    }
}

/// Writes the body of an error response (see the module docs); other
/// responses pass unchanged. `page` renders the HTML error page.
pub(crate) fn finish(response: Response, path: &str, page: impl FnOnce(&AppError) -> Response) -> Response {
    let Some(Carried(error)) = response.extensions().get::<Carried>().cloned() else {
        return response;
    };
    error.log();
    let mut out = if path.starts_with(paths::API_PREFIX) {
        let body = serde_json::json!({ "error": error.code(), "message": error.api_message() });
        (error.status_code(), Json(body)).into_response()
    } else {
        let mut page = page(&error);
        *page.status_mut() = error.status_code();
        page
    };
    // Keep what the handler set besides the body (Retry-After, Allow, ...).
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let unavailable = matches!(*error, AppError::Unavailable(_) | AppError::StorageFull(_));
    if unavailable && !out.headers().contains_key(header::RETRY_AFTER) {
        out.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER_SECONDS),
        );
    }
    out
}

/// What a 503 tells clients to wait before trying again, in seconds: a
/// database restart or failover usually takes about this long.
const UNAVAILABLE_RETRY_AFTER_SECONDS: &str = "30";

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn internal_errors_keep_their_chain_but_show_nothing() {
        let e = AppError::internal(Outer(std::io::Error::other("disk on fire")));
        assert_eq!(chain(&e), "internal error: outer: disk on fire");
        let (_, message) = e.public_text(Texts::default());
        assert!(!message.contains("disk"));
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn an_unreachable_database_is_a_503_with_retry_after() {
        let e = AppError::from(DbError::Sqlx(sqlx::Error::PoolTimedOut));
        let response = finish(e.into_response(), "/api/msp/x", |_| {
            unreachable!("no page for the API")
        });
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
        let e = AppError::from(Arc::new(DbError::Sqlx(sqlx::Error::PoolClosed)));
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code(), "unavailable");
    }

    #[test]
    fn api_errors_become_json() {
        let response = finish(AppError::NotFound.into_response(), "/api/msp/x", |_| {
            unreachable!("no page for the API")
        });
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            HeaderValue::from_static("application/json")
        );
    }
}
