//! What `porta up` starts, bound before it runs: the portal, and the edge
//! in front of it, on one machine.
//!
//! [`Up::prepare`] does everything that can fail (data directory, database,
//! demo seed, local CA and its certificates, the edge's listeners, the
//! portal's) and returns the bound addresses; [`Up::run_until`] serves.
//! Unless `edge.upstreams` was set, the edge proxies to the portal `up`
//! started, at the address it actually bound (so `PORTA_PORTAL_LISTEN` on
//! another port, or port 0, just works). With the edge's HTTPS port 0 and
//! no `public_https_port`, links use the port the edge bound. Tests start
//! the same [`Up`] in-process on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use porta_certs::local_ca::LocalCa;
use porta_certs::master_key::MasterKey;
use porta_certs::policy;
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::key_file;
use porta_edge::{EdgeAddresses, EdgeListeners, EdgeServer, EdgeSignal};

use crate::commands::open_db;
use crate::demo::{self, Demo};

/// `porta up`'s servers, bound and not yet serving.
pub struct Up {
    config: Arc<Config>,
    portal: porta_portal::App,
    edge: EdgeServer,
    upstreams: Vec<SocketAddr>,
    demo: Option<Demo>,
    ca_root: PathBuf,
}

impl Up {
    /// Migrates, seeds the demo when the database is empty, makes sure the
    /// local CA's certificates are stored (see [`policy`]), binds the edge's
    /// listeners and the portal, and builds the edge in front of that
    /// portal.
    pub async fn prepare(config: Config) -> anyhow::Result<Up> {
        let mut config = config;
        // It holds the keys, the local CA and (on SQLite) the database.
        porta_core::private_file::create_private_dir(&config.data_dir)
            .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
        let listeners = EdgeListeners::bind(&config)?;
        if config.public_https_port == 0 {
            // edge.https_listen on port 0 and no public_https_port.
            config.public_https_port = listeners.addresses().https.port();
        }
        let db = open_db(&config).await?;
        let demo = demo::seed_if_empty(&db, &config).await?;
        let master = MasterKey::from_config(&config)?;
        let ca = LocalCa::load_or_create(&config.data_dir.join("local-ca"))?;
        policy::ensure_local_certificates(&db, &ca, &master, &config.canonical_base, UnixMillis::now())
            .await
            .context("cannot store the local CA's certificates")?;

        let config = Arc::new(config);
        let portal = porta_portal::build(config.clone(), db, key_file::session_keys(&config)?)
            .await
            .with_context(|| format!("cannot listen on {} (portal.listen)", config.portal.listen))?;
        let edge_config = edge_config(&config, portal.address());
        let upstreams = edge_config.edge.upstreams.clone();
        let ca_root = ca.dir().join(porta_certs::local_ca::ROOT_CERT_FILE);
        let edge = porta_edge::build_with_listeners(
            Arc::new(edge_config),
            listeners,
            key_file::session_keys(&config)?,
            master,
            Some(ca),
        )?;
        Ok(Up {
            config,
            portal,
            edge,
            upstreams,
            demo,
            ca_root,
        })
    }

    /// The configuration the portal runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn portal_address(&self) -> SocketAddr {
        self.portal.address()
    }

    pub fn edge_addresses(&self) -> EdgeAddresses {
        self.edge.addresses()
    }

    /// The portal addresses the edge proxies to.
    pub fn upstreams(&self) -> &[SocketAddr] {
        &self.upstreams
    }

    /// The demo seeded now, or the earlier one when its tenant still exists.
    pub fn demo(&self) -> Option<&Demo> {
        self.demo.as_ref()
    }

    /// The local CA's root certificate, which browsers must trust.
    pub fn ca_root(&self) -> &Path {
        &self.ca_root
    }

    /// Serves until `shutdown` resolves or the edge stops (an error then),
    /// and stops both: the edge first (it stops accepting and drains, its
    /// requests in flight still reaching the portal), then the portal; each
    /// waits for its requests in flight for at most
    /// `edge.shutdown_grace_period_seconds`.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let grace = self.config.edge.shutdown.grace_period;
        let RunningEdge {
            stop,
            mut ended,
            thread,
        } = RunningEdge::start(self.edge)?;
        let (stop_portal, portal_stopped) = tokio::sync::oneshot::channel::<()>();
        let mut portal = tokio::spawn(self.portal.run_until_stopped(async move {
            let _ = portal_stopped.await;
        }));
        let (edge_failed, early) = tokio::select! {
            () = shutdown => (false, None),
            _ = &mut ended => (true, None),
            served = &mut portal => (false, Some(served)),
        };
        RunningEdge::stop_thread(stop, thread).await;
        let served = match early {
            Some(served) => served,
            None => {
                let _ = stop_portal.send(());
                match tokio::time::timeout(grace, &mut portal).await {
                    Ok(served) => served,
                    Err(_) => {
                        tracing::warn!("grace period over: the portal exits with requests still in flight");
                        portal.abort();
                        Ok(Ok(()))
                    }
                }
            }
        };
        served.context("the portal's task failed")??;
        if edge_failed {
            anyhow::bail!("the edge stopped unexpectedly (see the log above)");
        }
        Ok(())
    }
}

/// The configuration the edge of `up` runs with: `config`, proxying to the
/// portal at `portal` unless `edge.upstreams` was set.
pub fn edge_config(config: &Config, portal: SocketAddr) -> Config {
    let mut edge = config.clone();
    if !config.edge.upstreams_given {
        edge.edge.upstreams = vec![portal];
    }
    edge
}

/// A running edge: its stop switch and a signal that it has ended.
pub struct RunningEdge {
    stop: tokio::sync::watch::Sender<EdgeSignal>,
    /// Resolves (with an error: the sender is dropped) when the edge's
    /// thread ends, whether it returned or panicked.
    pub ended: tokio::sync::oneshot::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

impl RunningEdge {
    /// Runs `edge` on a thread of its own (Pingora brings its own runtimes).
    pub fn start(edge: EdgeServer) -> anyhow::Result<RunningEdge> {
        let (stop, stopped) = tokio::sync::watch::channel(EdgeSignal::Serve);
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

    /// Stops the edge (it drains first) and waits for its thread.
    pub async fn stop(self) {
        Self::stop_thread(self.stop, self.thread).await;
    }

    /// Hands the listening sockets to the new edge waiting on the upgrade
    /// socket, then drains like [`RunningEdge::stop`].
    pub async fn hand_over(self) {
        let _ = self.stop.send(EdgeSignal::HandOver);
        Self::stop_thread(self.stop, self.thread).await;
    }

    async fn stop_thread(stop: tokio::sync::watch::Sender<EdgeSignal>, thread: std::thread::JoinHandle<()>) {
        // A hand-over already asked for stays one.
        stop.send_if_modified(|signal| {
            let serving = *signal == EdgeSignal::Serve;
            if serving {
                *signal = EdgeSignal::Stop;
            }
            serving
        });
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edge_proxies_to_the_started_portal_unless_upstreams_were_given() {
        let moved: SocketAddr = "127.0.0.1:18080".parse().unwrap();
        let dev = Config::from_toml("dev", porta_core::config::DEV_TOML).unwrap();
        assert_eq!(edge_config(&dev, moved).edge.upstreams, [moved]);

        let given = Config::from_toml_with_env(
            "dev",
            porta_core::config::DEV_TOML,
            &["PORTA_EDGE_UPSTREAMS".to_owned()],
            |k| (k == "PORTA_EDGE_UPSTREAMS").then(|| "127.0.0.1:9001".to_owned()),
        )
        .unwrap();
        let upstreams = edge_config(&given, moved).edge.upstreams;
        assert_eq!(upstreams.len(), 1);
        assert_eq!(upstreams[0].to_string(), "127.0.0.1:9001");
    }
}
