//! `/msp/settings/sign-in`: how the tenant's people sign in — second
//! factor required or not, password sign-in on or off, the reply-to
//! address of the tenant's mail, and its OpenID providers (presets for
//! Google, Microsoft Entra ID and Keycloak, or any standard issuer, each
//! checked by discovery when added; the client secret sealed under the
//! master key).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::clients::{self, Client};
use porta_core::db::oidc_providers::{self, NewProvider, OidcProvider};
use porta_core::db::tenants::{self, SignInPolicy};
use porta_core::email::EmailAddress;
use porta_core::ids::{ClientId, OidcProviderId};
use porta_core::oidc::{check_issuer_url, OidcPreset};
use porta_core::permission::perm;
use porta_core::user_type::UserType;

use crate::auth::oidc::redirect_uri;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

pub const PAGE: &str = "/msp/settings/sign-in";

#[derive(Template)]
#[template(path = "msp/signin_settings.html")]
struct SettingsPage {
    ctx: PageContext,
    policy: SignInPolicy,
    reply_to: String,
    providers: Vec<OidcProvider>,
    presets: [OidcPreset; 4],
    companies: Vec<Client>,
    redirect_uri: String,
    can_update: bool,
    error: Option<String>,
}

impl SettingsPage {
    pub fn company_name(&self, id: &Option<ClientId>) -> String {
        id.and_then(|id| self.companies.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "—".to_owned())
    }
}

async fn page(
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let tenant = site.tenant.id;
    render(&SettingsPage {
        ctx,
        policy: tenants::signin_policy(&state.db, tenant).await?,
        reply_to: tenants::get(&state.db, tenant).await?.reply_to,
        providers: oidc_providers::list(&state.db, tenant).await?,
        presets: OidcPreset::ALL,
        companies: clients::list(&state.db, tenant).await?,
        redirect_uri: redirect_uri(state, site),
        can_update: who.can(perm::SETTINGS_UPDATE),
        error,
    })
}

async fn refused(
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    who: &SignedIn,
    error: String,
) -> Result<Response, AppError> {
    let html = page(state, site, ctx, who, Some(error)).await?;
    Ok((StatusCode::BAD_REQUEST, html).into_response())
}

fn done(message: Message) -> Response {
    Redirect::to(&format!("{PAGE}?notice={}", message.code())).into_response()
}

async fn record(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    action: &'static str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(site.tenant.id),
            actor: Some(who.user.id),
            action,
            outcome: "success",
            subject: Some(who.user.email.as_str()),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: Some(detail),
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(())
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    page(&state, &site, ctx, &who, None).await
}

fn ticked(form: &[(String, String)], name: &str) -> bool {
    form.iter().any(|(k, _)| k == name)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// The policy checkboxes and the reply-to address.
pub async fn save_policy(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let tenant = site.tenant.id;
    let policy = SignInPolicy {
        require_2fa_clients: ticked(&form, "require_2fa_clients"),
        require_2fa_staff: ticked(&form, "require_2fa_staff"),
        password_signin_clients: ticked(&form, "password_signin_clients"),
        password_signin_staff: ticked(&form, "password_signin_staff"),
    };
    for (user_type, allowed, who_label) in [
        (UserType::Client, policy.password_signin_clients, "client users"),
        (UserType::Internal, policy.password_signin_staff, "staff"),
    ] {
        if !allowed
            && oidc_providers::enabled_for(&state.db, tenant, user_type)
                .await?
                .is_empty()
        {
            return refused(
                &state,
                &site,
                ctx,
                &who,
                format!("Password sign-in can only be turned off for {who_label} once an OpenID provider serves them."),
            )
            .await;
        }
    }
    let reply_to = match field(&form, "reply_to") {
        "" => None,
        text => match EmailAddress::parse(text) {
            Ok(address) => Some(address),
            Err(_) => {
                return refused(
                    &state,
                    &site,
                    ctx,
                    &who,
                    "The reply-to address is not an email address.".to_owned(),
                )
                .await
            }
        },
    };
    tenants::set_signin_policy(&state.db, tenant, &policy).await?;
    tenants::set_reply_to(&state.db, tenant, reply_to.as_ref()).await?;
    state.hosts.forget_tenant(tenant).await;
    record(
        &state,
        &site,
        &who,
        "settings.signin",
        serde_json::json!({
            "require_2fa_clients": policy.require_2fa_clients,
            "require_2fa_staff": policy.require_2fa_staff,
            "password_signin_clients": policy.password_signin_clients,
            "password_signin_staff": policy.password_signin_staff,
        }),
    )
    .await?;
    Ok(done(Message::SettingsSaved))
}

/// Adds a provider after reading its discovery document.
pub async fn add_provider(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let tenant = site.tenant.id;
    let Ok(preset) = field(&form, "preset").parse::<OidcPreset>() else {
        return refused(
            &state,
            &site,
            ctx,
            &who,
            "Choose the kind of provider.".to_owned(),
        )
        .await;
    };
    let issuer = match check_issuer_url(field(&form, "issuer_url")) {
        Ok(issuer) => issuer,
        Err(e) => return refused(&state, &site, ctx, &who, format!("The issuer URL {e}.")).await,
    };
    let display_name = match field(&form, "display_name") {
        "" => preset.label().to_owned(),
        name if name.chars().count() <= 80 => name.to_owned(),
        _ => {
            return refused(
                &state,
                &site,
                ctx,
                &who,
                "The button label is at most 80 characters.".to_owned(),
            )
            .await
        }
    };
    let client_id = field(&form, "client_id");
    let secret = field(&form, "client_secret");
    if client_id.is_empty() || client_id.len() > 400 || secret.is_empty() || secret.len() > 2000 {
        return refused(
            &state,
            &site,
            ctx,
            &who,
            "Enter the client id and secret the provider gave you.".to_owned(),
        )
        .await;
    }
    let user_type = match field(&form, "user_type") {
        "internal" => UserType::Internal,
        _ => UserType::Client,
    };
    let create_users = ticked(&form, "create_users");
    let default_client = match field(&form, "default_client") {
        "" => None,
        raw => {
            let id: ClientId = raw.parse().map_err(|_| AppError::NotFound)?;
            clients::profile(&state.db, tenant, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Some(id)
        }
    };
    if create_users && user_type == UserType::Client && default_client.is_none() {
        return refused(
            &state,
            &site,
            ctx,
            &who,
            "Choose the company new client users join.".to_owned(),
        )
        .await;
    }
    if let Err(e) = state.oidc.metadata(&state.oidc_http, &issuer).await {
        tracing::info!(tenant = %site.tenant.slug, error = %e, "OpenID discovery failed when adding a provider");
        return refused(
            &state,
            &site,
            ctx,
            &who,
            format!("Could not read {issuer}/.well-known/openid-configuration ({e})."),
        )
        .await;
    }
    let id = OidcProviderId::generate();
    let sealed = state
        .master_key
        .seal(secret.as_bytes(), &OidcProvider::secret_aad(tenant, id));
    oidc_providers::create(
        &state.db,
        &NewProvider {
            id,
            tenant,
            display_name: &display_name,
            preset,
            issuer_url: &issuer,
            client_id,
            secret: &sealed,
            user_type,
            trust_unverified_email: ticked(&form, "trust_unverified_email"),
            create_users,
            default_client,
        },
    )
    .await?;
    record(
        &state,
        &site,
        &who,
        "oidc_provider.add",
        serde_json::json!({ "provider": id.to_string(), "issuer": issuer, "user_type": user_type.as_str() }),
    )
    .await?;
    Ok(done(Message::SettingsSaved))
}

/// `enable`, `disable` or `remove` one provider.
pub async fn change_provider(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let tenant = site.tenant.id;
    let id: OidcProviderId = id.parse().map_err(|_| AppError::NotFound)?;
    let provider = oidc_providers::get(&state.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (changed, audit_action) = match action.as_str() {
        "enable" => (
            oidc_providers::set_enabled(&state.db, tenant, id, true).await?,
            "oidc_provider.enable",
        ),
        "disable" => (
            oidc_providers::set_enabled(&state.db, tenant, id, false).await?,
            "oidc_provider.disable",
        ),
        "remove" => (
            oidc_providers::delete(&state.db, tenant, id).await?,
            "oidc_provider.remove",
        ),
        _ => return Err(AppError::NotFound),
    };
    if !changed {
        return Err(AppError::NotFound);
    }
    // Without a provider for them, people get their password form back.
    let policy = tenants::signin_policy(&state.db, tenant).await?;
    if !policy.allows_password(provider.user_type)
        && oidc_providers::enabled_for(&state.db, tenant, provider.user_type)
            .await?
            .is_empty()
    {
        let restored = match provider.user_type {
            UserType::Client => SignInPolicy {
                password_signin_clients: true,
                ..policy
            },
            UserType::Internal => SignInPolicy {
                password_signin_staff: true,
                ..policy
            },
        };
        tenants::set_signin_policy(&state.db, tenant, &restored).await?;
    }
    record(
        &state,
        &site,
        &who,
        audit_action,
        serde_json::json!({ "provider": id.to_string() }),
    )
    .await?;
    Ok(done(Message::SettingsSaved))
}
