//! The migrations themselves, on both backends: a database written by an
//! earlier version keeps its data and ends up where a new one starts.

use porta_core::db::{roles, Db};
use porta_core::ids::{TenantId, UserId};
use porta_core::on_pool;
use porta_core::permission::PermissionSet;
use porta_core::user_type::UserType;
use porta_testkit::{Backend, TestDb};

async fn exec(db: &Db, sql: &str) {
    on_pool!(db, |pool| sqlx::query(sql).execute(pool).await.map(|_| ())).expect(sql);
}

// Permissions v2: the roles of a tenant created by schema v1 (with its
// "Client Admin" and "Client User" roles and the old permission names)
// are renamed, Finance is added, and every default role grants exactly
// what a new tenant's does; role assignments survive.
async fn old_roles_become_the_new_ones(t: TestDb) {
    let db = &t.db;
    t.migrate_to(20261129000004).await;
    let tenant = TenantId::generate();
    let client = uuid::Uuid::new_v4();
    let jane = UserId::generate();
    exec(
        db,
        &format!("INSERT INTO tenants (id, slug, name, created_at) VALUES ('{tenant}', 'acme', 'Acme', 1)"),
    )
    .await;
    exec(db, &format!("INSERT INTO clients (id, tenant_id, name, created_at) VALUES ('{client}', '{tenant}', 'Globex', 1)")).await;
    for (name, user_type, perms) in [
        (
            "Admin",
            "internal",
            vec!["settings:read", "settings:update", "tickets:read"],
        ),
        ("Technician", "internal", vec!["tickets:read"]),
        (
            "Client Admin",
            "client",
            vec!["tickets:read", "billing:read", "client_settings:update"],
        ),
        ("Client User", "client", vec!["tickets:read"]),
    ] {
        let role = uuid::Uuid::new_v4();
        exec(db, &format!("INSERT INTO roles (id, tenant_id, name, user_type, created_at) VALUES ('{role}', '{tenant}', '{name}', '{user_type}', 1)")).await;
        for p in perms {
            exec(db, &format!("INSERT INTO role_permissions (tenant_id, role_id, permission_id) VALUES ('{tenant}', '{role}', '{p}')")).await;
        }
        if name == "Client Admin" {
            exec(db, &format!("INSERT INTO users (id, tenant_id, user_type, email, display_name, client_id, password_hash, created_at, updated_at) VALUES ('{jane}', '{tenant}', 'client', 'jane@globex.example', 'Jane', '{client}', 'x', 1, 1)")).await;
            exec(db, &format!("INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ('{tenant}', '{jane}', '{role}')")).await;
        }
    }

    db.migrate().await.expect("the rest of the migrations");

    for template in roles::DEFAULT_ROLES {
        let role = roles::find_by_name(db, tenant, template.user_type, template.name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} {} missing", template.user_type, template.name));
        let granted: Vec<String> = on_pool!(db, |pool| sqlx::query_scalar(
            "SELECT permission_id FROM role_permissions WHERE tenant_id = $1 AND role_id = $2"
        )
        .bind(tenant)
        .bind(role.id)
        .fetch_all(pool)
        .await)
        .unwrap();
        let granted: PermissionSet = granted.iter().map(|p| p.parse().unwrap()).collect();
        assert_eq!(
            granted,
            template.permissions(),
            "{} {}",
            template.user_type,
            template.name
        );
    }
    let grants = roles::grants(db, tenant, jane).await.unwrap();
    assert_eq!(grants.roles, ["Admin"], "Jane keeps her role under its new name");
    assert_eq!(roles::list(db, tenant, UserType::Client).await.unwrap().len(), 3);
    // A second run changes nothing.
    db.migrate().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_v2_sqlite() {
    old_roles_become_the_new_ones(TestDb::unmigrated(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_v2_postgres() {
    old_roles_become_the_new_ones(TestDb::unmigrated(Backend::Postgres).await).await;
}
