//! The master key: encrypts secrets at rest (certificate private keys, ACME
//! credentials, TOTP secrets, OpenID client secrets) with AES-256-GCM.
//!
//! The key is `security.master_key` (`PORTA_MASTER_KEY`) when configured,
//! else `<data_dir>/master.key`, created on first use with mode 0600 so a
//! single node works out of the box. Several nodes on one database must share
//! one key: configure it explicitly there. Losing the key makes every stored
//! private key unreadable (certificates are then re-issued, not recovered).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// The name of the generated key file inside the data directory.
pub const KEY_FILE_NAME: &str = "master.key";

/// Why the master key could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("security.master_key must be 32 random bytes in standard base64")]
    InvalidConfigured,
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid master key file (expected 32 bytes in standard base64)")]
    InvalidFile { path: PathBuf },
}

/// Decryption failed: the wrong key, the wrong associated data, or altered
/// ciphertext. Deliberately says no more than that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot decrypt: wrong master key, wrong context, or altered data")]
pub struct OpenError;

/// A sealed value: ciphertext with its 16-byte tag appended, and the random
/// 96-bit nonce it was sealed with. Both are stored; neither is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

/// A 256-bit AES-GCM key. `Debug` never prints it, and the raw bytes cannot
/// be read back out.
#[derive(Clone)]
pub struct MasterKey {
    key: LessSafeKey,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// The configured key, else the data directory's key file (created on
    /// first use; when another process creates it first, theirs is used).
    pub fn from_config(config: &Config) -> Result<MasterKey, MasterKeyError> {
        if let Some(secret) = &config.master_key {
            let bytes = decode(secret.expose()).ok_or(MasterKeyError::InvalidConfigured)?;
            return Ok(Self::from_bytes(&bytes));
        }
        Self::load_or_create(&config.data_dir.join(KEY_FILE_NAME))
    }

    /// The key in `path` (base64 text), created with mode 0600 when missing.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path).map_err(io)?,
            Err(e) => return Err(io(e)),
        };
        let bytes = decode(&text).ok_or_else(|| MasterKeyError::InvalidFile {
            path: path.to_owned(),
        })?;
        Ok(Self::from_bytes(&bytes))
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        // AES-256 accepts every 32-byte string: this cannot fail.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key");
        MasterKey {
            key: LessSafeKey::new(unbound),
        }
    }

    /// A fresh random key (tests, tools).
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::from_bytes(&bytes)
    }

    /// Encrypts `plaintext` under a random nonce. `aad` (e.g. the domain a
    /// private key belongs to) is authenticated but not stored: the same
    /// value must be given to [`MasterKey::open`].
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut in_out)
            // Fails only for inputs beyond GCM's ~64 GiB limit.
            .expect("plaintext within AES-GCM limits");
        Sealed {
            ciphertext: in_out,
            nonce: nonce.to_vec(),
        }
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same key and `aad`.
    pub fn open(&self, ciphertext: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| OpenError)?;
        Ok(plaintext.to_vec())
    }
}

fn decode(text: &str) -> Option<[u8; 32]> {
    let bytes = STANDARD.decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

/// Writes a new key to a temporary file and hard-links it into place, so
/// that `path` appears with its whole content at once: a process that loses
/// the race reads the winner's complete key, never a half-written file.
fn create(path: &Path) -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    crate::private_file::create_once(path, &format!("{}\n", STANDARD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::from_bytes(&[7u8; 32]);
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }

    #[test]
    fn nonces_differ_between_seals() {
        let key = MasterKey::generate();
        let a = key.seal(b"same", b"aad");
        let b = key.seal(b"same", b"aad");
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(a.nonce.len(), 12);
    }

    #[test]
    fn a_bad_nonce_length_is_an_error() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"x", b"");
        assert_eq!(key.open(&sealed.ciphertext, &[0u8; 5], b""), Err(OpenError));
        assert_eq!(key.open(&[], &sealed.nonce, b""), Err(OpenError));
    }

    #[test]
    fn decodes_only_32_bytes() {
        assert!(decode(&STANDARD.encode([1u8; 32])).is_some());
        assert!(decode(&format!(" {}\n", STANDARD.encode([1u8; 32]))).is_some());
        assert!(decode(&STANDARD.encode([1u8; 31])).is_none());
        assert!(decode("not base64!").is_none());
    }
}
