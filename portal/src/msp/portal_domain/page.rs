//! `/msp/settings/portal-domain`: the page of the domain settings. A
//! successful action redirects back with a notice code (post/redirect/get);
//! a refused one shows the page again with the reason and the status.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::service::{self, DomainView};
use super::PAGE;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "msp/portal_domain.html")]
struct DomainPage<'a> {
    ctx: PageContext,
    can_update: bool,
    domain: Option<&'a DomainView>,
    observed: Option<String>,
    last_checked: Option<String>,
    /// The page reloads itself while something is under way.
    refresh: bool,
    /// Why the last form post was refused.
    form_error: Option<String>,
    /// What was typed, to show it again after a refusal.
    typed: &'a str,
}

fn page(
    ctx: PageContext,
    who: &SignedIn,
    view: Option<&DomainView>,
    form_error: Option<String>,
    typed: &str,
) -> Result<Html<String>, AppError> {
    let observed = view.and_then(|v| v.observed.as_ref()).map(|o| {
        if o.is_empty() {
            "no record".to_owned()
        } else {
            o.join("; ")
        }
    });
    let last_checked = view.and_then(|v| v.last_checked_at).map(|at| ctx.time(at));
    render(&DomainPage {
        ctx,
        can_update: who.can(service::UPDATE),
        domain: view,
        observed,
        last_checked,
        refresh: view.is_some_and(|v| v.status.as_str().starts_with("pending")),
        form_error,
        typed,
    })
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    ctx: PageContext,
) -> Result<Html<String>, AppError> {
    let view = service::show(&state, &site, &who).await?;
    page(ctx, &who, view.as_ref(), None, "")
}

#[derive(Deserialize)]
pub struct PageForm {
    action: String,
    #[serde(default)]
    domain: String,
}

/// Form posts: do the action, then back to the page with a notice.
pub async fn submit(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    ctx: PageContext,
    Form(form): Form<PageForm>,
) -> Result<Response, AppError> {
    let result = match form.action.as_str() {
        "register" => service::register(&state, &site, &who, &form.domain, false)
            .await
            .map(|_| Message::DomainRegistered),
        "change" => service::register(&state, &site, &who, &form.domain, true)
            .await
            .map(|_| Message::DomainChanged),
        "retry" => service::retry(&state, &site, &who)
            .await
            .map(|_| Message::DomainCheckScheduled),
        "disable" => service::disable(&state, &site, &who)
            .await
            .map(|_| Message::DomainDisabled),
        "remove" => service::remove(&state, &site, &who)
            .await
            .map(|()| Message::DomainRemoved),
        _ => {
            return Err(AppError::invalid(
                "unknown_action",
                "This form action does not exist.",
            ))
        }
    };
    match result.map_err(AppError::from) {
        Ok(message) => Ok(Redirect::to(&format!("{PAGE}?notice={}", message.code())).into_response()),
        // Refusals the visitor can fix are shown on the page itself.
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. } | AppError::Missing { .. })) => {
            let view = service::show(&state, &site, &who).await?;
            let status = e.status_code();
            let html = page(ctx, &who, view.as_ref(), Some(e.to_string()), &form.domain)?;
            Ok((status, html).into_response())
        }
        Err(e) => Err(e),
    }
}
