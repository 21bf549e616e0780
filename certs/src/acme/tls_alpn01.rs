//! TLS-ALPN-01 (RFC 8737): the self-signed certificate that answers a
//! challenge and the rustls server configuration that serves it, for the
//! edge's pre-TLS hook. The key authorization comes from the database
//! ([`key_authorization`]), so any node answers whichever placed the order.

use std::sync::Arc;

use porta_core::clock::UnixMillis;
use porta_core::db::{acme_challenges, Db, DbError};
use porta_core::host::HostName;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The ALPN protocol of TLS-ALPN-01.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The key authorization of the unexpired TLS-ALPN-01 challenge for
/// `domain` (the newest, if an order left several): what the edge answers
/// an `acme-tls/1` handshake with, through [`server_config`].
pub async fn key_authorization(
    db: &Db,
    domain: &HostName,
    now: UnixMillis,
) -> Result<Option<String>, DbError> {
    acme_challenges::tls_alpn01(db, domain, now).await
}

/// The self-signed certificate that answers a TLS-ALPN-01 challenge:
/// `domain` as its only name and the critical `acmeIdentifier` extension
/// holding SHA-256 of the key authorization. Serve it with ALPN
/// `acme-tls/1` only; returns the certificate and its PKCS#8 key.
pub fn certificate(
    domain: &HostName,
    key_authorization: &str,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rcgen::Error> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key_authorization.as_bytes());
    let mut params = CertificateParams::new(vec![domain.to_string()])?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, domain.as_str());
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest.as_ref())];
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    ))
}

/// A TLS server configuration that answers a TLS-ALPN-01 challenge: ALPN
/// `acme-tls/1` only and the certificate of [`certificate`].
/// (`ServerConfig::with_single_cert` cannot be used: webpki refuses the
/// critical `acmeIdentifier` extension it does not know.)
pub fn server_config(
    domain: &HostName,
    key_authorization: &str,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let (cert, key) = certificate(domain, key_authorization)
        .map_err(|e| rustls::Error::General(format!("cannot generate the TLS-ALPN-01 certificate: {e}")))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)?;
    let certified = Arc::new(CertifiedKey::new(vec![cert], signing));
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneCertificate(certified)));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Serves one certificate whatever the ClientHello says.
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_carries_the_digest() {
        let domain = HostName::parse("shop.example.test").unwrap();
        let (cert, _key) = certificate(&domain, "token.thumbprint").unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier extension");
        assert!(ext.critical);
        let digest = ring::digest::digest(&ring::digest::SHA256, b"token.thumbprint");
        // DER OCTET STRING of 32 bytes: 0x04 0x20 then the digest.
        assert_eq!(&ext.value[..2], &[0x04, 0x20]);
        assert_eq!(&ext.value[2..], digest.as_ref());
        let names: Vec<String> = parsed
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(name) => name.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names, vec!["shop.example.test".to_owned()]);
    }

    #[test]
    fn the_server_config_offers_only_acme_tls() {
        let domain = HostName::parse("shop.example.test").unwrap();
        let config = server_config(&domain, "token.thumbprint").unwrap();
        assert_eq!(config.alpn_protocols, vec![ACME_TLS_ALPN.to_vec()]);
    }
}
