//! Certificate rows: the chain as PEM, the private key sealed with the
//! [`MasterKey`], and the validity window parsed from the leaf.
//!
//! Rows are never updated in place: a new certificate for a domain is a new
//! row, and the rows it supersedes get `replaced_at`. Which row is served
//! is decided at read time ([`current_for`]), so a certificate that is not
//! yet valid, or already expired, is never chosen over a valid one.
//!
//! Certificates belong to the deployment, not to one tenant: the edge looks
//! them up by server name before it knows any tenant, so these queries are
//! not tenant-scoped (`tenant_id` only records who the domain is for).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use porta_core::change_feed::Change;
use porta_core::clock::UnixMillis;
use porta_core::db::{Db, DbError};
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::issuer::CertificateSource;
use porta_core::{on_pool, on_tx};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sqlx::FromRow;
use uuid::Uuid;
use x509_parser::extensions::GeneralName;

use crate::master_key::{MasterKey, OpenError};

/// Why a certificate could not be stored or loaded.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} is not a valid certificate domain (a host name, or `*.` and a host name)")]
    InvalidDomain(String),
    #[error("the certificate chain contains no PEM certificate")]
    EmptyChain,
    #[error("the certificate chain is not valid PEM: {0}")]
    ChainPem(String),
    #[error("the leaf certificate cannot be parsed: {0}")]
    Certificate(String),
    #[error("the leaf certificate's validity ends before it begins")]
    InvalidValidity,
    #[error("the private key is not a PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    KeyPem,
    #[error("the private key type is not supported: {0}")]
    UnsupportedKey(String),
    #[error("the private key does not match the leaf certificate's public key")]
    KeyMismatch,
    #[error("the leaf certificate does not cover {domain} (it names: {names:?})")]
    NameNotCovered { domain: String, names: Vec<String> },
    #[error("the stored private key cannot be decrypted with this master key")]
    Decrypt(#[from] OpenError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(DbError::Sqlx(e))
    }
}

/// A certificate row's id (a UUID, stored as TEXT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateId(Uuid);

impl CertificateId {
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for CertificateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for CertificateId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// What a new certificate row records. `key_pem` is sealed before it is
/// written and never logged.
#[derive(Clone)]
pub struct NewCertificate<'a> {
    pub tenant: Option<TenantId>,
    /// The name it is served for: a host name or a wildcard (`*.example.com`).
    pub domain: &'a str,
    /// Where it came from: an issuer, or an operator's import.
    pub issuer: CertificateSource,
    /// Leaf first, then intermediates.
    pub chain_pem: &'a str,
    pub key_pem: &'a str,
}

impl fmt::Debug for NewCertificate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCertificate")
            .field("tenant", &self.tenant)
            .field("domain", &self.domain)
            .field("issuer", &self.issuer)
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A certificate row without its chain and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    pub id: CertificateId,
    pub tenant_id: Option<TenantId>,
    pub domain: String,
    pub issuer: CertificateSource,
    /// The serial number in lower-case hex, without leading zero bytes.
    pub serial: String,
    pub not_before: UnixMillis,
    pub not_after: UnixMillis,
    pub created_at: UnixMillis,
    /// When a newer certificate for the same domain was stored.
    pub replaced_at: Option<UnixMillis>,
}

impl CertificateInfo {
    /// Whether `now` lies within the validity window.
    pub fn is_valid_at(&self, now: UnixMillis) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

/// A full certificate row: the chain and the sealed private key.
#[derive(Clone)]
pub struct StoredCertificate {
    pub info: CertificateInfo,
    pub chain_pem: String,
    key_encrypted: Vec<u8>,
    key_nonce: Vec<u8>,
}

impl fmt::Debug for StoredCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCertificate")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl StoredCertificate {
    /// Decrypts the private key and builds what rustls serves.
    pub fn certified_key(&self, master: &MasterKey) -> Result<Arc<CertifiedKey>, StoreError> {
        let chain = parse_chain(&self.chain_pem)?;
        let key_pem = master.open(&self.key_encrypted, &self.key_nonce, self.info.domain.as_bytes())?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| StoreError::KeyPem)?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| StoreError::UnsupportedKey(e.to_string()))?;
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }
}

/// Normalizes a certificate domain: lower case, no trailing dot, a valid
/// host name optionally behind `*.`.
pub fn normalize_domain(raw: &str) -> Result<String, StoreError> {
    let invalid = || StoreError::InvalidDomain(raw.to_owned());
    match raw.trim().strip_prefix("*.") {
        Some(rest) => Ok(format!("*.{}", HostName::parse(rest).map_err(|_| invalid())?)),
        None => Ok(HostName::parse(raw).map_err(|_| invalid())?.to_string()),
    }
}

/// What [`insert`] learns from the chain before writing anything.
struct Parsed {
    serial: String,
    not_before: i64,
    not_after: i64,
}

/// Checks the chain and the key belong together and cover `domain`.
fn parse_and_check(domain: &str, chain_pem: &str, key_pem: &str) -> Result<Parsed, StoreError> {
    check_with_key(domain, chain_pem, signing_key(key_pem)?)
}

/// The signing key rustls would serve for a PEM private key.
fn signing_key(key_pem: &str) -> Result<Arc<dyn rustls::sign::SigningKey>, StoreError> {
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| StoreError::KeyPem)?;
    rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| StoreError::UnsupportedKey(e.to_string()))
}

/// [`parse_and_check`] with the key already parsed.
fn check_with_key(
    domain: &str,
    chain_pem: &str,
    signing: Arc<dyn rustls::sign::SigningKey>,
) -> Result<Parsed, StoreError> {
    let chain = parse_chain(chain_pem)?;
    let (_, leaf) =
        x509_parser::parse_x509_certificate(&chain[0]).map_err(|e| StoreError::Certificate(e.to_string()))?;

    let raw_serial = leaf.raw_serial();
    let first = raw_serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw_serial.len().saturating_sub(1));
    let serial = raw_serial[first..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let not_before = leaf.validity().not_before.timestamp().saturating_mul(1000);
    let not_after = leaf.validity().not_after.timestamp().saturating_mul(1000);
    if not_after <= not_before {
        return Err(StoreError::InvalidValidity);
    }

    let names = dns_names(&leaf)?;
    if !names.iter().any(|n| covers(n, domain)) {
        return Err(StoreError::NameNotCovered {
            domain: domain.to_owned(),
            names,
        });
    }

    // Every ring key reports its public key, so "unknown" is a mismatch too.
    CertifiedKey::new(chain, signing)
        .keys_match()
        .map_err(|_| StoreError::KeyMismatch)?;

    Ok(Parsed {
        serial,
        not_before,
        not_after,
    })
}

fn parse_chain(chain_pem: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::ChainPem(e.to_string()))?;
    if chain.is_empty() {
        return Err(StoreError::EmptyChain);
    }
    Ok(chain)
}

/// The leaf's DNS subject alternative names, lower-cased.
fn dns_names(leaf: &x509_parser::certificate::X509Certificate<'_>) -> Result<Vec<String>, StoreError> {
    let san = leaf
        .subject_alternative_name()
        .map_err(|e| StoreError::Certificate(e.to_string()))?;
    Ok(san
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(name) => Some(name.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Whether the certificate name `san` is valid for the stored `domain`: the
/// same name, or a wildcard one label above a plain host name.
fn covers(san: &str, domain: &str) -> bool {
    let san = san.trim_end_matches('.');
    if san == domain {
        return true;
    }
    match (san.strip_prefix("*."), domain.starts_with("*.")) {
        (Some(parent), false) => domain
            .split_once('.')
            .is_some_and(|(_, domain_parent)| domain_parent == parent),
        _ => false,
    }
}

/// Stores many certificates in one transaction (bulk imports, the
/// benchmark's 100 000-certificate store): each is checked as by
/// [`insert`] and its key sealed, and each domain's earlier rows are
/// marked replaced. A private key shared by several certificates is parsed
/// once. Nothing is stored if any of them fails its checks. Returns how
/// many were stored.
pub async fn insert_many(
    db: &Db,
    master: &MasterKey,
    new: &[NewCertificate<'_>],
    now: UnixMillis,
) -> Result<usize, StoreError> {
    let mut keys: std::collections::HashMap<&str, Arc<dyn rustls::sign::SigningKey>> =
        std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(new.len());
    for cert in new {
        let domain = normalize_domain(cert.domain)?;
        let signing = match keys.get(cert.key_pem) {
            Some(signing) => signing.clone(),
            None => {
                let signing = signing_key(cert.key_pem)?;
                keys.insert(cert.key_pem, signing.clone());
                signing
            }
        };
        let parsed = check_with_key(&domain, cert.chain_pem, signing)?;
        let sealed = master.seal(cert.key_pem.as_bytes(), domain.as_bytes());
        rows.push((domain, parsed, sealed, cert));
    }
    let mut tx = db.begin().await?;
    for (domain, parsed, sealed, cert) in &rows {
        on_tx!(&mut tx, |t| sqlx::query(
            "UPDATE certificates SET replaced_at = $2 WHERE domain = $1 AND replaced_at IS NULL"
        )
        .bind(domain)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        on_tx!(&mut tx, |t| sqlx::query(
            "INSERT INTO certificates (id, tenant_id, domain, issuer, serial, not_before, not_after, \
             chain_pem, key_encrypted, key_nonce, created_at, replaced_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)"
        )
        .bind(CertificateId::generate().to_string())
        .bind(cert.tenant)
        .bind(domain)
        .bind(cert.issuer)
        .bind(&parsed.serial)
        .bind(parsed.not_before)
        .bind(parsed.not_after)
        .bind(cert.chain_pem)
        .bind(&sealed.ciphertext)
        .bind(&sealed.nonce)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
    }
    tx.commit().await?;
    tracing::info!(count = rows.len(), "certificates stored");
    Ok(rows.len())
}

/// Stores a certificate: checks that the chain parses, that the key matches
/// the leaf and that the leaf covers the domain; seals the key (bound to the
/// domain); marks the domain's earlier rows replaced, in one transaction.
#[tracing::instrument(skip_all, fields(domain = %new.domain, issuer = %new.issuer))]
pub async fn insert(
    db: &Db,
    master: &MasterKey,
    new: &NewCertificate<'_>,
    now: UnixMillis,
) -> Result<CertificateInfo, StoreError> {
    let domain = normalize_domain(new.domain)?;
    let parsed = parse_and_check(&domain, new.chain_pem, new.key_pem)?;
    let sealed = master.seal(new.key_pem.as_bytes(), domain.as_bytes());
    let info = CertificateInfo {
        id: CertificateId::generate(),
        tenant_id: new.tenant,
        domain,
        issuer: new.issuer,
        serial: parsed.serial,
        not_before: UnixMillis(parsed.not_before),
        not_after: UnixMillis(parsed.not_after),
        created_at: now,
        replaced_at: None,
    };

    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "UPDATE certificates SET replaced_at = $2 WHERE domain = $1 AND replaced_at IS NULL"
    )
    .bind(&info.domain)
    .bind(now.0)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    on_tx!(&mut tx, |t| sqlx::query(
        "INSERT INTO certificates (id, tenant_id, domain, issuer, serial, not_before, not_after, \
         chain_pem, key_encrypted, key_nonce, created_at, replaced_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)"
    )
    .bind(info.id.to_string())
    .bind(info.tenant_id)
    .bind(&info.domain)
    .bind(info.issuer)
    .bind(&info.serial)
    .bind(info.not_before.0)
    .bind(info.not_after.0)
    .bind(new.chain_pem)
    .bind(&sealed.ciphertext)
    .bind(&sealed.nonce)
    .bind(info.created_at.0)
    .execute(&mut **t)
    .await
    .map(|_| ()))?;
    // Every node forgets the name's cached certificate at commit.
    let change = Change::Certificate {
        tenant: info.tenant_id,
        name: info.domain.clone(),
    };
    porta_core::db::changes::record(&mut tx, &change, now).await?;
    tx.commit().await?;
    tracing::info!(
        id = %info.id,
        serial = %info.serial,
        not_after = info.not_after.0,
        "certificate stored"
    );
    Ok(info)
}

const INFO_COLUMNS: &str =
    "id, tenant_id, domain, issuer, serial, not_before, not_after, created_at, replaced_at";
const FULL_COLUMNS: &str = "id, tenant_id, domain, issuer, serial, not_before, not_after, \
                            created_at, replaced_at, chain_pem, key_encrypted, key_nonce";

#[derive(FromRow)]
struct InfoRow {
    id: String,
    tenant_id: Option<TenantId>,
    domain: String,
    issuer: CertificateSource,
    serial: String,
    not_before: i64,
    not_after: i64,
    created_at: i64,
    replaced_at: Option<i64>,
}

impl InfoRow {
    fn into_info(self) -> Result<CertificateInfo, StoreError> {
        let id = self
            .id
            .parse()
            .map_err(|_| DbError::Invalid(format!("certificate id {:?} is not a UUID", self.id)))?;
        Ok(CertificateInfo {
            id,
            tenant_id: self.tenant_id,
            domain: self.domain,
            issuer: self.issuer,
            serial: self.serial,
            not_before: UnixMillis(self.not_before),
            not_after: UnixMillis(self.not_after),
            created_at: UnixMillis(self.created_at),
            replaced_at: self.replaced_at.map(UnixMillis),
        })
    }
}

#[derive(FromRow)]
struct FullRow {
    #[sqlx(flatten)]
    info: InfoRow,
    chain_pem: String,
    key_encrypted: Vec<u8>,
    key_nonce: Vec<u8>,
}

impl FullRow {
    fn into_stored(self) -> Result<StoredCertificate, StoreError> {
        Ok(StoredCertificate {
            info: self.info.into_info()?,
            chain_pem: self.chain_pem,
            key_encrypted: self.key_encrypted,
            key_nonce: self.key_nonce,
        })
    }
}

/// The certificate to serve for exactly `domain` (a host name or a
/// wildcard) at `now`: among the rows valid at `now`, one that has not been
/// replaced if there is one, then the latest `not_after`, then the newest
/// row. Expired and not-yet-valid rows are never returned.
pub async fn current_for(
    db: &Db,
    domain: &str,
    now: UnixMillis,
) -> Result<Option<StoredCertificate>, StoreError> {
    let Ok(domain) = normalize_domain(domain) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {FULL_COLUMNS} FROM certificates \
         WHERE domain = $1 AND not_before <= $2 AND not_after > $2 \
         ORDER BY CASE WHEN replaced_at IS NULL THEN 0 ELSE 1 END, not_after DESC, created_at DESC \
         LIMIT 1"
    );
    let row: Option<FullRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(&domain)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?;
    row.map(FullRow::into_stored).transpose()
}

/// The certificate for a TLS server name: the exact name first, then the
/// wildcard of its immediate parent (`a.example.com` -> `*.example.com`;
/// `a.b.example.com` -> `*.b.example.com` only, as in RFC 6125). One query
/// for both, so an unknown name costs one statement, not two; among the
/// rows of each name the order is [`current_for`]'s.
pub async fn for_server_name(
    db: &Db,
    name: &str,
    now: UnixMillis,
) -> Result<Option<StoredCertificate>, StoreError> {
    let Ok(name) = HostName::parse(name) else {
        return Ok(None);
    };
    let exact = name.as_str();
    // A single-label name has no wildcard: the exact name twice.
    let wildcard = wildcard_parent(exact).unwrap_or_else(|| exact.to_owned());
    let sql = format!(
        "SELECT {FULL_COLUMNS} FROM certificates \
         WHERE domain IN ($1, $2) AND not_before <= $3 AND not_after > $3 \
         ORDER BY CASE WHEN domain = $1 THEN 0 ELSE 1 END, \
         CASE WHEN replaced_at IS NULL THEN 0 ELSE 1 END, not_after DESC, created_at DESC \
         LIMIT 1"
    );
    let row: Option<FullRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(exact)
        .bind(&wildcard)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?;
    row.map(FullRow::into_stored).transpose()
}

/// The only wildcard that can cover `name`: `*.` and its parent; `None`
/// for a single-label name.
pub fn wildcard_parent(name: &str) -> Option<String> {
    let (_, parent) = name.split_once('.')?;
    (!parent.is_empty()).then(|| format!("*.{parent}"))
}

/// Every certificate row, by domain, newest first.
pub async fn list(db: &Db) -> Result<Vec<CertificateInfo>, StoreError> {
    let sql =
        format!("SELECT {INFO_COLUMNS} FROM certificates ORDER BY domain, not_after DESC, created_at DESC");
    let rows: Vec<InfoRow> = on_pool!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
    rows.into_iter().map(InfoRow::into_info).collect()
}

/// One certificate row with its chain and sealed key.
pub async fn get(db: &Db, id: CertificateId) -> Result<Option<StoredCertificate>, StoreError> {
    let sql = format!("SELECT {FULL_COLUMNS} FROM certificates WHERE id = $1");
    let row: Option<FullRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
    row.map(FullRow::into_stored).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_domains_and_wildcards() {
        assert_eq!(
            normalize_domain("Portal.Example.COM.").unwrap(),
            "portal.example.com"
        );
        assert_eq!(
            normalize_domain("*.Portal.localhost").unwrap(),
            "*.portal.localhost"
        );
        assert!(normalize_domain("*").is_err());
        assert!(normalize_domain("a.*.example.com").is_err());
        assert!(normalize_domain("**.example.com").is_err());
        assert!(normalize_domain("127.0.0.1").is_err());
    }

    #[test]
    fn wildcard_parent_is_one_label_up() {
        assert_eq!(
            wildcard_parent("a.portal.localhost").as_deref(),
            Some("*.portal.localhost")
        );
        assert_eq!(
            wildcard_parent("a.b.portal.localhost").as_deref(),
            Some("*.b.portal.localhost")
        );
        assert_eq!(wildcard_parent("localhost"), None);
    }

    #[test]
    fn wildcard_names_cover_one_level() {
        assert!(covers("a.example.com", "a.example.com"));
        assert!(covers("*.example.com", "a.example.com"));
        assert!(covers("*.example.com", "*.example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("a.example.com", "*.example.com"));
        assert!(!covers("b.example.com", "a.example.com"));
    }

    #[test]
    fn debug_hides_the_key() {
        let new = NewCertificate {
            tenant: None,
            domain: "a.example.com",
            issuer: CertificateSource::Imported,
            chain_pem: "",
            key_pem: "-----BEGIN PRIVATE KEY-----secret",
        };
        assert!(!format!("{new:?}").contains("secret"));
    }
}
