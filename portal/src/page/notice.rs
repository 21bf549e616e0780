//! Messages shown after a redirect, by code: a link carries
//! `?notice=domain_registered` or `?error=CredentialsSignin`, and the page
//! shows the catalogue's `notice-{code}` in the reader's language. Free text from a query
//! string is never shown; an unknown code shows nothing.

/// Whether a message reports success or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Notice,
    Error,
}

/// A message to show at the top of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub code: &'static str,
}

impl Flash {
    pub fn is_error(&self) -> bool {
        self.kind == FlashKind::Error
    }

    /// Its text's id in the message catalogue (`notices.ftl`).
    pub fn message_id(&self) -> String {
        format!("notice-{}", self.code)
    }
}

macro_rules! messages {
    ($($variant:ident => ($kind:ident, $code:literal),)+) => {
        /// Every message a redirect can ask for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Message { $($variant),+ }

        impl Message {
            pub const ALL: &'static [Message] = &[$(Message::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $(Message::$variant => $code),+ }
            }

            pub fn flash(self) -> Flash {
                match self {
                    $(Message::$variant => Flash { kind: FlashKind::$kind, code: $code }),+
                }
            }
        }
    };
}

messages! {
    // Sign-in (Auth.js's codes, so links from other tools keep working).
    CredentialsSignin => (Error, "CredentialsSignin"),
    AccessDenied => (Error, "AccessDenied"),
    RateLimited => (Error, "RateLimited"),
    SessionRequired => (Error, "SessionRequired"),
    SignedOut => (Notice, "signed_out"),
    // The portal domain settings.
    DomainRegistered => (Notice, "domain_registered"),
    DomainChanged => (Notice, "domain_changed"),
    DomainCheckScheduled => (Notice, "domain_check_scheduled"),
    DomainDisabled => (Notice, "domain_disabled"),
    DomainRemoved => (Notice, "domain_removed"),
    // Tickets.
    TicketCreated => (Notice, "ticket_created"),
    CommentAdded => (Notice, "comment_added"),
    TicketClosed => (Notice, "ticket_closed"),
    TicketReopened => (Notice, "ticket_reopened"),
    ReplySent => (Notice, "reply_sent"),
    NoteAdded => (Notice, "note_added"),
    TicketUpdated => (Notice, "ticket_updated"),
    // Notifications.
    NotificationsRead => (Notice, "notifications_read"),
    // Profile and account.
    ProfileSaved => (Notice, "profile_saved"),
    PasswordChanged => (Notice, "password_changed"),
    SessionRevoked => (Notice, "session_revoked"),
    OtherSessionsRevoked => (Notice, "other_sessions_revoked"),
    PreferencesSaved => (Notice, "preferences_saved"),
    CompanySaved => (Notice, "company_saved"),
    UserInvited => (Notice, "user_invited"),
    InvitationRevoked => (Notice, "invitation_revoked"),
    RolesChanged => (Notice, "roles_changed"),
    UserDeactivated => (Notice, "user_deactivated"),
    UserReactivated => (Notice, "user_reactivated"),
    SettingsSaved => (Notice, "settings_saved"),
    PasswordReset => (Notice, "password_reset"),
    PasswordSigninOff => (Error, "PasswordSigninOff"),
    SecondStepExpired => (Error, "SecondStepExpired"),
    OidcFailed => (Error, "OAuthSignin"),
    OidcNoAccount => (Error, "OAuthAccountNotLinked"),
    // Two-factor authentication.
    TwoFactorEnabled => (Notice, "two_factor_enabled"),
    TwoFactorDisabled => (Notice, "two_factor_disabled"),
    RecoveryCodesReplaced => (Notice, "recovery_codes_replaced"),
    TwoFactorReset => (Notice, "two_factor_reset"),
    InvitationResent => (Notice, "invitation_resent"),
    AccountReady => (Notice, "account_ready"),
    // Projects.
    FilesUploaded => (Notice, "files_uploaded"),
    ProjectCreated => (Notice, "project_created"),
    ProjectSaved => (Notice, "project_saved"),
    // Billing.
    BillingSaved => (Notice, "billing_saved"),
    InvoiceCreated => (Notice, "invoice_created"),
    InvoiceSaved => (Notice, "invoice_saved"),
    InvoiceFinalized => (Notice, "invoice_finalized"),
    InvoiceCancelled => (Notice, "invoice_cancelled"),
    DraftDeleted => (Notice, "draft_deleted"),
    PaymentRecorded => (Notice, "payment_recorded"),
}

impl Message {
    pub fn from_code(code: &str) -> Option<Message> {
        Message::ALL.iter().copied().find(|m| m.code() == code)
    }
}

/// `?notice=…&error=…` as a page reads them.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FlashQuery {
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl FlashQuery {
    /// The message of the query's code, if it names one of the right kind.
    pub fn flash(&self) -> Option<Flash> {
        let pick = |code: &Option<String>, kind| {
            code.as_deref()
                .and_then(Message::from_code)
                .map(Message::flash)
                .filter(|f| f.kind == kind)
        };
        pick(&self.error, FlashKind::Error).or_else(|| pick(&self.notice, FlashKind::Notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_found() {
        for m in Message::ALL {
            assert_eq!(Message::from_code(m.code()), Some(*m));
        }
        let mut codes: Vec<_> = Message::ALL.iter().map(|m| m.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Message::ALL.len());
    }

    #[test]
    fn every_code_has_a_text() {
        for m in Message::ALL {
            let id = m.flash().message_id();
            assert!(
                crate::i18n::messages::has(porta_core::locale::Locale::En, &id),
                "{id}"
            );
        }
    }

    #[test]
    fn free_text_and_wrong_kinds_show_nothing() {
        let q = |notice: Option<&str>, error: Option<&str>| FlashQuery {
            notice: notice.map(str::to_owned),
            error: error.map(str::to_owned),
        };
        assert_eq!(q(Some("<script>alert(1)</script>"), None).flash(), None);
        assert_eq!(q(Some("Your account is locked, call +1 555"), None).flash(), None);
        // A success code passed as an error is not shown as one.
        assert_eq!(q(None, Some("domain_registered")).flash(), None);
        assert_eq!(
            q(Some("domain_registered"), None).flash().map(|f| f.code),
            Some("domain_registered")
        );
    }
}
