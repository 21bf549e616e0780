//! The custom-domain settings of the MSP area: the page at
//! `/msp/settings/portal-domain` (behind the staff guard) and the JSON API
//! at `/api/msp/portal-domain` (behind the staff API guard).

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;

use crate::domain_settings::{self, DomainView, SettingsError};
use crate::pages::{format_time, render, MspDomainPage};
use crate::session::SignedIn;
use crate::site::Site;
use crate::state::AppState;

const PAGE: &str = "/msp/settings/portal-domain";

impl IntoResponse for SettingsError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let SettingsError::Db(cause) = &self {
            tracing::error!(%cause, "domain settings failed");
        }
        let message = match &self {
            SettingsError::Db(_) => "the request could not be completed".to_owned(),
            other => other.to_string(),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(serde_json::json!({ "error": code, "message": message })),
        )
            .into_response()
    }
}

// ----- JSON API -------------------------------------------------------------

#[derive(Deserialize)]
pub struct RegisterBody {
    domain: String,
}

pub async fn api_show(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
) -> Result<Response, SettingsError> {
    let view = domain_settings::show(&state, &site, &who).await?;
    Ok(Json(serde_json::json!({ "domain": view })).into_response())
}

pub async fn api_register(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Json(body): Json<RegisterBody>,
) -> Result<Response, SettingsError> {
    let view = domain_settings::register(&state, &site, &who, &body.domain, false).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "domain": view }))).into_response())
}

pub async fn api_change(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Json(body): Json<RegisterBody>,
) -> Result<Response, SettingsError> {
    let view = domain_settings::register(&state, &site, &who, &body.domain, true).await?;
    Ok(Json(serde_json::json!({ "domain": view })).into_response())
}

pub async fn api_retry(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
) -> Result<Response, SettingsError> {
    let view = domain_settings::retry(&state, &site, &who).await?;
    Ok(Json(serde_json::json!({ "domain": view })).into_response())
}

pub async fn api_disable(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
) -> Result<Response, SettingsError> {
    let view = domain_settings::disable(&state, &site, &who).await?;
    Ok(Json(serde_json::json!({ "domain": view })).into_response())
}

pub async fn api_remove(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
) -> Result<Response, SettingsError> {
    domain_settings::remove(&state, &site, &who).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- The page ---------------------------------------------------------------

#[derive(Deserialize)]
pub struct PageQuery {
    notice: Option<String>,
    error: Option<String>,
}

fn page(
    site: &Site,
    who: &SignedIn,
    view: Option<&DomainView>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Html<String> {
    let observed = view.and_then(|v| v.observed.as_ref()).map(|o| {
        if o.is_empty() {
            "no record".to_owned()
        } else {
            o.join("; ")
        }
    });
    render(&MspDomainPage {
        tenant_name: &site.tenant.name,
        user_name: &who.profile.display_name,
        can_update: who.can(domain_settings::UPDATE),
        domain: view,
        observed,
        last_checked: view.and_then(|v| v.last_checked_at).and_then(format_time),
        // The page reloads itself while something is under way.
        refresh: view.is_some_and(|v| v.status.as_str().starts_with("pending")),
        notice,
        error,
    })
}

pub async fn show_page(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Response {
    match domain_settings::show(&state, &site, &who).await {
        Ok(view) => page(
            &site,
            &who,
            view.as_ref(),
            query.notice.as_deref(),
            query.error.as_deref(),
        )
        .into_response(),
        Err(e @ SettingsError::Forbidden(_)) => (
            StatusCode::FORBIDDEN,
            page(&site, &who, None, None, Some(&e.to_string())),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct PageForm {
    action: String,
    #[serde(default)]
    domain: String,
}

/// Form posts: do the action, then back to the page with a notice or the
/// error (post/redirect/get).
pub async fn submit_page(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    headers: axum::http::HeaderMap,
    Form(form): Form<PageForm>,
) -> Response {
    if let Err(e) = crate::routes::auth::check_same_origin(&headers, &site) {
        return e.into_response();
    }
    let result = match form.action.as_str() {
        "register" => domain_settings::register(&state, &site, &who, &form.domain, false)
            .await
            .map(|v| format!("{} registered. Create the CNAME record below.", v.name)),
        "change" => domain_settings::register(&state, &site, &who, &form.domain, true)
            .await
            .map(|v| format!("Changed to {}. Create the CNAME record below.", v.name)),
        "retry" => domain_settings::retry(&state, &site, &who)
            .await
            .map(|_| "Checking again now.".to_owned()),
        "disable" => domain_settings::disable(&state, &site, &who)
            .await
            .map(|v| format!("{} disabled.", v.name)),
        "remove" => domain_settings::remove(&state, &site, &who)
            .await
            .map(|()| "Domain removed.".to_owned()),
        _ => return (StatusCode::BAD_REQUEST, "unknown action").into_response(),
    };
    let (key, text) = match result {
        Ok(notice) => ("notice", notice),
        Err(SettingsError::Db(cause)) => {
            tracing::error!(%cause, "domain settings failed");
            (
                "error",
                "The change could not be saved. Please try again.".to_owned(),
            )
        }
        Err(e) => ("error", e.to_string()),
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &text)
        .finish();
    Redirect::to(&format!("{PAGE}?{query}")).into_response()
}
