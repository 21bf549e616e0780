//! Sign-in for client users (`/auth/client-portal/signin`) and MSP staff
//! (`/auth/msp/signin`).
//!
//! Both forms share one procedure ([`sign_in`]) and differ only in the user
//! type they admit. Each attempt costs exactly one argon2 verification
//! whether or not the account exists, answers with the same generic error
//! whatever was wrong, is limited as [`super::limits`] sets out (in the
//! database, so across nodes), and writes one audit row.
//! Cross-site posts never get here (the CSRF layer refuses them).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::{oidc_providers, tenants, two_factor, users};
use porta_core::email::EmailAddress;
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::ott::BindingHash;
use porta_core::password;
use porta_core::secret::Secret;
pub use porta_core::signin_form::SigninForm;
use porta_core::user_type::UserType;
use serde::Deserialize;

use super::finish::arrive;
use super::guard::{canonical_signin_redirect, signin_redirect};
use super::handoff::handoff_url;
use super::limits;
use super::second_step::{self, SecondStep};
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{CurrentSession, Site};
use crate::state::AppState;

/// The audit action of every sign-in attempt (both forms: the per-account
/// limit counts them together).
const SIGNIN_ACTION: &str = "signin";
/// Passwords longer than this are refused without hashing.
const MAX_PASSWORD_BYTES: usize = 4096;

#[derive(Debug, Deserialize)]
pub struct SigninQuery {
    error: Option<String>,
    next: Option<String>,
    /// The binding hash of a handoff started on the custom domain.
    handoff: Option<String>,
}

/// A well-formed binding hash, or none.
fn binding(raw: Option<&str>) -> Option<BindingHash> {
    raw.and_then(|h| BindingHash::from_param(h).ok())
}

/// Which sign-in form.
#[derive(Debug, Clone, Copy)]
struct Door {
    area: PortalArea,
    admits: UserType,
    form_name: &'static str,
}

const CLIENT_DOOR: Door = Door {
    area: PortalArea::ClientPortal,
    admits: UserType::Client,
    form_name: "client",
};
const MSP_DOOR: Door = Door {
    area: PortalArea::Msp,
    admits: UserType::Internal,
    form_name: "msp",
};

#[derive(Template)]
#[template(path = "auth/signin.html")]
struct SigninPage<'a> {
    ctx: PageContext,
    /// Message ids: the heading, and the other door's link.
    heading: &'a str,
    action: &'a str,
    next: Option<&'a str>,
    handoff: Option<String>,
    other_link: (&'a str, &'a str),
    forgot: &'a str,
    ways: WaysIn,
}

/// A provider's button.
pub struct SsoButton {
    pub href: String,
    pub label: String,
    pub preset: &'static str,
}

/// How people of this door may sign in here.
pub struct WaysIn {
    pub providers: Vec<SsoButton>,
    pub password: bool,
}

impl WaysIn {
    async fn of(
        state: &AppState,
        site: &Site,
        door: Door,
        next: Option<&NextPath>,
        handoff: Option<&BindingHash>,
    ) -> Result<WaysIn, AppError> {
        let tenant = site.tenant.id;
        let policy = tenants::signin_policy(&state.db, tenant).await?;
        // Finished before any await: the serializer is not `Send`.
        let query = {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if let Some(next) = next {
                query.append_pair("next", next.as_str());
            }
            if let Some(h) = handoff {
                query.append_pair("handoff", &h.to_param());
            }
            query.finish()
        };
        let providers: Vec<SsoButton> = oidc_providers::enabled_for(&state.db, tenant, door.admits)
            .await?
            .into_iter()
            .map(|p| SsoButton {
                href: if query.is_empty() {
                    super::oidc::start_path(p.id)
                } else {
                    format!("{}?{query}", super::oidc::start_path(p.id))
                },
                label: format!("Sign in with {}", p.display_name),
                preset: p.preset.as_str(),
            })
            .collect();
        // Password sign-in can only be off while a provider serves the door.
        let password = policy.allows_password(door.admits) || providers.is_empty();
        Ok(WaysIn { providers, password })
    }
}

fn signin_page(
    door: Door,
    ctx: PageContext,
    next: Option<&NextPath>,
    handoff: Option<&BindingHash>,
    ways: WaysIn,
) -> Result<Response, AppError> {
    let (heading, other_link) = match door.area {
        PortalArea::ClientPortal => (
            "auth-signin-heading-client",
            (PortalArea::Msp.signin_path(), "auth-signin-link-staff"),
        ),
        PortalArea::Msp => (
            "auth-signin-heading-staff",
            (PortalArea::ClientPortal.signin_path(), "auth-signin-link-client"),
        ),
    };
    Ok(no_store(
        render(&SigninPage {
            ctx,
            heading,
            action: door.area.signin_path(),
            next: next.map(NextPath::as_str),
            handoff: handoff.map(BindingHash::to_param),
            other_link,
            forgot: match door.area {
                PortalArea::ClientPortal => super::reset::CLIENT_FORGOT,
                PortalArea::Msp => super::reset::MSP_FORGOT,
            },
            ways,
        })?
        .into_response(),
    ))
}

pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn show_signin(
    door: Door,
    state: &AppState,
    site: &Site,
    current: CurrentSession,
    ctx: PageContext,
    query: SigninQuery,
) -> Result<Response, AppError> {
    // Sign-in happens on the canonical host; the handoff brings the user back.
    if site.is_custom_domain() {
        return Ok(to_canonical(state, site, door, query.next.as_deref()));
    }
    let next = query
        .next
        .as_deref()
        .and_then(|n| NextPath::parse(n, door.area).ok());
    let handoff = binding(query.handoff.as_deref());
    if query.error.is_none() {
        if let Some(signed_in) = current.0.filter(|s| s.user.user_type == door.admits) {
            let target = next.unwrap_or_else(|| NextPath::landing(door.area));
            // Already signed in here: go straight (back) to the custom domain.
            let onward = match door.admits {
                UserType::Client => {
                    handoff_url(
                        state,
                        site,
                        &signed_in.user,
                        &signed_in.session,
                        &target,
                        handoff.as_ref(),
                    )
                    .await?
                }
                UserType::Internal => None,
            };
            let location = onward.unwrap_or_else(|| target.as_str().to_owned());
            return Ok(no_store(Redirect::to(&location).into_response()));
        }
    }
    let ways = WaysIn::of(state, site, door, next.as_ref(), handoff.as_ref()).await?;
    signin_page(door, ctx, next.as_ref(), handoff.as_ref(), ways)
}

/// From a custom domain: client users start the bound handoff there; staff
/// go to the canonical sign-in.
fn to_canonical(state: &AppState, site: &Site, door: Door, next: Option<&str>) -> Response {
    match door.admits {
        UserType::Client => Redirect::to(&super::handoff::start_location(next)).into_response(),
        UserType::Internal => canonical_signin_redirect(state, site, door.area, next).into_response(),
    }
}

pub async fn client_signin_page(
    State(state): State<AppState>,
    site: Site,
    current: CurrentSession,
    ctx: PageContext,
    Query(query): Query<SigninQuery>,
) -> Result<Response, AppError> {
    show_signin(CLIENT_DOOR, &state, &site, current, ctx, query).await
}

pub async fn msp_signin_page(
    State(state): State<AppState>,
    site: Site,
    current: CurrentSession,
    ctx: PageContext,
    Query(query): Query<SigninQuery>,
) -> Result<Response, AppError> {
    show_signin(MSP_DOOR, &state, &site, current, ctx, query).await
}

pub async fn client_signin(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    Form(form): Form<SigninForm>,
) -> Result<Response, AppError> {
    sign_in(CLIENT_DOOR, &state, &site, ctx, form).await
}

pub async fn msp_signin(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    Form(form): Form<SigninForm>,
) -> Result<Response, AppError> {
    sign_in(MSP_DOOR, &state, &site, ctx, form).await
}

/// The outcome of checking credentials.
enum Verdict {
    Admitted(users::Credentials),
    /// Right password, but an account of the other user type.
    WrongDoor,
    Refused(&'static str),
}

async fn check_credentials(
    door: Door,
    state: &AppState,
    site: &Site,
    email: Option<&EmailAddress>,
    password: String,
) -> Result<Verdict, AppError> {
    let tenant = site.tenant.id;
    let (own, other) = match email {
        Some(email) => {
            let own = users::find_credentials(&state.db, tenant, email, door.admits).await?;
            let other = match own {
                Some(_) => None,
                None => {
                    let other_type = match door.admits {
                        UserType::Client => UserType::Internal,
                        UserType::Internal => UserType::Client,
                    };
                    users::find_credentials(&state.db, tenant, email, other_type).await?
                }
            };
            (own, other)
        }
        None => (None, None),
    };
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(Verdict::Refused("password_too_long"));
    }
    let candidate = own.as_ref().or(other.as_ref());
    let found = candidate.is_some();
    let stored = candidate.map(|c| c.password_hash.clone());
    // Exactly one verification, against a dummy hash when nobody matched.
    let matched = password::verify_blocking(stored, Secret::new(password)).await;
    Ok(match (own, other) {
        _ if !matched => Verdict::Refused(if found { "bad_password" } else { "unknown_user" }),
        (Some(c), _) if c.disabled => Verdict::Refused("disabled"),
        (Some(c), _) => Verdict::Admitted(c),
        (None, Some(c)) if c.disabled => Verdict::Refused("disabled"),
        (None, Some(_)) => Verdict::WrongDoor,
        (None, None) => Verdict::Refused("unknown_user"),
    })
}

#[tracing::instrument(skip_all, fields(form = door.form_name))]
async fn sign_in(
    door: Door,
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    form: SigninForm,
) -> Result<Response, AppError> {
    if site.is_custom_domain() {
        return Ok(to_canonical(state, site, door, form.next.as_deref()));
    }
    let now = UnixMillis::now();
    let next = NextPath::or_landing(form.next.as_deref(), door.area);
    let handoff = binding(form.handoff.as_deref());
    let email = EmailAddress::parse(&form.email).ok();
    // The subject of the audit row: the normalised email, or what was typed
    // (bounded) when it is not an email address.
    let subject: String = match &email {
        Some(e) => e.to_string(),
        None => form.email.trim().to_lowercase().chars().take(320).collect(),
    };
    let ip = site.client_ip.to_string();
    let audit = |outcome: &'static str, actor, reason: Option<&'static str>| {
        let detail = serde_json::json!({ "form": door.form_name, "reason": reason });
        let subject = subject.clone();
        let ip = ip.clone();
        async move {
            let event = AuditEvent {
                tenant: Some(site.tenant.id),
                actor,
                action: SIGNIN_ACTION,
                outcome,
                subject: Some(&subject),
                ip: Some(&ip),
                user_agent: site.user_agent.as_deref(),
                detail: Some(detail),
            };
            audit::record(&state.db, &event, now).await
        }
    };

    let attempt = limits::Attempt::new(site, email.as_ref());
    match limits::check(state, &attempt).await? {
        limits::Verdict::Go { delay } => {
            if !delay.is_zero() {
                tracing::info!(tenant = %site.tenant.slug, delay_ms = delay.as_millis(), "sign-in slowed down");
                tokio::time::sleep(delay).await;
            }
        }
        limits::Verdict::Refused { reason, retry_after } => {
            if limits::refused(state, &attempt).await? {
                audit("rate_limited", None, Some(reason)).await?;
            }
            tracing::warn!(tenant = %site.tenant.slug, reason, "sign-in rate limited");
            let ctx = ctx.with_flash(Some(Message::RateLimited.flash()));
            let ways = WaysIn::of(state, site, door, Some(&next), handoff.as_ref()).await?;
            let mut response = signin_page(door, ctx, Some(&next), handoff.as_ref(), ways)?;
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
    }

    let ways = WaysIn::of(state, site, door, None, None).await?;
    if !ways.password {
        audit("denied", None, Some("password_signin_off")).await?;
        return Ok(no_store(
            signin_redirect(
                door.area,
                Some(next.as_str()),
                Some(Message::PasswordSigninOff.code()),
            )
            .into_response(),
        ));
    }
    let verdict = check_credentials(door, state, site, email.as_ref(), form.password).await?;
    let response = match verdict {
        Verdict::Admitted(user) => {
            limits::succeeded(state, &attempt).await?;
            let policy = tenants::signin_policy(&state.db, site.tenant.id).await?;
            let second = two_factor::get(&state.db, site.tenant.id, user.id).await?;
            if second.enabled() || policy.requires_2fa(door.admits) {
                audit("password_ok", Some(user.id), Some("second_step")).await?;
                let pending = SecondStep {
                    tenant: site.tenant.id,
                    user: user.id,
                    user_type: door.admits,
                    next: next.as_str().to_owned(),
                    handoff: handoff.as_ref().map(BindingHash::to_param),
                    enrol: !second.enabled(),
                    expires_at: now
                        .plus_seconds(state.config.accounts.second_step.as_secs() as i64)
                        .0,
                };
                return Ok(no_store(second_step::begin(state, site, &pending)?));
            }
            audit("success", Some(user.id), None).await?;
            arrive(
                state,
                site,
                user.id,
                door.admits,
                "password",
                &next,
                handoff.as_ref(),
            )
            .await?
            .redirect()
        }
        Verdict::WrongDoor => {
            audit("denied", None, Some("wrong_user_type")).await?;
            signin_redirect(door.area, None, Some(Message::AccessDenied.code())).into_response()
        }
        Verdict::Refused(reason) => {
            limits::failed(state, &attempt).await?;
            audit("failure", None, Some(reason)).await?;
            tracing::info!(tenant = %site.tenant.slug, reason, "sign-in refused");
            signin_redirect(
                door.area,
                Some(next.as_str()),
                Some(Message::CredentialsSignin.code()),
            )
            .into_response()
        }
    };
    Ok(no_store(response))
}
