//! The master key: sealing, opening, and where the key comes from.

use base64::Engine;
use porta_certs::master_key::{MasterKey, MasterKeyError, KEY_FILE_NAME};
use porta_core::config::{Config, DEV_TOML};
use porta_core::secret::Secret;

fn config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::from_toml("test", DEV_TOML).unwrap();
    config.data_dir = data_dir.to_owned();
    config.master_key = None;
    config
}

#[test]
fn seals_and_opens() {
    let key = MasterKey::generate();
    let sealed = key.seal(b"-----BEGIN PRIVATE KEY-----", b"a.example.com");
    assert_ne!(sealed.ciphertext, b"-----BEGIN PRIVATE KEY-----".to_vec());
    assert_eq!(
        key.open(&sealed.ciphertext, &sealed.nonce, b"a.example.com")
            .unwrap(),
        b"-----BEGIN PRIVATE KEY-----".to_vec()
    );
}

#[test]
fn wrong_key_wrong_aad_or_altered_data_do_not_open() {
    let key = MasterKey::generate();
    let sealed = key.seal(b"secret key material", b"a.example.com");

    let other = MasterKey::generate();
    assert!(other
        .open(&sealed.ciphertext, &sealed.nonce, b"a.example.com")
        .is_err());
    assert!(key
        .open(&sealed.ciphertext, &sealed.nonce, b"b.example.com")
        .is_err());

    for i in 0..sealed.ciphertext.len() {
        let mut altered = sealed.ciphertext.clone();
        altered[i] ^= 0x01;
        assert!(
            key.open(&altered, &sealed.nonce, b"a.example.com").is_err(),
            "byte {i} altered"
        );
    }
    let mut nonce = sealed.nonce.clone();
    nonce[0] ^= 0x80;
    assert!(key.open(&sealed.ciphertext, &nonce, b"a.example.com").is_err());
    let truncated = &sealed.ciphertext[..sealed.ciphertext.len() - 1];
    assert!(key.open(truncated, &sealed.nonce, b"a.example.com").is_err());
}

#[test]
fn key_file_is_created_once_with_0600_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let config = config(&data_dir);

    let first = MasterKey::from_config(&config).unwrap();
    let path = data_dir.join(KEY_FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap()
            .len(),
        32
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let files: Vec<_> = std::fs::read_dir(&data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![KEY_FILE_NAME], "no temporary files left");

    let second = MasterKey::from_config(&config).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "file rewritten");
    let sealed = first.seal(b"payload", b"aad");
    assert_eq!(
        second.open(&sealed.ciphertext, &sealed.nonce, b"aad").unwrap(),
        b"payload"
    );
}

#[test]
fn concurrent_first_uses_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(KEY_FILE_NAME);
    let keys: Vec<MasterKey> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| MasterKey::load_or_create(&path).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let sealed = keys[0].seal(b"payload", b"");
    for key in &keys {
        assert_eq!(
            key.open(&sealed.ciphertext, &sealed.nonce, b"").unwrap(),
            b"payload"
        );
    }
}

#[test]
fn the_configured_key_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let from_file = MasterKey::from_config(&config).unwrap();

    let bytes = [42u8; 32];
    config.master_key = Some(Secret::new(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ));
    let configured = MasterKey::from_config(&config).unwrap();
    let sealed = MasterKey::from_bytes(&bytes).seal(b"payload", b"");
    assert_eq!(
        configured.open(&sealed.ciphertext, &sealed.nonce, b"").unwrap(),
        b"payload"
    );
    assert!(from_file.open(&sealed.ciphertext, &sealed.nonce, b"").is_err());
}

#[test]
fn bad_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.master_key = Some(Secret::new("too-short"));
    assert!(matches!(
        MasterKey::from_config(&config),
        Err(MasterKeyError::InvalidConfigured)
    ));

    config.master_key = None;
    std::fs::write(dir.path().join(KEY_FILE_NAME), "bm90IDMyIGJ5dGVz\n").unwrap();
    assert!(matches!(
        MasterKey::from_config(&config),
        Err(MasterKeyError::InvalidFile { .. })
    ));
}

#[test]
fn debug_never_shows_the_key() {
    let key = MasterKey::from_bytes(&[0xAB; 32]);
    let printed = format!("{key:?}");
    assert!(!printed.to_lowercase().contains("ab, ab") && !printed.contains("171"));
    assert!(printed.contains("redacted"));
}
