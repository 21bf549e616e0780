//! The profile page and its forms. Each form posts back here and, on
//! success, redirects with a notice; a refusal shows the page again with
//! the reason next to the form it concerns.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::notifications::{self, Preference};
use porta_core::db::sessions::{self, Session};
use porta_core::db::two_factor::{self, TwoFactor};
use porta_core::db::users::{self, OwnProfile};
use porta_core::ids::SessionId;
use porta_core::locale::Locale;
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::ticket::NotificationKind;
use porta_core::user_type::UserType;
use serde::Deserialize;

use super::device;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::time::{is_known_zone, zone_names};
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

/// A session as the list shows it.
pub struct SessionRow {
    pub session: Session,
    pub device: String,
    pub current: bool,
}

/// Which form a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Details,
    Password,
}

#[derive(Template)]
#[template(path = "profile/page.html")]
struct ProfilePage {
    ctx: PageContext,
    base: &'static str,
    name: String,
    email: String,
    phone: String,
    time_zone: String,
    locale: String,
    zones: Vec<String>,
    languages: [Locale; 4],
    sessions: Vec<SessionRow>,
    preferences: Vec<Preference>,
    error: Option<(Section, String)>,
    two_factor: TwoFactor,
    /// Why turning two-factor off (or new codes) was refused.
    tfa_error: Option<&'static str>,
}

impl ProfilePage {
    pub fn error_for(&self, section: &str) -> Option<&str> {
        let wanted = match section {
            "details" => Section::Details,
            _ => Section::Password,
        };
        self.error
            .as_ref()
            .filter(|(s, _)| *s == wanted)
            .map(|(_, message)| message.as_str())
    }
}

fn base_of(who: &SignedIn) -> &'static str {
    match who.user.user_type {
        UserType::Client => "/client-portal/profile",
        UserType::Internal => "/msp/profile",
    }
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<(Section, String)>,
) -> Result<Html<String>, AppError> {
    page_with(state, ctx, who, error, None).await
}

async fn page_with(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<(Section, String)>,
    tfa_error: Option<&'static str>,
) -> Result<Html<String>, AppError> {
    let user = &who.user;
    let now = UnixMillis::now();
    let sessions = sessions::live_for_user(&state.db, user.tenant_id, user.id, now)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            device: device::describe(s.user_agent.as_deref()),
            current: s.id == who.session.id
                || Some(s.id) == who.session.parent_session_id
                || s.parent_session_id == Some(who.session.id),
            session: s,
        })
        .collect();
    let preferences = notifications::preferences(&state.db, user.tenant_id, user.id).await?;
    let two_factor = two_factor::get(&state.db, user.tenant_id, user.id).await?;
    render(&ProfilePage {
        ctx,
        base: base_of(who),
        name: user.display_name.clone(),
        email: user.email.to_string(),
        phone: user.phone.clone(),
        time_zone: user.time_zone.clone(),
        locale: user.locale.clone(),
        zones: zone_names(),
        languages: Locale::ALL,
        sessions,
        preferences,
        error,
        two_factor,
        tfa_error,
    })
}

async fn refused(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    section: Section,
    message: String,
) -> Result<Response, AppError> {
    let html = page(state, ctx, who, Some((section, message))).await?;
    Ok((StatusCode::BAD_REQUEST, html).into_response())
}

fn done(who: &SignedIn, message: Message) -> Response {
    Redirect::to(&format!("{}?notice={}", base_of(who), message.code())).into_response()
}

#[derive(Deserialize)]
pub struct ShowQuery {
    tfa_error: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<ShowQuery>,
) -> Result<Html<String>, AppError> {
    let tfa_error = match query.tfa_error.as_deref() {
        Some("password") => Some("Your password is not right."),
        Some("code") => Some("That code is not right, or it was already used."),
        _ => None,
    };
    page_with(&state, ctx, &who, None, tfa_error).await
}

#[derive(Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    locale: String,
}

/// A phone number as people write it: digits, spaces and `+-()./`, at
/// most 40 characters.
pub(crate) fn check_phone(raw: &str) -> Result<String, &'static str> {
    let phone = raw.trim();
    if phone.chars().count() > 40 || !phone.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c)) {
        return Err("Enter a phone number with digits, spaces and + - ( ) only.");
    }
    Ok(phone.to_owned())
}

pub async fn save_details(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<DetailsForm>,
) -> Result<Response, AppError> {
    let phone = match check_phone(&form.phone) {
        Ok(p) => p,
        Err(e) => return refused(&state, ctx, &who, Section::Details, e.to_owned()).await,
    };
    if !is_known_zone(form.time_zone.trim()) {
        return refused(
            &state,
            ctx,
            &who,
            Section::Details,
            "Choose a time zone from the list.".to_owned(),
        )
        .await;
    }
    let locale = form.locale.trim();
    if !locale.is_empty() && locale.parse::<Locale>().is_err() {
        return refused(
            &state,
            ctx,
            &who,
            Section::Details,
            "Choose a language from the list.".to_owned(),
        )
        .await;
    }
    let update = OwnProfile {
        display_name: &form.display_name,
        phone: &phone,
        time_zone: form.time_zone.trim(),
        locale,
    };
    match users::update_own_profile(&state.db, who.user.tenant_id, who.user.id, &update).await {
        Ok(()) => Ok(done(&who, Message::ProfileSaved)),
        Err(porta_core::db::DbError::Invalid(message)) => {
            refused(&state, ctx, &who, Section::Details, message).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// Changes the password (the current one is required) and signs out every
/// other session of the user.
pub async fn change_password(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let stored = users::password_hash(&state.db, tenant, who.user.id).await?;
    if form.current.len() > 4096 || !password::verify_blocking(stored, Secret::new(form.current)).await {
        return refused(
            &state,
            ctx,
            &who,
            Section::Password,
            "Your current password is not right.".to_owned(),
        )
        .await;
    }
    if form.new != form.confirm {
        return refused(
            &state,
            ctx,
            &who,
            Section::Password,
            "The two new passwords differ.".to_owned(),
        )
        .await;
    }
    let new = Secret::new(form.new);
    let inputs = [who.user.email.as_str(), who.user.display_name.as_str()];
    if let Err(e) = password::check_strength(&new, &inputs, state.config.accounts.min_password_score) {
        return refused(&state, ctx, &who, Section::Password, format!("The new {e}.")).await;
    }
    let hash = password::hash_blocking(new).await.map_err(AppError::internal)?;
    users::set_password_hash(&state.db, tenant, who.user.id, &hash).await?;
    let now = UnixMillis::now();
    let revoked = sessions::revoke_others(&state.db, &who.session, "password_changed", now).await?;
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(tenant),
            actor: Some(who.user.id),
            action: "password.change",
            outcome: "success",
            subject: Some(who.user.email.as_str()),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: Some(serde_json::json!({ "other_sessions_revoked": revoked })),
        },
        now,
    )
    .await?;
    Ok(done(&who, Message::PasswordChanged))
}

async fn audit_revocation(
    state: &AppState,
    site: &Site,
    who: &SignedIn,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(who.user.tenant_id),
            actor: Some(who.user.id),
            action: "session.revoke",
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

/// Signs out one of the user's own sessions (and what the handoff tied to it).
pub async fn revoke_one(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: SessionId = id.parse().map_err(|_| AppError::NotFound)?;
    let tenant = who.user.tenant_id;
    let target = sessions::get(&state.db, tenant, id)
        .await?
        .filter(|s| s.user_id == who.user.id && s.revoked_at.is_none())
        .ok_or(AppError::NotFound)?;
    sessions::revoke_family(&state.db, &target, "revoked_by_user", UnixMillis::now()).await?;
    audit_revocation(
        &state,
        &site,
        &who,
        serde_json::json!({ "session": id.to_string() }),
    )
    .await?;
    Ok(done(&who, Message::SessionRevoked))
}

pub async fn revoke_others(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
) -> Result<Response, AppError> {
    let revoked =
        sessions::revoke_others(&state.db, &who.session, "revoked_by_user", UnixMillis::now()).await?;
    audit_revocation(&state, &site, &who, serde_json::json!({ "others": revoked })).await?;
    Ok(done(&who, Message::OtherSessionsRevoked))
}

/// Checkboxes `in_app.<kind>` and `email.<kind>`, ticked or absent.
pub async fn save_preferences(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let ticked = |prefix: &str, kind: NotificationKind| {
        let name = format!("{prefix}.{}", kind.as_str());
        form.iter().any(|(k, _)| *k == name)
    };
    let wishes: Vec<Preference> = NotificationKind::ALL
        .iter()
        .map(|&kind| Preference {
            kind,
            in_app: ticked("in_app", kind),
            email: ticked("email", kind),
        })
        .collect();
    notifications::set_preferences(&state.db, who.user.tenant_id, who.user.id, &wishes).await?;
    Ok(done(&who, Message::PreferencesSaved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_checked() {
        assert_eq!(
            check_phone(" +1 (555) 010-0100 "),
            Ok("+1 (555) 010-0100".to_owned())
        );
        assert!(check_phone("call me").is_err());
        assert!(check_phone(&"1".repeat(41)).is_err());
        assert_eq!(check_phone(""), Ok(String::new()));
    }
}
