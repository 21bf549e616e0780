//! Roles and permissions. Permissions are global (`resource:action`, seeded
//! by the migration); roles belong to a tenant and are granted to its users.

use sqlx::FromRow;

use super::{Db, DbError, DbTx};
use crate::clock::UnixMillis;
use crate::ids::{RoleId, TenantId, UserId};
use crate::user_type::UserType;
use crate::{on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub user_type: UserType,
}

/// The roles every new tenant starts with: name, who holds it, permissions.
pub const DEFAULT_ROLES: &[(&str, UserType, &[&str])] = &[
    (
        "Admin",
        UserType::Internal,
        &[
            "settings:read",
            "settings:update",
            "users:read",
            "users:update",
            "tickets:read",
            "tickets:create",
            "tickets:update",
            "projects:read",
            "billing:read",
        ],
    ),
    (
        "Technician",
        UserType::Internal,
        &[
            "settings:read",
            "tickets:read",
            "tickets:create",
            "tickets:update",
            "projects:read",
        ],
    ),
    (
        "Client Admin",
        UserType::Client,
        &[
            "tickets:read",
            "tickets:create",
            "projects:read",
            "billing:read",
            "client_settings:update",
        ],
    ),
    (
        "Client User",
        UserType::Client,
        &["tickets:read", "tickets:create", "projects:read"],
    ),
];

/// The default role for a user type when none is named.
pub fn default_role_name(user_type: UserType) -> &'static str {
    match user_type {
        UserType::Internal => "Technician",
        UserType::Client => "Client User",
    }
}

pub(crate) async fn create_defaults(tx: &mut DbTx, tenant: TenantId) -> Result<(), DbError> {
    let now = UnixMillis::now().0;
    for (name, user_type, permissions) in DEFAULT_ROLES {
        let role = RoleId::generate();
        on_tx!(&mut *tx, |t| {
            sqlx::query(
                "INSERT INTO roles (id, tenant_id, name, user_type, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(role)
            .bind(tenant)
            .bind(*name)
            .bind(*user_type)
            .bind(now)
            .execute(&mut **t)
            .await
            .map(|_| ())
        })?;
        for permission in *permissions {
            on_tx!(&mut *tx, |t| {
                sqlx::query(
                    "INSERT INTO role_permissions (tenant_id, role_id, permission_id) VALUES ($1, $2, $3)",
                )
                .bind(tenant)
                .bind(role)
                .bind(*permission)
                .execute(&mut **t)
                .await
                .map(|_| ())
            })?;
        }
    }
    Ok(())
}

/// The tenant's role called `name` (case-insensitive).
pub async fn find_by_name(db: &Db, tenant: TenantId, name: &str) -> Result<Option<Role>, DbError> {
    let sql = "SELECT id, name, user_type FROM roles WHERE tenant_id = $1 AND lower(name) = lower($2)";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(name.trim())
        .fetch_optional(pool)
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

/// Names of the user's roles, sorted.
pub async fn role_names(db: &Db, tenant: TenantId, user: UserId) -> Result<Vec<String>, DbError> {
    let sql =
        "SELECT r.name FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id \
               WHERE ur.tenant_id = $1 AND ur.user_id = $2 ORDER BY r.name";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(user)
        .fetch_all(pool)
        .await)?)
}

/// The user's permissions through all their roles, sorted and distinct.
pub async fn permissions(db: &Db, tenant: TenantId, user: UserId) -> Result<Vec<String>, DbError> {
    let sql = "SELECT DISTINCT rp.permission_id FROM user_roles ur \
               JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id \
               WHERE ur.tenant_id = $1 AND ur.user_id = $2 ORDER BY rp.permission_id";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(user)
        .fetch_all(pool)
        .await)?)
}
