//! The letters Porta writes, each a plain-text and an HTML part from
//! templates under `templates/mail/`.

use askama::Template;
use porta_core::clock::UnixMillis;
use porta_core::db::outbox::{self, NewMail};
use porta_core::db::{DbError, DbTx};
use porta_core::ids::TenantId;

use crate::i18n::{Arg, Texts};

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

/// What a letter says, in its reader's language: every part is text
/// already (the templates only lay it out).
struct Words {
    /// The language's tag, for `<html lang>`.
    lang: &'static str,
    tenant: String,
    title: String,
    hello: String,
    paragraphs: Vec<String>,
    /// Introduces the link in the plain-text part.
    link_intro: String,
    button: String,
    link: String,
    /// The small print under the button.
    footer: String,
}

#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct LetterText<'a> {
    w: &'a Words,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct LetterHtml<'a> {
    w: &'a Words,
}

fn render(subject: String, words: Words) -> Result<Rendered, askama::Error> {
    Ok(Rendered {
        subject,
        text: LetterText { w: &words }.render()?,
        html: LetterHtml { w: &words }.render()?,
    })
}

pub fn password_reset(
    texts: Texts,
    name: &str,
    tenant: &str,
    link: &str,
    minutes: u64,
) -> Result<Rendered, askama::Error> {
    let t = |id: &str, args: &[(&str, Arg)]| texts.plain_with(id, args);
    render(
        t("mail-reset-subject", &[("tenant", Arg::of(tenant))]),
        Words {
            lang: texts.locale().tag(),
            tenant: tenant.to_owned(),
            title: t("mail-reset-title", &[]),
            hello: t("mail-hello", &[("name", Arg::of(name))]),
            paragraphs: vec![t("mail-reset-intro", &[("tenant", Arg::of(tenant))])],
            link_intro: t("mail-reset-link-intro", &[]),
            button: t("mail-reset-button", &[]),
            link: link.to_owned(),
            footer: t("mail-reset-validity", &[("minutes", Arg::of(minutes))]),
        },
    )
}

pub fn invitation(
    texts: Texts,
    name: &str,
    tenant: &str,
    company: &str,
    inviter: &str,
    link: &str,
    hours: u64,
) -> Result<Rendered, askama::Error> {
    let t = |id: &str, args: &[(&str, Arg)]| texts.plain_with(id, args);
    let who = [("inviter", Arg::of(inviter)), ("tenant", Arg::of(tenant))];
    render(
        t("mail-invitation-subject", &who),
        Words {
            lang: texts.locale().tag(),
            tenant: tenant.to_owned(),
            title: t("mail-invitation-title", &[]),
            hello: t("mail-hello", &[("name", Arg::of(name))]),
            paragraphs: vec![t(
                "mail-invitation-intro",
                &[
                    ("inviter", Arg::of(inviter)),
                    ("tenant", Arg::of(tenant)),
                    ("company", Arg::of(company)),
                ],
            )],
            link_intro: t("mail-invitation-link-intro", &[]),
            button: t("mail-invitation-button", &[]),
            link: link.to_owned(),
            footer: t("mail-invitation-validity", &[("hours", Arg::of(hours))]),
        },
    )
}

/// A ticket event; `summary` is the event as recorded (who did what).
pub fn notification(
    texts: Texts,
    name: &str,
    tenant: &str,
    summary: &str,
    link: &str,
    preferences: &str,
) -> Result<Rendered, askama::Error> {
    let t = |id: &str, args: &[(&str, Arg)]| texts.plain_with(id, args);
    render(
        summary.chars().take(150).collect(),
        Words {
            lang: texts.locale().tag(),
            tenant: tenant.to_owned(),
            title: summary.to_owned(),
            hello: t("mail-hello", &[("name", Arg::of(name))]),
            paragraphs: vec![summary.to_owned()],
            link_intro: t("mail-notification-link-intro", &[]),
            button: t("mail-notification-button", &[]),
            link: link.to_owned(),
            footer: t("mail-notification-why", &[("settings", Arg::of(preferences))]),
        },
    )
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
