//! The one place errors become HTTP responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use porta_core::db::DbError;

use crate::pages;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The host is neither a tenant's canonical host nor a known domain.
    #[error("unknown host")]
    UnknownHost,
    #[error("not found")]
    NotFound,
    /// A cross-site form post or similar; the reason is for logs.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            DbError::NotFound(_) => AppError::NotFound,
            DbError::Invalid(message) => AppError::BadRequest(message),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl AppError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::UnknownHost | AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the visitor is told; internal details never leave the server.
    fn public_message(&self) -> (&'static str, String) {
        match self {
            AppError::UnknownHost => (
                "Portal not found",
                "There is no client portal at this address. Check the link you followed.".to_owned(),
            ),
            AppError::NotFound => ("Not found", "This page does not exist.".to_owned()),
            AppError::Forbidden(_) => ("Forbidden", "This request was refused.".to_owned()),
            AppError::BadRequest(message) => ("Bad request", message.clone()),
            AppError::Conflict(message) => ("Conflict", message.clone()),
            AppError::Internal(_) => (
                "Something went wrong",
                "The portal could not complete this request. Please try again.".to_owned(),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            AppError::Internal(cause) => tracing::error!(%cause, "request failed"),
            AppError::Forbidden(reason) => tracing::warn!(reason, "request refused"),
            _ => tracing::debug!(error = %self, "request rejected"),
        }
        let (title, message) = self.public_message();
        let mut response = (status, pages::error_page(status, title, &message)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
