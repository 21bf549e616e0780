//! The embedded database's files are this user's only: the data directory
//! 0700, the database, its WAL and shared-memory files 0600, whatever the
//! umask; an existing world-readable database is tightened.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use porta_core::db::Db;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn database_files_are_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let path = data.join("porta.sqlite");
    let db = Db::connect(&format!("sqlite://{}", path.display()), 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert_eq!(mode(&data), 0o700, "data directory");
    for file in ["porta.sqlite", "porta.sqlite-wal", "porta.sqlite-shm"] {
        let file = data.join(file);
        assert!(
            file.exists(),
            "{} exists while the database is open",
            file.display()
        );
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    db.close().await;

    // A database another tool left world-readable is tightened on open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = Db::connect(&format!("sqlite://{}", path.display()), 2)
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    db.close().await;
}
