//! A PostgreSQL server of a test's own, which the test may stop and start
//! again (fault tests: the database going away under a running porta).
//!
//! [`PgCluster::start`] runs `initdb` into a temporary directory and
//! `pg_ctl start` on a free port of 127.0.0.1, with trust authentication
//! for the `postgres` role. The binaries come from `PG_BIN` or the newest
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root: when the
//! tests are root (as in CI), every command runs as the `postgres` user
//! through `runuser`, in a directory that user owns. [`PgCluster::stop`]
//! and [`PgCluster::restart`] keep the port and the data directory, so a
//! client sees the same server come back with its data. Dropping the
//! handle stops the server (immediately) and removes the directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How the server is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// `pg_ctl stop -m fast`: sessions are disconnected, a clean shutdown.
    Fast,
    /// `pg_ctl stop -m immediate`: like a crash (recovery at the next
    /// start replays the WAL; what was committed survives).
    Immediate,
}

impl StopMode {
    fn as_str(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

/// A running (or stopped) server; see the module documentation.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

impl PgCluster {
    /// Creates and starts a fresh server; panics with the tools' output if
    /// it cannot.
    pub fn start() -> PgCluster {
        let bin = pg_bin();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("porta-pg-")
            .tempdir()
            .expect("temp dir for PostgreSQL");
        if as_postgres {
            run_checked(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let port = free_port();
        let mut cluster = PgCluster {
            dir,
            bin,
            port,
            as_postgres,
            running: false,
        };
        let data = cluster.data_dir();
        cluster.pg(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` as the `postgres` superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `name` (a plain identifier) and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.pg(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("CREATE DATABASE \"{name}\""),
            ],
        );
        self.url(name)
    }

    /// Stops the server (`pg_ctl stop -m MODE`, waiting until it is down).
    pub fn stop(&mut self, mode: StopMode) {
        let data = self.data_dir();
        self.pg(
            "pg_ctl",
            &["-D", path_str(&data), "-m", mode.as_str(), "-w", "stop"],
        );
        self.running = false;
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn start_again(&mut self) {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let socket_dir = self.dir.path();
        let options = format!(
            "-p {} -h 127.0.0.1 -k {} -c max_connections=200",
            self.port,
            socket_dir.display()
        );
        self.pg(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        self.running = true;
    }

    /// The server's own log so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when root); panics
    /// with its output when it fails.
    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let tool = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&tool);
            cmd
        } else {
            Command::new(&tool)
        };
        cmd.args(args).current_dir(self.dir.path());
        // The test's own PG* variables must not redirect the tools.
        for var in ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGDATA"] {
            cmd.env_remove(var);
        }
        run_checked(&mut cmd)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            let tool = self.bin.join("pg_ctl");
            let mut cmd = if self.as_postgres {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", "postgres", "--"]).arg(tool);
                cmd
            } else {
                Command::new(tool)
            };
            let _ = cmd
                .args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn run_checked(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `PG_BIN`, or the newest `/usr/lib/postgresql/<version>/bin`.
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (set PG_BIN)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}
