//! Identifiers. Each is a UUID in its own type so that a user id can never be
//! passed where a tenant id is expected; all are stored as TEXT.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id in a string could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The id as 32 hex digits (for CSS class names and the like).
            pub fn short(&self) -> String {
                self.0.simple().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| InvalidId { kind: $kind })
            }
        }
    };
}

uuid_id!(
    /// A tenant: one MSP and everything it owns. Every query on tenant data
    /// is filtered by one.
    TenantId,
    "tenant"
);
uuid_id!(
    /// A client company of a tenant.
    ClientId,
    "client"
);
uuid_id!(
    /// A person who can sign in (an MSP staff member or a client user).
    UserId,
    "user"
);
uuid_id!(
    /// A contact of a client company.
    ContactId,
    "contact"
);
uuid_id!(
    /// A server-side session row; the `sid` claim of a session token.
    SessionId,
    "session"
);
uuid_id!(
    /// A role within a tenant.
    RoleId,
    "role"
);
uuid_id!(
    /// A custom domain registered by a tenant.
    PortalDomainId,
    "portal domain"
);

uuid_id!(
    /// A ticket board (a queue with its own statuses and categories).
    BoardId,
    "board"
);
uuid_id!(
    /// A status of a board.
    StatusId,
    "status"
);
uuid_id!(
    /// A ticket priority of a tenant.
    PriorityId,
    "priority"
);
uuid_id!(
    /// A ticket category or subcategory of a board.
    CategoryId,
    "category"
);
uuid_id!(
    /// A ticket.
    TicketId,
    "ticket"
);
uuid_id!(
    /// A comment on a ticket (public or internal).
    CommentId,
    "comment"
);
uuid_id!(
    /// An uploaded document (attachment).
    DocumentId,
    "document"
);
uuid_id!(
    /// An in-app notification.
    NotificationId,
    "notification"
);
uuid_id!(
    /// An invitation to join a client company.
    InvitationId,
    "invitation"
);
uuid_id!(
    /// A project of a client company.
    ProjectId,
    "project"
);
uuid_id!(
    /// A phase of a project.
    PhaseId,
    "phase"
);
uuid_id!(
    /// A task of a project phase.
    ProjectTaskId,
    "task"
);
uuid_id!(
    /// A dependency between two tasks.
    DependencyId,
    "dependency"
);
uuid_id!(
    /// An OpenID provider a tenant signs people in with.
    OidcProviderId,
    "OpenID provider"
);

uuid_id!(
    /// An invoice or credit note (a draft has no number yet).
    InvoiceId,
    "invoice"
);
uuid_id!(
    /// A line of an invoice.
    InvoiceLineId,
    "invoice line"
);
uuid_id!(
    /// A credit applied to an invoice.
    CreditId,
    "credit"
);
uuid_id!(
    /// A payment received against an invoice.
    PaymentId,
    "payment"
);
uuid_id!(
    /// A contract line: a service billed to a client at a rate.
    ContractLineId,
    "contract line"
);
uuid_id!(
    /// A block of prepaid hours.
    PrepaidBlockId,
    "prepaid block"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = TenantId::generate();
        assert_eq!(id.to_string().parse::<TenantId>(), Ok(id));
    }

    #[test]
    fn rejects_garbage_with_its_kind() {
        assert_eq!("not-a-uuid".parse::<UserId>(), Err(InvalidId { kind: "user" }));
    }
}
