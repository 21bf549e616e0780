//! The demo tenant `porta up` seeds into an empty database, and
//! `<data-dir>/demo.json`, which says how to sign in.

use std::path::PathBuf;

use anyhow::Context;
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::{clients, roles, tenants, users, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::email::EmailAddress;
use porta_core::host::HostName;
use porta_core::issuer::Issuer;
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::slug::TenantSlug;
use porta_core::user_type::UserType;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoUser {
    pub email: String,
    pub password: String,
    pub user_type: UserType,
    pub role: String,
    pub display_name: String,
    pub signin_url: String,
    /// The client company of a client user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Demo {
    pub tenant_slug: String,
    pub tenant_name: String,
    pub client_name: String,
    pub canonical_url: String,
    /// The demo tenant's active custom domain and its URL (through the edge).
    pub custom_domain: String,
    pub custom_domain_url: String,
    /// The local CA's root certificate, to trust in a browser.
    pub ca_certificate: String,
    pub users: Vec<DemoUser>,
}

const TENANT_SLUG: &str = "acme";
const TENANT_NAME: &str = "Acme IT Services";
const CLIENT_NAME: &str = "Globex Corporation";
const SECOND_CLIENT_NAME: &str = "Initech";
const CUSTOM_DOMAIN: &str = "portal.acme-it.localhost";

fn demo_json_path(config: &Config) -> PathBuf {
    config.data_dir.join("demo.json")
}

fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Seeds the demo when the database holds no tenant and writes demo.json
/// (mode 0600: it holds passwords). Returns the demo when one was seeded
/// now, or the earlier one from demo.json when its tenant still exists.
pub async fn seed_if_empty(db: &Db, config: &Config) -> anyhow::Result<Option<Demo>> {
    if tenants::count(db).await? > 0 {
        return Ok(read_existing(db, config).await);
    }
    let slug = TenantSlug::parse(TENANT_SLUG)?;
    let tenant = tenants::create(db, &slug, TENANT_NAME).await?;
    let client = clients::create(db, tenant.id, CLIENT_NAME).await?;
    let initech = clients::create(db, tenant.id, SECOND_CLIENT_NAME).await?;
    let canonical = HostName::tenant_host(&slug, &config.canonical_base);
    let origin = config.public_origin(&canonical);
    let custom = HostName::parse(CUSTOM_DOMAIN)?;
    portal_domains::create(
        db,
        &NewPortalDomain {
            tenant: tenant.id,
            domain: &custom,
            status: DomainStatus::Active,
            status_message: "Demo domain, certificate from the local CA",
            expected_cname: &canonical,
            issuer: Issuer::Internal,
            trust_dns: true,
        },
        UnixMillis::now(),
    )
    .await?;
    // The first client user and the first staff member are the ones `up`
    // prints; every role of both kinds is here.
    let people = [
        (
            "jane",
            "jane.doe@globex.example",
            "Jane Doe",
            UserType::Client,
            "Admin",
            Some(&client),
        ),
        (
            "alex",
            "alex.admin@acme-it.example",
            "Alex Admin",
            UserType::Internal,
            "Admin",
            None,
        ),
        (
            "frank",
            "frank.finance@globex.example",
            "Frank Finance",
            UserType::Client,
            "Finance",
            Some(&client),
        ),
        (
            "uma",
            "uma.user@globex.example",
            "Uma User",
            UserType::Client,
            "User",
            Some(&client),
        ),
        (
            "peter",
            "peter.gibbons@initech.example",
            "Peter Gibbons",
            UserType::Client,
            "Admin",
            Some(&initech),
        ),
        (
            "milton",
            "milton.waddams@initech.example",
            "Milton Waddams",
            UserType::Client,
            "User",
            Some(&initech),
        ),
        (
            "tina",
            "tina.tech@acme-it.example",
            "Tina Tech",
            UserType::Internal,
            "Technician",
            None,
        ),
    ];
    let mut demo_users = Vec::new();
    let mut cast = crate::demo_data::Cast {
        people: std::collections::HashMap::new(),
        companies: [("globex", client.id), ("initech", initech.id)]
            .into_iter()
            .collect(),
    };
    for (key, email, name, user_type, role_name, company) in people {
        let password = random_password();
        let hash = password::hash_blocking(Secret::new(password.clone())).await?;
        let id = users::create(
            db,
            &users::NewUser {
                tenant: tenant.id,
                user_type,
                email: EmailAddress::parse(email)?,
                display_name: name.to_owned(),
                client: company.map(|c| c.id),
                password_hash: hash,
            },
        )
        .await?;
        let role = roles::find_by_name(db, tenant.id, user_type, role_name)
            .await?
            .context("default role missing")?;
        roles::assign(db, tenant.id, id, &role, user_type).await?;
        cast.people.insert(key, id);
        let path = match user_type {
            UserType::Client => "/auth/client-portal/signin",
            UserType::Internal => "/auth/msp/signin",
        };
        demo_users.push(DemoUser {
            email: email.to_owned(),
            password,
            user_type,
            role: role_name.to_owned(),
            display_name: name.to_owned(),
            signin_url: format!("{origin}{path}"),
            company: company.map(|c| c.name.clone()),
        });
    }
    let files = porta_portal::attachments::AttachmentStore::open(&config.attachments)?;
    let tickets = crate::demo_data::seed(db, &files, tenant.id, &cast).await?;
    crate::demo_projects::seed(db, &files, tenant.id, &cast).await?;
    crate::demo_branding::seed(db, tenant.id).await?;
    crate::demo_billing::seed(db, tenant.id, &cast).await?;
    tracing::info!(tickets, "seeded the demo support history");
    let demo = Demo {
        tenant_slug: TENANT_SLUG.to_owned(),
        tenant_name: TENANT_NAME.to_owned(),
        client_name: CLIENT_NAME.to_owned(),
        canonical_url: origin,
        custom_domain: CUSTOM_DOMAIN.to_owned(),
        custom_domain_url: Config::https_origin(&custom, config.public_https_port),
        ca_certificate: config
            .data_dir
            .join("local-ca")
            .join("root.pem")
            .display()
            .to_string(),
        users: demo_users,
    };
    let path = demo_json_path(config);
    porta_core::private_file::replace(&path, &serde_json::to_vec_pretty(&demo)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(tenant = TENANT_SLUG, "seeded the demo tenant");
    Ok(Some(demo))
}

async fn read_existing(db: &Db, config: &Config) -> Option<Demo> {
    let text = std::fs::read(demo_json_path(config)).ok()?;
    let demo: Demo = serde_json::from_slice(&text).ok()?;
    let slug = TenantSlug::parse(&demo.tenant_slug).ok()?;
    tenants::find_by_slug(db, &slug)
        .await
        .ok()
        .flatten()
        .map(|_| demo)
}

pub fn print(demo: &Demo, config: &Config) {
    println!();
    println!("  {} is ready (tenant `{}`).", demo.tenant_name, demo.tenant_slug);
    let first_client = demo.users.iter().position(|u| u.user_type == UserType::Client);
    let first_staff = demo.users.iter().position(|u| u.user_type == UserType::Internal);
    for (index, user) in demo.users.iter().enumerate() {
        if Some(index) != first_client && Some(index) != first_staff {
            continue;
        }
        let who = match user.user_type {
            UserType::Client => format!(
                "Client user ({}, {})",
                user.company.as_deref().unwrap_or(&demo.client_name),
                user.role
            ),
            UserType::Internal => format!("MSP staff ({})", user.role),
        };
        println!();
        println!("  {who}");
        println!("    open      {}", user.signin_url);
        println!("    email     {}", user.email);
        println!("    password  {}", user.password);
    }
    let others: Vec<&DemoUser> = demo
        .users
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != first_client && Some(*i) != first_staff)
        .map(|(_, u)| u)
        .collect();
    if !others.is_empty() {
        println!();
        println!("  More demo users (their passwords are in demo.json):");
        for user in others {
            let place = user.company.as_deref().unwrap_or("MSP staff");
            println!("    {:<34} {:<11} {place}", user.email, user.role);
        }
    }
    println!();
    match &config.mail.transport {
        porta_core::config::MailTransport::Directory(dir) => {
            println!("  Mail (password resets, invitations, notifications) is not sent:");
            println!("  each message is written to {} as an .eml file;", dir.display());
            println!("  open it with any mail program, or read its text part. Set [mail] smtp_host to send.");
        }
        porta_core::config::MailTransport::Smtp(smtp) => {
            println!("  Mail is sent through {}:{}.", smtp.host, smtp.port);
        }
    }
    println!();
    println!("  These details are also in {}", demo_json_path(config).display());
    println!();
}
