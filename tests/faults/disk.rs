//! SQLite on a data directory porta cannot write, and on a disk that fills
//! up while it serves.
//!
//! The tests run as root in CI, where permission bits stop nothing (root
//! writes through `chmod a-w`). What genuinely refuses root's writes on
//! this machine, and is used here:
//! - a **read-only data directory**: `chattr -R +i` (the immutable
//!   attribute, honoured for root too on ext4, the file system of the temp
//!   directory). Nothing can be created, written, renamed or chmod-ed in it;
//! - a **full disk**: a small `tmpfs` mounted on the data directory (root
//!   with `CAP_SYS_ADMIN`, as here), filled with a file up to `ENOSPC`.
//!   SQLite then fails its writes with a real `SQLITE_FULL` from the
//!   kernel's `ENOSPC`, which `PRAGMA max_page_count` would only imitate
//!   (and only on a connection the test does not own). A write that fits
//!   in pages the WAL already has needs no space (tmpfs overwrites them),
//!   so that the write under test must find space, porta is stopped, its
//!   WAL checkpointed and truncated to nothing, and porta started again
//!   before the disk is filled.
//!
//! The write after the disk has space again is what caught sqlx leaving a
//! connection that hit `SQLITE_FULL` inside a transaction for good (see
//! `porta_core::db::SqliteTx`): it fails when the pool hands that
//! connection out.
//!
//! Without root (a developer's machine) both tests say so and return.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::common::edge_client::{EdgeClient, DASHBOARD};
use crate::common::{demo_user, Store, DEMO_CUSTOM_DOMAIN};
use crate::database::open_ticket;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir` with a digest of its content, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("read the data directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read a data file");
                files.push((path, format!("{:x}", Sha256::digest(&bytes))));
            }
        }
    }
    files.sort();
    files
}

/// The immutable attribute on a directory tree, removed again on drop
/// (even when the test fails), so the temporary directory can go.
struct Immutable(PathBuf);

impl Immutable {
    fn set(dir: &Path) -> Immutable {
        run("chattr", &["-R", "+i", dir.to_str().expect("UTF-8 path")]);
        Immutable(dir.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").args(["-R", "-i"]).arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_stops_up_with_one_clear_line() {
    if !is_root() {
        eprintln!("skipped: needs root for chattr +i (permission bits are no fault for root)");
        return;
    }
    let store = Store::sqlite();
    let porta = store.up();
    let tenants = store.tenants().await.len();
    assert!(porta.stop().success());
    let before = snapshot(store.data_dir());

    let immutable = Immutable::set(store.data_dir());
    let out = store.run(&["up"], None).await;
    assert!(
        !out.status.success(),
        "porta up on a read-only data directory: {out:?}"
    );
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.starts_with("error: "), "the last line is the error: {out:?}");
    let data_dir = store.data_dir().display().to_string();
    assert!(
        last.contains(&data_dir),
        "the error names the path {data_dir}: {last}"
    );
    assert!(
        last.contains(&format!("cannot write in {data_dir}: Operation not permitted")),
        "the error says why: {last}"
    );
    eprintln!("porta up on a read-only data directory: {last}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    drop(immutable);

    // Nothing was written, not even in part.
    assert_eq!(
        snapshot(store.data_dir()),
        before,
        "porta changed its data directory"
    );
    let porta = store.up();
    assert_eq!(store.tenants().await.len(), tenants);
    drop(porta);
}

/// A tmpfs of `megabytes` mounted on `dir`, unmounted on drop (lazily, so
/// even a test that failed with a process still in it leaves no mount).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, megabytes: u32) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("create the mount point");
        let size = format!("size={megabytes}m,mode=0700");
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &size,
                "tmpfs",
                dir.to_str().expect("UTF-8 path"),
            ],
        );
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system has no space left.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("create the filler");
    let chunk = vec![0xa5u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // What a partial write left room for: one byte at a time.
    while let Ok(1) = file.write(&[0]) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_503_and_nothing_half_written() {
    if !is_root() {
        eprintln!("skipped: needs root to mount a small tmpfs");
        return;
    }
    let store = Store::sqlite_in_a_new_directory();
    let _disk = Tmpfs::mount(store.data_dir(), 48);
    // The demo, then a stop, and the WAL checkpointed and truncated to
    // nothing: the WAL porta writes next must grow, page by page, into
    // whatever space the disk has.
    drop(store.up());
    let url = store.database_url();
    let db = porta_core::db::Db::connect(&url, 1)
        .await
        .expect("open porta's database");
    if let porta_core::db::Db::Sqlite(pool) = &db {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .expect("checkpoint the WAL");
    }
    db.close().await;
    let wal = store.data_dir().join("porta.sqlite-wal");
    let wal_size = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_size, 0, "the WAL is empty before porta starts again");
    let porta = store.up();
    let edge = EdgeClient::new(&store);
    let user = demo_user(&store.demo_json(), "client");
    let handoff = edge.sign_in(&user, None).await;
    let (session, _) = edge.exchange_ok(DEMO_CUSTOM_DOMAIN, &handoff).await;
    let kept = "Written while there was space";
    let created = open_ticket(&edge, &session, kept).await;
    assert_eq!(created.status, 303, "{created:?}");

    let db = store.connect_db().await;
    let porta_core::db::Db::Sqlite(pool) = &db else {
        unreachable!("a SQLite store")
    };
    // What the refused write must leave as it was: every ticket, the
    // numbering, the notifications and the mail queued for them.
    let state = || async move {
        sqlx::query_as::<_, (i64, String, i64, i64)>(
            "SELECT (SELECT count(*) FROM tickets), \
                    (SELECT group_concat(tenant_id || ':' || next_number) FROM ticket_numbers), \
                    (SELECT count(*) FROM notifications), \
                    (SELECT count(*) FROM mail_outbox)",
        )
        .fetch_one(pool)
        .await
        .expect("read the ticket tables")
    };
    let count = |title: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tickets WHERE title = $1")
            .bind(title)
            .fetch_one(pool)
            .await
            .expect("count tickets")
    };
    let before = state().await;

    let filler = store.data_dir().join("filler");
    fill(&filler);
    let refused = "Written on a full disk";
    let full = open_ticket(&edge, &session, refused).await;
    assert_eq!(full.status, 503, "a write on a full disk: {full:?}");
    assert_eq!(full.header("retry-after"), "30");
    assert!(
        full.body.contains("its storage is full. Nothing was saved."),
        "the page says why: {}",
        full.body
    );
    // Reading still works, and the portal did not stop.
    let dashboard = edge.get(DEMO_CUSTOM_DOMAIN, DASHBOARD, Some(&session)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");

    // Space again: nothing of the refused ticket, and writes work without
    // a restart.
    std::fs::remove_file(&filler).expect("remove the filler");
    assert_eq!(state().await, before, "the refused write left something behind");
    assert_eq!(count(refused).await, 0);
    let later = "Written once there was space again";
    let after = open_ticket(&edge, &session, later).await;
    let errors = |log: String| -> String {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            .collect();
        lines.join("\n")
    };
    assert_eq!(after.status, 303, "{after:?}\n{}", errors(porta.stderr()));
    // More writes, so that every connection of the pool (the one that hit
    // the full disk among them) takes one.
    for _ in 0..4 {
        let again = open_ticket(&edge, &session, "Another one with space").await;
        assert_eq!(again.status, 303, "{again:?}\n{}", errors(porta.stderr()));
    }
    assert_eq!(count(kept).await, 1, "the acknowledged ticket is there once");
    assert_eq!(count(later).await, 1);
    assert_eq!(state().await.0, before.0 + 5);
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(pool)
        .await
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let stderr = porta.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(db);
    drop(porta);
}
