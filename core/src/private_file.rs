//! Files that hold secrets (keys, demo passwords): mode 0600, and created
//! atomically so a concurrent reader never sees a partial file.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

fn temp_beside(path: &Path) -> PathBuf {
    let mut suffix = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    path.with_file_name(format!(".{name}.{hex}.tmp"))
}

fn write_temp(path: &Path, contents: &[u8]) -> std::io::Result<PathBuf> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_beside(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Creates `path` with `contents` unless it exists; either way returns what
/// the file holds. Of several processes racing, one wins and all read its
/// complete contents (written aside, then hard-linked into place).
pub fn create_once(path: &Path, contents: &str) -> std::io::Result<String> {
    let tmp = write_temp(path, contents.as_bytes())?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(contents.to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path),
        Err(e) => Err(e),
    }
}

/// Writes (or replaces) `path` atomically with mode 0600.
pub fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = write_temp(path, contents)?;
    let renamed = std::fs::rename(&tmp, path);
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// Creates the directory `dir` (and missing parents) readable by this user
/// only (0700). An existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes sure `path` exists and only this user can read it (0600): creates
/// it empty if missing, and takes group and world access away from an
/// existing one. For files Porta owns, such as the SQLite database, whose
/// journal and WAL files SQLite creates with the database's own mode.
pub fn ensure_private(path: &Path) -> std::io::Result<()> {
    // An existing file is only chmod-ed by path, never opened: closing any
    // descriptor of a SQLite file drops every POSIX lock this process
    // holds on it (another pool's locks included).
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_writer_wins_and_mode_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/key");
        assert_eq!(create_once(&path, "one").unwrap(), "one");
        assert_eq!(create_once(&path, "two").unwrap(), "one");
        replace(&path, b"three").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let leftovers = std::fs::read_dir(dir.path().join("a")).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files left behind");
    }

    #[test]
    fn racing_creators_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || create_once(&path, &format!("value-{i}")).unwrap())
            })
            .collect();
        let seen: std::collections::HashSet<String> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(seen.len(), 1);
    }
}
