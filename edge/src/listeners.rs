//! The edge's sockets, bound before the server runs, so that the bound
//! addresses are known (port 0 works) and a taken address fails at once;
//! or, in a zero-downtime upgrade, received from the running edge.
//!
//! Pingora binds its listeners itself when a service starts, unless the
//! service's `start_service` is handed a table of listening file
//! descriptors (`ListenFds`) that has one under the listener's address
//! string: then it adopts that descriptor (`ListenerEndpointBuilder::listen`
//! in `pingora-core/src/listeners/l4.rs`). The table it hands every service
//! is the server's own, the one it sends to a new process on SIGQUIT
//! (`Server::main_loop`, `Fds::send_to_sock`). [`PreBound`] wraps a service
//! and puts its sockets into that table before starting it: Pingora adopts
//! them, and an upgrade hands them over.
//!
//! Pingora's own upgrade path (`Opt::upgrade`) receives the old process's
//! table in `Server::bootstrap`, after the edge must already hold its
//! sockets (it binds them first to report taken addresses and port 0);
//! so `porta edge --upgrade` receives them itself, before building the
//! server, with the same `Fds::get_from_sock` ([`inherit`]).

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{IntoRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::{Fds, ListenFds, RuntimeOpts, ShutdownWatch};
use pingora::services::{ServiceReadyNotifier, ServiceWithDependents};

/// A socket for one of the edge's listeners.
#[derive(Debug)]
pub struct BoundListener {
    socket: Socket,
    addr: SocketAddr,
}

#[derive(Debug)]
enum Socket {
    /// Bound by this process.
    Bound(TcpListener),
    /// Received from the edge this one upgrades (a descriptor this process
    /// owns; Pingora adopts it).
    Inherited(RawFd),
}

impl BoundListener {
    /// Binds `addr` (port 0 picks a free port) in non-blocking mode, as
    /// Pingora's runtime expects.
    pub fn bind(addr: SocketAddr) -> std::io::Result<BoundListener> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(BoundListener {
            socket: Socket::Bound(listener),
            addr,
        })
    }

    /// Whether the socket came from the edge this one upgrades.
    pub fn is_inherited(&self) -> bool {
        matches!(self.socket, Socket::Inherited(_))
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key Pingora looks the socket up by: the address string the
    /// listener is added with.
    pub fn key(&self) -> String {
        self.addr.to_string()
    }
}

/// A Pingora service whose listeners adopt sockets bound beforehand
/// instead of binding their own. Each listener of the service must be
/// added with its socket's [`BoundListener::key`].
pub struct PreBound<S> {
    inner: S,
    sockets: Vec<BoundListener>,
}

impl<S> PreBound<S> {
    pub fn new(inner: S, sockets: Vec<BoundListener>) -> PreBound<S> {
        PreBound { inner, sockets }
    }
}

#[async_trait]
impl<S: ServiceWithDependents> ServiceWithDependents for PreBound<S> {
    /// Runs when the server starts the service: puts the sockets into the
    /// server's descriptor table `fds` (ownership passes to Pingora, which
    /// adopts them and sends them on in an upgrade) and starts the inner
    /// service with it.
    async fn start_service(
        &mut self,
        fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
        ready_notifier: ServiceReadyNotifier,
    ) {
        let table = fds.unwrap_or_else(|| Arc::new(parking_lot::Mutex::new(Fds::new())));
        {
            let mut table = table.lock();
            for socket in self.sockets.drain(..) {
                let key = socket.key();
                let fd = match socket.socket {
                    Socket::Bound(listener) => listener.into_raw_fd(),
                    Socket::Inherited(fd) => fd,
                };
                table.add(key, fd);
            }
        }
        self.inner
            .start_service(Some(table), shutdown, listeners_per_fd, ready_notifier)
            .await;
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn threads(&self) -> Option<usize> {
        self.inner.threads()
    }

    fn runtime_opts_override(&self, global: &RuntimeOpts) -> Option<RuntimeOpts> {
        self.inner.runtime_opts_override(global)
    }

    fn on_startup_delay(&self, time_waited: Duration) {
        self.inner.on_startup_delay(time_waited);
    }

    fn listen_addresses(&self) -> Option<Vec<String>> {
        self.inner.listen_addresses()
    }
}

/// Why the sockets of a running edge could not be received.
#[derive(Debug, thiserror::Error)]
pub enum InheritError {
    #[error("{key} = {addr} needs a fixed port to take over a running edge's socket")]
    PortZero { key: &'static str, addr: SocketAddr },
    #[error("the directory of the upgrade socket {0} does not exist")]
    NoSocketDir(String),
    #[error("no running edge handed its sockets over on {path}: {reason}")]
    NotReceived { path: String, reason: String },
    #[error("the running edge did not hand over {addr} ({key}): it listens elsewhere")]
    Missing { key: &'static str, addr: SocketAddr },
}

/// Receives the listening sockets of the running edge over the Unix socket
/// `path` (waiting some 6 s for it to send them, see [`Fds::get_from_sock`]:
/// it does on SIGQUIT) and returns the ones for `wanted` (key, address),
/// in order; any other it sent is closed. Blocks.
pub fn inherit(
    path: &Path,
    wanted: &[(&'static str, SocketAddr)],
) -> Result<Vec<BoundListener>, InheritError> {
    for (key, addr) in wanted {
        if addr.port() == 0 {
            return Err(InheritError::PortZero { key, addr: *addr });
        }
    }
    let shown = path.display().to_string();
    match path.parent() {
        Some(dir) if dir.as_os_str().is_empty() || dir.is_dir() => {}
        _ => return Err(InheritError::NoSocketDir(shown)),
    }
    // Pingora's receiver panics on some failures (a socket it cannot bind).
    let path_text = path.to_string_lossy().into_owned();
    let received = std::panic::catch_unwind(|| {
        let mut fds = Fds::new();
        fds.get_from_sock(path_text.as_str()).map(|()| fds)
    });
    let mut fds = match received {
        Ok(Ok(fds)) => fds,
        Ok(Err(errno)) => {
            let timed_out =
                std::io::Error::from_raw_os_error(errno as i32).kind() == std::io::ErrorKind::WouldBlock;
            let reason = if timed_out {
                "none sent them within 6 s (send the running edge SIGQUIT)".to_owned()
            } else {
                errno.to_string()
            };
            return Err(InheritError::NotReceived { path: shown, reason });
        }
        Err(_) => {
            return Err(InheritError::NotReceived {
                path: shown,
                reason: "the upgrade socket could not be opened".to_owned(),
            })
        }
    };
    let keep: HashSet<String> = wanted.iter().map(|(_, addr)| addr.to_string()).collect();
    let closed = fds.close_unclaimed(&keep);
    if !closed.is_empty() {
        tracing::warn!(
            ?closed,
            "closed sockets the running edge sent that this one does not listen on"
        );
    }
    wanted
        .iter()
        .map(|(key, addr)| match fds.get(&addr.to_string()) {
            Some(fd) => Ok(BoundListener {
                socket: Socket::Inherited(*fd),
                addr: *addr,
            }),
            None => Err(InheritError::Missing { key, addr: *addr }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_port_zero_and_reports_the_port() {
        let bound = BoundListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert_ne!(bound.addr().port(), 0);
        assert_eq!(bound.key(), format!("127.0.0.1:{}", bound.addr().port()));
        let taken = BoundListener::bind(bound.addr());
        assert!(taken.is_err(), "the address is held until the server adopts it");
    }
}
