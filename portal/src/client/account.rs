//! `/client-portal/account`: the company's details (its Admin edits them,
//! others read) and its users: invite, change roles, deactivate. Everything
//! is the signed-in user's own company: no query reaches another's.

use crate::invitations::{self, Inviter};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::clients::{self, ClientProfile, ProfileUpdate};
use porta_core::db::invitations::{self as invitation_rows, Invitation};
use porta_core::db::roles::{self, Role};
use porta_core::db::users::{self, CompanyUser};
use porta_core::db::{audit, sessions, DbError};
use porta_core::email::EmailAddress;
use porta_core::ids::{ClientId, InvitationId, RoleId, UserId};
use porta_core::permission::perm;
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

pub const PAGE: &str = "/client-portal/account";

#[derive(Template)]
#[template(path = "client/account.html")]
struct AccountPage {
    ctx: PageContext,
    company: ClientProfile,
    users: Vec<CompanyUser>,
    invitations: Vec<Invitation>,
    roles: Vec<Role>,
    me: UserId,
    can_edit_company: bool,
    can_see_users: bool,
    can_invite: bool,
    can_change_roles: bool,
    can_deactivate: bool,
    error: Option<String>,
}

impl AccountPage {
    pub fn now(&self) -> UnixMillis {
        UnixMillis::now()
    }

    pub fn has_role(&self, user: &CompanyUser, role: &Role) -> bool {
        user.roles
            .as_deref()
            .is_some_and(|r| r.split(", ").any(|name| name == role.name))
    }

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
}

fn company_of(who: &SignedIn) -> Result<ClientId, AppError> {
    who.user.client_id.ok_or(AppError::WrongUserType)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    let client = company_of(who)?;
    let company = clients::profile(&state.db, tenant, client)
        .await?
        .ok_or(AppError::NotFound)?;
    let can_see_users = who.can(perm::USER_READ);
    let (users, invitations) = if can_see_users {
        (
            users::of_client(&state.db, tenant, client).await?,
            invitation_rows::of_client(&state.db, tenant, client).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    render(&AccountPage {
        ctx,
        company,
        users,
        invitations,
        roles: roles::list(&state.db, tenant, UserType::Client).await?,
        me: who.user.id,
        can_edit_company: who.can(perm::SETTINGS_UPDATE),
        can_see_users,
        can_invite: who.can(perm::USER_CREATE),
        can_change_roles: who.can(perm::USER_UPDATE),
        can_deactivate: who.can(perm::USER_DELETE),
        error,
    })
}

async fn refused(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    status: StatusCode,
    error: String,
) -> Result<Response, AppError> {
    Ok((status, page(state, ctx, who, Some(error)).await?).into_response())
}

fn done(message: Message) -> Response {
    Redirect::to(&format!("{PAGE}?notice={}", message.code())).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    page(&state, ctx, &who, None).await
}

/// A website is empty or an http(s) URL.
fn check_website(raw: &str) -> Result<String, &'static str> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    match url::Url::parse(&with_scheme) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && with_scheme.len() <= 300 =>
        {
            Ok(url.to_string())
        }
        _ => Err("Enter a website such as https://example.com."),
    }
}

/// Free text of at most `max` characters, no control characters but line
/// breaks.
fn check_text(raw: &str, max: usize, what: &str) -> Result<String, String> {
    let text = raw.trim().replace("\r\n", "\n");
    if text.chars().count() > max || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!(
            "The {what} is too long or contains characters that are not allowed."
        ));
    }
    Ok(text)
}

#[derive(serde::Deserialize)]
pub struct CompanyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    industry: String,
}

pub async fn save_company(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<CompanyForm>,
) -> Result<Response, AppError> {
    let client = company_of(&who)?;
    let checked = (|| {
        Ok::<_, String>((
            check_text(&form.address, 500, "address")?,
            check_text(&form.phone, 40, "phone number")?,
            check_website(&form.website).map_err(str::to_owned)?,
            check_text(&form.industry, 100, "industry")?,
        ))
    })();
    let (address, phone, website, industry) = match checked {
        Ok(values) => values,
        Err(e) => return refused(&state, ctx, &who, StatusCode::BAD_REQUEST, e).await,
    };
    let update = ProfileUpdate {
        name: &form.name,
        address: &address,
        phone: &phone,
        website: &website,
        industry: &industry,
    };
    match clients::update_profile(&state.db, who.user.tenant_id, client, &update).await {
        Ok(()) => Ok(done(Message::CompanySaved)),
        Err(DbError::Invalid(m)) => {
            refused(&state, ctx, &who, StatusCode::BAD_REQUEST, format!("The {m}.")).await
        }
        Err(DbError::Conflict(_)) => {
            refused(
                &state,
                ctx,
                &who,
                StatusCode::CONFLICT,
                "Another company already has this name.".to_owned(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The client roles named by the form's `role` fields.
fn chosen_roles(form: &[(String, String)], all: &[Role]) -> Vec<Role> {
    all.iter()
        .filter(|r| form.iter().any(|(k, v)| k == "role" && *v == r.id.to_string()))
        .cloned()
        .collect()
}

pub async fn invite(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let client = company_of(&who)?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or_default()
    };
    let Ok(email) = EmailAddress::parse(field("email")) else {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::BAD_REQUEST,
            "Enter the email address of the person to invite.".to_owned(),
        )
        .await;
    };
    let name = field("display_name");
    if name.is_empty() || name.chars().count() > 200 {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::BAD_REQUEST,
            "Enter the name of the person to invite.".to_owned(),
        )
        .await;
    }
    let all = roles::list(&state.db, tenant, UserType::Client).await?;
    let chosen = chosen_roles(&form, &all);
    if chosen.is_empty() {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::BAD_REQUEST,
            "Choose at least one role.".to_owned(),
        )
        .await;
    }
    let ids: Vec<RoleId> = chosen.iter().map(|r| r.id).collect();
    let inviter = Inviter {
        id: who.user.id,
        name: &who.user.display_name,
    };
    if let Err(refusal) =
        invitations::invite(&state, &site.tenant, client, &email, name, &ids, inviter).await?
    {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::CONFLICT,
            refusal.message().to_owned(),
        )
        .await;
    }
    record(&state, &site, &who, "invitation.create", email.as_str()).await?;
    Ok(done(Message::UserInvited))
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: InvitationId = id.parse().map_err(|_| AppError::NotFound)?;
    let client = company_of(&who)?;
    if !invitation_rows::revoke(&state.db, who.user.tenant_id, client, id, UnixMillis::now()).await? {
        return Err(AppError::NotFound);
    }
    record(&state, &site, &who, "invitation.revoke", &id.to_string()).await?;
    Ok(done(Message::InvitationRevoked))
}

pub async fn resend_invitation(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: InvitationId = id.parse().map_err(|_| AppError::NotFound)?;
    let client = company_of(&who)?;
    let inviter = Inviter {
        id: who.user.id,
        name: &who.user.display_name,
    };
    if !invitations::resend(&state, &site.tenant, client, id, inviter).await? {
        return Err(AppError::NotFound);
    }
    record(&state, &site, &who, "invitation.resend", &id.to_string()).await?;
    Ok(done(Message::InvitationResent))
}

/// A user of the signed-in user's own company (never anyone else's).
async fn colleague(state: &AppState, who: &SignedIn, raw: &str) -> Result<users::UserProfile, AppError> {
    let id: UserId = raw.parse().map_err(|_| AppError::NotFound)?;
    let client = company_of(who)?;
    users::profile(&state.db, who.user.tenant_id, id)
        .await?
        .filter(|u| u.user_type == UserType::Client && u.client_id == Some(client))
        .ok_or(AppError::NotFound)
}

pub async fn change_roles(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let user = colleague(&state, &who, &id).await?;
    let tenant = who.user.tenant_id;
    let all = roles::list(&state.db, tenant, UserType::Client).await?;
    let chosen = chosen_roles(&form, &all);
    if chosen.is_empty() {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::BAD_REQUEST,
            "A user needs at least one role.".to_owned(),
        )
        .await;
    }
    if user.id == who.user.id && !chosen.iter().any(|r| r.name == "Admin") {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::CONFLICT,
            "You cannot take away your own Admin role.".to_owned(),
        )
        .await;
    }
    roles::set_roles(&state.db, tenant, user.id, UserType::Client, &chosen).await?;
    record(&state, &site, &who, "user.roles", user.email.as_str()).await?;
    Ok(done(Message::RolesChanged))
}

pub async fn deactivate(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = colleague(&state, &who, &id).await?;
    if user.id == who.user.id {
        return refused(
            &state,
            ctx,
            &who,
            StatusCode::CONFLICT,
            "You cannot deactivate yourself.".to_owned(),
        )
        .await;
    }
    let tenant = who.user.tenant_id;
    users::set_disabled(&state.db, tenant, user.id, true).await?;
    sessions::revoke_all_for_user(&state.db, tenant, user.id, "deactivated", UnixMillis::now()).await?;
    record(&state, &site, &who, "user.deactivate", user.email.as_str()).await?;
    Ok(done(Message::UserDeactivated))
}

pub async fn reactivate(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = colleague(&state, &who, &id).await?;
    users::set_disabled(&state.db, who.user.tenant_id, user.id, false).await?;
    record(&state, &site, &who, "user.reactivate", user.email.as_str()).await?;
    Ok(done(Message::UserReactivated))
}

async fn record(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    action: &str,
    subject: &str,
) -> Result<(), AppError> {
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &audit::AuditEvent {
            tenant: Some(who.user.tenant_id),
            actor: Some(who.user.id),
            action,
            outcome: "success",
            subject: Some(subject),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: None,
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_are_urls() {
        assert_eq!(
            check_website("globex.example").as_deref(),
            Ok("https://globex.example/")
        );
        assert_eq!(
            check_website("http://globex.example/x").as_deref(),
            Ok("http://globex.example/x")
        );
        assert_eq!(check_website("").as_deref(), Ok(""));
        for bad in ["javascript:alert(1)", "ftp://x.example", "https://", "a b"] {
            assert!(check_website(bad).is_err(), "{bad}");
        }
    }
}
