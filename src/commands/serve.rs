//! `porta up` and `porta portal`: run the servers until a signal.

use std::sync::Arc;

use anyhow::Context;
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

/// Everything on one machine: migrate, seed the demo when the database is
/// empty, print where to go, serve.
pub async fn up(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let db = open_db(&config).await?;
    let demo = demo::seed_if_empty(&db, &config).await?;
    let keys = key_file::session_keys(&config)?;
    let app = porta_portal::build(Arc::new(config.clone()), db, keys)
        .await
        .with_context(|| format!("cannot listen on {}", config.portal.listen))?;
    println!("porta: portal listening on http://{}", app.address());
    match demo {
        Some(demo) => demo::print(&demo, &config),
        None => println!("porta: the database already holds tenants; no demo data was added"),
    }
    app.run_until_stopped(shutdown_signal()).await?;
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
