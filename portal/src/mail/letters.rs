//! The letters Porta writes, each a plain-text and an HTML part from
//! templates under `templates/mail/`.

use askama::Template;
use porta_core::clock::UnixMillis;
use porta_core::db::outbox::{self, NewMail};
use porta_core::db::{DbError, DbTx};
use porta_core::ids::TenantId;

/// A letter ready for the outbox.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Who a letter goes to.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    pub name: &'a str,
    pub address: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct ResetText<'a> {
    name: &'a str,
    tenant: &'a str,
    link: &'a str,
    minutes: u64,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct ResetHtml<'a> {
    name: &'a str,
    tenant: &'a str,
    link: &'a str,
    minutes: u64,
}

pub fn password_reset(name: &str, tenant: &str, link: &str, minutes: u64) -> Result<Rendered, askama::Error> {
    Ok(Rendered {
        subject: format!("Reset your {tenant} portal password"),
        text: ResetText {
            name,
            tenant,
            link,
            minutes,
        }
        .render()?,
        html: ResetHtml {
            name,
            tenant,
            link,
            minutes,
        }
        .render()?,
    })
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    name: &'a str,
    tenant: &'a str,
    company: &'a str,
    inviter: &'a str,
    link: &'a str,
    hours: u64,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    name: &'a str,
    tenant: &'a str,
    company: &'a str,
    inviter: &'a str,
    link: &'a str,
    hours: u64,
}

pub fn invitation(
    name: &str,
    tenant: &str,
    company: &str,
    inviter: &str,
    link: &str,
    hours: u64,
) -> Result<Rendered, askama::Error> {
    Ok(Rendered {
        subject: format!("{inviter} invited you to the {tenant} client portal"),
        text: InvitationText {
            name,
            tenant,
            company,
            inviter,
            link,
            hours,
        }
        .render()?,
        html: InvitationHtml {
            name,
            tenant,
            company,
            inviter,
            link,
            hours,
        }
        .render()?,
    })
}

#[derive(Template)]
#[template(path = "mail/notification.txt")]
struct NotificationText<'a> {
    name: &'a str,
    tenant: &'a str,
    summary: &'a str,
    link: &'a str,
    preferences: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notification.html")]
struct NotificationHtml<'a> {
    name: &'a str,
    tenant: &'a str,
    summary: &'a str,
    link: &'a str,
    preferences: &'a str,
}

pub fn notification(
    name: &str,
    tenant: &str,
    summary: &str,
    link: &str,
    preferences: &str,
) -> Result<Rendered, askama::Error> {
    Ok(Rendered {
        subject: summary.chars().take(150).collect(),
        text: NotificationText {
            name,
            tenant,
            summary,
            link,
            preferences,
        }
        .render()?,
        html: NotificationHtml {
            name,
            tenant,
            summary,
            link,
            preferences,
        }
        .render()?,
    })
}

/// Writes `letter` to `to` into the outbox, inside `tx`.
pub async fn enqueue(
    tx: &mut DbTx,
    tenant: TenantId,
    reply_to: Option<&str>,
    kind: &str,
    to: Addressee<'_>,
    letter: &Rendered,
) -> Result<String, DbError> {
    outbox::enqueue(
        tx,
        &NewMail {
            tenant: Some(tenant),
            kind,
            to_address: to.address,
            to_name: to.name,
            reply_to: reply_to.filter(|r| !r.is_empty()),
            subject: &letter.subject,
            text_body: &letter.text,
            html_body: &letter.html,
        },
        UnixMillis::now(),
    )
    .await
}
