//! Signing in through the tenant's OpenID providers:
//! `/auth/oidc/{provider}/start` sends the browser to the provider with
//! the state, nonce and PKCE verifier sealed in a short-lived cookie;
//! `/auth/oidc/callback` checks the state against that cookie (so a
//! callback meant for another browser is refused), lets [`crate::oidc`]
//! verify the rest, and matches the verified address to the tenant's user
//! of the provider's user type. No account is created unless the provider
//! says so. Both happen on the canonical host, the callback URL that the
//! provider must know.
//!
//! A provider's sign-in is its own second factor: the TOTP step is not
//! asked again after it.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::SameSite;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::oidc_providers::{self, OidcProvider};
use porta_core::db::{roles, users};
use porta_core::ids::{OidcProviderId, TenantId};
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::ott::BindingHash;
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::user_type::UserType;
use serde::{Deserialize, Serialize};

use super::finish::arrive;
use super::guard::{canonical_signin_redirect, signin_location};
use super::signin::no_store;
use crate::error::AppError;
use crate::oidc::{self as protocol, Identity, Pending, Provider};
use crate::page::notice::Message;
use crate::request::{signed_cookie, Site};
use crate::state::AppState;

pub const CALLBACK: &str = "/auth/oidc/callback";
const COOKIE: &str = "porta.oidc";
const PURPOSE: &str = "oidc-state";
/// How long the provider may take to send the browser back.
const ROUND_TRIP_SECONDS: i64 = 600;

/// The link a sign-in button follows.
pub fn start_path(provider: OidcProviderId) -> String {
    format!("/auth/oidc/{provider}/start")
}

/// The redirect URI to register at the provider, for the tenant's
/// canonical host.
pub fn redirect_uri(state: &AppState, site: &Site) -> String {
    format!("{}{CALLBACK}", site.canonical_origin(&state.config))
}

#[derive(Debug, Serialize, Deserialize)]
struct RoundTrip {
    tenant: TenantId,
    provider: OidcProviderId,
    pending: Pending,
    next: String,
    handoff: Option<String>,
    expires_at: i64,
}

fn area_of(user_type: UserType) -> PortalArea {
    match user_type {
        UserType::Client => PortalArea::ClientPortal,
        UserType::Internal => PortalArea::Msp,
    }
}

fn cookie_name(site: &Site) -> String {
    signed_cookie::name(COOKIE, site.transport)
}

fn client_secret(state: &AppState, provider: &OidcProvider) -> Result<Secret, AppError> {
    let sealed = provider.sealed_secret();
    let plain = state
        .master_key
        .open(
            &sealed.ciphertext,
            &sealed.nonce,
            &OidcProvider::secret_aad(provider.tenant_id, provider.id),
        )
        .map_err(AppError::internal)?;
    Ok(Secret::new(String::from_utf8(plain).map_err(AppError::internal)?))
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
    handoff: Option<String>,
}

/// A sign-in page again, with a message.
fn back_to_signin(site: &Site, area: PortalArea, message: Message) -> Response {
    let mut response = Redirect::to(&signin_location(area, None, Some(message.code()))).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        signed_cookie::set(&cookie_name(site), None, site.transport, SameSite::Lax, 0),
    );
    no_store(response)
}

pub async fn start(
    State(state): State<AppState>,
    site: Site,
    Path(id): Path<String>,
    Query(query): Query<StartQuery>,
) -> Result<Response, AppError> {
    let id: OidcProviderId = id.parse().map_err(|_| AppError::NotFound)?;
    let provider = oidc_providers::get(&state.db, site.tenant.id, id)
        .await?
        .filter(|p| p.enabled)
        .ok_or(AppError::NotFound)?;
    let area = area_of(provider.user_type);
    if site.is_custom_domain() {
        return Ok(canonical_signin_redirect(&state, &site, area, query.next.as_deref()).into_response());
    }
    let secret = client_secret(&state, &provider)?;
    let redirect = redirect_uri(&state, &site);
    let config = Provider {
        issuer: &provider.issuer_url,
        client_id: &provider.client_id,
        client_secret: &secret,
        redirect_uri: &redirect,
    };
    let (url, pending) = match protocol::authorize(&state.oidc, &state.oidc_http, &config).await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!(tenant = %site.tenant.slug, provider = %provider.id, error = %e, "OpenID sign-in could not start");
            return Ok(back_to_signin(&site, area, Message::OidcFailed));
        }
    };
    let next = NextPath::or_landing(query.next.as_deref(), area);
    let trip = RoundTrip {
        tenant: site.tenant.id,
        provider: provider.id,
        pending,
        next: next.as_str().to_owned(),
        handoff: query
            .handoff
            .as_deref()
            .and_then(|h| BindingHash::from_param(h).ok())
            .map(|h| h.to_param()),
        expires_at: UnixMillis::now().plus_seconds(ROUND_TRIP_SECONDS).0,
    };
    let value = signed_cookie::seal(&state.master_key, PURPOSE, &trip);
    let mut response = Redirect::to(&url).into_response();
    // Lax: the provider's redirect back is a top-level GET from its site.
    response.headers_mut().append(
        header::SET_COOKIE,
        signed_cookie::set(
            &cookie_name(&site),
            Some(&value),
            site.transport,
            SameSite::Lax,
            ROUND_TRIP_SECONDS,
        ),
    );
    Ok(no_store(response))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn callback(
    State(state): State<AppState>,
    site: Site,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let now = UnixMillis::now();
    let trip: Option<RoundTrip> = signed_cookie::read(&headers, &cookie_name(&site))
        .and_then(|raw| signed_cookie::open(&state.master_key, PURPOSE, &raw))
        .filter(|t: &RoundTrip| t.tenant == site.tenant.id && t.expires_at > now.0);
    let ip = site.client_ip.to_string();
    let audit = |outcome: &'static str, actor, subject: Option<String>, detail: serde_json::Value| {
        let ip = ip.clone();
        let state = &state;
        let site = &site;
        async move {
            audit::record(
                &state.db,
                &AuditEvent {
                    tenant: Some(site.tenant.id),
                    actor,
                    action: "signin",
                    outcome,
                    subject: subject.as_deref(),
                    ip: Some(&ip),
                    user_agent: site.user_agent.as_deref(),
                    detail: Some(detail),
                },
                now,
            )
            .await
        }
    };
    let Some(trip) = trip else {
        audit(
            "failure",
            None,
            None,
            serde_json::json!({ "method": "oidc", "reason": "no_state" }),
        )
        .await?;
        return Ok(back_to_signin(
            &site,
            PortalArea::ClientPortal,
            Message::OidcFailed,
        ));
    };
    let provider = oidc_providers::get(&state.db, site.tenant.id, trip.provider)
        .await?
        .filter(|p| p.enabled);
    let Some(provider) = provider else {
        return Ok(back_to_signin(
            &site,
            PortalArea::ClientPortal,
            Message::OidcFailed,
        ));
    };
    let area = area_of(provider.user_type);
    let refuse = |reason: &'static str| serde_json::json!({ "method": "oidc", "provider": provider.id.to_string(), "reason": reason });
    if query.error.is_some() {
        audit("failure", None, None, refuse("provider_error")).await?;
        return Ok(back_to_signin(&site, area, Message::OidcFailed));
    }
    let (Some(code), Some(returned_state)) = (query.code.as_deref(), query.state.as_deref()) else {
        audit("failure", None, None, refuse("no_code")).await?;
        return Ok(back_to_signin(&site, area, Message::OidcFailed));
    };
    if !same(returned_state, &trip.pending.state) {
        audit("failure", None, None, refuse("state_mismatch")).await?;
        tracing::info!(tenant = %site.tenant.slug, "OpenID callback with another browser's state");
        return Ok(back_to_signin(&site, area, Message::OidcFailed));
    }
    let secret = client_secret(&state, &provider)?;
    let redirect = redirect_uri(&state, &site);
    let config = Provider {
        issuer: &provider.issuer_url,
        client_id: &provider.client_id,
        client_secret: &secret,
        redirect_uri: &redirect,
    };
    let identity = match protocol::complete(&state.oidc, &state.oidc_http, &config, &trip.pending, code).await
    {
        Ok(completed) => completed.identity,
        Err(e) => {
            tracing::warn!(tenant = %site.tenant.slug, provider = %provider.id, error = %e, "OpenID sign-in refused");
            audit("failure", None, None, refuse("token_refused")).await?;
            return Ok(back_to_signin(&site, area, Message::OidcFailed));
        }
    };
    let verified = identity.email_verified == Some(true)
        || (identity.email_verified.is_none() && provider.trust_unverified_email);
    if !verified {
        audit(
            "failure",
            None,
            Some(identity.email.to_string()),
            refuse("email_not_verified"),
        )
        .await?;
        return Ok(back_to_signin(&site, area, Message::OidcFailed));
    }
    let user = match account_for(&state, &site, &provider, &identity).await? {
        Account::Found(user) => user,
        Account::Disabled => {
            audit(
                "failure",
                None,
                Some(identity.email.to_string()),
                refuse("disabled"),
            )
            .await?;
            return Ok(back_to_signin(&site, area, Message::CredentialsSignin));
        }
        Account::None => {
            audit(
                "failure",
                None,
                Some(identity.email.to_string()),
                refuse("no_account"),
            )
            .await?;
            return Ok(back_to_signin(&site, area, Message::OidcNoAccount));
        }
    };
    audit(
        "success",
        Some(user),
        Some(identity.email.to_string()),
        serde_json::json!({ "method": "oidc", "provider": provider.id.to_string() }),
    )
    .await?;
    let next = NextPath::or_landing(Some(&trip.next), area);
    let handoff = trip
        .handoff
        .as_deref()
        .and_then(|h| BindingHash::from_param(h).ok());
    let arrival = arrive(
        &state,
        &site,
        user,
        provider.user_type,
        "oidc",
        &next,
        handoff.as_ref(),
    )
    .await?;
    let mut response = arrival.redirect();
    response.headers_mut().append(
        header::SET_COOKIE,
        signed_cookie::set(&cookie_name(&site), None, site.transport, SameSite::Lax, 0),
    );
    Ok(no_store(response))
}

enum Account {
    Found(porta_core::ids::UserId),
    Disabled,
    None,
}

/// The tenant's user of the provider's type with the verified address, or
/// one created for it when the provider allows that.
async fn account_for(
    state: &AppState,
    site: &Site,
    provider: &OidcProvider,
    identity: &Identity,
) -> Result<Account, AppError> {
    let tenant = site.tenant.id;
    if let Some(found) =
        users::find_credentials(&state.db, tenant, &identity.email, provider.user_type).await?
    {
        return Ok(if found.disabled {
            Account::Disabled
        } else {
            Account::Found(found.id)
        });
    }
    let client = match provider.user_type {
        UserType::Client => match provider.default_client_id {
            Some(client) => Some(client),
            None => return Ok(Account::None),
        },
        UserType::Internal => None,
    };
    if !provider.create_users {
        return Ok(Account::None);
    }
    // An account whose password nobody knows: it signs in through the provider.
    let unusable = password::hash_blocking(Secret::new(
        porta_core::token::LinkToken::generate().expose().to_owned(),
    ))
    .await
    .map_err(AppError::internal)?;
    let name = identity
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            identity
                .email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    let user = users::create(
        &state.db,
        &users::NewUser {
            tenant,
            user_type: provider.user_type,
            email: identity.email.clone(),
            display_name: name,
            client,
            password_hash: unusable,
        },
    )
    .await?;
    let role = roles::find_by_name(
        &state.db,
        tenant,
        provider.user_type,
        roles::default_role_name(provider.user_type),
    )
    .await?
    .ok_or(AppError::bug("the default role exists"))?;
    roles::assign(&state.db, tenant, user, &role, provider.user_type).await?;
    tracing::info!(tenant = %site.tenant.slug, user = %user, "account created at first OpenID sign-in");
    Ok(Account::Found(user))
}
