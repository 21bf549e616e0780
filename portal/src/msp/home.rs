//! `/msp`: the staff start page.

use askama::Template;
use axum::response::Html;

use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;

#[derive(Template)]
#[template(path = "msp/home.html")]
struct HomePage<'a> {
    ctx: PageContext,
    user_name: &'a str,
    email: &'a str,
    roles: &'a [String],
}

pub async fn show(ctx: PageContext, who: SignedIn) -> Result<Html<String>, AppError> {
    render(&HomePage {
        user_name: &who.user.display_name,
        email: who.user.email.as_str(),
        roles: &who.roles,
        ctx,
    })
}
