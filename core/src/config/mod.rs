//! Configuration in two layers.
//!
//! [`raw`] mirrors the TOML files in `config/` (every field optional); the
//! file is merged with environment overrides ([`env`]), and [`validate`]
//! turns the result into the internal [`Config`], collecting every problem
//! with the key it concerns. Nothing here panics on bad input.

mod accounts;
mod attachments;
mod edge_resilience;
mod env;
mod mail;
mod raw;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub use accounts::AccountsConfig;
pub use attachments::{AttachmentStore, AttachmentsConfig, S3Store, DEFAULT_ALLOWED_TYPES};
pub use edge_resilience::{ShutdownPolicy, UpstreamPolicy};
pub use env::{EnvOverride, ENV_OVERRIDES};
pub use mail::{MailConfig, MailTransport, SmtpConfig, SmtpTls};

use crate::challenge_kind::ChallengeKind;
use crate::host::HostName;
use crate::secret::Secret;
use crate::session_cookie::Transport;
use crate::session_token::SessionKey;

/// The development configuration `porta up` uses when no `--config` is given.
pub const DEV_TOML: &str = include_str!("../../../config/dev.toml");

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the SQLite database, generated keys and `demo.json` live.
    pub data_dir: PathBuf,
    /// Tenants are served on `<slug>.<canonical_base>`.
    pub canonical_base: HostName,
    pub log_format: LogFormat,
    /// The port browsers use for HTTPS (links, redirects); defaults to the
    /// edge's HTTPS listen port.
    pub public_https_port: u16,
    pub database: DatabaseConfig,
    pub portal: PortalConfig,
    pub edge: EdgeConfig,
    pub session: SessionConfig,
    pub signin: SigninLimits,
    /// Encrypts certificate private keys and ACME credentials at rest.
    pub master_key: Option<Secret>,
    pub portal_domain: PortalDomainConfig,
    /// Prometheus metrics listener of the edge.
    pub metrics_listen: SocketAddr,
    /// Nameservers for CNAME checks; empty means the system resolver.
    pub dns_nameservers: Vec<SocketAddr>,
    /// Certificates over ACME; `None` when no directory is configured.
    pub acme: Option<AcmeConfig>,
    pub domains: DomainsConfig,
    /// Uploaded files: where they live, what is accepted.
    pub attachments: AttachmentsConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// Password strength and the lifetimes of mailed links.
    pub accounts: AccountsConfig,
}

/// The ACME CA custom-domain certificates come from.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    pub directory_url: String,
    pub contact: Option<String>,
    /// PEM roots to trust for the CA's own HTTPS (a private or test CA).
    pub root_ca: Option<PathBuf>,
    /// External account binding: key id and HMAC key.
    pub eab: Option<(String, Secret)>,
    /// Challenge kinds in order of preference: never empty, no repeats.
    pub challenge_order: Vec<ChallengeKind>,
    /// Orders per registered domain (e.g. example.com) per 7 days.
    pub weekly_order_budget: u32,
}

/// The custom-domain lifecycle worker.
#[derive(Debug, Clone)]
pub struct DomainsConfig {
    /// How often the worker looks for due domains.
    pub check_interval: Duration,
    /// First re-check of a pending domain, doubling up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// A domain whose CNAME is still missing after this long is `failed`.
    pub give_up_after: Duration,
    /// How long a worker holds a domain's lease: the longest one order may
    /// take, and how long a crashed node's domain waits before another
    /// node takes it over.
    pub lease: Duration,
}

#[derive(Debug, Clone)]
pub struct PortalDomainConfig {
    /// `PORTAL_DOMAIN_DNS_CHECK`: verify CNAME alignment of custom domains
    /// that are not yet active during the handoff.
    pub dns_check: bool,
    /// Lifetime of a handoff one-time token.
    pub ott_ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    /// The embedded default: a SQLite file (under the data directory unless
    /// the URL names another path).
    Sqlite(PathBuf),
    /// A `postgres://` URL; secret because it may carry a password.
    Postgres(Secret),
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    /// How long a request waits for a connection from the pool (opening
    /// one included) before it is answered 503: the bound on how long a
    /// page waits while the database is away.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection; `None` (0 in
    /// the file) for none. SQLite has no such setting.
    pub statement_timeout: Option<Duration>,
}

impl DatabaseConfig {
    /// The pool settings [`crate::db::Db::connect_with`] takes.
    pub fn pool(&self) -> crate::db::PoolSettings {
        crate::db::PoolSettings {
            max_connections: self.max_connections,
            acquire_timeout: self.acquire_timeout,
            statement_timeout: self.statement_timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PortalConfig {
    pub listen: SocketAddr,
    /// Whether browsers reach the portal over HTTPS (through the edge) or
    /// plain HTTP (local development); decides the cookie name and `Secure`.
    pub public_transport: Transport,
    /// The port in links the portal prints and redirects to; `None` for the
    /// scheme's default.
    pub public_port: Option<u16>,
    /// Peers whose `X-Forwarded-Host/Proto/For` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
}

#[derive(Debug, Clone)]
pub struct EdgeConfig {
    pub http_listen: SocketAddr,
    pub https_listen: SocketAddr,
    /// Portal core addresses the edge proxies to (round robin). When
    /// `edge.upstreams` is not set: `[portal.listen]`.
    pub upstreams: Vec<SocketAddr>,
    /// Whether `edge.upstreams` was set (in the file or by
    /// `PORTA_EDGE_UPSTREAMS`). When it was not, `porta up` proxies to the
    /// portal it started, at the address that portal actually bound.
    pub upstreams_given: bool,
    /// A cached certificate is reloaded from the database after this long:
    /// the bound within which a renewed certificate is served.
    pub cert_cache_ttl: Duration,
    /// How long an unknown server name is remembered as unknown.
    pub negative_cache_ttl: Duration,
    /// How long a host -> tenant mapping is cached.
    pub host_cache_ttl: Duration,
    pub ott_exchanges_per_ip_per_minute: u32,
    /// TLS connections per client IP per minute whose server name is not
    /// in the certificate cache (each may cost a database query); beyond
    /// it, unknown names are refused without a lookup.
    pub unknown_sni_per_ip_per_minute: u32,
    /// How long a client may take to send a whole request head, from its
    /// first byte (on a new connection: from the accept). nginx's
    /// `client_header_timeout`.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's whole body, from the
    /// end of its head.
    pub body_read_timeout: Duration,
    /// `Strict-Transport-Security` on every HTTPS response; `None` (a
    /// max-age of 0 in the file) sends none.
    pub hsts: Option<Hsts>,
    /// Worker threads of the edge's proxy service (Pingora's `threads`);
    /// default: the number of cores.
    pub threads: usize,
    /// Certificates (and unknown names) the edge's cache holds at most.
    pub cert_cache_max_entries: u64,
    /// Whether the edge's threads share one runtime and steal each other's
    /// tasks (Pingora's `work_stealing`), or each runs its own.
    pub work_stealing: bool,
    /// Idle upstream connections kept for reuse, over all upstreams
    /// (Pingora's `upstream_keepalive_pool_size`).
    pub upstream_keepalive_pool_size: usize,
    /// Bytes buffered per client connection when reading (TLS records are
    /// read through it) and when writing (Pingora's `L4BufferSettings`).
    pub read_buffer_bytes: usize,
    pub write_buffer_bytes: usize,
    /// Whether the ClientHello is read before the handshake, so that a
    /// certificate not cached yet is loaded for that very connection. Off
    /// (measurement only): a name not cached fails its first handshake
    /// and is loaded in the background.
    pub client_hello_hook: bool,
    /// Upstream timeouts and health checks (`edge.upstream_*`,
    /// `edge.health_check_*`).
    pub upstream: UpstreamPolicy,
    /// The grace period and the upgrade socket (`edge.shutdown_*`,
    /// `edge.upgrade_socket`).
    pub shutdown: ShutdownPolicy,
    /// HTTP/2 streams one client connection may have open at once
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`); more are refused.
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2 streams a client may open and reset before the edge accepted
    /// them (a "rapid reset" flood) before the connection is closed with
    /// GOAWAY `ENHANCE_YOUR_CALM`.
    pub h2_max_pending_reset_streams: u32,
}

/// What the edge's `Strict-Transport-Security` header says. Never
/// `preload`: a custom domain's parent is the MSP's to pin, not ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsts {
    pub max_age: Duration,
    pub include_subdomains: bool,
}

impl Hsts {
    /// The header value.
    pub fn header_value(&self) -> String {
        let mut value = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            value.push_str("; includeSubDomains");
        }
        value
    }
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub ttl: Duration,
    /// Signing keys, signing key first. Empty means: use (or create) the key
    /// file in the data directory.
    pub keys: Vec<SessionKey>,
}

#[derive(Debug, Clone)]
pub struct SigninLimits {
    /// Failed sign-ins for one account within `failure_window` before
    /// further attempts are refused until the window passes.
    pub max_failures_per_account: u32,
    pub failure_window: Duration,
    /// Sign-in attempts from one IP address per minute.
    pub max_attempts_per_ip_per_minute: u32,
}

/// One problem with the configuration: the key it concerns and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub source_name: String,
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration in {}:", self.source_name)?;
        for issue in &self.issues {
            writeln!(f, "  - {}: {}", issue.key, issue.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn single(source_name: &str, key: &str, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.to_owned(),
            issues: vec![ConfigIssue {
                key: key.to_owned(),
                message: message.into(),
            }],
        }
    }

    /// Whether some issue concerns `key`.
    pub fn mentions(&self, key: &str) -> bool {
        self.issues.iter().any(|i| i.key == key)
    }
}

impl Config {
    /// Parses `text` (named `source_name` in errors) with overrides from
    /// `env` (a lookup such as `|k| std::env::var(k).ok()`), and the list of
    /// environment variable names present (to reject unknown `PORTA_*`).
    pub fn from_toml_with_env(
        source_name: &str,
        text: &str,
        env_names: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::single(source_name, "(file)", format!("not valid TOML: {}", e.message()))
        })?;
        let mut issues = env::apply_overrides(&mut table, env_names, &env);
        let raw = raw::parse(table, &mut issues);
        let config = raw.and_then(|raw| validate::validate(raw, &mut issues));
        match config {
            Some(config) if issues.is_empty() => Ok(config),
            _ => Err(ConfigError {
                source_name: source_name.to_owned(),
                issues,
            }),
        }
    }

    /// Parses `text` without environment overrides.
    pub fn from_toml(source_name: &str, text: &str) -> Result<Config, ConfigError> {
        Self::from_toml_with_env(source_name, text, &[], |_| None)
    }

    /// Loads `file` (or the built-in development configuration) with
    /// overrides from the process environment, then from `extra` (for
    /// command-line flags such as `--data-dir`, named like the variables).
    pub fn load(file: Option<&Path>, extra: &[(&str, String)]) -> Result<Config, ConfigError> {
        let (name, text) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::single(&path.display().to_string(), "(file)", format!("cannot read: {e}"))
                })?;
                (path.display().to_string(), text)
            }
            None => ("built-in config/dev.toml".to_owned(), DEV_TOML.to_owned()),
        };
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        let lookup = |key: &str| {
            extra
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(key).ok())
        };
        Self::from_toml_with_env(&name, &text, &names, lookup)
    }

    /// The SQLite file or PostgreSQL URL to connect to.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.expose().to_owned(),
        }
    }

    /// `http(s)://<host>[:port]` as browsers reach the portal: through the
    /// edge on HTTPS, or straight to the portal on plain HTTP (development).
    pub fn public_origin(&self, host: &HostName) -> String {
        self.origin(host, self.portal.public_transport)
    }

    /// `http(s)://<host>[:port]` for a browser that reached `host` over
    /// `transport`: the public HTTPS port, or the portal's public port on
    /// plain HTTP.
    pub fn origin(&self, host: &HostName, transport: Transport) -> String {
        match transport {
            Transport::Https => Self::https_origin(host, self.public_https_port),
            Transport::PlainHttp => {
                let port = self.portal.public_port.unwrap_or(self.portal.listen.port());
                if port == 80 {
                    format!("http://{host}")
                } else {
                    format!("http://{host}:{port}")
                }
            }
        }
    }

    /// `https://<host>[:port]` on the public HTTPS port.
    pub fn https_origin(host: &HostName, port: u16) -> String {
        if port == 443 {
            format!("https://{host}")
        } else {
            format!("https://{host}:{port}")
        }
    }
}
