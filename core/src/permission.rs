//! Permissions: a closed set of `resource:action` pairs, granted through
//! roles.
//!
//! The resources and actions are those of the portal Porta replaces (see
//! `../shared/notes/alga-portal.md`): client roles `Admin`, `Finance` and
//! `User`, staff roles `Admin` and `Technician`. A permission is parsed once
//! (from a database row) into a [`Permission`]; handlers and menus ask a
//! [`PermissionSet`] whether it holds one. No code compares permission
//! strings.

use std::fmt;
use std::str::FromStr;

/// What a permission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Tickets and their comments.
    Ticket,
    /// Projects, phases and tasks.
    Project,
    /// Invoices, payments, contracts.
    Billing,
    /// The client company (its profile).
    Client,
    /// Users and their roles.
    User,
    /// Settings (a client company's portal defaults; for staff, the tenant's
    /// settings such as its portal domain and branding).
    Settings,
    /// Documents and attachments.
    Document,
    /// The tenant's audit log.
    Audit,
}

/// What may be done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    /// Only with [`Resource::User`]: reset another user's password or 2FA.
    ResetPassword,
}

impl Resource {
    pub const ALL: [Resource; 8] = [
        Resource::Ticket,
        Resource::Project,
        Resource::Billing,
        Resource::Client,
        Resource::User,
        Resource::Settings,
        Resource::Document,
        Resource::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Ticket => "ticket",
            Resource::Project => "project",
            Resource::Billing => "billing",
            Resource::Client => "client",
            Resource::User => "user",
            Resource::Settings => "settings",
            Resource::Document => "document",
            Resource::Audit => "audit",
        }
    }

    fn index(self) -> u32 {
        self as u32
    }
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Create,
        Action::Read,
        Action::Update,
        Action::Delete,
        Action::ResetPassword,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::ResetPassword => "reset_password",
        }
    }

    fn index(self) -> u32 {
        self as u32
    }
}

/// One permission: an action on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub resource: Resource,
    pub action: Action,
}

impl Permission {
    pub const fn new(resource: Resource, action: Action) -> Self {
        Self { resource, action }
    }

    /// `resource:action`, as stored.
    pub fn id(self) -> String {
        self.to_string()
    }

    fn bit(self) -> u64 {
        1u64 << (self.resource.index() * 8 + self.action.index())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource.as_str(), self.action.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a permission: {0:?} (expected resource:action, e.g. ticket:read)")]
pub struct InvalidPermission(pub String);

impl FromStr for Permission {
    type Err = InvalidPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidPermission(s.chars().take(64).collect());
        let (resource, action) = s.split_once(':').ok_or_else(invalid)?;
        let resource = Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == resource)
            .ok_or_else(invalid)?;
        let action = Action::ALL
            .into_iter()
            .find(|a| a.as_str() == action)
            .ok_or_else(invalid)?;
        Ok(Permission::new(resource, action))
    }
}

/// The permissions a user holds through all their roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PermissionSet(u64);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Every permission in the set, in a stable order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Resource::ALL.into_iter().flat_map(move |resource| {
            Action::ALL
                .into_iter()
                .map(move |action| Permission::new(resource, action))
                .filter(move |p| self.contains(*p))
        })
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

/// Shorthands for the permissions code asks for.
pub mod perm {
    use super::{Action::*, Permission, Resource::*};

    pub const TICKET_CREATE: Permission = Permission::new(Ticket, Create);
    pub const TICKET_READ: Permission = Permission::new(Ticket, Read);
    pub const TICKET_UPDATE: Permission = Permission::new(Ticket, Update);
    pub const TICKET_DELETE: Permission = Permission::new(Ticket, Delete);
    pub const PROJECT_CREATE: Permission = Permission::new(Project, Create);
    pub const PROJECT_READ: Permission = Permission::new(Project, Read);
    pub const PROJECT_UPDATE: Permission = Permission::new(Project, Update);
    pub const PROJECT_DELETE: Permission = Permission::new(Project, Delete);
    pub const BILLING_CREATE: Permission = Permission::new(Billing, Create);
    pub const BILLING_READ: Permission = Permission::new(Billing, Read);
    pub const BILLING_UPDATE: Permission = Permission::new(Billing, Update);
    pub const BILLING_DELETE: Permission = Permission::new(Billing, Delete);
    pub const CLIENT_CREATE: Permission = Permission::new(Client, Create);
    pub const CLIENT_READ: Permission = Permission::new(Client, Read);
    pub const CLIENT_UPDATE: Permission = Permission::new(Client, Update);
    pub const CLIENT_DELETE: Permission = Permission::new(Client, Delete);
    pub const USER_CREATE: Permission = Permission::new(User, Create);
    pub const USER_READ: Permission = Permission::new(User, Read);
    pub const USER_UPDATE: Permission = Permission::new(User, Update);
    pub const USER_DELETE: Permission = Permission::new(User, Delete);
    pub const USER_RESET_PASSWORD: Permission = Permission::new(User, ResetPassword);
    pub const SETTINGS_CREATE: Permission = Permission::new(Settings, Create);
    pub const SETTINGS_READ: Permission = Permission::new(Settings, Read);
    pub const SETTINGS_UPDATE: Permission = Permission::new(Settings, Update);
    pub const SETTINGS_DELETE: Permission = Permission::new(Settings, Delete);
    pub const DOCUMENT_CREATE: Permission = Permission::new(Document, Create);
    pub const DOCUMENT_READ: Permission = Permission::new(Document, Read);
    pub const DOCUMENT_UPDATE: Permission = Permission::new(Document, Update);
    pub const DOCUMENT_DELETE: Permission = Permission::new(Document, Delete);
    pub const AUDIT_READ: Permission = Permission::new(Audit, Read);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_id() {
        for resource in Resource::ALL {
            for action in Action::ALL {
                let p = Permission::new(resource, action);
                assert_eq!(p.id().parse::<Permission>(), Ok(p));
            }
        }
        assert_eq!(perm::USER_RESET_PASSWORD.id(), "user:reset_password");
    }

    #[test]
    fn rejects_unknown_resources_and_actions() {
        for bad in [
            "",
            "ticket",
            "ticket:",
            ":read",
            "tickets:read",
            "ticket:read:x",
            "Ticket:read",
        ] {
            assert!(bad.parse::<Permission>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sets_hold_exactly_what_was_inserted() {
        let set: PermissionSet = [perm::TICKET_READ, perm::BILLING_READ].into_iter().collect();
        assert!(set.contains(perm::TICKET_READ));
        assert!(set.contains(perm::BILLING_READ));
        assert!(!set.contains(perm::TICKET_UPDATE));
        assert!(!set.contains(perm::AUDIT_READ));
        assert_eq!(set.iter().count(), 2);
        // Every pair has its own bit.
        let all: PermissionSet = Resource::ALL
            .into_iter()
            .flat_map(|r| Action::ALL.into_iter().map(move |a| Permission::new(r, a)))
            .collect();
        assert_eq!(all.iter().count(), Resource::ALL.len() * Action::ALL.len());
    }
}
