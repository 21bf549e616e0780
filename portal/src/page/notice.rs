//! Messages shown after a redirect, by code: a link carries
//! `?notice=domain_registered` or `?error=CredentialsSignin`, and the page
//! shows the text this table holds for that code. Free text from a query
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
    pub message: &'static str,
}

impl Flash {
    pub fn is_error(&self) -> bool {
        self.kind == FlashKind::Error
    }
}

macro_rules! messages {
    ($($variant:ident => ($kind:ident, $code:literal, $message:literal),)+) => {
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
                    $(Message::$variant => Flash { kind: FlashKind::$kind, code: $code, message: $message }),+
                }
            }
        }
    };
}

messages! {
    // Sign-in (Auth.js's codes, so links from other tools keep working).
    CredentialsSignin => (Error, "CredentialsSignin", "Sign-in failed. Check that your email and password are correct."),
    AccessDenied => (Error, "AccessDenied", "This account does not have access here."),
    RateLimited => (Error, "RateLimited", "Too many sign-in attempts. Wait a few minutes, then try again."),
    SessionRequired => (Error, "SessionRequired", "Please sign in to continue."),
    SignedOut => (Notice, "signed_out", "You are signed out."),
    // The portal domain settings.
    DomainRegistered => (Notice, "domain_registered", "Domain registered. Create the CNAME record shown below."),
    DomainChanged => (Notice, "domain_changed", "Domain changed. Create the CNAME record shown below."),
    DomainCheckScheduled => (Notice, "domain_check_scheduled", "Checking again now."),
    DomainDisabled => (Notice, "domain_disabled", "The domain is disabled: clients are no longer sent there."),
    DomainRemoved => (Notice, "domain_removed", "The domain was removed."),
    // Tickets.
    TicketCreated => (Notice, "ticket_created", "Your ticket was created. We will reply here."),
    CommentAdded => (Notice, "comment_added", "Your reply was added."),
    TicketClosed => (Notice, "ticket_closed", "The ticket is closed."),
    TicketReopened => (Notice, "ticket_reopened", "The ticket is open again."),
    ReplySent => (Notice, "reply_sent", "Your reply was sent to the client."),
    NoteAdded => (Notice, "note_added", "The internal note was added. The client does not see it."),
    TicketUpdated => (Notice, "ticket_updated", "The ticket was updated."),
    // Notifications.
    NotificationsRead => (Notice, "notifications_read", "All notifications are marked as read."),
    // Profile and account.
    ProfileSaved => (Notice, "profile_saved", "Your profile was saved."),
    PasswordChanged => (Notice, "password_changed", "Your password was changed. Your other sessions were signed out."),
    SessionRevoked => (Notice, "session_revoked", "That session was signed out."),
    OtherSessionsRevoked => (Notice, "other_sessions_revoked", "All your other sessions were signed out."),
    PreferencesSaved => (Notice, "preferences_saved", "Your notification preferences were saved."),
    CompanySaved => (Notice, "company_saved", "The company details were saved."),
    UserInvited => (Notice, "user_invited", "The invitation was sent."),
    InvitationRevoked => (Notice, "invitation_revoked", "The invitation was revoked."),
    RolesChanged => (Notice, "roles_changed", "The roles were changed."),
    UserDeactivated => (Notice, "user_deactivated", "The user was deactivated and signed out everywhere."),
    UserReactivated => (Notice, "user_reactivated", "The user can sign in again."),
    SettingsSaved => (Notice, "settings_saved", "The settings were saved."),
    PasswordReset => (Notice, "password_reset", "Your password was changed. Sign in with the new one."),
    PasswordSigninOff => (Error, "PasswordSigninOff", "Sign in with your organisation's account: password sign-in is turned off here."),
    SecondStepExpired => (Error, "SecondStepExpired", "That took too long. Sign in again."),
    OidcFailed => (Error, "OAuthSignin", "Sign-in with that provider did not work. Try again, or use another way in."),
    OidcNoAccount => (Error, "OAuthAccountNotLinked", "No account here matches the address your provider confirmed. Ask your administrator for an invitation."),
    // Two-factor authentication.
    TwoFactorEnabled => (Notice, "two_factor_enabled", "Two-factor authentication is on."),
    TwoFactorDisabled => (Notice, "two_factor_disabled", "Two-factor authentication is off."),
    RecoveryCodesReplaced => (Notice, "recovery_codes_replaced", "New recovery codes were made; the old ones no longer work."),
    TwoFactorReset => (Notice, "two_factor_reset", "Their two-factor authentication was reset. They set it up again at their next sign-in if it is required."),
    InvitationResent => (Notice, "invitation_resent", "A new invitation was sent; the earlier link no longer works."),
    AccountReady => (Notice, "account_ready", "Your account is ready."),
    // Projects.
    FilesUploaded => (Notice, "files_uploaded", "The files were uploaded."),
    ProjectCreated => (Notice, "project_created", "The project was created."),
    ProjectSaved => (Notice, "project_saved", "The project was saved."),
    // Billing.
    BillingSaved => (Notice, "billing_saved", "The billing details were saved."),
    InvoiceCreated => (Notice, "invoice_created", "The draft was created. The client does not see it until it is finalized."),
    InvoiceSaved => (Notice, "invoice_saved", "The draft was saved."),
    InvoiceFinalized => (Notice, "invoice_finalized", "The invoice is finalized: it has its number and can no longer change."),
    InvoiceCancelled => (Notice, "invoice_cancelled", "The invoice was cancelled."),
    DraftDeleted => (Notice, "draft_deleted", "The draft was deleted."),
    PaymentRecorded => (Notice, "payment_recorded", "The payment was recorded."),
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
