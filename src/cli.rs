//! The command-line interface (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use porta_core::issuer::Issuer;

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
    /// Run the edge and the portal on the configured database, with
    /// certificates from the local CA; with an empty database, seed a demo
    /// tenant and print how to sign in.
    ///
    /// The edge proxies to the portal `up` started (wherever
    /// `portal.listen` / PORTA_PORTAL_LISTEN puts it) unless
    /// `edge.upstreams` (PORTA_EDGE_UPSTREAMS) is set.
    Up,
    /// Run the portal core only (no edge, no demo seeding).
    Portal,
    /// Run the edge only (TLS, routing, handoff), in front of the portal
    /// upstreams of the configuration (`edge.upstreams`, else
    /// `portal.listen`).
    ///
    /// On SIGTERM it stops accepting and finishes the requests in flight
    /// (at most `edge.shutdown_grace_period_seconds`); on SIGQUIT it first
    /// hands its listening sockets to a `porta edge --upgrade` waiting on
    /// `edge.upgrade_socket`.
    Edge {
        /// Take the listening sockets over from the running edge (send it
        /// SIGQUIT within 5 s) instead of binding them: a zero-downtime
        /// upgrade (docs/operations.md).
        #[arg(long)]
        upgrade: bool,
    },
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
    /// Custom domains of tenants and their sign-in handoff (operators).
    // `portal-domain` is the seed's name for it, kept for scripts.
    #[command(subcommand, visible_alias = "portal-domain")]
    Domain(DomainCommand),
    /// Certificates (operators).
    #[command(subcommand)]
    Cert(CertCommand),
    /// A tenant's tickets.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// A tenant's audit log (operators).
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// Which tickets by state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TicketStateArg {
    Open,
    Closed,
    All,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// The tenant's tickets, newest first.
    List {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Only this client company, by name.
        #[arg(long)]
        client: Option<String>,
        #[arg(long, value_enum, default_value_t = TicketStateArg::Open)]
        state: TicketStateArg,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The tenant's audit rows, newest first.
    List {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Only rows done by this user (email).
        #[arg(long)]
        user: Option<String>,
        /// Only this action, or a group of them (`signin`, `2fa`, `invitation`…).
        #[arg(long)]
        kind: Option<String>,
        /// Only rows from the last N hours.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=87_600))]
        hours: Option<u32>,
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
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
        /// Print the count as one JSON object instead of a sentence.
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
        /// Print the new tenant as one JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print a JSON array instead of a table.
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
        /// Print the new client as one JSON object instead of a sentence.
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
        /// Print the new user as one JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

/// Where a domain's certificates come from.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IssuerArg {
    /// The ACME CA of `[acme]`.
    Acme,
    /// The local CA in `<data_dir>/local-ca`.
    Internal,
}

impl From<IssuerArg> for Issuer {
    fn from(arg: IssuerArg) -> Issuer {
        match arg {
            IssuerArg::Acme => Issuer::Acme,
            IssuerArg::Internal => Issuer::Internal,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Every custom domain, of every tenant.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One domain: status, reason, CNAME expected vs observed, the TXT
    /// record that also proves control, certificate.
    Show {
        domain: String,
        /// The tenant's registration (slug), when several tenants have
        /// registered the name; default: the one that proved control.
        #[arg(long)]
        tenant: Option<String>,
        /// Print the domain as one JSON object instead of text.
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
        /// Print the new domain as one JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Check DNS / order again now.
    Retry {
        domain: String,
        /// The tenant's registration (slug), when several tenants have it.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Stop serving the domain.
    Disable {
        domain: String,
        /// The tenant's registration (slug), when several tenants have it.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Remove the registration.
    Remove {
        domain: String,
        /// The tenant's registration (slug), when several tenants have it.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// One-time tokens of the sign-in handoff to custom domains.
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Every stored certificate.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The certificate served for a domain.
    Show {
        domain: String,
        /// Print the certificate as one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Order a new certificate for a domain now. A running edge serves it
    /// within `edge.cert_cache_ttl_seconds`.
    Renew {
        domain: String,
        /// Print the new certificate as one JSON object (the note on when
        /// edges serve it goes to stderr).
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
        /// Print the stored certificate as one JSON object instead of a
        /// sentence.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every `--json` flag of every command says what it does.
    #[test]
    fn every_json_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, seen: &mut usize) {
            for arg in cmd.get_arguments() {
                if arg.get_long() == Some("json") {
                    *seen += 1;
                    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                    assert!(help.contains("JSON"), "`{path} --json` has no help: {help:?}");
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), seen);
            }
        }
        let mut seen = 0;
        walk(&Cli::command(), "porta", &mut seen);
        assert_eq!(seen, 14, "every --json flag was visited");
    }

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn portal_domain_is_another_name_for_domain() {
        for name in ["domain", "portal-domain"] {
            let cli = Cli::try_parse_from([
                "porta",
                name,
                "sessions",
                "prune",
                "--tenant",
                "acme",
                "--dry-run",
                "--json",
            ])
            .unwrap();
            match cli.command {
                Command::Domain(DomainCommand::Sessions(SessionsCommand::Prune {
                    tenant,
                    minutes,
                    dry_run,
                    json,
                })) => {
                    assert_eq!(tenant.as_deref(), Some("acme"));
                    assert_eq!((minutes, dry_run, json), (10, true, true));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn up_says_it_runs_the_edge_and_the_portal() {
        let mut cli = Cli::command();
        let up = cli.find_subcommand_mut("up").unwrap();
        let help = up.render_long_help().to_string();
        assert!(help.contains("Run the edge and the portal"), "{help}");
        assert!(help.contains("demo tenant"), "{help}");
        assert!(
            help.contains("proxies to the portal `up` started") && help.contains("edge.upstreams"),
            "{help}"
        );
    }
}
