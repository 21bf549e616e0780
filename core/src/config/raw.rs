//! The configuration file as written: every key optional, every leaf a
//! [`Field`] so that one wrongly typed value does not hide the others.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::ConfigIssue;
use crate::secret::Secret;

/// A leaf value: absent, well-typed, or present with the wrong type (the
/// message says what was expected).
#[derive(Debug, Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Value(T),
    Invalid(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        // Strings and tables are not echoed: they may hold secrets.
        let shown = match &value {
            toml::Value::String(_) => "a string".to_owned(),
            toml::Value::Integer(i) => format!("the number {i}"),
            toml::Value::Float(f) => format!("the number {f}"),
            toml::Value::Boolean(b) => format!("{b}"),
            toml::Value::Datetime(_) => "a date".to_owned(),
            toml::Value::Array(_) => "a list".to_owned(),
            toml::Value::Table(_) => "a table".to_owned(),
        };
        Ok(match T::deserialize(value) {
            Ok(v) => Field::Value(v),
            Err(e) => Field::Invalid(format!("{} (found {shown})", e.message().trim())),
        })
    }
}

impl<T> Field<T> {
    /// The value, or `None` after recording why it is unusable.
    pub fn take(self, key: &str, issues: &mut Vec<ConfigIssue>) -> Option<T> {
        match self {
            Field::Absent => None,
            Field::Value(v) => Some(v),
            Field::Invalid(message) => {
                issues.push(ConfigIssue {
                    key: key.to_owned(),
                    message,
                });
                None
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawConfig {
    pub data_dir: Field<PathBuf>,
    pub canonical_base: Field<String>,
    pub log_format: Field<String>,
    pub public_https_port: Field<u16>,
    pub database: RawDatabase,
    pub portal: RawPortal,
    pub edge: RawEdge,
    pub session: RawSession,
    pub signin: RawSignin,
    pub security: RawSecurity,
    pub portal_domain: RawPortalDomain,
    pub metrics: RawMetrics,
    pub dns: RawDns,
    pub acme: RawAcme,
    pub domains: RawDomains,
    pub attachments: super::attachments::RawAttachments,
    pub mail: super::mail::RawMail,
    pub accounts: super::accounts::RawAccounts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawDatabase {
    pub url: Field<Secret>,
    pub max_connections: Field<u32>,
    pub acquire_timeout_seconds: Field<u32>,
    pub statement_timeout_seconds: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawPortal {
    pub listen: Field<String>,
    pub public_scheme: Field<String>,
    pub public_port: Field<u16>,
    pub trusted_proxies: Field<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawEdge {
    pub http_listen: Field<String>,
    pub https_listen: Field<String>,
    pub upstreams: Field<Vec<String>>,
    pub cert_cache_ttl_seconds: Field<u32>,
    pub negative_cache_ttl_seconds: Field<u32>,
    pub host_cache_ttl_seconds: Field<u32>,
    pub ott_exchanges_per_ip_per_minute: Field<u32>,
    pub unknown_sni_per_ip_per_minute: Field<u32>,
    pub header_read_timeout_seconds: Field<u32>,
    pub body_read_timeout_seconds: Field<u32>,
    pub hsts_max_age_seconds: Field<u32>,
    pub hsts_include_subdomains: Field<bool>,
    pub threads: Field<u32>,
    pub cert_cache_max_entries: Field<u32>,
    pub work_stealing: Field<bool>,
    pub upstream_keepalive_pool_size: Field<u32>,
    pub read_buffer_bytes: Field<u32>,
    pub write_buffer_bytes: Field<u32>,
    pub client_hello_hook: Field<bool>,
    // Failing upstreams and restarts (`edge_resilience.rs`).
    pub upstream_connect_timeout_ms: Field<u32>,
    pub upstream_read_timeout_seconds: Field<u32>,
    pub health_check_interval_ms: Field<u32>,
    pub health_check_failures: Field<u32>,
    pub shutdown_grace_period_seconds: Field<u32>,
    pub upgrade_socket: Field<PathBuf>,
    pub h2_max_concurrent_streams: Field<u32>,
    pub h2_max_pending_reset_streams: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawSession {
    pub ttl_hours: Field<u32>,
    pub keys: Field<Vec<RawSessionKey>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessionKey {
    pub id: String,
    pub secret: Secret,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawSignin {
    pub max_failures_per_account: Field<u32>,
    pub failure_window_minutes: Field<u32>,
    pub max_attempts_per_ip_per_minute: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawSecurity {
    pub master_key: Field<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawPortalDomain {
    pub dns_check: Field<bool>,
    pub ott_ttl_seconds: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawMetrics {
    pub listen: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawDns {
    pub nameservers: Field<Vec<String>>,
}

/// Deserialises the merged table, recording every unknown key.
pub fn parse(table: toml::Table, issues: &mut Vec<ConfigIssue>) -> Option<RawConfig> {
    let mut unknown = Vec::new();
    let result = serde_ignored::deserialize(toml::Value::Table(table), |path| {
        unknown.push(path.to_string());
    });
    for key in unknown {
        issues.push(ConfigIssue {
            key,
            message: "unknown key (see config/porta.example.toml for the keys there are)".to_owned(),
        });
    }
    match result {
        Ok(raw) => Some(raw),
        Err(e) => {
            let e: toml::de::Error = e;
            issues.push(ConfigIssue {
                key: "(structure)".to_owned(),
                message: format!("a section has the wrong shape: {}", e.message().trim()),
            });
            None
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawAcme {
    pub directory_url: Field<String>,
    pub contact: Field<String>,
    pub root_ca: Field<String>,
    pub eab_key_id: Field<String>,
    pub eab_hmac_key: Field<Secret>,
    pub challenge_order: Field<Vec<String>>,
    pub weekly_order_budget: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawDomains {
    pub check_interval_seconds: Field<u32>,
    pub first_retry_seconds: Field<u32>,
    pub max_retry_seconds: Field<u32>,
    pub give_up_hours: Field<u32>,
    pub lease_seconds: Field<u32>,
}
