//! Accepting an invitation (`/auth/portal/setup?token=…`): the invited
//! person chooses a password (checked for strength), enrols a second
//! factor on the same page when the tenant requires one, and is signed
//! in; through the handoff when they set up on the canonical host and the
//! custom domain is active, directly on the custom domain otherwise.
//!
//! The account, its roles, its second factor and the use of the link are
//! one transaction: of two tabs one creates the account, the other sees
//! that the link is used.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::invitations::{self, Invitation};
use porta_core::db::{clients, roles, tenants, two_factor, users, DbError};
use porta_core::ids::{InvitationId, RoleId};
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::token::LinkToken;
use porta_core::totp::{RecoveryCode, TotpSecret};
use porta_core::user_type::UserType;
use serde::{Deserialize, Serialize};

use super::finish::arrive;
use super::second_step::CodesPage;
use super::signin::no_store;
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::{signed_cookie, Site};
use crate::state::AppState;
use crate::two_factor::{qr_svg, Enrolment};

/// What the form shows about the invitation.
struct Invite {
    token: String,
    email: String,
    name: String,
    company: String,
    inviter: String,
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    ctx: PageContext,
    invite: Option<Invite>,
    enrolment: Option<Enrolment>,
    enrolment_state: String,
    error: Option<String>,
}

/// The secret offered on the page, signed so the form brings back the one
/// it showed (for this invitation only).
#[derive(Serialize, Deserialize)]
struct PendingSecret {
    invitation: InvitationId,
    secret: String,
    expires_at: i64,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    enrolment: String,
    #[serde(default)]
    code: String,
}

async fn live(state: &AppState, site: &Site, raw: &str) -> Result<Option<(LinkToken, Invitation)>, AppError> {
    let Ok(token) = LinkToken::parse(raw) else {
        return Ok(None);
    };
    Ok(
        invitations::find_live(&state.db, site.tenant.id, &token, UnixMillis::now())
            .await?
            .map(|i| (token, i)),
    )
}

fn gone(ctx: PageContext) -> Result<Response, AppError> {
    let html: Html<String> = render(&SetupPage {
        ctx,
        invite: None,
        enrolment: None,
        enrolment_state: String::new(),
        error: None,
    })?;
    Ok(no_store((StatusCode::GONE, html).into_response()))
}

/// The page for a live invitation, with `secret` offered when the tenant
/// requires a second factor.
async fn form_page(
    state: &AppState,
    ctx: PageContext,
    site: &Site,
    (token, invitation): (&LinkToken, &Invitation),
    name: Option<&str>,
    secret: Option<TotpSecret>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let company = clients::profile(&state.db, site.tenant.id, invitation.client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (enrolment, enrolment_state) = match secret {
        Some(secret) => {
            let uri = secret
                .uri(&site.tenant.name, invitation.email.as_str())
                .map_err(AppError::internal)?;
            let pending = PendingSecret {
                invitation: invitation.id,
                secret: secret.base32(),
                expires_at: invitation.expires_at.unwrap_or_default(),
            };
            let signed = signed_cookie::encode(&state.second_step_keys, &pending);
            (
                Some(Enrolment {
                    base32: secret.base32(),
                    qr_svg: qr_svg(&uri)?,
                    uri,
                }),
                signed,
            )
        }
        None => (None, String::new()),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(&SetupPage {
        ctx,
        invite: Some(Invite {
            token: token.expose().to_owned(),
            email: invitation.email.to_string(),
            name: name.unwrap_or(&invitation.display_name).to_owned(),
            company: company.name,
            inviter: invitation.invited_by_name.clone(),
        }),
        enrolment,
        enrolment_state,
        error,
    })?;
    let mut response = no_store((status, html).into_response());
    response.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        // `strict-origin`, not `no-referrer`: see `reset::no_referrer`.
        axum::http::HeaderValue::from_static("strict-origin"),
    );
    Ok(response)
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    Query(query): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let Some((token, invitation)) = live(&state, &site, query.token.as_deref().unwrap_or_default()).await?
    else {
        return gone(ctx);
    };
    let policy = tenants::signin_policy(&state.db, site.tenant.id).await?;
    let secret = policy.requires_2fa(UserType::Client).then(TotpSecret::generate);
    form_page(&state, ctx, &site, (&token, &invitation), None, secret, None).await
}

/// The secret the page offered, if the form brought back a genuine one.
fn offered(state: &AppState, invitation: &Invitation, raw: &str) -> Option<TotpSecret> {
    let pending: PendingSecret = signed_cookie::decode(&state.second_step_keys, raw)?;
    (pending.invitation == invitation.id)
        .then(|| TotpSecret::from_base32(&pending.secret).ok())
        .flatten()
}

pub async fn submit(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    let tenant = site.tenant.id;
    if super::limits::link_form_limited(&state, &site, "setup.ip", 30).await? {
        let html: Html<String> = render(&SetupPage {
            ctx: ctx.with_flash(Some(crate::page::notice::Message::RateLimited.flash())),
            invite: None,
            enrolment: None,
            enrolment_state: String::new(),
            error: None,
        })?;
        return Ok(no_store((StatusCode::TOO_MANY_REQUESTS, html).into_response()));
    }
    let Some((token, invitation)) = live(&state, &site, &form.token).await? else {
        return gone(ctx);
    };
    let policy = tenants::signin_policy(&state.db, tenant).await?;
    let needs_2fa = policy.requires_2fa(UserType::Client);
    let secret = if needs_2fa {
        Some(offered(&state, &invitation, &form.enrolment).unwrap_or_else(TotpSecret::generate))
    } else {
        None
    };
    let name = form.display_name.trim();
    let new = Secret::new(form.new.clone());
    let inputs = [invitation.email.as_str(), name];
    let refusal = if name.is_empty() || name.chars().count() > 200 {
        Some("Enter your name.".to_owned())
    } else if form.new != form.confirm {
        Some("The two passwords differ.".to_owned())
    } else {
        password::check_strength(&new, &inputs, state.config.accounts.min_password_score)
            .err()
            .map(|e| format!("The {e}."))
    };
    let now = UnixMillis::now();
    let step = match &secret {
        Some(secret) if refusal.is_none() => match secret
            .matching_step(&form.code, u64::try_from(now.0 / 1000).unwrap_or(0))
        {
            Some(step) => Some(step),
            None => {
                let error = "That code is not right. Check the time on your phone and try the newest code."
                    .to_owned();
                return form_page(
                    &state,
                    ctx,
                    &site,
                    (&token, &invitation),
                    Some(name),
                    Some(secret.clone()),
                    Some(error),
                )
                .await;
            }
        },
        _ => None,
    };
    if let Some(error) = refusal {
        return form_page(
            &state,
            ctx,
            &site,
            (&token, &invitation),
            Some(name),
            secret,
            Some(error),
        )
        .await;
    }

    let hash = password::hash_blocking(new).await.map_err(AppError::internal)?;
    // Only the tenant's client roles the invitation named.
    let allowed: Vec<RoleId> = roles::list(&state.db, tenant, UserType::Client)
        .await?
        .into_iter()
        .map(|r| r.id)
        .filter(|id| invitation.roles().contains(id))
        .collect();
    let mut tx = state.db.begin().await?;
    let created = users::create_in(
        &mut tx,
        &users::NewUser {
            tenant,
            user_type: UserType::Client,
            email: invitation.email.clone(),
            display_name: name.to_owned(),
            client: Some(invitation.client_id),
            password_hash: hash,
        },
    )
    .await;
    let user = match created {
        Ok(user) => user,
        Err(DbError::Conflict(_)) => {
            drop(tx);
            // Another tab created it with this very link a moment ago.
            if live(&state, &site, &form.token).await?.is_none() {
                return gone(ctx);
            }
            let error = "An account with this email exists already. Sign in instead.".to_owned();
            return form_page(
                &state,
                ctx,
                &site,
                (&token, &invitation),
                Some(name),
                None,
                Some(error),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    roles::grant_in(&mut tx, tenant, user, &allowed).await?;
    if invitations::accept(&mut tx, tenant, &token, user, now)
        .await?
        .is_none()
    {
        // Another tab got there first; this transaction is dropped.
        return gone(ctx);
    }
    let codes = match (&secret, step) {
        (Some(secret), Some(step)) => {
            let sealed = state
                .master_key
                .seal(secret.expose(), format!("totp:{tenant}:{user}").as_bytes());
            let codes = RecoveryCode::generate_set();
            let hashes: Vec<[u8; 32]> = codes.iter().map(RecoveryCode::hash).collect();
            let step = i64::try_from(step).map_err(AppError::internal)?;
            two_factor::enable_new(&mut tx, tenant, user, &sealed, step, &hashes, now).await?;
            Some(codes)
        }
        _ => None,
    };
    tx.commit().await?;

    let ip = site.client_ip.to_string();
    for action in ["invitation.accept"]
        .into_iter()
        .chain(codes.as_ref().map(|_| "2fa.enable"))
    {
        audit::record(
            &state.db,
            &AuditEvent {
                tenant: Some(tenant),
                actor: Some(user),
                action,
                outcome: "success",
                subject: Some(invitation.email.as_str()),
                ip: Some(&ip),
                user_agent: site.user_agent.as_deref(),
                detail: Some(serde_json::json!({ "invitation": invitation.id.to_string() })),
            },
            now,
        )
        .await?;
    }
    let next = NextPath::landing(PortalArea::ClientPortal);
    let method = if codes.is_some() { "setup+totp" } else { "setup" };
    let arrival = arrive(&state, &site, user, UserType::Client, method, &next, None).await?;
    match codes {
        None => Ok(no_store(arrival.redirect())),
        Some(codes) => {
            // Read at leisure: the sign-in page then starts a fresh handoff.
            let onward = if site.is_custom_domain() {
                next.as_str().to_owned()
            } else {
                PortalArea::ClientPortal.signin_path().to_owned()
            };
            let page = render(&CodesPage {
                ctx,
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
                onward,
            })?;
            Ok(no_store(arrival.attach(page.into_response())))
        }
    }
}
