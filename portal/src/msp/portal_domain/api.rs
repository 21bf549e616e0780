//! `/api/msp/portal-domain`: the JSON API of the domain settings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::service;
use crate::error::AppError;
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RegisterBody {
    domain: String,
}

fn domain_json(view: impl serde::Serialize) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "domain": view }))
}

pub async fn show(State(state): State<AppState>, site: Site, who: SignedIn) -> Result<Response, AppError> {
    let view = service::show(&state, &site, &who).await?;
    Ok(domain_json(view).into_response())
}

pub async fn register(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Json(body): Json<RegisterBody>,
) -> Result<Response, AppError> {
    let view = service::register(&state, &site, &who, &body.domain, false).await?;
    Ok((StatusCode::CREATED, domain_json(view)).into_response())
}

pub async fn change(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Json(body): Json<RegisterBody>,
) -> Result<Response, AppError> {
    let view = service::register(&state, &site, &who, &body.domain, true).await?;
    Ok(domain_json(view).into_response())
}

pub async fn retry(State(state): State<AppState>, site: Site, who: SignedIn) -> Result<Response, AppError> {
    let view = service::retry(&state, &site, &who).await?;
    Ok(domain_json(view).into_response())
}

pub async fn disable(State(state): State<AppState>, site: Site, who: SignedIn) -> Result<Response, AppError> {
    let view = service::disable(&state, &site, &who).await?;
    Ok(domain_json(view).into_response())
}

pub async fn remove(State(state): State<AppState>, site: Site, who: SignedIn) -> Result<Response, AppError> {
    service::remove(&state, &site, &who).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
