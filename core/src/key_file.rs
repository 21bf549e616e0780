//! Session keys when none are configured: one random key kept in
//! `<data_dir>/session-keys.toml`, created on first use with mode 0600, so
//! a single node works out of the box and restarts keep sessions valid.

use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngCore;

use crate::config::Config;
use crate::secret::Secret;
use crate::session_token::{SessionKey, SessionKeys};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid session key file: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    id: String,
    secret: Secret,
}

/// The configured keys, or the data directory's key file (created if
/// missing).
pub fn session_keys(config: &Config) -> Result<SessionKeys, KeyFileError> {
    if !config.session.keys.is_empty() {
        return SessionKeys::new(config.session.keys.clone()).map_err(|e| KeyFileError::Invalid {
            path: PathBuf::from("(config)"),
            reason: e.to_string(),
        });
    }
    let path = config.data_dir.join("session-keys.toml");
    let key = load_or_create(&path)?;
    SessionKeys::new(vec![key]).map_err(|e| KeyFileError::Invalid {
        path,
        reason: e.to_string(),
    })
}

fn load_or_create(path: &Path) -> Result<SessionKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path).map_err(io)?,
        Err(e) => return Err(io(e)),
    };
    let invalid = |reason: String| KeyFileError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let file: KeyFile = toml::from_str(&text).map_err(|e| invalid(e.message().to_owned()))?;
    SessionKey::new(&file.id, file.secret).map_err(|e| invalid(e.to_string()))
}

fn create(path: &Path) -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let text = format!(
        "# Session signing key, created by porta. Keep it secret; deleting it signs everyone out.\nid = \"local-1\"\nsecret = \"{secret}\"\n"
    );
    crate::private_file::create_once(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/session-keys.toml");
        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();
        assert_eq!(first.id, second.id);
        let keys = SessionKeys::new(vec![first]).unwrap();
        assert_eq!(keys.signing_key_id(), "local-1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session-keys.toml");
        std::fs::write(&path, "id = 1").unwrap();
        assert!(matches!(load_or_create(&path), Err(KeyFileError::Invalid { .. })));
        std::fs::write(&path, "id = \"k\"\nsecret = \"short\"").unwrap();
        assert!(matches!(load_or_create(&path), Err(KeyFileError::Invalid { .. })));
    }
}
