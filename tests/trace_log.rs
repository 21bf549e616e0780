//! The real `porta up` with `RUST_LOG=trace`: a sign-in through the edge
//! and its handoff to the custom domain, with everything porta and its
//! libraries log on stderr. None of the secrets involved is there: the
//! password, the one-time token, the handoff nonce and its binding, both
//! session tokens, the session keys and master key porta generated, and
//! no private key in PEM.

mod common;

use std::time::{Duration, Instant};

use common::edge_client::*;
use common::{Store, DEMO_CUSTOM_DOMAIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_at_trace_level_logs_no_secret() {
    let store = Store::sqlite();
    let porta = store.start("up", &[("RUST_LOG", "trace")]);
    let edge = EdgeClient::new(&store);
    let jane = jane(&store);

    let handoff = edge.sign_in(&jane, None).await;
    let (custom, _) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&custom)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");

    let nonce = handoff
        .nonce
        .cookie
        .split_once('=')
        .expect("name=value")
        .1
        .to_owned();
    let mut secrets = vec![
        ("password", jane.password.clone()),
        ("one-time token", handoff.ott.clone()),
        ("handoff nonce", nonce),
        ("handoff binding", handoff.nonce.binding.clone()),
        ("canonical session", handoff.canonical.token.clone()),
        ("custom-domain session", custom.token.clone()),
        ("private key", "PRIVATE KEY".to_owned()),
    ];
    for file in ["master.key", "session-keys.toml"] {
        let text = std::fs::read_to_string(store.data_dir().join(file))
            .unwrap_or_else(|e| panic!("porta's {file}: {e}"));
        for token in text.split(|c: char| c.is_whitespace() || c == '"' || c == '=') {
            if token.len() >= 32 {
                secrets.push(("a generated key", token.to_owned()));
            }
        }
    }
    assert!(secrets.len() >= 9, "the key files hold keys: {secrets:?}");

    // The exchange's own log line marks that the flow reached the log.
    let deadline = Instant::now() + WAIT;
    let log = loop {
        let log = porta.stderr();
        if log.contains("handoff completed") && log.contains(" TRACE ") {
            break log;
        }
        assert!(Instant::now() < deadline, "no trace log of the handoff:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (what, secret) in &secrets {
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(secret.as_str())).collect();
        assert!(
            hits.is_empty(),
            "the {what} is in the trace log ({} lines):\n{}",
            hits.len(),
            hits.iter().take(5).copied().collect::<Vec<_>>().join("\n")
        );
    }
}
