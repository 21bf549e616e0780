//! The navigation menus, filtered by permission: an entry the user may not
//! use is not shown. The same [`Permission`]s guard the pages themselves.

use porta_core::permission::{perm, Permission, PermissionSet};

/// One menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavItem {
    pub id: &'static str,
    pub label: &'static str,
    pub href: &'static str,
    /// The page being shown is this entry's (or below it).
    pub active: bool,
}

struct Entry {
    id: &'static str,
    label: &'static str,
    href: &'static str,
    needs: Option<Permission>,
}

const fn entry(
    id: &'static str,
    label: &'static str,
    href: &'static str,
    needs: Option<Permission>,
) -> Entry {
    Entry {
        id,
        label,
        href,
        needs,
    }
}

/// The client portal's menu.
const CLIENT: &[Entry] = &[
    entry("nav-dashboard", "Dashboard", "/client-portal/dashboard", None),
    entry(
        "nav-tickets",
        "Tickets",
        "/client-portal/tickets",
        Some(perm::TICKET_READ),
    ),
    entry(
        "nav-projects",
        "Projects",
        "/client-portal/projects",
        Some(perm::PROJECT_READ),
    ),
    entry(
        "nav-billing",
        "Billing",
        "/client-portal/billing",
        Some(perm::BILLING_READ),
    ),
    entry(
        "nav-account",
        "Account",
        "/client-portal/account",
        Some(perm::CLIENT_READ),
    ),
    entry("nav-profile", "Profile", "/client-portal/profile", None),
    entry(
        "nav-client-settings",
        "Client settings",
        "/client-portal/client-settings",
        Some(perm::SETTINGS_READ),
    ),
];

/// MSP staff's menu.
const STAFF: &[Entry] = &[
    entry("nav-home", "Home", "/msp", None),
    entry("nav-tickets", "Tickets", "/msp/tickets", Some(perm::TICKET_READ)),
    entry("nav-clients", "Clients", "/msp/clients", Some(perm::CLIENT_READ)),
    entry(
        "nav-projects",
        "Projects",
        "/msp/projects",
        Some(perm::PROJECT_READ),
    ),
    entry("nav-billing", "Billing", "/msp/billing", Some(perm::BILLING_READ)),
    entry(
        "nav-portal-domain",
        "Portal domain",
        "/msp/settings/portal-domain",
        Some(perm::SETTINGS_READ),
    ),
    entry(
        "nav-signin-settings",
        "Sign-in & security",
        "/msp/settings/sign-in",
        Some(perm::SETTINGS_READ),
    ),
    entry(
        "nav-branding",
        "Branding",
        "/msp/settings/branding",
        Some(perm::SETTINGS_READ),
    ),
    entry("nav-audit", "Audit log", "/msp/audit", Some(perm::AUDIT_READ)),
    entry("nav-profile", "Profile", "/msp/profile", None),
];

/// Which menu a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Sign-in and other pages before a session.
    Public,
    Client,
    Staff,
}

impl Area {
    pub fn of_path(path: &str) -> Area {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if under("/client-portal") {
            Area::Client
        } else if under("/msp") {
            Area::Staff
        } else {
            Area::Public
        }
    }
}

fn is_active(href: &str, path: &str) -> bool {
    if href == "/msp" {
        return path == "/msp";
    }
    path == href || path.starts_with(&format!("{href}/"))
}

/// The menu of `area` for someone holding `permissions`, on page `path`.
pub fn menu(area: Area, permissions: PermissionSet, path: &str) -> Vec<NavItem> {
    let entries = match area {
        Area::Public => &[][..],
        Area::Client => CLIENT,
        Area::Staff => STAFF,
    };
    entries
        .iter()
        .filter(|e| e.needs.is_none_or(|p| permissions.contains(p)))
        .map(|e| NavItem {
            id: e.id,
            label: e.label,
            href: e.href,
            active: is_active(e.href, path),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_need_their_permission() {
        let user: PermissionSet = [perm::TICKET_READ, perm::PROJECT_READ, perm::CLIENT_READ]
            .into_iter()
            .collect();
        let ids: Vec<_> = menu(Area::Client, user, "/client-portal/tickets/TIC-1")
            .into_iter()
            .map(|i| (i.id, i.active))
            .collect();
        assert_eq!(
            ids,
            [
                ("nav-dashboard", false),
                ("nav-tickets", true),
                ("nav-projects", false),
                ("nav-account", false),
                ("nav-profile", false),
            ]
        );
        assert!(menu(Area::Public, user, "/").is_empty());
        assert_eq!(Area::of_path("/msp/settings/portal-domain"), Area::Staff);
        assert_eq!(Area::of_path("/mspx"), Area::Public);
        assert!(menu(Area::Staff, PermissionSet::EMPTY, "/msp")[0].active);
        // Billing only with billing:read (client Admin and Finance).
        let finance: PermissionSet = [perm::TICKET_READ, perm::BILLING_READ].into_iter().collect();
        assert!(menu(Area::Client, finance, "/client-portal/billing")
            .iter()
            .any(|i| i.id == "nav-billing" && i.active));
        assert!(menu(Area::Client, user, "/")
            .iter()
            .all(|i| i.id != "nav-billing"));
        // Without project:read there is no Projects entry.
        let no_projects: PermissionSet = [perm::TICKET_READ].into_iter().collect();
        assert!(menu(Area::Client, no_projects, "/")
            .iter()
            .all(|i| i.id != "nav-projects"));
    }
}
