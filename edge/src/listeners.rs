//! The edge's sockets, bound before the server runs, so that the bound
//! addresses are known (port 0 works) and a taken address fails at once.
//!
//! Pingora binds its listeners itself when a service starts, unless the
//! service's `start_service` is handed a table of listening file
//! descriptors (`ListenFds`, meant for zero-downtime upgrades) that has one
//! under the listener's address string: then it adopts that descriptor
//! (`ListenerEndpointBuilder::listen` in `pingora-core/src/listeners/l4.rs`).
//! The server's own table is private (`Server::listen_fds`), filled only by
//! an upgrade, so [`PreBound`] wraps a service and hands it a table of its
//! own, holding the sockets bound here.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::{Fds, ListenFds, RuntimeOpts, ShutdownWatch};
use pingora::services::{ServiceReadyNotifier, ServiceWithDependents};

/// A socket bound for one of the edge's listeners.
#[derive(Debug)]
pub struct BoundListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl BoundListener {
    /// Binds `addr` (port 0 picks a free port) in non-blocking mode, as
    /// Pingora's runtime expects.
    pub fn bind(addr: SocketAddr) -> std::io::Result<BoundListener> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(BoundListener { listener, addr })
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
    /// Runs when the server starts the service: hands the inner service a
    /// descriptor table with the pre-bound sockets (ownership passes to
    /// Pingora, which closes them when the service ends). The server's
    /// table (sockets inherited in an upgrade) is not used: the edge does
    /// not take part in Pingora's upgrades.
    async fn start_service(
        &mut self,
        _fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
        ready_notifier: ServiceReadyNotifier,
    ) {
        let mut table = Fds::new();
        for socket in self.sockets.drain(..) {
            let key = socket.key();
            table.add(key, socket.listener.into_raw_fd());
        }
        let table: ListenFds = Arc::new(parking_lot::Mutex::new(table));
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
