//! Roles and what they grant. Permissions are global ([`Permission`],
//! `resource:action`, seeded by the migrations); roles belong to a tenant,
//! are meant for one user type, and are granted to its users. A role's name
//! is unique per tenant and user type (client users and staff both have an
//! `Admin`).

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::{RoleId, TenantId, UserId};
use crate::permission::{Action, Permission, PermissionSet, Resource};
use crate::user_type::UserType;
use crate::{on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub user_type: UserType,
}

/// A default role: its name, who holds it, and what it grants.
#[derive(Debug, Clone, Copy)]
pub struct RoleTemplate {
    pub name: &'static str,
    pub user_type: UserType,
    pub grants: &'static [(Resource, &'static [Action])],
}

impl RoleTemplate {
    pub fn permissions(&self) -> PermissionSet {
        self.grants
            .iter()
            .flat_map(|(resource, actions)| actions.iter().map(|a| Permission::new(*resource, *a)))
            .collect()
    }
}

use Action::{Create as C, Delete as D, Read as R, ResetPassword as RP, Update as U};

const CRU: &[Action] = &[C, R, U];
const CRUD: &[Action] = &[C, R, U, D];
const READ: &[Action] = &[R];

/// The roles every tenant starts with, as in the portal Porta replaces:
/// client `Admin`, `Finance`, `User`; staff `Admin`, `Technician`. The
/// migration `20261201000005_permissions_v2` grants the same sets to the
/// roles of tenants created before it (a test checks they agree).
pub const DEFAULT_ROLES: &[RoleTemplate] = &[
    RoleTemplate {
        name: "Admin",
        user_type: UserType::Client,
        grants: &[
            (Resource::Billing, CRU),
            (Resource::Client, CRUD),
            (Resource::Project, CRUD),
            (Resource::Settings, CRUD),
            (Resource::User, &[C, R, U, D, RP]),
            (Resource::Ticket, CRU),
            (Resource::Document, CRU),
        ],
    },
    RoleTemplate {
        name: "Finance",
        user_type: UserType::Client,
        grants: &[
            (Resource::Billing, READ),
            (Resource::Client, CRU),
            (Resource::Project, READ),
            (Resource::Ticket, CRU),
            (Resource::User, READ),
            (Resource::Settings, READ),
            (Resource::Document, CRU),
        ],
    },
    RoleTemplate {
        name: "User",
        user_type: UserType::Client,
        grants: &[
            (Resource::Client, CRU),
            (Resource::Project, READ),
            (Resource::Ticket, CRU),
            (Resource::Document, CRU),
        ],
    },
    RoleTemplate {
        name: "Admin",
        user_type: UserType::Internal,
        grants: &[
            (Resource::Ticket, CRUD),
            (Resource::Project, CRUD),
            (Resource::Billing, CRUD),
            (Resource::Client, CRUD),
            (Resource::User, &[C, R, U, D, RP]),
            (Resource::Settings, CRUD),
            (Resource::Document, CRUD),
            (Resource::Audit, CRUD),
        ],
    },
    RoleTemplate {
        name: "Technician",
        user_type: UserType::Internal,
        grants: &[
            (Resource::Ticket, CRU),
            (Resource::Project, CRU),
            (Resource::Client, READ),
            (Resource::User, READ),
            (Resource::Document, CRU),
            (Resource::Settings, READ),
            (Resource::Billing, READ),
        ],
    },
];

/// The default role for a user type when none is named.
pub fn default_role_name(user_type: UserType) -> &'static str {
    match user_type {
        UserType::Internal => "Technician",
        UserType::Client => "User",
    }
}

pub(crate) async fn create_defaults(tx: &mut DbTx, tenant: TenantId) -> Result<(), DbError> {
    let now = UnixMillis::now().0;
    for template in DEFAULT_ROLES {
        let role = RoleId::generate();
        on_tx!(&mut *tx, |t| {
            sqlx::query(
                "INSERT INTO roles (id, tenant_id, name, user_type, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(role)
            .bind(tenant)
            .bind(template.name)
            .bind(template.user_type)
            .bind(now)
            .execute(&mut **t)
            .await
            .map(|_| ())
        })?;
        for permission in template.permissions().iter() {
            on_tx!(&mut *tx, |t| {
                sqlx::query(
                    "INSERT INTO role_permissions (tenant_id, role_id, permission_id) VALUES ($1, $2, $3)",
                )
                .bind(tenant)
                .bind(role)
                .bind(permission.id())
                .execute(&mut **t)
                .await
                .map(|_| ())
            })?;
        }
    }
    Ok(())
}

/// The tenant's role for `user_type` called `name` (case-insensitive).
pub async fn find_by_name(
    db: &Db,
    tenant: TenantId,
    user_type: UserType,
    name: &str,
) -> Result<Option<Role>, DbError> {
    let sql = "SELECT id, name, user_type FROM roles \
               WHERE tenant_id = $1 AND user_type = $2 AND lower(name) = lower($3)";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user_type)
        .bind(name.trim())
        .fetch_optional(pool)
        .await)?)
}

/// The tenant's roles for `user_type`, by name.
pub async fn list(db: &Db, tenant: TenantId, user_type: UserType) -> Result<Vec<Role>, DbError> {
    let sql = "SELECT id, name, user_type FROM roles WHERE tenant_id = $1 AND user_type = $2 ORDER BY name";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user_type)
        .fetch_all(pool)
        .await)?)
}

/// Grants `role` to `user`; both must be the tenant's, and the role must be
/// meant for the user's type.
pub async fn assign(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    role: &Role,
    user_type: UserType,
) -> Result<(), DbError> {
    if role.user_type != user_type {
        return Err(DbError::Invalid(format!(
            "role {:?} is for {} users, not {} users",
            role.name, role.user_type, user_type
        )));
    }
    let sql = "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(user)
        .bind(role.id)
        .execute(pool)
        .await
        .map(|_| ()))
    .map_err(DbError::conflict_as("role assignment"))?;
    Ok(())
}

/// What a user holds: their roles' names (sorted) and the union of what
/// those roles grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub roles: Vec<String>,
    pub permissions: PermissionSet,
}

#[derive(FromRow)]
struct GrantRow {
    name: String,
    permission_id: Option<String>,
}

/// The user's roles and permissions, in one query. A permission id that is
/// not a known [`Permission`] (a row written by a newer version, say) is
/// skipped with a warning rather than failing the request.
pub async fn grants(db: &Db, tenant: TenantId, user: UserId) -> Result<Grants, DbError> {
    let sql = "SELECT r.name, rp.permission_id FROM user_roles ur \
               JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id \
               LEFT JOIN role_permissions rp ON rp.tenant_id = r.tenant_id AND rp.role_id = r.id \
               WHERE ur.tenant_id = $1 AND ur.user_id = $2 ORDER BY r.name";
    let rows: Vec<GrantRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(user)
        .fetch_all(pool)
        .await)?;
    let mut grants = Grants::default();
    for row in rows {
        if grants.roles.last() != Some(&row.name) {
            grants.roles.push(row.name);
        }
        if let Some(id) = row.permission_id {
            match id.parse::<Permission>() {
                Ok(p) => grants.permissions.insert(p),
                Err(e) => tracing::warn!(error = %e, "unknown permission in role_permissions"),
            }
        }
    }
    Ok(grants)
}

/// Grants `roles` to a user created in `tx`.
pub async fn grant_in(
    tx: &mut DbTx,
    tenant: TenantId,
    user: UserId,
    roles: &[RoleId],
) -> Result<(), DbError> {
    for role in roles {
        on_tx!(&mut *tx, |t| sqlx::query(
            "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3)"
        )
        .bind(tenant)
        .bind(user)
        .bind(role)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// Replaces the user's roles with `roles` (all the tenant's and meant for
/// `user_type`), in one transaction.
pub async fn set_roles(
    db: &Db,
    tenant: TenantId,
    user: UserId,
    user_type: UserType,
    roles: &[Role],
) -> Result<(), DbError> {
    if let Some(wrong) = roles.iter().find(|r| r.user_type != user_type) {
        return Err(DbError::Invalid(format!(
            "role {:?} is for {} users, not {} users",
            wrong.name, wrong.user_type, user_type
        )));
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2"
    )
    .bind(tenant)
    .bind(user)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    for role in roles {
        on_tx!(&mut tx, |t| sqlx::query(
            "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3)"
        )
        .bind(tenant)
        .bind(user)
        .bind(role.id)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_roles_match_the_original_portal() {
        let find = |name, user_type| {
            DEFAULT_ROLES
                .iter()
                .find(|r| r.name == name && r.user_type == user_type)
                .unwrap()
                .permissions()
        };
        use crate::permission::perm::*;
        let admin = find("Admin", UserType::Client);
        let finance = find("Finance", UserType::Client);
        let user = find("User", UserType::Client);
        for role in [admin, finance, user] {
            assert!(!role.contains(TICKET_DELETE), "no client role deletes tickets");
            assert!(role.contains(TICKET_CREATE) && role.contains(TICKET_READ));
            assert!(!role.contains(AUDIT_READ));
        }
        assert!(admin.contains(BILLING_READ) && finance.contains(BILLING_READ));
        assert!(!user.contains(BILLING_READ));
        assert!(admin.contains(USER_RESET_PASSWORD) && !finance.contains(USER_UPDATE));
        assert!(admin.contains(SETTINGS_UPDATE) && finance.contains(SETTINGS_READ));
        assert!(!finance.contains(SETTINGS_UPDATE) && !user.contains(SETTINGS_READ));
        assert_eq!(admin.iter().count(), 26);
        assert_eq!(finance.iter().count(), 13);
        assert_eq!(user.iter().count(), 10);
    }
}
