//! Configuration: every sample file parses, environment overrides apply,
//! and every kind of bad input is reported with its key.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use porta_core::challenge_kind::ChallengeKind;
use porta_core::config::{Config, ConfigError, DatabaseUrl, ENV_OVERRIDES};
use porta_core::session_cookie::Transport;

fn config_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

fn with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let names: Vec<String> = map.keys().cloned().collect();
    Config::from_toml_with_env("test.toml", text, &names, |k| map.get(k).cloned())
}

fn issue_keys(err: &ConfigError) -> BTreeSet<String> {
    err.issues.iter().map(|i| i.key.clone()).collect()
}

#[test]
fn every_file_under_config_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(config_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = Config::from_toml(&path.display().to_string(), &text) {
            panic!("{e}");
        }
        seen += 1;
    }
    assert!(seen >= 2, "expected dev.toml and porta.example.toml");
}

#[test]
fn dev_config_is_the_builtin_default() {
    let on_disk = std::fs::read_to_string(config_dir().join("dev.toml")).unwrap();
    assert_eq!(on_disk, porta_core::config::DEV_TOML);
    let config = Config::from_toml("dev", &on_disk).unwrap();
    assert_eq!(config.canonical_base.as_str(), "portal.localhost");
    assert_eq!(config.portal.public_transport, Transport::Https);
    assert_eq!(config.portal.trusted_proxies.len(), 2);
    assert!(matches!(config.database.url, DatabaseUrl::Sqlite(ref p) if p.ends_with("data/porta.sqlite")));
    assert!(!config.portal_domain.dns_check);
    assert_eq!(config.public_https_port, 8443);
    assert_eq!(config.portal_domain.ott_ttl.as_secs(), 90);
}

/// Every leaf key of the example file, as dotted paths.
fn leaf_keys(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => leaf_keys(&path, inner, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn example_documents_every_key_and_every_key_has_an_env_variable() {
    let text = std::fs::read_to_string(config_dir().join("porta.example.toml")).unwrap();
    let mut keys = BTreeSet::new();
    leaf_keys("", &text.parse::<toml::Table>().unwrap(), &mut keys);
    let overridable: BTreeSet<String> = ENV_OVERRIDES.iter().map(|o| o.key.to_owned()).collect();
    assert_eq!(keys, overridable);
    for o in ENV_OVERRIDES {
        assert!(
            text.contains(o.name),
            "{} is not documented in the example",
            o.name
        );
    }
}

#[test]
fn environment_overrides_the_file() {
    let config = with_env(
        porta_core::config::DEV_TOML,
        &[
            ("PORTA_DATA_DIR", "/tmp/porta-x"),
            ("PORTA_DATABASE_URL", "postgres://u:pw@127.0.0.1:5432/db"),
            ("PORTA_PORTAL_LISTEN", "127.0.0.1:9999"),
            ("PORTA_EDGE_HTTP_LISTEN", "127.0.0.1:9998"),
            ("PORTA_EDGE_HTTPS_LISTEN", "127.0.0.1:9997"),
            ("PORTA_CANONICAL_BASE", "Portal.Example.COM"),
            ("PORTAL_DOMAIN_DNS_CHECK", "on"),
            ("PORTA_PORTAL_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
            (
                "PORTA_SESSION_KEYS",
                "new:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,old:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
        ],
    )
    .unwrap();
    assert_eq!(config.data_dir, Path::new("/tmp/porta-x"));
    assert!(matches!(config.database.url, DatabaseUrl::Postgres(_)));
    assert_eq!(config.portal.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(config.edge.http_listen.to_string(), "127.0.0.1:9998");
    assert_eq!(config.edge.https_listen.to_string(), "127.0.0.1:9997");
    assert_eq!(config.canonical_base.as_str(), "portal.example.com");
    assert!(config.portal_domain.dns_check);
    assert_eq!(config.portal.trusted_proxies.len(), 2);
    let ids: Vec<&str> = config.session.keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, ["new", "old"]);
}

#[test]
fn reports_every_bad_key_with_its_path() {
    let text = r#"
        data_dir = "data"
        canonical_base = "not a host"
        colour = "blue"
        [database]
        url = "mysql://x"
        max_connections = 0
        [portal]
        listen = "nowhere"
        public_scheme = "gopher"
        public_port = "eighty"
        trusted_proxies = ["10.0.0.0/33"]
        lisen = "typo"
        [session]
        ttl_hours = 0
        keys = [{ id = "k1", secret = "short" }]
        [security]
        master_key = "bm90IDMyIGJ5dGVz"
        [portal_domain]
        dns_check = "maybe"
        [unknown_section]
        x = 1
    "#;
    let err = with_env(
        text,
        &[
            ("PORTA_PORTAL_PUBLIC_PORT", "abc"),
            ("PORTA_SESION_TTL_HOURS", "1"),
        ],
    )
    .unwrap_err();
    let keys = issue_keys(&err);
    for expected in [
        "canonical_base",
        "colour",
        "database.url",
        "database.max_connections",
        "portal.listen",
        "portal.public_scheme",
        "portal.trusted_proxies",
        "portal.lisen",
        "session.ttl_hours",
        "session.keys[0]",
        "security.master_key",
        "portal_domain.dns_check",
        "unknown_section",
        "PORTA_PORTAL_PUBLIC_PORT",
        "PORTA_SESION_TTL_HOURS",
    ] {
        assert!(keys.contains(expected), "no issue for {expected}; got {keys:?}");
    }
    let shown = err.to_string();
    assert!(
        shown.contains("session.keys[0]: key secret must be at least 32 bytes"),
        "{shown}"
    );
    assert!(
        shown.contains("portal.listen: not an address such as 127.0.0.1:8080"),
        "{shown}"
    );
}

#[test]
fn wrong_types_are_named() {
    let err = with_env(
        "[portal]\npublic_port = \"eighty\"\n[database]\nmax_connections = true\n",
        &[],
    )
    .unwrap_err();
    assert!(err.mentions("portal.public_port"), "{err}");
    assert!(err.mentions("database.max_connections"), "{err}");
}

#[test]
fn malformed_toml_and_wrong_shapes_are_errors_not_panics() {
    for text in [
        "[[[",
        "portal = 5",
        "data_dir = ",
        "\u{0}",
        "[portal]\nlisten = [1, 2]",
    ] {
        let err = with_env(text, &[]).unwrap_err();
        assert!(!err.issues.is_empty(), "{text:?}");
    }
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let text = r#"
        [database]
        url = "mysql://admin:hunter2hunter2@db"
        [session]
        keys = [{ id = "k1", secret = "hunter2hunter2hunter2hunter2hunter2" }]
    "#;
    let err = with_env(text, &[]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let ok = with_env(
        "[session]\nkeys = [{ id = \"k1\", secret = \"hunter2hunter2hunter2hunter2hunter2\" }]\n[database]\nurl = \"postgres://a:hunter2@h/db\"\n",
        &[],
    )
    .unwrap();
    assert!(!format!("{ok:?}").contains("hunter2"));
}

const ACME: &str = "[acme]\ndirectory_url = \"https://ca.test/dir\"\n";

#[test]
fn challenge_order_is_parsed_into_kinds() {
    let config = with_env(ACME, &[]).unwrap();
    assert_eq!(
        config.acme.unwrap().challenge_order,
        [ChallengeKind::Http01, ChallengeKind::TlsAlpn01],
        "the default"
    );
    let config = with_env(&format!("{ACME}challenge_order = [\"tls-alpn-01\"]\n"), &[]).unwrap();
    assert_eq!(config.acme.unwrap().challenge_order, [ChallengeKind::TlsAlpn01]);
    let config = with_env(ACME, &[("PORTA_ACME_CHALLENGE_ORDER", "tls-alpn-01,http-01")]).unwrap();
    assert_eq!(
        config.acme.unwrap().challenge_order,
        [ChallengeKind::TlsAlpn01, ChallengeKind::Http01]
    );
}

#[test]
fn an_unknown_challenge_name_is_an_error_naming_the_key_and_the_value() {
    for (text, env, bad) in [
        (
            format!("{ACME}challenge_order = [\"http-01\", \"dns-01\"]\n"),
            None,
            "\"dns-01\"",
        ),
        (ACME.to_owned(), Some("http-01,tls_alpn_01"), "\"tls_alpn_01\""),
        (
            format!("{ACME}challenge_order = [\"HTTP-01\"]\n"),
            None,
            "\"HTTP-01\"",
        ),
        (
            format!("{ACME}challenge_order = [\"http-01\", \"http-01\"]\n"),
            None,
            "\"http-01\" twice",
        ),
        (format!("{ACME}challenge_order = []\n"), None, "empty list"),
    ] {
        let vars: Vec<(&str, &str)> = env
            .map(|v| ("PORTA_ACME_CHALLENGE_ORDER", v))
            .into_iter()
            .collect();
        let err = with_env(&text, &vars).unwrap_err();
        assert_eq!(
            issue_keys(&err),
            BTreeSet::from(["acme.challenge_order".to_owned()]),
            "{err}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains("acme.challenge_order: ") && shown.contains(bad),
            "the message names {bad}: {shown}"
        );
    }
}

#[test]
fn the_config_remembers_whether_upstreams_were_given() {
    let dev = Config::from_toml("dev", porta_core::config::DEV_TOML).unwrap();
    assert!(!dev.edge.upstreams_given, "the built-in config names no upstream");
    assert_eq!(dev.edge.upstreams, [dev.portal.listen]);
    let moved = with_env(
        porta_core::config::DEV_TOML,
        &[("PORTA_PORTAL_LISTEN", "127.0.0.1:9999")],
    )
    .unwrap();
    assert!(!moved.edge.upstreams_given);
    assert_eq!(moved.edge.upstreams.len(), 1);
    assert_eq!(moved.edge.upstreams[0].to_string(), "127.0.0.1:9999");

    let by_env = with_env(
        porta_core::config::DEV_TOML,
        &[("PORTA_EDGE_UPSTREAMS", "127.0.0.1:7001,127.0.0.1:7002")],
    )
    .unwrap();
    assert!(by_env.edge.upstreams_given);
    assert_eq!(by_env.edge.upstreams.len(), 2);
    let in_file = with_env("[edge]\nupstreams = [\"127.0.0.1:7003\"]\n", &[]).unwrap();
    assert!(in_file.edge.upstreams_given);
    assert_eq!(in_file.edge.upstreams[0].to_string(), "127.0.0.1:7003");
}

#[test]
fn database_timeouts_have_defaults_ranges_and_variables() {
    let config = with_env(porta_core::config::DEV_TOML, &[]).unwrap();
    assert_eq!(config.database.acquire_timeout, Duration::from_secs(5));
    assert_eq!(config.database.statement_timeout, Some(Duration::from_secs(30)));

    let config = with_env(
        porta_core::config::DEV_TOML,
        &[
            ("PORTA_DATABASE_ACQUIRE_TIMEOUT_SECONDS", "2"),
            ("PORTA_DATABASE_STATEMENT_TIMEOUT_SECONDS", "0"),
        ],
    )
    .unwrap();
    assert_eq!(config.database.acquire_timeout, Duration::from_secs(2));
    assert_eq!(config.database.statement_timeout, None, "0 is none");
    assert_eq!(config.database.pool().acquire_timeout, Duration::from_secs(2));

    let err = Config::from_toml(
        "t.toml",
        "[database]\nacquire_timeout_seconds = 0\nstatement_timeout_seconds = 4000\n",
    )
    .unwrap_err();
    assert_eq!(
        issue_keys(&err),
        BTreeSet::from([
            "database.acquire_timeout_seconds".to_owned(),
            "database.statement_timeout_seconds".to_owned()
        ])
    );
}
