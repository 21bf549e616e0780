//! Telling people about a ticket event: the in-app notification and, for
//! those whose preferences ask for it, a letter in the outbox, both in
//! one transaction. Client users' links lead to the tenant's custom domain
//! when it is active; staff links to the canonical host.

use crate::i18n::Texts;
use porta_core::clock::UnixMillis;
use porta_core::db::notifications;
use porta_core::ids::{TicketId, UserId};
use porta_core::locale::Locale;
use porta_core::ticket::NotificationKind;
use porta_core::user_type::UserType;

use crate::auth::links;
use crate::error::AppError;
use crate::mail::letters::{self, Addressee};
use crate::request::Site;
use crate::state::AppState;

/// Records `kind` on the ticket `(id, label)` (`TIC-1042`) for everyone it concerns
/// (not `actor`), and mails those who want mail.
pub async fn announce(
    state: &AppState,
    site: &Site,
    (ticket, label): (TicketId, &str),
    kind: NotificationKind,
    actor: UserId,
    summary: &str,
    now: UnixMillis,
) -> Result<(), AppError> {
    let tenant = &site.tenant;
    let mut tx = state.db.begin().await?;
    let everyone =
        notifications::notify(&state.db, &mut tx, tenant.id, ticket, kind, actor, summary, now).await?;
    let mut mailed = 0;
    for recipient in everyone.iter().filter(|r| r.email) {
        let origin = links::origin(state, tenant, recipient.user_type).await?;
        let (ticket_path, profile_path) = match recipient.user_type {
            UserType::Client => ("/client-portal/tickets", "/client-portal/profile"),
            UserType::Internal => ("/msp/tickets", "/msp/profile"),
        };
        let link = format!("{origin}{ticket_path}/{label}");
        let preferences = format!("{origin}{profile_path}#notifications-heading");
        let texts = Texts(Locale::of_preference(&recipient.locale).unwrap_or_default());
        let letter = letters::notification(
            texts,
            &recipient.display_name,
            &tenant.name,
            summary,
            &link,
            &preferences,
        )?;
        let to = Addressee {
            name: &recipient.display_name,
            address: recipient.address.as_str(),
        };
        letters::enqueue(
            &mut tx,
            tenant.id,
            Some(&tenant.reply_to),
            kind.as_str(),
            to,
            &letter,
        )
        .await?;
        mailed += 1;
    }
    tx.commit().await?;
    if mailed > 0 {
        state.mail_wake.now();
    }
    Ok(())
}
