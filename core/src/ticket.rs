//! The closed sets and validated values of tickets: their human numbers
//! (`TIC-1042`), who must answer next, where they came from, and the kinds
//! of notification they cause.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a value is not one of the set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid {1}")]
pub struct InvalidValue(pub String, pub &'static str);

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(InvalidValue(s.chars().take(64).collect(), $what)),
                }
            }
        }
    };
}

pub(crate) use word_enum;

word_enum!(
    /// Whose turn it is: a client comment means the MSP must answer, a staff
    /// public reply means the client must. No state: nobody is waiting.
    ResponseState, "response state" {
        AwaitingClient => "awaiting_client",
        AwaitingInternal => "awaiting_internal",
    }
);

word_enum!(
    /// Where a ticket was entered.
    TicketOrigin, "ticket origin" {
        ClientPortal => "client_portal",
        Msp => "msp",
        Email => "email",
    }
);

word_enum!(
    /// What a notification announces. Each kind is switchable per user, in
    /// the app and (with the mail outbox) by mail.
    NotificationKind, "notification kind" {
        TicketCreated => "ticket_created",
        TicketStatusChanged => "ticket_status_changed",
        CommentAdded => "comment_added",
    }
);

impl NotificationKind {
    /// How the profile page names the kind.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::TicketCreated => "A ticket is created",
            NotificationKind::TicketStatusChanged => "A ticket's status changes",
            NotificationKind::CommentAdded => "A reply is added to a ticket",
        }
    }
}

impl ResponseState {
    pub fn label(self) -> &'static str {
        match self {
            ResponseState::AwaitingClient => "Awaiting your reply",
            ResponseState::AwaitingInternal => "Awaiting support",
        }
    }
}

impl ResponseState {
    /// How staff read it.
    pub fn staff_label(self) -> &'static str {
        match self {
            ResponseState::AwaitingClient => "Waiting for the client",
            ResponseState::AwaitingInternal => "Waiting for us",
        }
    }
}

impl TicketOrigin {
    pub fn label(self) -> &'static str {
        match self {
            TicketOrigin::ClientPortal => "in the client portal",
            TicketOrigin::Msp => "by staff",
            TicketOrigin::Email => "by email",
        }
    }
}

/// A ticket's human number within its tenant: `TIC-1042` is prefix `TIC`
/// and number 1042.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber(pub i64);

/// The tenant's prefix for ticket numbers.
pub const DEFAULT_PREFIX: &str = "TIC";

impl TicketNumber {
    /// `TIC-1042` (or plain `1042`) with the tenant's `prefix`, any case.
    pub fn parse(raw: &str, prefix: &str) -> Result<TicketNumber, InvalidValue> {
        let invalid = || InvalidValue(raw.chars().take(32).collect(), "ticket number");
        let digits = match raw.split_once('-') {
            Some((p, digits)) if p.eq_ignore_ascii_case(prefix) => digits,
            Some(_) => return Err(invalid()),
            None => raw,
        };
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        digits.parse().map(TicketNumber).map_err(|_| invalid())
    }

    /// `TIC-1042`.
    pub fn display(self, prefix: &str) -> String {
        format!("{prefix}-{}", self.0)
    }
}

/// The longest ticket title.
pub const MAX_TITLE: usize = 200;
/// The longest ticket description or comment.
pub const MAX_BODY: usize = 20_000;

/// A ticket title: 1-200 characters after trimming, no control characters.
pub fn check_title(raw: &str) -> Result<String, &'static str> {
    let title = raw.trim();
    if title.is_empty() {
        return Err("Enter a title.");
    }
    if title.chars().count() > MAX_TITLE {
        return Err("The title is longer than 200 characters.");
    }
    if title.chars().any(char::is_control) {
        return Err("The title contains characters that are not allowed.");
    }
    Ok(title.to_owned())
}

/// A description or comment: up to 20 000 characters, no control characters
/// but line breaks and tabs; `required` refuses an empty one.
pub fn check_body(raw: &str, required: bool) -> Result<String, &'static str> {
    let body = raw.trim().replace("\r\n", "\n");
    if required && body.is_empty() {
        return Err("Enter a message.");
    }
    if body.chars().count() > MAX_BODY {
        return Err("The text is longer than 20 000 characters.");
    }
    if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("The text contains characters that are not allowed.");
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_or_without_the_prefix() {
        assert_eq!(TicketNumber::parse("TIC-1042", "TIC"), Ok(TicketNumber(1042)));
        assert_eq!(TicketNumber::parse("tic-7", "TIC"), Ok(TicketNumber(7)));
        assert_eq!(TicketNumber::parse("1042", "TIC"), Ok(TicketNumber(1042)));
        for bad in [
            "",
            "TIC-",
            "ABC-1",
            "TIC-1x",
            "TIC--1",
            "TIC-+1",
            "TIC-9999999999999",
            "../1",
            "1 2",
        ] {
            assert!(TicketNumber::parse(bad, "TIC").is_err(), "{bad}");
        }
        assert_eq!(TicketNumber(1042).display("TIC"), "TIC-1042");
    }

    #[test]
    fn words_round_trip() {
        for s in ResponseState::ALL {
            assert_eq!(s.as_str().parse::<ResponseState>(), Ok(*s));
        }
        for o in TicketOrigin::ALL {
            assert_eq!(o.as_str().parse::<TicketOrigin>(), Ok(*o));
        }
        for k in NotificationKind::ALL {
            assert_eq!(k.as_str().parse::<NotificationKind>(), Ok(*k));
        }
        assert!("awaiting".parse::<ResponseState>().is_err());
    }

    #[test]
    fn titles_and_bodies_are_checked() {
        assert_eq!(
            check_title("  Printer on fire "),
            Ok("Printer on fire".to_owned())
        );
        assert!(check_title("   ").is_err());
        assert!(check_title(&"x".repeat(201)).is_err());
        assert!(check_title("a\u{0}b").is_err());
        assert_eq!(
            check_body("line one\r\nline two", true),
            Ok("line one\nline two".to_owned())
        );
        assert!(check_body("", true).is_err());
        assert_eq!(check_body("", false), Ok(String::new()));
        assert!(check_body("bell\u{7}", false).is_err());
    }
}
