//! `porta tenant|client|user ...`: administration from the command line.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{anyhow, bail, Context};
use porta_core::config::Config;
use porta_core::db::{clients, roles, tenants, users, Db, DbError};
use porta_core::email::EmailAddress;
use porta_core::host::HostName;
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::slug::TenantSlug;
use porta_core::user_type::UserType;
use serde_json::json;

use super::output::output;
use crate::cli::{ClientCommand, TenantCommand, UserCommand, UserTypeArg};

pub(super) async fn tenant_by_slug(db: &Db, raw: &str) -> anyhow::Result<tenants::Tenant> {
    let slug = TenantSlug::parse(raw).map_err(|e| anyhow!("--tenant {raw:?}: {e}"))?;
    tenants::find_by_slug(db, &slug)
        .await?
        .ok_or_else(|| anyhow!("no tenant with slug {slug:?} (see `porta tenant list`)"))
}

pub async fn tenant(db: &Db, config: &Config, cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Create { slug, name, json } => {
            let slug = TenantSlug::parse(&slug).map_err(|e| anyhow!("--slug {slug:?}: {e}"))?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                bail!("--name must be 1-200 characters");
            }
            let tenant = tenants::create(db, &slug, name).await.map_err(|e| match e {
                DbError::Conflict(_) => {
                    anyhow!("a tenant with slug {:?} already exists", slug.as_str())
                }
                other => other.into(),
            })?;
            let host = HostName::tenant_host(&tenant.slug, &config.canonical_base);
            let url = config.public_origin(&host);
            output(
                json,
                json!({ "id": tenant.id, "slug": tenant.slug.as_str(), "name": tenant.name, "canonical_url": url }),
                format!("created tenant {} ({}) at {url}", tenant.slug, tenant.name),
            );
        }
        TenantCommand::List { json } => {
            let all = tenants::list(db).await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|t| json!({ "id": t.id, "slug": t.slug.as_str(), "name": t.name }))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<24} NAME", "SLUG");
                for t in all {
                    println!("{:<24} {}", t.slug, t.name);
                }
            }
        }
    }
    Ok(())
}

pub async fn client(db: &Db, cmd: ClientCommand) -> anyhow::Result<()> {
    let ClientCommand::Create { tenant, name, json } = cmd;
    let tenant = tenant_by_slug(db, &tenant).await?;
    let client = clients::create(db, tenant.id, &name).await.map_err(|e| match e {
        DbError::Conflict(_) => anyhow!(
            "tenant {} already has a client named {:?}",
            tenant.slug,
            name.trim()
        ),
        DbError::Invalid(message) => anyhow!("--name: {message}"),
        other => other.into(),
    })?;
    output(
        json,
        json!({ "id": client.id, "tenant": tenant.slug.as_str(), "name": client.name }),
        format!("created client {:?} of tenant {}", client.name, tenant.slug),
    );
    Ok(())
}

/// Reads one line from standard input: the password. Never from argv, so it
/// is not visible in the process list or shell history.
fn read_password() -> anyhow::Result<Secret> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (input is shown): ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input (e.g. `printf '%s\\n' \"$PASSWORD\" | porta user create ...`)");
    }
    Ok(Secret::new(password))
}

pub async fn user(db: &Db, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create {
        tenant,
        email,
        user_type,
        client,
        role,
        name,
        json,
    } = cmd;
    let user_type = match user_type {
        UserTypeArg::Client => UserType::Client,
        UserTypeArg::Internal => UserType::Internal,
    };
    let email = EmailAddress::parse(&email).map_err(|e| anyhow!("--email {email:?}: {e}"))?;
    let tenant = tenant_by_slug(db, &tenant).await?;
    let client = match (user_type, client) {
        (UserType::Client, None) => bail!("client users need --client NAME (the client company)"),
        (UserType::Internal, Some(_)) => bail!("internal users belong to no client company: drop --client"),
        (UserType::Internal, None) => None,
        (UserType::Client, Some(name)) => Some(
            clients::find_by_name(db, tenant.id, &name)
                .await?
                .ok_or_else(|| {
                    anyhow!(
                        "tenant {} has no client named {name:?} (create it with `porta client create`)",
                        tenant.slug
                    )
                })?,
        ),
    };
    let role_name = role.unwrap_or_else(|| roles::default_role_name(user_type).to_owned());
    let Some(role) = roles::find_by_name(db, tenant.id, user_type, &role_name).await? else {
        // A role of the other kind of user says more than "no such role".
        let other = match user_type {
            UserType::Client => UserType::Internal,
            UserType::Internal => UserType::Client,
        };
        if let Some(role) = roles::find_by_name(db, tenant.id, other, &role_name).await? {
            bail!(
                "role {:?} is for {} users, not {} users",
                role.name,
                role.user_type,
                user_type
            );
        }
        bail!("tenant {} has no role named {role_name:?}", tenant.slug);
    };
    let display_name = name.unwrap_or_else(|| default_display_name(&email));

    let password = read_password()?;
    password::check_policy(&password)?;
    let password_hash = password::hash_blocking(password).await?;
    let id = users::create(
        db,
        &users::NewUser {
            tenant: tenant.id,
            user_type,
            email: email.clone(),
            display_name: display_name.clone(),
            client: client.as_ref().map(|c| c.id),
            password_hash,
        },
    )
    .await
    .map_err(|e| match e {
        DbError::Conflict(_) => anyhow!("tenant {} already has a {user_type} user {email}", tenant.slug),
        DbError::Invalid(message) => anyhow!("{message}"),
        other => other.into(),
    })?;
    roles::assign(db, tenant.id, id, &role, user_type).await?;
    output(
        json,
        json!({
            "id": id,
            "tenant": tenant.slug.as_str(),
            "email": email.as_str(),
            "user_type": user_type,
            "client": client.as_ref().map(|c| c.name.clone()),
            "role": role.name,
            "display_name": display_name,
        }),
        format!(
            "created {user_type} user {email} ({display_name}) in tenant {} with role {}",
            tenant.slug, role.name
        ),
    );
    Ok(())
}

/// `jane.doe@x` -> `Jane Doe`.
pub fn default_display_name(email: &EmailAddress) -> String {
    let local = email.as_str().split('@').next().unwrap_or_default();
    local
        .split(['.', '_', '-', '+'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
