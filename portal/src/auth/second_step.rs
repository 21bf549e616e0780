//! The second sign-in step (`/auth/second-step`): a TOTP code or a
//! recovery code after a correct password, or, when the tenant requires a
//! second factor and the user has none, its enrolment.
//!
//! No session exists until this step passes. What the password step
//! proved travels in a short-lived signed cookie ([`SecondStep`], key
//! derived for this purpose, `accounts.second_step_minutes`), so the step
//! cannot be skipped by going to a page directly, nor pointed at another
//! user. Codes count against the same per-account limits as passwords.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use cookie::SameSite;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::users;
use porta_core::ids::{TenantId, UserId};
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::ott::BindingHash;
use porta_core::user_type::UserType;
use serde::{Deserialize, Serialize};

use super::finish::arrive;
use super::guard::signin_location;
use super::limits;
use super::signin::no_store;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{signed_cookie, Site};
use crate::state::AppState;
use crate::two_factor::{self, Enrolment};

pub const PATH: &str = "/auth/second-step";
const COOKIE: &str = "porta.second-step";

/// What the password step proved, for the next few minutes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondStep {
    pub tenant: TenantId,
    pub user: UserId,
    pub user_type: UserType,
    pub next: String,
    pub handoff: Option<String>,
    /// The tenant requires a second factor this user does not have yet.
    pub enrol: bool,
    pub expires_at: i64,
}

impl SecondStep {
    fn area(&self) -> PortalArea {
        match self.user_type {
            UserType::Client => PortalArea::ClientPortal,
            UserType::Internal => PortalArea::Msp,
        }
    }
}

fn cookie_name(site: &Site) -> String {
    signed_cookie::name(COOKIE, site.transport)
}

/// Hands the browser to the second step.
pub fn begin(state: &AppState, site: &Site, pending: &SecondStep) -> Result<Response, AppError> {
    let value = signed_cookie::encode(&state.second_step_keys, pending);
    let max_age = (pending.expires_at - UnixMillis::now().0) / 1000;
    let mut response = Redirect::to(PATH).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        signed_cookie::set(
            &cookie_name(site),
            Some(&value),
            site.transport,
            SameSite::Strict,
            max_age,
        ),
    );
    Ok(response)
}

fn clear(site: &Site) -> HeaderValue {
    signed_cookie::set(&cookie_name(site), None, site.transport, SameSite::Strict, 0)
}

/// The pending step of this browser, if it is live and for this tenant.
fn pending(state: &AppState, site: &Site, headers: &HeaderMap) -> Option<SecondStep> {
    let raw = signed_cookie::read(headers, &cookie_name(site))?;
    let step: SecondStep = signed_cookie::decode(&state.second_step_keys, &raw)?;
    (step.tenant == site.tenant.id && step.expires_at > UnixMillis::now().0 && !site.is_custom_domain())
        .then_some(step)
}

/// Back to the sign-in page, the step forgotten.
fn start_over(site: &Site, area: PortalArea) -> Response {
    let mut response = Redirect::to(&signin_location(
        area,
        None,
        Some(Message::SecondStepExpired.code()),
    ))
    .into_response();
    response.headers_mut().append(header::SET_COOKIE, clear(site));
    no_store(response)
}

#[derive(Template)]
#[template(path = "auth/second_step.html")]
struct CodePage {
    ctx: PageContext,
    action: &'static str,
    restart: &'static str,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "two_factor/enrol.html")]
struct EnrolPage {
    ctx: PageContext,
    action: &'static str,
    enrolment: Enrolment,
    required: bool,
    error: Option<&'static str>,
    cancel: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "two_factor/recovery_codes.html")]
pub struct CodesPage {
    pub ctx: PageContext,
    pub codes: Vec<String>,
    pub onward: String,
}

async fn step_page(
    state: &AppState,
    ctx: PageContext,
    step: &SecondStep,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = if step.enrol {
        let profile = users::profile(&state.db, step.tenant, step.user)
            .await?
            .ok_or(AppError::NotFound)?;
        let Some(enrolment) = two_factor::enrolment(
            state,
            step.tenant,
            step.user,
            &ctx.tenant_name,
            profile.email.as_str(),
        )
        .await?
        else {
            return Err(AppError::NotFound);
        };
        render(&EnrolPage {
            ctx,
            action: PATH,
            enrolment,
            required: true,
            error,
            cancel: Some(step.area().signin_path()),
        })?
    } else {
        render(&CodePage {
            ctx,
            action: PATH,
            restart: step.area().signin_path(),
            error,
        })?
    };
    Ok(no_store((status, page).into_response()))
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    match pending(&state, &site, &headers) {
        Some(step) => step_page(&state, ctx, &step, None, StatusCode::OK).await,
        None => Ok(start_over(&site, PortalArea::ClientPortal)),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn submit(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some(step) = pending(&state, &site, &headers) else {
        return Ok(start_over(&site, PortalArea::ClientPortal));
    };
    let now = UnixMillis::now();
    let Some(profile) = users::profile(&state.db, step.tenant, step.user).await? else {
        return Ok(start_over(&site, step.area()));
    };
    let ip = site.client_ip.to_string();
    let audit = |action: &'static str, outcome: &'static str, detail: serde_json::Value| {
        let ip = ip.clone();
        let email = profile.email.to_string();
        let state = &state;
        let site = &site;
        async move {
            audit::record(
                &state.db,
                &AuditEvent {
                    tenant: Some(site.tenant.id),
                    actor: Some(step.user),
                    action,
                    outcome,
                    subject: Some(&email),
                    ip: Some(&ip),
                    user_agent: site.user_agent.as_deref(),
                    detail: Some(detail),
                },
                now,
            )
            .await
        }
    };

    let attempt = limits::Attempt::new(&site, Some(&profile.email));
    match limits::check(&state, &attempt).await? {
        limits::Verdict::Go { delay } => tokio::time::sleep(delay).await,
        limits::Verdict::Refused { reason, retry_after } => {
            if limits::refused(&state, &attempt).await? {
                audit(
                    "signin",
                    "rate_limited",
                    serde_json::json!({ "step": "second", "reason": reason }),
                )
                .await?;
            }
            let mut response = step_page(
                &state,
                ctx,
                &step,
                Some("notice-RateLimited"),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
    }

    let next = NextPath::or_landing(Some(&step.next), step.area());
    let handoff = step
        .handoff
        .as_deref()
        .and_then(|h| BindingHash::from_param(h).ok());
    if step.enrol {
        let Some(codes) = two_factor::confirm(&state, step.tenant, step.user, &form.code).await? else {
            limits::failed(&state, &attempt).await?;
            audit("2fa.enable", "failure", serde_json::json!({ "during": "signin" })).await?;
            return step_page(
                &state,
                ctx,
                &step,
                Some("That code is not right. Check the time on your phone and try the newest code."),
                StatusCode::BAD_REQUEST,
            )
            .await;
        };
        limits::succeeded(&state, &attempt).await?;
        audit("2fa.enable", "success", serde_json::json!({ "during": "signin" })).await?;
        audit("signin", "success", serde_json::json!({ "second": "enrolled" })).await?;
        let arrival = arrive(
            &state,
            &site,
            step.user,
            step.user_type,
            "password+totp",
            &next,
            handoff.as_ref(),
        )
        .await?;
        // The codes page leads on through the sign-in page, which starts a
        // fresh handoff for a signed-in user (the page may be read longer
        // than a one-time token lives).
        let mut onward = url::form_urlencoded::Serializer::new(String::new());
        onward.append_pair("next", next.as_str());
        if let Some(h) = &step.handoff {
            onward.append_pair("handoff", h);
        }
        let page = render(&CodesPage {
            ctx,
            codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
            onward: format!("{}?{}", step.area().signin_path(), onward.finish()),
        })?;
        let mut response = arrival.attach(page.into_response());
        response.headers_mut().append(header::SET_COOKIE, clear(&site));
        return Ok(no_store(response));
    }

    let check = two_factor::check(&state, step.tenant, step.user, &form.code).await?;
    if !check.passed() {
        limits::failed(&state, &attempt).await?;
        audit(
            "signin",
            "failure",
            serde_json::json!({ "step": "second", "reason": check.as_str() }),
        )
        .await?;
        tracing::info!(tenant = %site.tenant.slug, reason = check.as_str(), "second step refused");
        return step_page(
            &state,
            ctx,
            &step,
            Some("That code is not right, or it was already used. Wait for the next code and try again."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    limits::succeeded(&state, &attempt).await?;
    if check == two_factor::Check::RecoveryCode {
        audit("2fa.recovery_code_used", "success", serde_json::json!({})).await?;
    }
    audit(
        "signin",
        "success",
        serde_json::json!({ "second": check.as_str() }),
    )
    .await?;
    let arrival = arrive(
        &state,
        &site,
        step.user,
        step.user_type,
        "password+totp",
        &next,
        handoff.as_ref(),
    )
    .await?;
    let mut response = arrival.redirect();
    response.headers_mut().append(header::SET_COOKIE, clear(&site));
    Ok(no_store(response))
}
