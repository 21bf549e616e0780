//! Test helpers shared by every crate's tests.
//!
//! [`TestDb`] gives a fresh, migrated database on either backend: a SQLite
//! file in a temporary directory, or a PostgreSQL database with a random name
//! on 127.0.0.1:5432 (another server through `TEST_PG_ADMIN_URL`), dropped
//! when the handle is dropped, even after a panic. [`both_backends!`] turns one async test body into a SQLite test and
//! a PostgreSQL test.

pub mod dns;
pub mod oidc;
pub mod pebble;
pub mod pg_cluster;
pub mod smtp;

use std::path::PathBuf;

use porta_core::db::Db;
use sqlx::{Connection, PgConnection};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use, as an admin URL (to the `test`
/// database, from which test databases are created and dropped).
pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh database, removed on drop.
pub struct TestDb {
    pub db: Db,
    /// The URL the database is reachable at, for child processes.
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh database with every migration applied.
    pub async fn new(backend: Backend) -> TestDb {
        let t = Self::unmigrated(backend).await;
        t.db.migrate().await.expect("migrate");
        t
    }

    /// The PostgreSQL database at `url`, migrated, on a server the test owns
    /// (a [`pg_cluster::PgCluster`], which removes it): nothing is dropped
    /// when the handle is.
    pub async fn postgres_at(url: &str) -> TestDb {
        let db = Db::connect(url, 4).await.expect("open postgres");
        db.migrate().await.expect("migrate");
        TestDb {
            db,
            url: url.to_owned(),
            backend: Backend::Postgres,
            _dir: None,
            pg_name: None,
        }
    }

    /// A fresh, empty database (for tests of the migrations themselves).
    pub async fn unmigrated(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("db.sqlite");
                let url = format!("sqlite://{}", path.display());
                let db = Db::connect(&url, 8).await.expect("open sqlite");
                TestDb {
                    db,
                    url,
                    backend,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL on 127.0.0.1:5432 (is it running?)");
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let url = replace_database(&admin, &name);
                let db = Db::connect(&url, 8).await.expect("open postgres");
                TestDb {
                    db,
                    url,
                    backend,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Applies the migrations up to and including version `last` (for tests
    /// of what a later migration does to data an earlier schema holds).
    pub async fn migrate_to(&self, last: i64) {
        let full = self.db.migrator();
        let mut partial = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                full.migrations
                    .iter()
                    .filter(|m| m.version <= last)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        partial.set_locking(full.locking);
        porta_core::on_pool!(&self.db, |pool| partial.run(pool).await).expect("partial migration");
    }
}

/// `admin` with its database path replaced by `name`.
pub fn replace_database(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let db = self.db.clone();
        // Drop runs inside the test's runtime, which may be shutting down:
        // clean up on a thread with a runtime of its own.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                db.close().await;
                if let Ok(mut conn) = PgConnection::connect(&pg_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Generates `mod $name { sqlite, postgres }`, each running `$body` (an async
/// fn taking a [`TestDb`]) on a fresh database of that backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident => $body:ident;)+) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDb::new($crate::Backend::Sqlite).await;
                super::$body(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::TestDb::new($crate::Backend::Postgres).await;
                super::$body(db).await;
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", "t_1"),
            "postgres://postgres@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h:1/test?sslmode=disable", "t_2"),
            "postgres://u:p@h:1/t_2?sslmode=disable"
        );
    }
}
