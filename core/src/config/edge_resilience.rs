//! The `[edge]` keys for failing upstreams and restarts: upstream timeouts,
//! active health checks, the shutdown grace period and the socket of a
//! zero-downtime upgrade.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::Field;
use super::ConfigIssue;

/// The file's fields (part of `[edge]`, see `raw::RawEdge`).
#[derive(Debug, Default)]
pub struct RawEdgeResilience {
    pub upstream_connect_timeout_ms: Field<u32>,
    pub upstream_read_timeout_seconds: Field<u32>,
    pub health_check_interval_ms: Field<u32>,
    pub health_check_failures: Field<u32>,
    pub shutdown_grace_period_seconds: Field<u32>,
    pub upgrade_socket: Field<PathBuf>,
}

/// How the edge treats its portal upstreams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamPolicy {
    /// TCP connect to an upstream (a refused or unreachable one answers
    /// 502 after this at the latest, once every upstream was tried).
    pub connect_timeout: Duration,
    /// Waiting for each read of an upstream's response, the head
    /// included: a slower upstream answers 504.
    pub read_timeout: Duration,
    /// How often each upstream's `GET /healthz` is probed.
    pub health_check_interval: Duration,
    /// Failed probes in a row that take an upstream out of the rotation
    /// (one answered probe puts it back).
    pub health_check_failures: u32,
}

/// How the edge stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownPolicy {
    /// After SIGTERM (or an upgrade's SIGQUIT): how long in-flight
    /// requests may take to finish before the process exits anyway.
    pub grace_period: Duration,
    /// Where a new `porta edge --upgrade` receives the listening sockets of
    /// the running one; `None`: `<data_dir>/edge-upgrade.sock`.
    pub upgrade_socket: Option<PathBuf>,
}

impl ShutdownPolicy {
    /// The upgrade socket's path for the data directory `data_dir`.
    pub fn upgrade_socket(&self, data_dir: &Path) -> PathBuf {
        self.upgrade_socket
            .clone()
            .unwrap_or_else(|| data_dir.join("edge-upgrade.sock"))
    }
}

fn ranged(
    field: Field<u32>,
    key: &str,
    default: u32,
    (low, high): (u32, u32),
    issues: &mut Vec<ConfigIssue>,
) -> u32 {
    match field.take(key, issues) {
        None => default,
        Some(v) if (low..=high).contains(&v) => v,
        Some(v) => {
            issues.push(ConfigIssue {
                key: key.to_owned(),
                message: format!("must be between {low} and {high} (found {v})"),
            });
            default
        }
    }
}

/// A Unix socket's path holds at most 107 bytes (`sun_path`).
const MAX_SOCKET_PATH: usize = 107;

pub(super) fn validate(
    raw: RawEdgeResilience,
    issues: &mut Vec<ConfigIssue>,
) -> (UpstreamPolicy, ShutdownPolicy) {
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    let secs = |v: u32| Duration::from_secs(u64::from(v));
    let upstream = UpstreamPolicy {
        connect_timeout: ms(ranged(
            raw.upstream_connect_timeout_ms,
            "edge.upstream_connect_timeout_ms",
            2000,
            (1, 60_000),
            issues,
        )),
        read_timeout: secs(ranged(
            raw.upstream_read_timeout_seconds,
            "edge.upstream_read_timeout_seconds",
            60,
            (1, 3600),
            issues,
        )),
        health_check_interval: ms(ranged(
            raw.health_check_interval_ms,
            "edge.health_check_interval_ms",
            2000,
            (100, 3_600_000),
            issues,
        )),
        health_check_failures: ranged(
            raw.health_check_failures,
            "edge.health_check_failures",
            2,
            (1, 100),
            issues,
        ),
    };
    let grace = ranged(
        raw.shutdown_grace_period_seconds,
        "edge.shutdown_grace_period_seconds",
        30,
        (0, 3600),
        issues,
    );
    let upgrade_socket = raw.upgrade_socket.take("edge.upgrade_socket", issues);
    if let Some(path) = &upgrade_socket {
        if path.as_os_str().is_empty() || path.as_os_str().len() > MAX_SOCKET_PATH {
            issues.push(ConfigIssue {
                key: "edge.upgrade_socket".to_owned(),
                message: format!("must be a path of 1 to {MAX_SOCKET_PATH} bytes (a Unix socket)"),
            });
        }
    }
    let shutdown = ShutdownPolicy {
        grace_period: secs(grace),
        upgrade_socket,
    };
    (upstream, shutdown)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, DEV_TOML};

    fn with(vars: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let names: Vec<String> = vars.iter().map(|(k, _)| (*k).to_owned()).collect();
        Config::from_toml_with_env("dev", DEV_TOML, &names, |k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_and_overrides() {
        let config = with(&[]).unwrap();
        let edge = &config.edge;
        assert_eq!(edge.upstream.connect_timeout.as_millis(), 2000);
        assert_eq!(edge.upstream.read_timeout.as_secs(), 60);
        assert_eq!(edge.upstream.health_check_interval.as_millis(), 2000);
        assert_eq!(edge.upstream.health_check_failures, 2);
        assert_eq!(edge.shutdown.grace_period.as_secs(), 30);
        assert_eq!(
            edge.shutdown.upgrade_socket(&config.data_dir),
            config.data_dir.join("edge-upgrade.sock")
        );

        let config = with(&[
            ("PORTA_EDGE_UPSTREAM_CONNECT_TIMEOUT_MS", "250"),
            ("PORTA_EDGE_UPSTREAM_READ_TIMEOUT_SECONDS", "2"),
            ("PORTA_EDGE_HEALTH_CHECK_INTERVAL_MS", "200"),
            ("PORTA_EDGE_HEALTH_CHECK_FAILURES", "1"),
            ("PORTA_EDGE_SHUTDOWN_GRACE_PERIOD_SECONDS", "0"),
            ("PORTA_EDGE_UPGRADE_SOCKET", "/run/porta/upgrade.sock"),
        ])
        .unwrap();
        let edge = &config.edge;
        assert_eq!(edge.upstream.connect_timeout.as_millis(), 250);
        assert_eq!(edge.upstream.read_timeout.as_secs(), 2);
        assert_eq!(edge.upstream.health_check_interval.as_millis(), 200);
        assert_eq!(edge.upstream.health_check_failures, 1);
        assert_eq!(edge.shutdown.grace_period.as_secs(), 0);
        assert_eq!(
            edge.shutdown.upgrade_socket(&config.data_dir),
            std::path::Path::new("/run/porta/upgrade.sock")
        );
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let err = with(&[
            ("PORTA_EDGE_UPSTREAM_CONNECT_TIMEOUT_MS", "0"),
            ("PORTA_EDGE_HEALTH_CHECK_INTERVAL_MS", "5"),
            ("PORTA_EDGE_HEALTH_CHECK_FAILURES", "0"),
            ("PORTA_EDGE_SHUTDOWN_GRACE_PERIOD_SECONDS", "4000"),
            ("PORTA_EDGE_UPGRADE_SOCKET", &"x".repeat(200)),
        ])
        .unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "edge.upstream_connect_timeout_ms",
                "edge.health_check_interval_ms",
                "edge.health_check_failures",
                "edge.shutdown_grace_period_seconds",
                "edge.upgrade_socket",
            ]
        );
    }
}
