//! Inviting people into a client company, for its Admin
//! (`/client-portal/account`) and for staff (`/msp/clients`): the
//! invitation row, its setup link and the mail carrying it are written in
//! one transaction; resending replaces the link. The invited person
//! accepts at `/auth/portal/setup` ([`crate::auth`]).

use crate::i18n::Texts;
use porta_core::clock::UnixMillis;
use porta_core::db::clients::ClientProfile;
use porta_core::db::invitations::{self, NewInvitation};
use porta_core::db::tenants::Tenant;
use porta_core::db::{clients, users, DbError};
use porta_core::email::EmailAddress;
use porta_core::ids::{ClientId, InvitationId, RoleId, UserId};
use porta_core::locale::Locale;
use porta_core::token::LinkToken;
use porta_core::user_type::UserType;

use crate::auth::links;
use crate::error::AppError;
use crate::mail::letters::{self, Addressee};
use crate::state::AppState;

/// The setup page the mailed link opens.
pub const SETUP: &str = "/auth/portal/setup";

/// Who invites.
#[derive(Debug, Clone, Copy)]
pub struct Inviter<'a> {
    pub id: UserId,
    pub name: &'a str,
}

/// Why an invitation was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AlreadyMember,
    AlreadyInvited,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::AlreadyMember => "Someone with this email already has an account.",
            Refusal::AlreadyInvited => {
                "This address already has an open invitation. Resend it from the list."
            }
        }
    }
}

fn ttl_seconds(state: &AppState) -> i64 {
    i64::try_from(state.config.accounts.invitation.as_secs()).unwrap_or(72 * 3600)
}

/// Writes the letter for `token` into `tx`.
#[allow(clippy::too_many_arguments)]
async fn letter(
    state: &AppState,
    tx: &mut porta_core::db::DbTx,
    tenant: &Tenant,
    company: &ClientProfile,
    name: &str,
    email: &EmailAddress,
    inviter: &str,
    token: &LinkToken,
) -> Result<(), AppError> {
    // The invitee chose no language yet: their company's, else the
    // tenant's, else English.
    let tenant_default = state.branding.get(tenant.id).await?.default_locale;
    let texts = Texts(
        Locale::of_preference(&company.default_locale)
            .or(tenant_default)
            .unwrap_or_default(),
    );
    let origin = links::origin(state, tenant, UserType::Client).await?;
    let link = format!("{origin}{SETUP}?token={}", token.expose());
    let hours = state.config.accounts.invitation.as_secs() / 3600;
    let letter = letters::invitation(texts, name, &tenant.name, &company.name, inviter, &link, hours)?;
    let to = Addressee {
        name,
        address: email.as_str(),
    };
    letters::enqueue(tx, tenant.id, Some(&tenant.reply_to), "invitation", to, &letter).await?;
    Ok(())
}

/// Invites `email` into `client` with `roles`, and mails the link.
pub async fn invite(
    state: &AppState,
    tenant: &Tenant,
    client: ClientId,
    email: &EmailAddress,
    name: &str,
    roles: &[RoleId],
    inviter: Inviter<'_>,
) -> Result<Result<InvitationId, Refusal>, AppError> {
    if users::find_credentials(&state.db, tenant.id, email, UserType::Client)
        .await?
        .is_some()
    {
        return Ok(Err(Refusal::AlreadyMember));
    }
    let company = clients::profile(&state.db, tenant.id, client)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = UnixMillis::now();
    let mut tx = state.db.begin().await?;
    let new = NewInvitation {
        tenant: tenant.id,
        client,
        email,
        display_name: name,
        roles,
        invited_by: inviter.id,
        ttl_seconds: ttl_seconds(state),
    };
    let (id, token) = match invitations::create(&mut tx, &new, now).await {
        Ok(created) => created,
        Err(DbError::Conflict(_)) => return Ok(Err(Refusal::AlreadyInvited)),
        Err(e) => return Err(e.into()),
    };
    letter(
        state,
        &mut tx,
        tenant,
        &company,
        name,
        email,
        inviter.name,
        &token,
    )
    .await?;
    tx.commit().await?;
    state.mail_wake.now();
    Ok(Ok(id))
}

/// Sends an open invitation again with a new link; `false` when it is not
/// an open invitation of `client`.
pub async fn resend(
    state: &AppState,
    tenant: &Tenant,
    client: ClientId,
    id: InvitationId,
    inviter: Inviter<'_>,
) -> Result<bool, AppError> {
    let company = clients::profile(&state.db, tenant.id, client)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = state.db.begin().await?;
    let Some((invitation, token)) = invitations::renew(
        &mut tx,
        tenant.id,
        client,
        id,
        ttl_seconds(state),
        UnixMillis::now(),
    )
    .await?
    else {
        return Ok(false);
    };
    letter(
        state,
        &mut tx,
        tenant,
        &company,
        &invitation.display_name,
        &invitation.email,
        inviter.name,
        &token,
    )
    .await?;
    tx.commit().await?;
    state.mail_wake.now();
    Ok(true)
}
