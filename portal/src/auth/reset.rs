//! Password reset: ask by address (`/auth/client-portal/forgot-password`,
//! `/auth/msp/forgot-password`), then choose a new password from the mailed
//! link (`/auth/password-reset/set-new-password?token=…`).
//!
//! Asking answers the same page at once whether or not the address has an
//! account: the lookup, the token and the mail happen after the answer,
//! so neither the page nor its timing says who exists. Asking is limited
//! per address and per IP. The link's token is 32 random bytes, only its
//! hash stored, bound to the user and tenant, single use (one atomic
//! statement), expiring; using it sets the password (checked by the
//! strength estimator), signs out every session of the user, and is
//! audited.

use crate::i18n::Texts;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::throttle::{self, Scope};
use porta_core::db::{password_resets, sessions, users};
use porta_core::email::EmailAddress;
use porta_core::locale::Locale;
use porta_core::next_path::PortalArea;
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::token::LinkToken;
use porta_core::user_type::UserType;
use serde::Deserialize;

use super::links;
use crate::error::AppError;
use crate::mail::letters::{self, Addressee};
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::Site;
use crate::state::AppState;

pub const CLIENT_FORGOT: &str = "/auth/client-portal/forgot-password";
pub const MSP_FORGOT: &str = "/auth/msp/forgot-password";
pub const SET_NEW: &str = "/auth/password-reset/set-new-password";

const PER_ADDRESS: Scope = Scope("reset.address");
const PER_IP: Scope = Scope("reset.ip");
/// Requests per address and per IP in an hour.
const ADDRESS_LIMIT: i64 = 3;
const IP_LIMIT: i64 = 10;

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage<'a> {
    ctx: PageContext,
    action: &'a str,
    signin: &'a str,
    sent: bool,
}

fn forgot_page(ctx: PageContext, user_type: UserType, sent: bool) -> Result<Response, AppError> {
    let (action, area) = match user_type {
        UserType::Client => (CLIENT_FORGOT, PortalArea::ClientPortal),
        UserType::Internal => (MSP_FORGOT, PortalArea::Msp),
    };
    let mut response = render(&ForgotPage {
        ctx,
        action,
        signin: area.signin_path(),
        sent,
    })?
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn client_form(ctx: PageContext) -> Result<Response, AppError> {
    forgot_page(ctx, UserType::Client, false)
}

pub async fn msp_form(ctx: PageContext) -> Result<Response, AppError> {
    forgot_page(ctx, UserType::Internal, false)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn client_request(
    state: State<AppState>,
    site: Site,
    ctx: PageContext,
    form: Form<ForgotForm>,
) -> Result<Response, AppError> {
    request(state, site, ctx, UserType::Client, form).await
}

pub async fn msp_request(
    state: State<AppState>,
    site: Site,
    ctx: PageContext,
    form: Form<ForgotForm>,
) -> Result<Response, AppError> {
    request(state, site, ctx, UserType::Internal, form).await
}

async fn request(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    user_type: UserType,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let now = UnixMillis::now();
    let ip = site.client_ip.to_string();
    let email = EmailAddress::parse(&form.email).ok();
    let by_ip = throttle::hit(&state.db, PER_IP, &ip, 3600, now).await?;
    let by_address = match &email {
        Some(e) => {
            throttle::hit(
                &state.db,
                PER_ADDRESS,
                &format!("{}:{e}", site.tenant.id),
                3600,
                now,
            )
            .await?
        }
        None => 0,
    };
    let limited = by_ip > IP_LIMIT || by_address > ADDRESS_LIMIT;
    if let (Some(email), false) = (email, limited) {
        // After the answer, so that its content and timing are the same
        // for every address.
        let state = state.clone();
        let texts = ctx.texts;
        tokio::spawn(async move {
            if let Err(e) = send_link(&state, &site, texts, user_type, &email).await {
                tracing::error!(error = %crate::error::chain(&e), "password reset mail could not be prepared");
            }
        });
    } else if limited {
        tracing::info!(tenant = %site.tenant.slug, "password reset requests limited");
    }
    forgot_page(ctx, user_type, true)
}

/// Issues the token and writes the mail, in one transaction, when the
/// address has a live account of that type.
async fn send_link(
    state: &AppState,
    site: &Site,
    asked_in: Texts,
    user_type: UserType,
    email: &EmailAddress,
) -> Result<(), AppError> {
    let tenant = &site.tenant;
    let now = UnixMillis::now();
    let found = users::find_credentials(&state.db, tenant.id, email, user_type).await?;
    let outcome = match found {
        Some(user) if !user.disabled => {
            let profile = users::profile(&state.db, tenant.id, user.id)
                .await?
                .ok_or(AppError::NotFound)?;
            let ttl = state.config.accounts.reset_link;
            let mut tx = state.db.begin().await?;
            let token =
                password_resets::issue(&mut tx, tenant.id, user.id, ttl.as_secs() as i64, now).await?;
            let origin = links::origin(state, tenant, user_type).await?;
            let link = format!("{origin}{SET_NEW}?token={}", token.expose());
            // The reader's own language when they chose one, else the
            // language the request was made in.
            let texts = Locale::of_preference(&profile.locale).map_or(asked_in, Texts);
            let letter = letters::password_reset(
                texts,
                &profile.display_name,
                &tenant.name,
                &link,
                ttl.as_secs() / 60,
            )?;
            let to = Addressee {
                name: &profile.display_name,
                address: profile.email.as_str(),
            };
            letters::enqueue(
                &mut tx,
                tenant.id,
                Some(&tenant.reply_to),
                "password_reset",
                to,
                &letter,
            )
            .await?;
            tx.commit().await?;
            state.mail_wake.now();
            "sent"
        }
        Some(_) => "disabled",
        None => "no_account",
    };
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(tenant.id),
            actor: None,
            action: "password_reset.request",
            outcome,
            subject: Some(email.as_str()),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: Some(serde_json::json!({ "user_type": user_type.as_str() })),
        },
        now,
    )
    .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "auth/set_new_password.html")]
struct SetNewPage {
    ctx: PageContext,
    token: Option<String>,
    email: String,
    error: Option<String>,
    forgot: &'static str,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// Headers of the token pages: no referrer path, no caching.
fn no_referrer(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // Not `no-referrer`: under it a browser sends `Origin: null` with the
    // page's own form, which the same-origin check refuses. `strict-origin`
    // still never sends the path (with its token) anywhere.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page for a token: the form, or why the link no longer works.
async fn set_new_page(
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    raw: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = UnixMillis::now();
    let live = match raw.and_then(|r| LinkToken::parse(r).ok()) {
        Some(token) => password_resets::peek(&state.db, site.tenant.id, &token, now)
            .await?
            .map(|user| (token, user)),
        None => None,
    };
    let (token, email, forgot) = match live {
        Some((token, user)) => {
            let profile = users::profile(&state.db, site.tenant.id, user)
                .await?
                .ok_or(AppError::NotFound)?;
            let forgot = match profile.user_type {
                UserType::Client => CLIENT_FORGOT,
                UserType::Internal => MSP_FORGOT,
            };
            (Some(token.expose().to_owned()), profile.email.to_string(), forgot)
        }
        None => (None, String::new(), CLIENT_FORGOT),
    };
    let status = if token.is_none() && status == StatusCode::OK {
        StatusCode::GONE
    } else {
        status
    };
    let html: Html<String> = render(&SetNewPage {
        ctx,
        token,
        email,
        error,
        forgot,
    })?;
    Ok(no_referrer((status, html).into_response()))
}

pub async fn set_new_form(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    set_new_page(&state, &site, ctx, query.token.as_deref(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct SetNewForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn set_new(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    Form(form): Form<SetNewForm>,
) -> Result<Response, AppError> {
    if super::limits::link_form_limited(&state, &site, "reset.set.ip", 30).await? {
        let ctx = ctx.with_flash(Some(Message::RateLimited.flash()));
        return set_new_page(&state, &site, ctx, None, None, StatusCode::TOO_MANY_REQUESTS).await;
    }
    let now = UnixMillis::now();
    let tenant = site.tenant.id;
    let Ok(token) = LinkToken::parse(&form.token) else {
        return set_new_page(&state, &site, ctx, None, None, StatusCode::GONE).await;
    };
    let Some(user) = password_resets::peek(&state.db, tenant, &token, now).await? else {
        return set_new_page(&state, &site, ctx, None, None, StatusCode::GONE).await;
    };
    let profile = users::profile(&state.db, tenant, user)
        .await?
        .ok_or(AppError::NotFound)?;
    let new = Secret::new(form.new.clone());
    let inputs = [profile.email.as_str(), profile.display_name.as_str()];
    let refusal = if form.new != form.confirm {
        Some("The two passwords differ.".to_owned())
    } else {
        password::check_strength(&new, &inputs, state.config.accounts.min_password_score)
            .err()
            .map(|e| format!("The new {e}."))
    };
    if let Some(message) = refusal {
        return set_new_page(
            &state,
            &site,
            ctx,
            Some(&form.token),
            Some(message),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    // The one statement that decides: of two tabs, one wins.
    if password_resets::consume(&state.db, tenant, &token, now).await? != Some(user) {
        return set_new_page(&state, &site, ctx, None, None, StatusCode::GONE).await;
    }
    let hash = password::hash_blocking(new).await.map_err(AppError::internal)?;
    users::set_password_hash(&state.db, tenant, user, &hash).await?;
    let revoked = sessions::revoke_all_for_user(&state.db, tenant, user, "password_reset", now).await?;
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(tenant),
            actor: Some(user),
            action: "password_reset.complete",
            outcome: "success",
            subject: Some(profile.email.as_str()),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: Some(serde_json::json!({ "sessions_revoked": revoked })),
        },
        now,
    )
    .await?;
    let area = match profile.user_type {
        UserType::Client => PortalArea::ClientPortal,
        UserType::Internal => PortalArea::Msp,
    };
    // Sign-in happens on the canonical host: from a custom domain, straight
    // there (its sign-in page would forward and drop the notice).
    let origin = if site.is_custom_domain() {
        site.canonical_origin(&state.config)
    } else {
        String::new()
    };
    Ok(no_referrer(
        Redirect::to(&format!(
            "{origin}{}?notice={}",
            area.signin_path(),
            Message::PasswordReset.code()
        ))
        .into_response(),
    ))
}
