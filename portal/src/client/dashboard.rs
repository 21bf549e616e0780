//! `/client-portal/dashboard`: the client user's start page.

use askama::Template;
use axum::response::Html;

use crate::error::AppError;
use crate::page::{format_time, render, PageContext};
use crate::request::SignedIn;

#[derive(Template)]
#[template(path = "client/dashboard.html")]
struct DashboardPage<'a> {
    ctx: PageContext,
    user_name: &'a str,
    email: &'a str,
    client_name: &'a str,
    roles: &'a [String],
    last_signin: Option<String>,
}

pub async fn show(ctx: PageContext, who: SignedIn) -> Result<Html<String>, AppError> {
    let user = &who.user;
    render(&DashboardPage {
        user_name: &user.display_name,
        email: user.email.as_str(),
        client_name: user.client_name.as_deref().unwrap_or(""),
        roles: &who.roles,
        last_signin: user.last_signin_at.and_then(format_time),
        ctx,
    })
}
