//! `/msp/clients`: the tenant's client companies with their people and
//! open tickets; `/msp/clients/{id}`: one company's contacts and
//! invitations, where staff invite a contact, resend or revoke an
//! invitation, and (with the reset permission) reset a contact's
//! two-factor authentication.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::clients::{self, ClientProfile, ClientSummary};
use porta_core::db::invitations::{self as invitation_rows, Invitation};
use porta_core::db::roles::{self, Role};
use porta_core::db::two_factor;
use porta_core::db::users::{self, CompanyUser};
use porta_core::email::EmailAddress;
use porta_core::ids::{ClientId, InvitationId, RoleId, UserId};
use porta_core::permission::perm;
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::invitations::{self, Inviter};
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "msp/clients.html")]
struct ClientsPage {
    ctx: PageContext,
    clients: Vec<ClientSummary>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    render(&ClientsPage {
        ctx,
        clients: clients::summaries(&state.db, who.user.tenant_id).await?,
    })
}

#[derive(Template)]
#[template(path = "msp/client.html")]
struct ClientPage {
    ctx: PageContext,
    company: ClientProfile,
    contacts: Vec<CompanyUser>,
    invitations: Vec<Invitation>,
    roles: Vec<Role>,
    can_invite: bool,
    can_reset: bool,
    error: Option<String>,
}

impl ClientPage {
    pub fn role_names(&self, invitation: &Invitation) -> String {
        let ids = invitation.roles();
        let names: Vec<&str> = self
            .roles
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| r.name.as_str())
            .collect();
        names.join(", ")
    }

    pub fn now(&self) -> UnixMillis {
        UnixMillis::now()
    }
}

async fn company(state: &AppState, who: &SignedIn, raw: &str) -> Result<ClientProfile, AppError> {
    let id: ClientId = raw.parse().map_err(|_| AppError::NotFound)?;
    clients::profile(&state.db, who.user.tenant_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    company: ClientProfile,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    render(&ClientPage {
        ctx,
        contacts: users::of_client(&state.db, tenant, company.id).await?,
        invitations: invitation_rows::of_client(&state.db, tenant, company.id).await?,
        roles: roles::list(&state.db, tenant, UserType::Client).await?,
        company,
        can_invite: who.can(perm::USER_CREATE),
        can_reset: who.can(perm::USER_RESET_PASSWORD),
        error,
    })
}

fn back(company: &ClientProfile, message: Message) -> Response {
    Redirect::to(&format!("/msp/clients/{}?notice={}", company.id, message.code())).into_response()
}

pub async fn detail(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let company = company(&state, &who, &id).await?;
    page(&state, ctx, &who, company, None).await
}

async fn record(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    action: &'static str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(who.user.tenant_id),
            actor: Some(who.user.id),
            action,
            outcome: "success",
            subject: Some(subject),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: Some(detail),
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(())
}

/// Staff invite a contact: name, email and client roles.
pub async fn invite(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let company = company(&state, &who, &id).await?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or_default()
    };
    let all = roles::list(&state.db, who.user.tenant_id, UserType::Client).await?;
    let chosen: Vec<RoleId> = all
        .iter()
        .filter(|r| form.iter().any(|(k, v)| k == "role" && *v == r.id.to_string()))
        .map(|r| r.id)
        .collect();
    let name = field("display_name");
    let problem = match EmailAddress::parse(field("email")) {
        Err(_) => Some("Enter the contact's email address.".to_owned()),
        Ok(_) if name.is_empty() || name.chars().count() > 200 => {
            Some("Enter the contact's name.".to_owned())
        }
        Ok(_) if chosen.is_empty() => Some("Choose at least one role.".to_owned()),
        Ok(_) => None,
    };
    if let Some(problem) = problem {
        let html = page(&state, ctx, &who, company, Some(problem)).await?;
        return Ok((StatusCode::BAD_REQUEST, html).into_response());
    }
    let email = EmailAddress::parse(field("email")).map_err(AppError::internal)?;
    let inviter = Inviter {
        id: who.user.id,
        name: &who.user.display_name,
    };
    if let Err(refusal) =
        invitations::invite(&state, &site.tenant, company.id, &email, name, &chosen, inviter).await?
    {
        let html = page(&state, ctx, &who, company, Some(refusal.message().to_owned())).await?;
        return Ok((StatusCode::CONFLICT, html).into_response());
    }
    record(
        &state,
        &site,
        &who,
        "invitation.create",
        email.as_str(),
        serde_json::json!({ "client": company.id.to_string() }),
    )
    .await?;
    Ok(back(&company, Message::UserInvited))
}

pub async fn resend(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path((id, invitation)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let company = company(&state, &who, &id).await?;
    let invitation: InvitationId = invitation.parse().map_err(|_| AppError::NotFound)?;
    let inviter = Inviter {
        id: who.user.id,
        name: &who.user.display_name,
    };
    if !invitations::resend(&state, &site.tenant, company.id, invitation, inviter).await? {
        return Err(AppError::NotFound);
    }
    record(
        &state,
        &site,
        &who,
        "invitation.resend",
        &invitation.to_string(),
        serde_json::json!({}),
    )
    .await?;
    Ok(back(&company, Message::InvitationResent))
}

pub async fn revoke(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path((id, invitation)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let company = company(&state, &who, &id).await?;
    let invitation: InvitationId = invitation.parse().map_err(|_| AppError::NotFound)?;
    if !invitation_rows::revoke(
        &state.db,
        who.user.tenant_id,
        company.id,
        invitation,
        UnixMillis::now(),
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    record(
        &state,
        &site,
        &who,
        "invitation.revoke",
        &invitation.to_string(),
        serde_json::json!({}),
    )
    .await?;
    Ok(back(&company, Message::InvitationRevoked))
}

/// Removes a contact's second factor (they lost their phone and their
/// recovery codes); audited with who did it.
pub async fn reset_two_factor(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let company = company(&state, &who, &id).await?;
    let user: UserId = user.parse().map_err(|_| AppError::NotFound)?;
    let contact = users::profile(&state.db, who.user.tenant_id, user)
        .await?
        .filter(|u| u.user_type == UserType::Client && u.client_id == Some(company.id))
        .ok_or(AppError::NotFound)?;
    two_factor::disable(&state.db, who.user.tenant_id, contact.id).await?;
    record(
        &state,
        &site,
        &who,
        "2fa.reset",
        contact.email.as_str(),
        serde_json::json!({ "user": contact.id.to_string(), "by": who.user.email.as_str() }),
    )
    .await?;
    Ok(back(&company, Message::TwoFactorReset))
}
