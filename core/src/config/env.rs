//! Environment overrides: every configuration key has one variable.

use super::ConfigIssue;

/// How a variable's text becomes a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Text,
    Integer,
    Boolean,
    /// Comma-separated list of strings.
    List,
    /// `id:secret,id:secret` for `[[session.keys]]`.
    SessionKeys,
}

/// One environment variable and the configuration key it overrides.
#[derive(Debug, Clone, Copy)]
pub struct EnvOverride {
    pub name: &'static str,
    pub key: &'static str,
    pub kind: EnvKind,
}

const fn var(name: &'static str, key: &'static str, kind: EnvKind) -> EnvOverride {
    EnvOverride { name, key, kind }
}

/// Every override. A test checks this list against `config/porta.example.toml`.
pub const ENV_OVERRIDES: &[EnvOverride] = &[
    var("PORTA_DATA_DIR", "data_dir", EnvKind::Text),
    var("PORTA_CANONICAL_BASE", "canonical_base", EnvKind::Text),
    var("PORTA_LOG_FORMAT", "log_format", EnvKind::Text),
    var("PORTA_PUBLIC_HTTPS_PORT", "public_https_port", EnvKind::Integer),
    var("PORTA_DATABASE_URL", "database.url", EnvKind::Text),
    var(
        "PORTA_DATABASE_MAX_CONNECTIONS",
        "database.max_connections",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DATABASE_ACQUIRE_TIMEOUT_SECONDS",
        "database.acquire_timeout_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DATABASE_STATEMENT_TIMEOUT_SECONDS",
        "database.statement_timeout_seconds",
        EnvKind::Integer,
    ),
    var("PORTA_PORTAL_LISTEN", "portal.listen", EnvKind::Text),
    var(
        "PORTA_PORTAL_PUBLIC_SCHEME",
        "portal.public_scheme",
        EnvKind::Text,
    ),
    var("PORTA_PORTAL_PUBLIC_PORT", "portal.public_port", EnvKind::Integer),
    var(
        "PORTA_PORTAL_TRUSTED_PROXIES",
        "portal.trusted_proxies",
        EnvKind::List,
    ),
    var("PORTA_EDGE_HTTP_LISTEN", "edge.http_listen", EnvKind::Text),
    var("PORTA_EDGE_HTTPS_LISTEN", "edge.https_listen", EnvKind::Text),
    var("PORTA_EDGE_UPSTREAMS", "edge.upstreams", EnvKind::List),
    var(
        "PORTA_EDGE_CERT_CACHE_TTL_SECONDS",
        "edge.cert_cache_ttl_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_NEGATIVE_CACHE_TTL_SECONDS",
        "edge.negative_cache_ttl_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_HOST_CACHE_TTL_SECONDS",
        "edge.host_cache_ttl_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_OTT_EXCHANGES_PER_IP_PER_MINUTE",
        "edge.ott_exchanges_per_ip_per_minute",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_UNKNOWN_SNI_PER_IP_PER_MINUTE",
        "edge.unknown_sni_per_ip_per_minute",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_HEADER_READ_TIMEOUT_SECONDS",
        "edge.header_read_timeout_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_BODY_READ_TIMEOUT_SECONDS",
        "edge.body_read_timeout_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_H2_MAX_CONCURRENT_STREAMS",
        "edge.h2_max_concurrent_streams",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_H2_MAX_PENDING_RESET_STREAMS",
        "edge.h2_max_pending_reset_streams",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_HSTS_MAX_AGE_SECONDS",
        "edge.hsts_max_age_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_HSTS_INCLUDE_SUBDOMAINS",
        "edge.hsts_include_subdomains",
        EnvKind::Boolean,
    ),
    var("PORTA_EDGE_THREADS", "edge.threads", EnvKind::Integer),
    var(
        "PORTA_EDGE_CERT_CACHE_MAX_ENTRIES",
        "edge.cert_cache_max_entries",
        EnvKind::Integer,
    ),
    var("PORTA_EDGE_WORK_STEALING", "edge.work_stealing", EnvKind::Boolean),
    var(
        "PORTA_EDGE_UPSTREAM_KEEPALIVE_POOL_SIZE",
        "edge.upstream_keepalive_pool_size",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_READ_BUFFER_BYTES",
        "edge.read_buffer_bytes",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_WRITE_BUFFER_BYTES",
        "edge.write_buffer_bytes",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_CLIENT_HELLO_HOOK",
        "edge.client_hello_hook",
        EnvKind::Boolean,
    ),
    // Failing upstreams and restarts.
    var(
        "PORTA_EDGE_UPSTREAM_CONNECT_TIMEOUT_MS",
        "edge.upstream_connect_timeout_ms",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_UPSTREAM_READ_TIMEOUT_SECONDS",
        "edge.upstream_read_timeout_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_HEALTH_CHECK_INTERVAL_MS",
        "edge.health_check_interval_ms",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_HEALTH_CHECK_FAILURES",
        "edge.health_check_failures",
        EnvKind::Integer,
    ),
    var(
        "PORTA_EDGE_SHUTDOWN_GRACE_PERIOD_SECONDS",
        "edge.shutdown_grace_period_seconds",
        EnvKind::Integer,
    ),
    var("PORTA_EDGE_UPGRADE_SOCKET", "edge.upgrade_socket", EnvKind::Text),
    var("PORTA_METRICS_LISTEN", "metrics.listen", EnvKind::Text),
    var("PORTA_DNS_NAMESERVERS", "dns.nameservers", EnvKind::List),
    var("PORTA_SESSION_TTL_HOURS", "session.ttl_hours", EnvKind::Integer),
    var("PORTA_SESSION_KEYS", "session.keys", EnvKind::SessionKeys),
    var(
        "PORTA_SIGNIN_MAX_FAILURES_PER_ACCOUNT",
        "signin.max_failures_per_account",
        EnvKind::Integer,
    ),
    var(
        "PORTA_SIGNIN_FAILURE_WINDOW_MINUTES",
        "signin.failure_window_minutes",
        EnvKind::Integer,
    ),
    var(
        "PORTA_SIGNIN_MAX_ATTEMPTS_PER_IP_PER_MINUTE",
        "signin.max_attempts_per_ip_per_minute",
        EnvKind::Integer,
    ),
    var("PORTA_MASTER_KEY", "security.master_key", EnvKind::Text),
    var("PORTA_ACME_DIRECTORY", "acme.directory_url", EnvKind::Text),
    var("PORTA_ACME_CONTACT", "acme.contact", EnvKind::Text),
    var("PORTA_ACME_ROOT_CA", "acme.root_ca", EnvKind::Text),
    var("PORTA_ACME_EAB_KEY_ID", "acme.eab_key_id", EnvKind::Text),
    var("PORTA_ACME_EAB_HMAC_KEY", "acme.eab_hmac_key", EnvKind::Text),
    var(
        "PORTA_ACME_CHALLENGE_ORDER",
        "acme.challenge_order",
        EnvKind::List,
    ),
    var(
        "PORTA_ACME_WEEKLY_ORDER_BUDGET",
        "acme.weekly_order_budget",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DOMAINS_CHECK_INTERVAL_SECONDS",
        "domains.check_interval_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DOMAINS_FIRST_RETRY_SECONDS",
        "domains.first_retry_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DOMAINS_MAX_RETRY_SECONDS",
        "domains.max_retry_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DOMAINS_GIVE_UP_HOURS",
        "domains.give_up_hours",
        EnvKind::Integer,
    ),
    var(
        "PORTA_DOMAINS_LEASE_SECONDS",
        "domains.lease_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTAL_DOMAIN_DNS_CHECK",
        "portal_domain.dns_check",
        EnvKind::Boolean,
    ),
    var(
        "PORTA_PORTAL_DOMAIN_OTT_TTL_SECONDS",
        "portal_domain.ott_ttl_seconds",
        EnvKind::Integer,
    ),
    var("PORTA_ATTACHMENTS_STORE", "attachments.store", EnvKind::Text),
    var(
        "PORTA_ATTACHMENTS_LOCAL_DIR",
        "attachments.local_dir",
        EnvKind::Text,
    ),
    var(
        "PORTA_ATTACHMENTS_S3_BUCKET",
        "attachments.s3_bucket",
        EnvKind::Text,
    ),
    var(
        "PORTA_ATTACHMENTS_S3_REGION",
        "attachments.s3_region",
        EnvKind::Text,
    ),
    var(
        "PORTA_ATTACHMENTS_S3_ENDPOINT",
        "attachments.s3_endpoint",
        EnvKind::Text,
    ),
    var(
        "PORTA_ATTACHMENTS_S3_ACCESS_KEY_ID",
        "attachments.s3_access_key_id",
        EnvKind::Text,
    ),
    var(
        "PORTA_ATTACHMENTS_S3_SECRET_ACCESS_KEY",
        "attachments.s3_secret_access_key",
        EnvKind::Text,
    ),
    var(
        "PORTA_ATTACHMENTS_MAX_FILE_BYTES",
        "attachments.max_file_bytes",
        EnvKind::Integer,
    ),
    var(
        "PORTA_ATTACHMENTS_MAX_FILES",
        "attachments.max_files",
        EnvKind::Integer,
    ),
    var(
        "PORTA_ATTACHMENTS_ALLOWED_TYPES",
        "attachments.allowed_types",
        EnvKind::List,
    ),
    var("PORTA_MAIL_SMTP_HOST", "mail.smtp_host", EnvKind::Text),
    var("PORTA_MAIL_SMTP_PORT", "mail.smtp_port", EnvKind::Integer),
    var("PORTA_MAIL_TLS", "mail.tls", EnvKind::Text),
    var("PORTA_MAIL_USERNAME", "mail.username", EnvKind::Text),
    var("PORTA_MAIL_PASSWORD", "mail.password", EnvKind::Text),
    var("PORTA_MAIL_FROM", "mail.from", EnvKind::Text),
    var("PORTA_MAIL_DEV_DIR", "mail.dev_dir", EnvKind::Text),
    var(
        "PORTA_MAIL_POLL_INTERVAL_SECONDS",
        "mail.poll_interval_seconds",
        EnvKind::Integer,
    ),
    var(
        "PORTA_ACCOUNTS_MIN_PASSWORD_SCORE",
        "accounts.min_password_score",
        EnvKind::Integer,
    ),
    var(
        "PORTA_ACCOUNTS_RESET_LINK_MINUTES",
        "accounts.reset_link_minutes",
        EnvKind::Integer,
    ),
    var(
        "PORTA_ACCOUNTS_INVITATION_HOURS",
        "accounts.invitation_hours",
        EnvKind::Integer,
    ),
    var(
        "PORTA_ACCOUNTS_SECOND_STEP_MINUTES",
        "accounts.second_step_minutes",
        EnvKind::Integer,
    ),
];

fn to_value(kind: EnvKind, text: &str) -> Result<toml::Value, String> {
    match kind {
        EnvKind::Text => Ok(toml::Value::String(text.to_owned())),
        EnvKind::Integer => text
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("expected a whole number, found {text:?}")),
        EnvKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("expected true or false, found {text:?}")),
        },
        EnvKind::List => Ok(toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        )),
        EnvKind::SessionKeys => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|pair| {
                let (id, secret) = pair
                    .split_once(':')
                    .ok_or_else(|| "expected id:secret pairs separated by commas".to_owned())?;
                let mut key = toml::Table::new();
                key.insert("id".into(), toml::Value::String(id.to_owned()));
                key.insert("secret".into(), toml::Value::String(secret.to_owned()));
                Ok(toml::Value::Table(key))
            })
            .collect::<Result<Vec<_>, String>>()
            .map(toml::Value::Array),
    }
}

fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` in the file is not a section"))?;
    }
    current.insert(last.to_owned(), value);
    Ok(())
}

/// Applies every override present in `env`; reports bad values and unknown
/// `PORTA_*` variables (a typo must not be silently ignored).
pub fn apply_overrides(
    table: &mut toml::Table,
    env_names: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for name in env_names {
        let known = ENV_OVERRIDES.iter().any(|o| o.name == name);
        if name.starts_with("PORTA_") && !known {
            issues.push(ConfigIssue {
                key: name.clone(),
                message: "unknown environment variable (see config/porta.example.toml)".to_owned(),
            });
        }
    }
    for o in ENV_OVERRIDES {
        let Some(text) = env(o.name) else { continue };
        let result = to_value(o.kind, &text).and_then(|value| set(table, o.key, value));
        if let Err(message) = result {
            issues.push(ConfigIssue {
                key: o.name.to_owned(),
                message,
            });
        }
    }
    issues
}
