//! The `[edge]` section: listeners, upstreams, caches, limits, the
//! deadlines for reading requests and HSTS.

use std::net::SocketAddr;
use std::time::Duration;

use super::super::raw::RawEdge;
use super::super::{EdgeConfig, Hsts};
use super::Issues;

/// At most two years, the longest HSTS lifetime browsers keep.
const MAX_HSTS_SECONDS: u32 = 63_072_000;

/// Defaults chosen by the benchmark (`bench/run`, docs/performance.md).
const DEFAULT_POOL: u32 = 128;
const DEFAULT_WORK_STEALING: bool = true;
const DEFAULT_READ_BUFFER: u32 = 64 * 1024;
const DEFAULT_WRITE_BUFFER: u32 = 1460;

/// One worker thread per core.
fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
}

fn seconds(v: u32) -> Duration {
    Duration::from_secs(u64::from(v))
}

/// Builds the edge's configuration; `portal_listen` is the upstream when
/// `edge.upstreams` is not set.
pub(super) fn edge(raw: RawEdge, portal_listen: SocketAddr, i: &mut Issues<'_>) -> EdgeConfig {
    let http_listen = raw.http_listen.take("edge.http_listen", i.0);
    let https_listen = raw.https_listen.take("edge.https_listen", i.0);
    let upstreams = raw.upstreams.take("edge.upstreams", i.0);
    let upstreams_given = upstreams.is_some();
    let upstreams: Vec<SocketAddr> = match upstreams {
        None => vec![portal_listen],
        Some(list) => list
            .into_iter()
            .filter_map(|text| match text.parse() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    i.push(
                        "edge.upstreams",
                        format!("{text:?} is not an address such as 127.0.0.1:8080"),
                    );
                    None
                }
            })
            .collect(),
    };
    if upstreams.is_empty() {
        i.push("edge.upstreams", "needs at least one portal address");
    }
    let cert_ttl = raw
        .cert_cache_ttl_seconds
        .take("edge.cert_cache_ttl_seconds", i.0);
    let negative_ttl = raw
        .negative_cache_ttl_seconds
        .take("edge.negative_cache_ttl_seconds", i.0);
    let host_ttl = raw
        .host_cache_ttl_seconds
        .take("edge.host_cache_ttl_seconds", i.0);
    let ott_rate = raw
        .ott_exchanges_per_ip_per_minute
        .take("edge.ott_exchanges_per_ip_per_minute", i.0);
    let sni_misses = raw
        .unknown_sni_per_ip_per_minute
        .take("edge.unknown_sni_per_ip_per_minute", i.0);
    let header_timeout = raw
        .header_read_timeout_seconds
        .take("edge.header_read_timeout_seconds", i.0);
    let body_timeout = raw
        .body_read_timeout_seconds
        .take("edge.body_read_timeout_seconds", i.0);
    let hsts_max_age = raw.hsts_max_age_seconds.take("edge.hsts_max_age_seconds", i.0);
    let hsts_subdomains = raw
        .hsts_include_subdomains
        .take("edge.hsts_include_subdomains", i.0)
        .unwrap_or(false);
    let threads = raw.threads.take("edge.threads", i.0);
    let cache_entries = raw
        .cert_cache_max_entries
        .take("edge.cert_cache_max_entries", i.0);
    let work_stealing = raw
        .work_stealing
        .take("edge.work_stealing", i.0)
        .unwrap_or(DEFAULT_WORK_STEALING);
    let pool = raw
        .upstream_keepalive_pool_size
        .take("edge.upstream_keepalive_pool_size", i.0);
    let read_buffer = raw.read_buffer_bytes.take("edge.read_buffer_bytes", i.0);
    let write_buffer = raw.write_buffer_bytes.take("edge.write_buffer_bytes", i.0);
    let h2_streams = raw
        .h2_max_concurrent_streams
        .take("edge.h2_max_concurrent_streams", i.0);
    let h2_resets = raw
        .h2_max_pending_reset_streams
        .take("edge.h2_max_pending_reset_streams", i.0);
    let client_hello_hook = raw
        .client_hello_hook
        .take("edge.client_hello_hook", i.0)
        .unwrap_or(true);
    let hsts_max_age = i.in_range(
        "edge.hsts_max_age_seconds",
        hsts_max_age,
        31_536_000,
        (0, MAX_HSTS_SECONDS),
    );
    EdgeConfig {
        http_listen: i.socket_addr("edge.http_listen", http_listen, "0.0.0.0:80"),
        https_listen: i.socket_addr("edge.https_listen", https_listen, "0.0.0.0:443"),
        upstreams,
        upstreams_given,
        cert_cache_ttl: seconds(i.in_range("edge.cert_cache_ttl_seconds", cert_ttl, 60, (1, 86_400))),
        negative_cache_ttl: seconds(i.in_range(
            "edge.negative_cache_ttl_seconds",
            negative_ttl,
            10,
            (1, 3600),
        )),
        host_cache_ttl: seconds(i.in_range("edge.host_cache_ttl_seconds", host_ttl, 30, (1, 3600))),
        ott_exchanges_per_ip_per_minute: i.in_range(
            "edge.ott_exchanges_per_ip_per_minute",
            ott_rate,
            30,
            (1, 100_000),
        ),
        unknown_sni_per_ip_per_minute: i.in_range(
            "edge.unknown_sni_per_ip_per_minute",
            sni_misses,
            60,
            (1, 100_000),
        ),
        header_read_timeout: seconds(i.in_range(
            "edge.header_read_timeout_seconds",
            header_timeout,
            60,
            (1, 3600),
        )),
        body_read_timeout: seconds(i.in_range("edge.body_read_timeout_seconds", body_timeout, 60, (1, 3600))),
        hsts: (hsts_max_age > 0).then_some(Hsts {
            max_age: seconds(hsts_max_age),
            include_subdomains: hsts_subdomains,
        }),
        threads: i.in_range("edge.threads", threads, default_threads(), (1, 1024)) as usize,
        work_stealing,
        cert_cache_max_entries: u64::from(i.in_range(
            "edge.cert_cache_max_entries",
            cache_entries,
            100_000,
            (1, 10_000_000),
        )),
        upstream_keepalive_pool_size: i.in_range(
            "edge.upstream_keepalive_pool_size",
            pool,
            DEFAULT_POOL,
            (0, 1_000_000),
        ) as usize,
        read_buffer_bytes: i.in_range(
            "edge.read_buffer_bytes",
            read_buffer,
            DEFAULT_READ_BUFFER,
            (0, 16 * 1024 * 1024),
        ) as usize,
        write_buffer_bytes: i.in_range(
            "edge.write_buffer_bytes",
            write_buffer,
            DEFAULT_WRITE_BUFFER,
            (0, 16 * 1024 * 1024),
        ) as usize,
        client_hello_hook,
        h2_max_concurrent_streams: i.in_range("edge.h2_max_concurrent_streams", h2_streams, 100, (1, 10_000)),
        h2_max_pending_reset_streams: i.in_range(
            "edge.h2_max_pending_reset_streams",
            h2_resets,
            20,
            (1, 10_000),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, DEV_TOML};

    fn with(vars: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let names: Vec<String> = vars.iter().map(|(k, _)| (*k).to_owned()).collect();
        Config::from_toml_with_env("dev", DEV_TOML, &names, |key| {
            vars.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn deadlines_hsts_and_sni_limits_have_their_defaults() {
        let edge = with(&[]).unwrap().edge;
        assert_eq!(edge.header_read_timeout.as_secs(), 60);
        assert_eq!(edge.body_read_timeout.as_secs(), 60);
        assert_eq!(edge.unknown_sni_per_ip_per_minute, 60);
        let hsts = edge.hsts.expect("HSTS on by default");
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(edge.threads, cores);
        assert_eq!(edge.upstream_keepalive_pool_size, 128);
        assert_eq!((edge.read_buffer_bytes, edge.write_buffer_bytes), (65_536, 1460));
        assert!(edge.client_hello_hook);
        assert_eq!(hsts.header_value(), "max-age=31536000");
    }

    #[test]
    fn hsts_follows_its_keys_and_zero_turns_it_off() {
        let off = with(&[("PORTA_EDGE_HSTS_MAX_AGE_SECONDS", "0")]).unwrap();
        assert_eq!(off.edge.hsts, None);
        let short = with(&[
            ("PORTA_EDGE_HSTS_MAX_AGE_SECONDS", "600"),
            ("PORTA_EDGE_HSTS_INCLUDE_SUBDOMAINS", "true"),
        ])
        .unwrap();
        assert_eq!(
            short.edge.hsts.map(|h| h.header_value()).as_deref(),
            Some("max-age=600; includeSubDomains")
        );
    }

    #[test]
    fn http2_limits_and_the_lease_have_their_defaults_and_overrides() {
        let config = with(&[]).expect("dev config");
        assert_eq!(config.edge.h2_max_concurrent_streams, 100);
        assert_eq!(config.edge.h2_max_pending_reset_streams, 20);
        assert_eq!(config.domains.lease.as_secs(), 600);
        let config = with(&[
            ("PORTA_EDGE_H2_MAX_CONCURRENT_STREAMS", "10"),
            ("PORTA_EDGE_H2_MAX_PENDING_RESET_STREAMS", "5"),
            ("PORTA_DOMAINS_LEASE_SECONDS", "8"),
        ])
        .expect("overridden");
        assert_eq!(config.edge.h2_max_concurrent_streams, 10);
        assert_eq!(config.edge.h2_max_pending_reset_streams, 5);
        assert_eq!(config.domains.lease.as_secs(), 8);
    }

    #[test]
    fn out_of_range_values_name_their_keys() {
        let e = with(&[
            ("PORTA_EDGE_HEADER_READ_TIMEOUT_SECONDS", "0"),
            ("PORTA_EDGE_BODY_READ_TIMEOUT_SECONDS", "100000"),
            ("PORTA_EDGE_HSTS_MAX_AGE_SECONDS", "999999999"),
            ("PORTA_EDGE_UNKNOWN_SNI_PER_IP_PER_MINUTE", "0"),
            ("PORTA_EDGE_THREADS", "0"),
            ("PORTA_EDGE_H2_MAX_CONCURRENT_STREAMS", "0"),
            ("PORTA_EDGE_H2_MAX_PENDING_RESET_STREAMS", "10001"),
            ("PORTA_DOMAINS_LEASE_SECONDS", "4"),
        ])
        .unwrap_err();
        for key in [
            "edge.header_read_timeout_seconds",
            "edge.body_read_timeout_seconds",
            "edge.hsts_max_age_seconds",
            "edge.unknown_sni_per_ip_per_minute",
            "edge.threads",
            "edge.h2_max_concurrent_streams",
            "edge.h2_max_pending_reset_streams",
            "domains.lease_seconds",
        ] {
            assert!(e.mentions(key), "{key}: {e}");
        }
    }
}
