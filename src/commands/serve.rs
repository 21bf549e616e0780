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

/// The edge alone, in front of the configured portal upstreams.
pub async fn edge(config: Config) -> anyhow::Result<()> {
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
    let server = porta_edge::build(Arc::new(config), keys, master, local_ca)?;
    let addresses = server.addresses();
    let mut edge = RunningEdge::start(server)?;
    println!(
        "porta: edge listening on https://{} and http://{}",
        addresses.https, addresses.http
    );
    let failed = tokio::select! {
        () = shutdown_signal() => false,
        _ = &mut edge.ended => true,
    };
    edge.stop().await;
    if failed {
        anyhow::bail!("the edge stopped unexpectedly (see the log above)");
    }
    Ok(())
}
