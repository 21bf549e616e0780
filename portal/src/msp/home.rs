//! The MSP staff area (behind [`crate::guard::require_staff`]).

use axum::response::Html;

use crate::error::AppError;
use crate::pages::{render, MspHomePage};
use crate::session::SignedIn;
use crate::site::Site;

pub async fn home(site: Site, signed_in: SignedIn) -> Html<String> {
    render(&MspHomePage {
        tenant_name: &site.tenant.name,
        user_name: &signed_in.profile.display_name,
        email: signed_in.profile.email.as_str(),
        roles: &signed_in.roles,
    })
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
