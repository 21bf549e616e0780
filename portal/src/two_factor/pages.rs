//! The user's own two-factor pages, under their profile
//! (`/client-portal/profile/two-factor`, `/msp/profile/two-factor`):
//! enrol, turn off (password and a code), new recovery codes (a code).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::{two_factor as stored, users};
use porta_core::password;
use porta_core::secret::Secret;
use serde::Deserialize;

use super::{check, confirm, enrolment, replace_recovery_codes, Enrolment};
use crate::auth::second_step::CodesPage;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "two_factor/enrol.html")]
struct EnrolPage {
    ctx: PageContext,
    action: String,
    enrolment: Enrolment,
    required: bool,
    error: Option<&'static str>,
    cancel: Option<String>,
}

fn profile_base(who: &SignedIn) -> &'static str {
    match who.user.user_type {
        porta_core::user_type::UserType::Client => "/client-portal/profile",
        porta_core::user_type::UserType::Internal => "/msp/profile",
    }
}

fn back(who: &SignedIn, message: Message) -> Response {
    Redirect::to(&format!(
        "{}?notice={}#two-factor",
        profile_base(who),
        message.code()
    ))
    .into_response()
}

async fn audit_own(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    action: &'static str,
    outcome: &'static str,
) -> Result<(), AppError> {
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(who.user.tenant_id),
            actor: Some(who.user.id),
            action,
            outcome,
            subject: Some(who.user.email.as_str()),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: None,
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(())
}

async fn enrol_page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<&'static str>,
) -> Result<Response, AppError> {
    let base = profile_base(who);
    let Some(enrolment) = enrolment(
        state,
        who.user.tenant_id,
        who.user.id,
        &ctx.tenant_name,
        who.user.email.as_str(),
    )
    .await?
    else {
        // Already on.
        return Ok(Redirect::to(&format!("{base}#two-factor")).into_response());
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(&EnrolPage {
        ctx,
        action: format!("{base}/two-factor"),
        enrolment,
        required: false,
        error,
        cancel: Some(base.to_owned()),
    })?;
    Ok((status, html).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Response, AppError> {
    enrol_page(&state, ctx, &who, None).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

fn codes_page(
    ctx: PageContext,
    who: &SignedIn,
    codes: &[porta_core::totp::RecoveryCode],
) -> Result<Response, AppError> {
    Ok(render(&CodesPage {
        ctx,
        codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
        onward: format!(
            "{}?notice={}#two-factor",
            profile_base(who),
            Message::TwoFactorEnabled.code()
        ),
    })?
    .into_response())
}

pub async fn enable(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    match confirm(&state, who.user.tenant_id, who.user.id, &form.code).await? {
        Some(codes) => {
            audit_own(&state, &site, &who, "2fa.enable", "success").await?;
            codes_page(ctx, &who, &codes)
        }
        None => {
            audit_own(&state, &site, &who, "2fa.enable", "failure").await?;
            enrol_page(
                &state,
                ctx,
                &who,
                Some("That code is not right. Check the time on your phone and try the newest code."),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// A refusal shown on the profile page, next to the two-factor section.
fn refused(who: &SignedIn, code: &'static str) -> Response {
    Redirect::to(&format!("{}?tfa_error={code}#two-factor", profile_base(who))).into_response()
}

pub async fn disable(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Form(form): Form<DisableForm>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let hash = users::password_hash(&state.db, tenant, who.user.id).await?;
    let password_ok =
        form.password.len() <= 4096 && password::verify_blocking(hash, Secret::new(form.password)).await;
    if !password_ok {
        audit_own(&state, &site, &who, "2fa.disable", "failure").await?;
        return Ok(refused(&who, "password"));
    }
    if !check(&state, tenant, who.user.id, &form.code).await?.passed() {
        audit_own(&state, &site, &who, "2fa.disable", "failure").await?;
        return Ok(refused(&who, "code"));
    }
    stored::disable(&state.db, tenant, who.user.id).await?;
    audit_own(&state, &site, &who, "2fa.disable", "success").await?;
    Ok(back(&who, Message::TwoFactorDisabled))
}

pub async fn new_recovery_codes(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    if !check(&state, tenant, who.user.id, &form.code).await?.passed() {
        return Ok(refused(&who, "code"));
    }
    let codes = replace_recovery_codes(&state, tenant, who.user.id).await?;
    audit_own(&state, &site, &who, "2fa.recovery_codes_replaced", "success").await?;
    let mut response = codes_page(ctx, &who, &codes)?;
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}
