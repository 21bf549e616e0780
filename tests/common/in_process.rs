//! `porta up` inside the test process: the same [`porta::launch::Up`] the
//! binary runs, on the store's data directory and database, with every
//! listener on 127.0.0.1 port 0. The bound ports are known before it
//! serves, so there is no window in which another test could take them;
//! [`Store::up_in_process`] writes them into the store's [`Ports`], so
//! everything that reads those (links, clients, CLI commands) works as with
//! a child process.
//!
//! What cannot run in-process: tests that read the edge's metrics (one
//! registry per process, shared by every edge of a test binary) and tests
//! of the binary itself (its output, its exit, signals).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use porta::launch::Up;
use porta_core::config::{Config, DEV_TOML};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{healthz_ok, Ports, SiteClient, Store, STARTUP_TIMEOUT};

/// A running in-process `porta up`; stopped when dropped.
pub struct InProcess {
    /// The portal core.
    pub addr: SocketAddr,
    /// The edge's HTTPS port (the one in links).
    pub edge_https: u16,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Logs of in-process servers go to the test's output (`RUST_LOG`, default
/// warnings), shown when a test fails.
fn init_logging() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

impl Store {
    /// Starts `porta up` in this process with the environment overrides
    /// `env` (as the binary reads them; nothing else of the test's own
    /// environment), waits until its portal and edge answer `/healthz`, and
    /// records its ports in [`Store::ports`].
    pub async fn up_in_process(&mut self, env: &[(&str, &str)]) -> InProcess {
        init_logging();
        let mut vars: Vec<(String, String)> = vec![
            ("PORTA_DATA_DIR".into(), self.data_dir().display().to_string()),
            ("PORTA_PORTAL_LISTEN".into(), "127.0.0.1:0".into()),
            ("PORTA_EDGE_HTTP_LISTEN".into(), "127.0.0.1:0".into()),
            ("PORTA_EDGE_HTTPS_LISTEN".into(), "127.0.0.1:0".into()),
            ("PORTA_METRICS_LISTEN".into(), "127.0.0.1:0".into()),
        ];
        if let Some(url) = &self.database_url {
            vars.push(("PORTA_DATABASE_URL".into(), url.clone()));
        }
        for (name, value) in env {
            vars.retain(|(n, _)| n != name);
            vars.push(((*name).to_owned(), (*value).to_owned()));
        }
        let names: Vec<String> = vars.iter().map(|(n, _)| n.clone()).collect();
        let config = Config::from_toml_with_env("built-in config/dev.toml", DEV_TOML, &names, |key| {
            vars.iter().find(|(n, _)| n == key).map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|e| panic!("the in-process configuration: {e}"));

        let up = Up::prepare(config)
            .await
            .unwrap_or_else(|e| panic!("porta up (in process): {e:#}"));
        let edge = up.edge_addresses();
        let addr = up.portal_address();
        self.ports = Ports {
            portal: addr.port(),
            edge_http: edge.http.port(),
            edge_https: edge.https.port(),
            metrics: edge.metrics.port(),
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(up.run_until(async move {
            let _ = stopped.await;
        }));
        let running = InProcess {
            addr,
            edge_https: edge.https.port(),
            stop: Some(stop),
            task: Some(task),
        };
        running.wait_healthy(&[addr, edge.http]).await;
        running
    }
}

impl InProcess {
    async fn wait_healthy(&self, probes: &[SocketAddr]) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        for &probe in probes {
            loop {
                if self.task.as_ref().is_some_and(JoinHandle::is_finished) {
                    panic!("in-process porta up ended before {probe} answered /healthz");
                }
                if tokio::task::spawn_blocking(move || healthz_ok(probe))
                    .await
                    .unwrap_or(false)
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "/healthz on {probe} did not answer 200 in time"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// A client for the portal on the tenant host `<slug>.portal.localhost`,
    /// which browsers reach through the edge.
    pub fn site(&self, slug: &str) -> SiteClient {
        SiteClient::behind_edge(&format!("{slug}.portal.localhost"), self.addr, self.edge_https)
    }

    /// Stops both servers and returns how `run_until` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(anyhow::anyhow!("{e}"))),
            None => Ok(()),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // The task stops the portal and the edge (whose own thread also
        // stops when its stop switch is dropped, should the runtime end
        // first).
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
