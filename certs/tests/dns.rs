//! CNAME alignment against an authoritative test zone on 127.0.0.1.

use std::net::Ipv4Addr;
use std::time::Duration;

use porta_certs::dns::{CnameVerifier, DnsError};
use porta_testkit::dns::TestZone;

async fn zone_and_verifier() -> (TestZone, CnameVerifier) {
    let zone = TestZone::start("acme.test").await;
    let verifier = CnameVerifier::new(&[zone.addr()]).unwrap();
    (zone, verifier)
}

#[tokio::test]
async fn a_cname_to_the_target_is_aligned() {
    let (zone, verifier) = zone_and_verifier().await;
    zone.set_cname("portal.acme.test", "edge.porta.test").await;
    let check = verifier
        .check("portal.acme.test", "edge.porta.test")
        .await
        .unwrap();
    assert!(check.aligned);
    assert_eq!(check.observed, vec!["portal.acme.test CNAME edge.porta.test"]);

    // Case and trailing dots do not matter.
    let check = verifier
        .check("Portal.ACME.test.", "EDGE.porta.test.")
        .await
        .unwrap();
    assert!(check.aligned);
}

#[tokio::test]
async fn a_chain_of_two_cnames_is_aligned() {
    let (zone, verifier) = zone_and_verifier().await;
    zone.set_cname("portal.acme.test", "hop.acme.test").await;
    zone.set_cname("hop.acme.test", "edge.porta.test").await;
    let check = verifier
        .check("portal.acme.test", "edge.porta.test")
        .await
        .unwrap();
    assert!(check.aligned);
    assert_eq!(
        check.observed,
        vec![
            "portal.acme.test CNAME hop.acme.test",
            "hop.acme.test CNAME edge.porta.test"
        ]
    );
    // Any name in the chain counts.
    assert!(
        verifier
            .check("portal.acme.test", "hop.acme.test")
            .await
            .unwrap()
            .aligned
    );
}

#[tokio::test]
async fn a_wrong_target_is_not_aligned_and_shows_what_dns_says() {
    let (zone, verifier) = zone_and_verifier().await;
    zone.set_cname("portal.acme.test", "old-host.acme.test").await;
    zone.set_a("old-host.acme.test", Ipv4Addr::new(192, 0, 2, 7))
        .await;
    let check = verifier
        .check("portal.acme.test", "edge.porta.test")
        .await
        .unwrap();
    assert!(!check.aligned);
    assert_eq!(
        check.observed,
        vec![
            "portal.acme.test CNAME old-host.acme.test",
            "old-host.acme.test A 192.0.2.7"
        ]
    );

    // An A record instead of a CNAME.
    zone.set_a("portal.acme.test", Ipv4Addr::new(192, 0, 2, 9)).await;
    let check = verifier
        .check("portal.acme.test", "edge.porta.test")
        .await
        .unwrap();
    assert!(!check.aligned);
    assert_eq!(check.observed, vec!["portal.acme.test A 192.0.2.9"]);
}

#[tokio::test]
async fn no_record_is_not_aligned() {
    let (zone, verifier) = zone_and_verifier().await;
    let check = verifier
        .check("missing.acme.test", "edge.porta.test")
        .await
        .unwrap();
    assert!(!check.aligned);
    assert!(check.observed.is_empty());

    // Records come and go between checks: nothing is cached.
    zone.set_cname("missing.acme.test", "edge.porta.test").await;
    assert!(
        verifier
            .check("missing.acme.test", "edge.porta.test")
            .await
            .unwrap()
            .aligned
    );
    zone.remove("missing.acme.test").await;
    assert!(
        !verifier
            .check("missing.acme.test", "edge.porta.test")
            .await
            .unwrap()
            .aligned
    );
}

#[tokio::test]
async fn a_cname_loop_ends() {
    let (zone, verifier) = zone_and_verifier().await;
    zone.set_cname("a.acme.test", "b.acme.test").await;
    zone.set_cname("b.acme.test", "a.acme.test").await;
    let check = verifier.check("a.acme.test", "edge.porta.test").await.unwrap();
    assert!(!check.aligned);
    assert_eq!(check.observed.len(), porta_certs::dns::MAX_HOPS);
}

#[tokio::test]
async fn an_unreachable_nameserver_is_an_error() {
    // A port nothing listens on (UDP or TCP).
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed = socket.local_addr().unwrap();
    drop(socket);
    let verifier = CnameVerifier::new(&[closed]).unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        verifier.check("portal.acme.test", "edge.porta.test"),
    )
    .await
    .expect("the check gives up on its own");
    assert!(matches!(result, Err(DnsError::Lookup { .. })), "{result:?}");
}

#[tokio::test]
async fn a_refusing_nameserver_is_an_error_not_an_answer() {
    let (_zone, verifier) = zone_and_verifier().await;
    // The zone is not authoritative for this name and refuses the query.
    let result = verifier.check("portal.other.test", "edge.porta.test").await;
    assert!(matches!(result, Err(DnsError::Lookup { .. })), "{result:?}");
}
