//! The command-line interface (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "porta",
    version,
    about = "Client portal for MSPs, on their own domains"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: the built-in config/dev.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory; overrides `data_dir` and PORTA_DATA_DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal on the configured database; with an empty database,
    /// seed a demo tenant and print how to sign in.
    Up,
    /// Run the portal core only (no demo seeding).
    Portal,
    /// Run the edge only (TLS, routing, handoff), in front of the portal
    /// upstreams of the configuration.
    Edge,
    /// Apply database migrations.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage client companies.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Custom domains of tenants (operators).
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Certificates (operators).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Custom-domain sign-in handoff maintenance.
    #[command(subcommand, name = "portal-domain")]
    PortalDomain(PortalDomainCommand),
}

#[derive(Debug, Subcommand)]
pub enum PortalDomainCommand {
    /// One-time handoff tokens.
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Delete one-time tokens consumed or expired more than N minutes ago.
    Prune {
        /// Only this tenant (slug or id).
        #[arg(long)]
        tenant: Option<String>,
        /// Age in minutes past consumption or expiry.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=525_600))]
        minutes: u32,
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (an MSP) with its default roles.
    Create {
        /// Label of the tenant's canonical host: <slug>.<canonical_base>.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client company of a tenant.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UserTypeArg {
    Client,
    Internal,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long = "type", value_enum)]
        user_type: UserTypeArg,
        /// The client company (client users only), by name.
        #[arg(long)]
        client: Option<String>,
        /// A role of the tenant, by name (default: Client User / Technician).
        #[arg(long)]
        role: Option<String>,
        /// Display name (default: from the email address).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IssuerArg {
    Acme,
    Internal,
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Every custom domain, of every tenant.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One domain: status, reason, CNAME expected vs observed, certificate.
    Show {
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Register a domain for a tenant.
    Add {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        domain: String,
        /// Where its certificate comes from (default: acme when an ACME CA is
        /// configured, else internal).
        #[arg(long, value_enum)]
        issuer: Option<IssuerArg>,
        /// Trust on submit: skip the DNS step (for deployments behind their
        /// own proxy); said so in the status and the audit log.
        #[arg(long)]
        trust_dns: bool,
        #[arg(long)]
        json: bool,
    },
    /// Check DNS / order again now.
    Retry { domain: String },
    /// Stop serving the domain.
    Disable { domain: String },
    /// Remove the registration.
    Remove { domain: String },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Every stored certificate.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The certificate served for a domain.
    Show {
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Order a new certificate for a domain now.
    Renew {
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Store a certificate from PEM files (a wildcard for the canonical base,
    /// say).
    Import {
        /// The name it is served for (`*.portal.example.com` for a wildcard).
        #[arg(long)]
        domain: String,
        /// PEM chain, leaf first.
        #[arg(long)]
        chain: std::path::PathBuf,
        /// PEM private key.
        #[arg(long)]
        key: std::path::PathBuf,
        /// The tenant it belongs to, if any.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
}
