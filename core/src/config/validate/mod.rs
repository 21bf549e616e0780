//! From [`RawConfig`] to [`Config`]: defaults, parsing and range checks,
//! recording every problem instead of stopping at the first. The `[edge]`
//! section has a module of its own ([`edge`]).

mod edge;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use ipnet::IpNet;

use super::raw::RawConfig;
use super::{
    AcmeConfig, Config, ConfigIssue, DatabaseConfig, DatabaseUrl, DomainsConfig, LogFormat, PortalConfig,
    PortalDomainConfig, SessionConfig, SigninLimits,
};
use crate::challenge_kind::ChallengeKind;
use crate::host::HostName;
use crate::secret::Secret;
use crate::session_cookie::Transport;
use crate::session_token::SessionKey;

struct Issues<'a>(&'a mut Vec<ConfigIssue>);

impl Issues<'_> {
    pub(super) fn push(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(ConfigIssue {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub(super) fn socket_addr(&mut self, key: &str, raw: Option<String>, default: &str) -> SocketAddr {
        let text = raw.unwrap_or_else(|| default.to_owned());
        text.parse().unwrap_or_else(|_| {
            self.push(
                key,
                format!("not an address such as 127.0.0.1:8080 (found {text:?})"),
            );
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    }

    pub(super) fn in_range(&mut self, key: &str, value: Option<u32>, default: u32, range: (u32, u32)) -> u32 {
        let value = value.unwrap_or(default);
        if value < range.0 || value > range.1 {
            self.push(
                key,
                format!("must be between {} and {} (found {value})", range.0, range.1),
            );
            return default;
        }
        value
    }
}

fn database_url(raw: Option<Secret>, data_dir: &std::path::Path, issues: &mut Issues<'_>) -> DatabaseUrl {
    let default = || DatabaseUrl::Sqlite(data_dir.join("porta.sqlite"));
    let Some(url) = raw else { return default() };
    let text = url.expose().trim();
    if text.is_empty() {
        return default();
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return DatabaseUrl::Postgres(Secret::new(text));
    }
    if let Some(path) = text
        .strip_prefix("sqlite://")
        .or_else(|| text.strip_prefix("sqlite:"))
    {
        if !path.is_empty() && !path.contains('?') {
            return DatabaseUrl::Sqlite(PathBuf::from(path));
        }
    }
    // The URL is not echoed: it may carry a password.
    issues.push(
        "database.url",
        "must be empty (SQLite in the data directory), sqlite://PATH or postgres://...",
    );
    default()
}

fn trusted_proxies(raw: Option<Vec<String>>, issues: &mut Issues<'_>) -> Vec<IpNet> {
    raw.unwrap_or_default()
        .into_iter()
        .filter_map(|entry| {
            let parsed = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from));
            match parsed {
                Ok(net) => Some(net),
                Err(_) => {
                    issues.push(
                        "portal.trusted_proxies",
                        format!("{entry:?} is not an IP address or CIDR range"),
                    );
                    None
                }
            }
        })
        .collect()
}

fn session_keys(raw: Option<Vec<super::raw::RawSessionKey>>, issues: &mut Issues<'_>) -> Vec<SessionKey> {
    let mut keys: Vec<SessionKey> = Vec::new();
    for (index, raw_key) in raw.unwrap_or_default().into_iter().enumerate() {
        let key_path = format!("session.keys[{index}]");
        if keys.iter().any(|k| k.id == raw_key.id) {
            issues.push(&key_path, format!("key id {:?} appears twice", raw_key.id));
            continue;
        }
        match SessionKey::new(&raw_key.id, raw_key.secret) {
            Ok(key) => keys.push(key),
            Err(e) => issues.push(&key_path, e.to_string()),
        }
    }
    keys
}

fn master_key(raw: Option<Secret>, issues: &mut Issues<'_>) -> Option<Secret> {
    let key = raw?;
    if key.expose().trim().is_empty() {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(key.expose().trim());
    match decoded {
        Ok(bytes) if bytes.len() == 32 => Some(key),
        _ => {
            issues.push(
                "security.master_key",
                "must be 32 random bytes in standard base64 (e.g. `openssl rand -base64 32`)",
            );
            None
        }
    }
}

/// Builds a [`Config`] from `raw`, appending to `issues`; the result is only
/// usable when `issues` stays empty.
pub fn validate(raw: RawConfig, all: &mut Vec<ConfigIssue>) -> Option<Config> {
    let mut issues = Issues(all);
    let i = &mut issues;

    let data_dir = raw
        .data_dir
        .take("data_dir", i.0)
        .unwrap_or_else(|| PathBuf::from("data"));
    if data_dir.as_os_str().is_empty() {
        i.push("data_dir", "must not be empty");
    }

    let base_text = raw
        .canonical_base
        .take("canonical_base", i.0)
        .unwrap_or_else(|| "portal.localhost".to_owned());
    let canonical_base = match HostName::parse(&base_text) {
        // A slug of up to 63 characters and a dot must still fit in 253.
        Ok(host) if host.as_str().len() <= 189 => Some(host),
        Ok(_) => {
            i.push(
                "canonical_base",
                "must be at most 189 characters so tenant hosts fit",
            );
            None
        }
        Err(e) => {
            i.push("canonical_base", format!("{e} (found {base_text:?})"));
            None
        }
    };

    let log_format = match raw.log_format.take("log_format", i.0).as_deref() {
        None | Some("pretty") => LogFormat::Pretty,
        Some("json") => LogFormat::Json,
        Some(other) => {
            i.push(
                "log_format",
                format!("must be \"pretty\" or \"json\" (found {other:?})"),
            );
            LogFormat::Pretty
        }
    };

    let url = database_url(raw.database.url.take("database.url", i.0), &data_dir, i);
    let max_connections = raw.database.max_connections.take("database.max_connections", i.0);
    let acquire = raw
        .database
        .acquire_timeout_seconds
        .take("database.acquire_timeout_seconds", i.0);
    let statement = raw
        .database
        .statement_timeout_seconds
        .take("database.statement_timeout_seconds", i.0);
    let statement = i.in_range("database.statement_timeout_seconds", statement, 30, (0, 3600));
    let database = DatabaseConfig {
        url,
        max_connections: i.in_range("database.max_connections", max_connections, 10, (1, 1000)),
        acquire_timeout: Duration::from_secs(u64::from(i.in_range(
            "database.acquire_timeout_seconds",
            acquire,
            5,
            (1, 300),
        ))),
        statement_timeout: (statement > 0).then(|| Duration::from_secs(u64::from(statement))),
    };

    let listen = raw.portal.listen.take("portal.listen", i.0);
    let public_transport = match raw
        .portal
        .public_scheme
        .take("portal.public_scheme", i.0)
        .as_deref()
    {
        None | Some("https") => Transport::Https,
        Some("http") => Transport::PlainHttp,
        Some(other) => {
            i.push(
                "portal.public_scheme",
                format!("must be \"https\" or \"http\" (found {other:?})"),
            );
            Transport::Https
        }
    };
    let public_port = raw.portal.public_port.take("portal.public_port", i.0);
    if public_port == Some(0) {
        i.push("portal.public_port", "must be between 1 and 65535");
    }
    let trusted = raw.portal.trusted_proxies.take("portal.trusted_proxies", i.0);
    let portal = PortalConfig {
        listen: i.socket_addr("portal.listen", listen, "127.0.0.1:8080"),
        public_transport,
        public_port: public_port.filter(|p| *p != 0),
        trusted_proxies: trusted_proxies(trusted, i),
    };

    let edge = edge::edge(raw.edge, portal.listen, i);
    let public_https_port = match raw.public_https_port.take("public_https_port", i.0) {
        Some(0) => {
            i.push("public_https_port", "must be between 1 and 65535");
            443
        }
        Some(port) => port,
        None => edge.https_listen.port(),
    };
    let metrics_raw = raw.metrics.listen.take("metrics.listen", i.0);
    let metrics_listen = i.socket_addr("metrics.listen", metrics_raw, "127.0.0.1:9464");
    let dns_nameservers = raw
        .dns
        .nameservers
        .take("dns.nameservers", i.0)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|text| match text.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => match text.parse::<IpAddr>() {
                Ok(ip) => Some(SocketAddr::new(ip, 53)),
                Err(_) => {
                    i.push(
                        "dns.nameservers",
                        format!("{text:?} is not an address such as 127.0.0.1:53"),
                    );
                    None
                }
            },
        })
        .collect();

    let ttl_hours = raw.session.ttl_hours.take("session.ttl_hours", i.0);
    let keys = raw.session.keys.take("session.keys", i.0);
    let session = SessionConfig {
        ttl: Duration::from_secs(u64::from(i.in_range("session.ttl_hours", ttl_hours, 24, (1, 720))) * 3600),
        keys: session_keys(keys, i),
    };

    let failures = raw
        .signin
        .max_failures_per_account
        .take("signin.max_failures_per_account", i.0);
    let window = raw
        .signin
        .failure_window_minutes
        .take("signin.failure_window_minutes", i.0);
    let per_ip = raw
        .signin
        .max_attempts_per_ip_per_minute
        .take("signin.max_attempts_per_ip_per_minute", i.0);
    let signin = SigninLimits {
        max_failures_per_account: i.in_range("signin.max_failures_per_account", failures, 5, (1, 1000)),
        failure_window: Duration::from_secs(
            u64::from(i.in_range("signin.failure_window_minutes", window, 15, (1, 1440))) * 60,
        ),
        max_attempts_per_ip_per_minute: i.in_range(
            "signin.max_attempts_per_ip_per_minute",
            per_ip,
            30,
            (1, 100_000),
        ),
    };

    let master_key_raw = raw.security.master_key.take("security.master_key", i.0);
    let master_key = master_key(master_key_raw, i);
    let dns_check = raw
        .portal_domain
        .dns_check
        .take("portal_domain.dns_check", i.0)
        .unwrap_or(true);
    let ott_ttl = raw
        .portal_domain
        .ott_ttl_seconds
        .take("portal_domain.ott_ttl_seconds", i.0);
    let portal_domain = PortalDomainConfig {
        dns_check,
        ott_ttl: Duration::from_secs(u64::from(i.in_range(
            "portal_domain.ott_ttl_seconds",
            ott_ttl,
            90,
            (10, 600),
        ))),
    };

    let acme = acme(raw.acme, i);
    let d = raw.domains;
    let interval = d
        .check_interval_seconds
        .take("domains.check_interval_seconds", i.0);
    let first = d.first_retry_seconds.take("domains.first_retry_seconds", i.0);
    let max = d.max_retry_seconds.take("domains.max_retry_seconds", i.0);
    let give_up = d.give_up_hours.take("domains.give_up_hours", i.0);
    let lease = d.lease_seconds.take("domains.lease_seconds", i.0);
    let secs = |v: u32| Duration::from_secs(u64::from(v));
    let domains = DomainsConfig {
        check_interval: secs(i.in_range("domains.check_interval_seconds", interval, 5, (1, 3600))),
        first_retry: secs(i.in_range("domains.first_retry_seconds", first, 60, (1, 86_400))),
        max_retry: secs(i.in_range("domains.max_retry_seconds", max, 3600, (1, 604_800))),
        give_up_after: secs(i.in_range("domains.give_up_hours", give_up, 72, (1, 8760)) * 3600),
        lease: secs(i.in_range("domains.lease_seconds", lease, 600, (5, 86_400))),
    };

    let attachments = super::attachments::validate(raw.attachments, &data_dir, i.0);
    let mail = super::mail::validate(raw.mail, &data_dir, i.0);
    let accounts = super::accounts::validate(raw.accounts, i.0);
    Some(Config {
        attachments,
        mail,
        accounts,
        data_dir,
        canonical_base: canonical_base?,
        log_format,
        public_https_port,
        database,
        portal,
        edge,
        session,
        signin,
        master_key,
        portal_domain,
        metrics_listen,
        dns_nameservers,
        acme,
        domains,
    })
}

fn acme(raw: super::raw::RawAcme, i: &mut Issues<'_>) -> Option<AcmeConfig> {
    let directory = raw
        .directory_url
        .take("acme.directory_url", i.0)
        .unwrap_or_default();
    let contact = raw
        .contact
        .take("acme.contact", i.0)
        .filter(|c| !c.trim().is_empty());
    let root_ca = raw
        .root_ca
        .take("acme.root_ca", i.0)
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from);
    let eab_key_id = raw
        .eab_key_id
        .take("acme.eab_key_id", i.0)
        .filter(|k| !k.trim().is_empty());
    let eab_hmac = raw
        .eab_hmac_key
        .take("acme.eab_hmac_key", i.0)
        .filter(|k| !k.expose().trim().is_empty());
    let order = raw.challenge_order.take("acme.challenge_order", i.0);
    let budget = raw.weekly_order_budget.take("acme.weekly_order_budget", i.0);
    let challenge_order = challenge_order(order, i);
    if let Some(path) = &root_ca {
        if !path.is_file() {
            i.push(
                "acme.root_ca",
                format!("{} is not a readable file", path.display()),
            );
        }
    }
    let eab = match (eab_key_id, eab_hmac) {
        (Some(kid), Some(hmac)) => Some((kid, hmac)),
        (None, None) => None,
        _ => {
            i.push(
                "acme.eab_key_id",
                "external account binding needs both eab_key_id and eab_hmac_key",
            );
            None
        }
    };
    let weekly_order_budget = i.in_range("acme.weekly_order_budget", budget, 40, (1, 1000));
    let directory = directory.trim().to_owned();
    if directory.is_empty() {
        return None;
    }
    if !directory.starts_with("https://") {
        i.push(
            "acme.directory_url",
            "must be an https:// URL of an ACME directory",
        );
        return None;
    }
    Some(AcmeConfig {
        directory_url: directory,
        contact,
        root_ca,
        eab,
        challenge_order,
        weekly_order_budget,
    })
}

/// `acme.challenge_order`: each name parsed once; an unknown or repeated
/// name, or an empty list, is an issue naming the value.
fn challenge_order(raw: Option<Vec<String>>, i: &mut Issues<'_>) -> Vec<ChallengeKind> {
    const KEY: &str = "acme.challenge_order";
    let Some(names) = raw else {
        return vec![ChallengeKind::Http01, ChallengeKind::TlsAlpn01];
    };
    if names.is_empty() {
        i.push(
            KEY,
            "must list \"http-01\" and/or \"tls-alpn-01\" (found an empty list)",
        );
    }
    let mut kinds = Vec::with_capacity(names.len());
    for name in names {
        match name.parse::<ChallengeKind>() {
            Ok(kind) if kinds.contains(&kind) => i.push(KEY, format!("lists {name:?} twice")),
            Ok(kind) => kinds.push(kind),
            Err(_) => i.push(
                KEY,
                format!("{name:?} is not a challenge kind (use \"http-01\" and/or \"tls-alpn-01\")"),
            ),
        }
    }
    kinds
}
