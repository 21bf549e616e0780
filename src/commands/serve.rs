//! `porta up`, `porta portal` and `porta edge`: run the servers until a
//! signal.

use std::sync::Arc;

use anyhow::Context;
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_core::config::Config;
use porta_core::key_file;

use super::open_db;
use crate::demo;
use crate::launch::{RunningEdge, Up};
use porta_edge::EdgeListeners;

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Everything on one machine (see [`Up`]): the portal, and the edge in
/// front of it with certificates from the local CA; an empty database gets
/// the demo tenant.
pub async fn up(config: Config) -> anyhow::Result<()> {
    let up = Up::prepare(config).await?;
    let edge = up.edge_addresses();
    println!("porta: portal listening on http://{}", up.portal_address());
    println!(
        "porta: edge listening on https://{} and http://{}",
        edge.https, edge.http
    );
    let upstreams: Vec<String> = up.upstreams().iter().map(|a| format!("http://{a}")).collect();
    println!("porta: edge proxies to {}", upstreams.join(", "));
    println!("porta: local CA certificate: {}", up.ca_root().display());
    match up.demo() {
        Some(demo) => demo::print(demo, up.config()),
        None => println!("porta: the database already holds tenants; no demo data was added"),
    }
    up.run_until(shutdown_signal()).await
}

/// The portal core alone, on whatever the database holds.
pub async fn portal(config: Config) -> anyhow::Result<()> {
    let db = open_db(&config).await?;
    let keys = key_file::session_keys(&config)?;
    let app = porta_portal::build(Arc::new(config.clone()), db, keys)
        .await
        .with_context(|| format!("cannot listen on {} (portal.listen)", config.portal.listen))?;
    println!("porta: portal listening on http://{}", app.address());
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

/// What `porta edge` was told by a signal.
enum EdgeStop {
    /// SIGTERM or Ctrl-C.
    Stop,
    /// SIGQUIT: a new `porta edge --upgrade` waits for the sockets.
    HandOver,
}

/// Resolves on SIGQUIT (never where there is none).
async fn quit_signal() {
    #[cfg(unix)]
    if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::quit()) {
        signal.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}

/// The edge alone, in front of the configured portal upstreams. With
/// `upgrade`, it takes the listening sockets of the running edge over
/// (which hands them over on SIGQUIT) instead of binding its own.
pub async fn edge(config: Config, upgrade: bool) -> anyhow::Result<()> {
    open_db(&config).await?;
    let master = MasterKey::from_config(&config)?;
    // A local CA only if this data directory has one (created by `porta up`).
    let ca_dir = config.data_dir.join("local-ca");
    let local_ca = if ca_dir.join(porta_certs::local_ca::ROOT_CERT_FILE).exists() {
        Some(LocalCa::load_or_create(&ca_dir)?)
    } else {
        None
    };
    let keys = key_file::session_keys(&config)?;
    let config = Arc::new(config);
    let listeners = if upgrade {
        let socket = config.edge.shutdown.upgrade_socket(&config.data_dir);
        println!(
            "porta: waiting for the running edge's sockets on {} (send it SIGQUIT)",
            socket.display()
        );
        let for_inherit = config.clone();
        tokio::task::spawn_blocking(move || EdgeListeners::inherit(&for_inherit))
            .await
            .context("the socket transfer's task failed")??
    } else {
        EdgeListeners::bind(&config)?
    };
    let server = porta_edge::build_with_listeners(config, listeners, keys, master, local_ca)?;
    let addresses = server.addresses();
    let mut edge = RunningEdge::start(server)?;
    println!(
        "porta: edge listening on https://{} and http://{} (pid {})",
        addresses.https,
        addresses.http,
        std::process::id()
    );
    let stop = tokio::select! {
        () = shutdown_signal() => Some(EdgeStop::Stop),
        () = quit_signal() => Some(EdgeStop::HandOver),
        _ = &mut edge.ended => None,
    };
    match stop {
        Some(EdgeStop::Stop) => edge.stop().await,
        Some(EdgeStop::HandOver) => {
            tracing::info!("SIGQUIT: handing the listening sockets over to the new edge");
            edge.hand_over().await;
        }
        None => {
            edge.stop().await;
            anyhow::bail!("the edge stopped unexpectedly (see the log above)");
        }
    }
    Ok(())
}
