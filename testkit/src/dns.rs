//! An authoritative DNS zone on 127.0.0.1 for tests: hickory-server's
//! in-memory zone handler in a `Catalog`, answering over UDP and TCP on one
//! random port. Records can be changed while it runs; the next query sees
//! the change. The server stops when the [`TestZone`] is dropped.
//!
//! ```ignore
//! let zone = TestZone::start("acme.test").await;
//! zone.set_cname("portal.acme.test", "edge.porta.test").await;
//! // point a resolver at zone.addr()
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::proto::rr::rdata::{A, CNAME, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};

/// TTL of every record, in seconds: short, tests change records often.
const TTL: u32 = 1;

/// A running authoritative zone; see the module documentation.
pub struct TestZone {
    addr: SocketAddr,
    origin: Name,
    handler: Arc<InMemoryZoneHandler>,
    serial: AtomicU32,
    server: Server<Catalog>,
}

impl std::fmt::Debug for TestZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestZone")
            .field("addr", &self.addr)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// `name` as an absolute DNS name (a trailing dot is added when missing).
fn absolute(name: &str) -> Name {
    let name = name.trim();
    let fqdn = if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    };
    Name::from_str(&fqdn).unwrap_or_else(|e| panic!("{name:?} is not a DNS name: {e}"))
}

impl TestZone {
    /// Serves an empty zone for `origin` (it has only its SOA and NS).
    pub async fn start(origin: &str) -> TestZone {
        let origin = absolute(origin);
        let mut handler = InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let ns = Name::from_str("ns.test.").unwrap_or_else(|e| panic!("ns.test. is a DNS name: {e}"));
        let soa = SOA::new(
            ns.clone(),
            Name::from_str("hostmaster.test.")
                .unwrap_or_else(|e| panic!("hostmaster.test. is a DNS name: {e}")),
            1,
            60,
            60,
            60,
            0,
        );
        assert!(handler.upsert_mut(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)), 1));
        assert!(handler.upsert_mut(Record::from_rdata(origin.clone(), TTL, RData::NS(NS(ns))), 1));
        let handler = Arc::new(handler);

        let mut catalog = Catalog::new();
        catalog.upsert(
            LowerName::new(&origin),
            vec![handler.clone() as Arc<dyn ZoneHandler>],
        );

        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("bound UDP address");
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        TestZone {
            addr,
            origin,
            handler,
            serial: AtomicU32::new(2),
            server,
        }
    }

    /// Where the zone answers (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `name CNAME target`, replacing whatever `name` had.
    pub async fn set_cname(&self, name: &str, target: &str) {
        self.replace(name, RData::CNAME(CNAME(absolute(target)))).await;
    }

    /// `name A ip`, replacing whatever `name` had.
    pub async fn set_a(&self, name: &str, ip: Ipv4Addr) {
        self.replace(name, RData::A(A(ip))).await;
    }

    /// `name TXT value`, replacing whatever `name` had.
    pub async fn set_txt(&self, name: &str, value: &str) {
        self.replace(name, RData::TXT(TXT::new(vec![value.to_owned()])))
            .await;
    }

    /// Removes every record of `name` (the zone's own SOA and NS stay).
    pub async fn remove(&self, name: &str) {
        let name = LowerName::new(&absolute(name));
        let apex = LowerName::new(&self.origin);
        self.handler.records_mut().await.retain(|key, _| {
            key.name != name
                || (key.name == apex && matches!(key.record_type, RecordType::SOA | RecordType::NS))
        });
    }

    async fn replace(&self, name: &str, rdata: RData) {
        self.remove(name).await;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let record = Record::from_rdata(absolute(name), TTL, rdata);
        assert!(
            self.handler.upsert(record, serial).await,
            "{name} could not be added to the zone {}",
            self.origin
        );
    }
}

impl Drop for TestZone {
    fn drop(&mut self) {
        // Dropping the server aborts its tasks; cancelling first lets them
        // stop accepting at once.
        self.server.shutdown_token().cancel();
    }
}

/// A UDP socket and a TCP listener on the same random port of 127.0.0.1.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        let addr = udp.local_addr().expect("bound UDP address");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}
