//! The client portal pages (behind [`crate::guard::require_client`]).

use axum::response::{Html, Redirect};

use crate::error::AppError;
use crate::pages::{format_time, render, DashboardPage};
use crate::session::SignedIn;
use crate::site::Site;

pub async fn home() -> Redirect {
    Redirect::to("/client-portal/dashboard")
}

pub async fn dashboard(site: Site, signed_in: SignedIn) -> Html<String> {
    let profile = &signed_in.profile;
    render(&DashboardPage {
        tenant_name: &site.tenant.name,
        user_name: &profile.display_name,
        email: profile.email.as_str(),
        client_name: profile.client_name.as_deref().unwrap_or(""),
        roles: &signed_in.roles,
        last_signin: profile.last_signin_at.and_then(format_time),
    })
}

/// Pages that do not exist (yet) answer 404 only to signed-in clients.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
