//! The local CA: certificates for development and private deployments, where
//! no public ACME CA can reach the edge.
//!
//! The CA lives in one directory (the caller passes `<data_dir>/local-ca`):
//! `root.pem`, the CA certificate the edge's users add to their trust store,
//! and `root.key`, its private key (mode 0600). Both are created on first
//! use and reused afterwards; a file that exists but does not parse is an
//! error, never silently replaced (that would invalidate every browser's
//! trust in the old root).
//!
//! Keys are ECDSA P-256. Issued certificates carry the root after the leaf,
//! so clients that trust the root verify them directly. Which names it signs
//! for Porta, and when they are renewed, is [`crate::policy`].

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use porta_core::clock::UnixMillis;
use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use crate::store::{self, StoreError};

pub const ROOT_CERT_FILE: &str = "root.pem";
pub const ROOT_KEY_FILE: &str = "root.key";
/// Validity of the certificates the local CA issues for Porta's own use
/// (see [`crate::policy`]).
pub const DEFAULT_LEAF_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);
/// Validity of a new root.
const ROOT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Certificates start this long before they are issued, for clock skew.
const BACKDATE: Duration = Duration::from_secs(3600);
/// How long to wait for another process that is creating the CA.
const CREATION_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum LocalCaError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is corrupt: {reason} (restore it, or remove both root.pem and root.key to create a new CA that clients must trust again)")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{present} exists without {missing} (restore it, or remove {present} to create a new CA)")]
    Incomplete { present: PathBuf, missing: PathBuf },
    #[error("cannot issue a certificate for {0:?}: not a host name or wildcard")]
    InvalidName(String),
    #[error("cannot issue a certificate without names")]
    NoNames,
    #[error("validity out of range")]
    InvalidValidity,
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A certificate issued by the local CA. `Debug` hides the key.
#[derive(Clone)]
pub struct IssuedCertificate {
    /// The leaf, then the root.
    pub chain_pem: String,
    /// The leaf's PKCS#8 private key.
    pub key_pem: String,
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("chain_pem", &self.chain_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// The loaded CA. `Debug` hides the key.
pub struct LocalCa {
    dir: PathBuf,
    root_pem: String,
    root_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCa")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl LocalCa {
    /// Loads the CA from `dir`, creating it (and `dir`) when neither file
    /// exists. When another process is creating it at the same time, its CA
    /// is used.
    pub fn load_or_create(dir: &Path) -> Result<LocalCa, LocalCaError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| LocalCaError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let cert_path = dir.join(ROOT_CERT_FILE);
        let key_path = dir.join(ROOT_KEY_FILE);
        if !key_path.exists() && !cert_path.exists() {
            create(dir)?;
        }
        // A creator links the key first and renames the certificate in
        // right after: give a concurrent one a moment to finish.
        let deadline = std::time::Instant::now() + CREATION_WAIT;
        while key_path.exists() && !cert_path.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        match (key_path.exists(), cert_path.exists()) {
            (true, false) => Err(LocalCaError::Incomplete {
                present: key_path,
                missing: cert_path,
            }),
            (false, true) => Err(LocalCaError::Incomplete {
                present: cert_path,
                missing: key_path,
            }),
            _ => load(dir, &cert_path, &key_path),
        }
    }

    /// The directory holding `root.pem` and `root.key`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root certificate as PEM: what clients must trust.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    pub fn root_der(&self) -> &CertificateDer<'static> {
        &self.root_der
    }

    /// Issues a leaf for `names` (DNS names, wildcards allowed; the first is
    /// also the subject CN), valid from now (backdated an hour for clock
    /// skew) for `validity`.
    pub fn issue(&self, names: &[String], validity: Duration) -> Result<IssuedCertificate, LocalCaError> {
        self.issue_at(names, UnixMillis::now(), validity)
    }

    /// [`LocalCa::issue`] as of `now` instead of the clock.
    pub fn issue_at(
        &self,
        names: &[String],
        now: UnixMillis,
        validity: Duration,
    ) -> Result<IssuedCertificate, LocalCaError> {
        let names = names
            .iter()
            .map(|n| store::normalize_domain(n).map_err(|_| LocalCaError::InvalidName(n.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let first = names.first().ok_or(LocalCaError::NoNames)?.clone();

        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, first);
        params.subject_alt_names = names
            .into_iter()
            .map(|n| {
                n.clone()
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|_| LocalCaError::InvalidName(n))
            })
            .collect::<Result<_, _>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        let (not_before, not_after) = window(now, validity)?;
        params.not_before = not_before;
        params.not_after = not_after;

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let leaf = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCertificate {
            chain_pem: format!("{}{}", leaf.pem(), self.root_pem),
            key_pem: key.serialize_pem(),
        })
    }
}

/// `not_before` (backdated) and `not_after` for a certificate issued at `now`.
fn window(now: UnixMillis, validity: Duration) -> Result<(OffsetDateTime, OffsetDateTime), LocalCaError> {
    let now =
        OffsetDateTime::from_unix_timestamp(now.as_seconds()).map_err(|_| LocalCaError::InvalidValidity)?;
    let validity = time::Duration::try_from(validity).map_err(|_| LocalCaError::InvalidValidity)?;
    let backdate = time::Duration::try_from(BACKDATE).map_err(|_| LocalCaError::InvalidValidity)?;
    let not_before = now.checked_sub(backdate).ok_or(LocalCaError::InvalidValidity)?;
    let not_after = now.checked_add(validity).ok_or(LocalCaError::InvalidValidity)?;
    Ok((not_before, not_after))
}

/// 16 random bytes, positive and without a leading zero byte.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&bytes)
}

/// A label for this machine in the root's name, so that a user who trusts
/// several local CAs can tell them apart.
fn machine_label() -> String {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let hostname: String = hostname
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    if hostname.is_empty() {
        let mut bytes = [0u8; 4];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        hostname
    }
}

/// Creates a new root in `dir` unless another process wins the race: the
/// key is written to a temporary file and hard-linked to `root.key` (which
/// fails if it exists), then the certificate is renamed into place.
fn create(dir: &Path) -> Result<(), LocalCaError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("Porta Local CA ({})", machine_label()),
    );
    params.distinguished_name.push(DnType::OrganizationName, "Porta");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    let (not_before, not_after) = window(UnixMillis::now(), ROOT_VALIDITY)?;
    params.not_before = not_before;
    params.not_after = not_after;
    let root = params.self_signed(&key)?;

    let suffix = {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let tmp_key = dir.join(format!(".{ROOT_KEY_FILE}.{suffix}.tmp"));
    let tmp_cert = dir.join(format!(".{ROOT_CERT_FILE}.{suffix}.tmp"));
    let result = (|| {
        write_new(&tmp_key, key.serialize_pem().as_bytes(), 0o600)?;
        write_new(&tmp_cert, root.pem().as_bytes(), 0o644)?;
        match std::fs::hard_link(&tmp_key, dir.join(ROOT_KEY_FILE)) {
            Ok(()) => {
                std::fs::rename(&tmp_cert, dir.join(ROOT_CERT_FILE))
                    .map_err(|e| (dir.join(ROOT_CERT_FILE), e))?;
                tracing::info!(dir = %dir.display(), "created the local CA");
                Ok(())
            }
            // Another process created the CA first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err((dir.join(ROOT_KEY_FILE), e)),
        }
    })();
    let _ = std::fs::remove_file(&tmp_key);
    let _ = std::fs::remove_file(&tmp_cert);
    result.map_err(|(path, source)| LocalCaError::Io { path, source })
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), (PathBuf, std::io::Error)> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let err = |e| (path.to_owned(), e);
    let mut file = options.open(path).map_err(err)?;
    file.write_all(contents).map_err(err)?;
    file.sync_all().map_err(err)
}

fn load(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<LocalCa, LocalCaError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| LocalCaError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let corrupt = |path: &Path, reason: &str| LocalCaError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };

    let key_pem = read(key_path)?;
    let key =
        KeyPair::from_pem(&key_pem).map_err(|_| corrupt(key_path, "not a PEM private key rcgen can use"))?;
    drop(key_pem);
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(key_path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %key_path.display(), "the local CA key is readable by other users; chmod 600 it");
        }
    }

    let root_pem = read(cert_path)?;
    let root_der = CertificateDer::from_pem_slice(root_pem.as_bytes())
        .map_err(|_| corrupt(cert_path, "not a PEM certificate"))?;
    {
        let (_, cert) = x509_parser::parse_x509_certificate(&root_der)
            .map_err(|_| corrupt(cert_path, "the certificate does not parse"))?;
        if !cert.is_ca() {
            return Err(corrupt(cert_path, "not a CA certificate"));
        }
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(corrupt(cert_path, "the certificate does not belong to root.key"));
        }
    }
    let issuer = Issuer::from_ca_cert_der(&root_der, key).map_err(|e| corrupt(cert_path, &e.to_string()))?;
    Ok(LocalCa {
        dir: dir.to_owned(),
        root_pem,
        root_der: root_der.into_owned(),
        issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_and_minimal() {
        for _ in 0..64 {
            let serial = random_serial().to_bytes();
            assert_eq!(serial.len(), 16);
            assert!(serial[0] != 0 && serial[0] < 0x80);
        }
    }

    #[test]
    fn machine_label_is_printable() {
        let label = machine_label();
        assert!(!label.is_empty());
        assert!(label.chars().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn window_is_backdated() {
        let now = UnixMillis::from_seconds(1_800_000_000);
        let (nb, na) = window(now, Duration::from_secs(60)).unwrap();
        assert_eq!(nb.unix_timestamp(), 1_800_000_000 - 3600);
        assert_eq!(na.unix_timestamp(), 1_800_000_060);
    }
}
