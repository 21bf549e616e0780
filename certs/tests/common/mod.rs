//! Helpers shared by the integration tests: certificates made directly with
//! rcgen, so that tests know exactly what was issued.

#![allow(dead_code)]

use porta_core::clock::UnixMillis;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType, SerialNumber};
use time::OffsetDateTime;

pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// A self-signed certificate and its key, as PEM.
pub struct TestCert {
    pub chain_pem: String,
    pub key_pem: String,
    pub serial: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// Whole seconds, as X.509 stores them.
pub fn at(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).unwrap()
}

/// A self-signed ECDSA certificate for `names`, valid from `not_before` to
/// `not_after` (unix millis), with a random serial.
pub fn self_signed(names: &[&str], not_before: i64, not_after: i64) -> TestCert {
    let mut serial = rand_serial();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    self_signed_with_serial(names, not_before, not_after, &serial)
}

pub fn self_signed_with_serial(names: &[&str], not_before: i64, not_after: i64, serial: &[u8]) -> TestCert {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.subject_alt_names = names
        .iter()
        .map(|n| SanType::DnsName((*n).try_into().unwrap()))
        .collect();
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.not_before = at(not_before);
    params.not_after = at(not_after);
    let cert = params.self_signed(&key).unwrap();
    TestCert {
        chain_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        serial: serial.to_vec(),
        not_before: params.not_before,
        not_after: params.not_after,
    }
}

fn rand_serial() -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

pub fn now() -> UnixMillis {
    UnixMillis::now()
}

/// The DNS names in the leaf of a DER certificate.
pub fn dns_names(der: &[u8]) -> Vec<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    cert.subject_alternative_name()
        .unwrap()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}
