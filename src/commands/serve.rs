//! `porta up`, `porta portal` and `porta edge`: run the servers until a
//! signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::policy;
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::key_file;

use super::open_db;
use crate::demo;

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

/// Fails with a clear error when an edge address is taken: Pingora itself
/// would retry for half a minute and then panic on its own thread.
fn check_edge_addresses(config: &Config) -> anyhow::Result<()> {
    for (what, addr) in [
        ("edge.https_listen", config.edge.https_listen),
        ("edge.http_listen", config.edge.http_listen),
        ("metrics.listen", config.metrics_listen),
    ] {
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr} ({what})"))?;
    }
    Ok(())
}

/// A running edge: its stop switch and a signal that it has ended.
struct RunningEdge {
    stop: tokio::sync::watch::Sender<bool>,
    ended: tokio::sync::oneshot::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

impl RunningEdge {
    async fn stop_thread(stop: tokio::sync::watch::Sender<bool>, thread: std::thread::JoinHandle<()>) {
        let _ = stop.send(true);
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

/// Runs the edge on a thread of its own (Pingora brings its own runtimes).
fn start_edge(config: &Config, master: MasterKey, local_ca: Option<LocalCa>) -> anyhow::Result<RunningEdge> {
    check_edge_addresses(config)?;
    let keys = key_file::session_keys(config)?;
    let edge = porta_edge::build(Arc::new(config.clone()), keys, master, local_ca)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("porta-edge".into())
        .spawn(move || {
            // Reports the end even when Pingora panics (the sender drops).
            let _ended = ended_tx;
            edge.run(stopped);
        })
        .context("cannot start the edge thread")?;
    Ok(RunningEdge { stop, ended, thread })
}

/// Everything on one machine: migrate, seed the demo when the database is
/// empty, certificates from the local CA, then the portal and the edge.
pub async fn up(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let db = open_db(&config).await?;
    let demo = demo::seed_if_empty(&db, &config).await?;
    let master = MasterKey::from_config(&config)?;
    let ca = LocalCa::load_or_create(&config.data_dir.join("local-ca"))?;
    policy::ensure_local_certificates(&db, &ca, &master, &config.canonical_base, UnixMillis::now())
        .await
        .context("cannot store the local CA's certificates")?;

    let keys = key_file::session_keys(&config)?;
    let portal = porta_portal::build(Arc::new(config.clone()), db, keys)
        .await
        .with_context(|| format!("cannot listen on {}", config.portal.listen))?;
    let ca_root = ca.dir().join("root.pem");
    let edge = start_edge(&config, master, Some(ca))?;
    println!("porta: portal listening on http://{}", portal.address());
    println!(
        "porta: edge listening on https://{} and http://{}",
        config.edge.https_listen, config.edge.http_listen
    );
    println!("porta: local CA certificate: {}", ca_root.display());
    match demo {
        Some(demo) => demo::print(&demo, &config),
        None => println!("porta: the database already holds tenants; no demo data was added"),
    }
    let RunningEdge { stop, ended, thread } = edge;
    let edge_failed = Arc::new(AtomicBool::new(false));
    let flag = edge_failed.clone();
    let served = portal
        .run_until_stopped(async move {
            tokio::select! {
                () = shutdown_signal() => {}
                _ = ended => flag.store(true, Ordering::SeqCst),
            }
        })
        .await;
    RunningEdge::stop_thread(stop, thread).await;
    served?;
    if edge_failed.load(Ordering::SeqCst) {
        anyhow::bail!("the edge stopped unexpectedly (see the log above)");
    }
    Ok(())
}

/// The portal core alone, on whatever the database holds.
pub async fn portal(config: Config) -> anyhow::Result<()> {
    let db = open_db(&config).await?;
    let keys = key_file::session_keys(&config)?;
    let app = porta_portal::build(Arc::new(config.clone()), db, keys)
        .await
        .with_context(|| format!("cannot listen on {}", config.portal.listen))?;
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
    let local_ca = if ca_dir.join("root.pem").exists() {
        Some(LocalCa::load_or_create(&ca_dir)?)
    } else {
        None
    };
    let RunningEdge { stop, ended, thread } = start_edge(&config, master, local_ca)?;
    println!(
        "porta: edge listening on https://{} and http://{}",
        config.edge.https_listen, config.edge.http_listen
    );
    let failed = tokio::select! {
        () = shutdown_signal() => false,
        _ = ended => true,
    };
    RunningEdge::stop_thread(stop, thread).await;
    if failed {
        anyhow::bail!("the edge stopped unexpectedly (see the log above)");
    }
    Ok(())
}
