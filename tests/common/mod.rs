//! Helpers for tests that run the real `porta` binary.
//!
//! A [`Store`] is where one test's porta keeps its state: a fresh data
//! directory and, on PostgreSQL, the URL of a fresh [`TestDb`] (on SQLite
//! porta uses its default, `<data-dir>/porta.sqlite`), and the free ports
//! its listeners use. From a store a test runs one-shot commands
//! ([`Store::run`]) or starts a server ([`Store::up`], [`Store::portal`]): a
//! child process in its own process group, stopped with SIGTERM (then
//! SIGKILL) on drop. A running [`Porta`] hands out [`SiteClient`]s that
//! speak plain HTTP to the portal for one tenant host, as the edge does,
//! with cookies handled by hand.
//!
//! Porta runs with its built-in development configuration: browsers reach
//! the edge over HTTPS (certificates from the local CA in the data
//! directory), so links are `https://<host>:<edge HTTPS port>` and the
//! session cookie is `__Secure-authjs.session-token`. Children get a clean
//! environment: every `PORTA_*` variable of the test process (and
//! `RUST_LOG`) is removed, so only what a test sets reaches the binary.
//!
//! [`in_process`] runs the same `porta up` inside the test process on port 0
//! instead, for tests that need no process of their own.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

pub mod acme_world;
pub mod browser;
pub mod edge_client;
pub mod forms;
pub mod h2_frames;
pub mod in_process;
pub mod propagation;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use porta_testkit::{Backend, TestDb};
use serde_json::Value;

/// How long a server may take from spawn to answering `/healthz`.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a one-shot command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a server may take to exit after SIGTERM.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// The session cookie's name when browsers reach porta over HTTPS (the
/// development configuration: through the edge).
pub const SESSION_COOKIE: &str = "__Secure-authjs.session-token";
/// Its attributes on sign-in (24 h sessions).
pub const SESSION_COOKIE_ATTRIBUTES: &str = " HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=86400";
/// The demo tenant `porta up` seeds, and its active custom domain.
pub const DEMO_SLUG: &str = "acme";
pub const DEMO_CUSTOM_DOMAIN: &str = "portal.acme-it.localhost";

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Sends `signal` (`TERM`, `KILL`) to the process group `pgid`. Through
/// `sh`'s built-in `kill`: no `unsafe`, and no dependency on procps.
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -{signal} -{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether config/porta.example.toml (which documents every variable porta
/// accepts) names the environment variable `name`.
fn documented_env_var(name: &str) -> bool {
    static EXAMPLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let example = EXAMPLE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/porta.example.toml");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    });
    example
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word == name)
}

/// Every listener of `cmd` on the ports of `ports` (the development config
/// has fixed ports, which tests running side by side would fight over), and
/// the edge in front of that portal. Only variables that
/// config/porta.example.toml documents are set: porta rejects unknown
/// `PORTA_*` variables, and a core test keeps that file and porta's list in
/// step.
fn set_ports(cmd: &mut Command, ports: Ports) {
    let Ports {
        portal,
        edge_http,
        edge_https,
        metrics,
    } = ports;
    let overrides = [
        ("PORTA_PORTAL_LISTEN", format!("127.0.0.1:{portal}")),
        ("PORTA_PORTAL_PUBLIC_PORT", portal.to_string()),
        ("PORTA_EDGE_HTTP_LISTEN", format!("127.0.0.1:{edge_http}")),
        ("PORTA_EDGE_HTTPS_LISTEN", format!("127.0.0.1:{edge_https}")),
        ("PORTA_EDGE_UPSTREAMS", format!("127.0.0.1:{portal}")),
        ("PORTA_METRICS_LISTEN", format!("127.0.0.1:{metrics}")),
    ];
    for (name, value) in overrides {
        if documented_env_var(name) {
            cmd.env(name, value);
        }
    }
}

/// Removes every variable porta reads from the environment of `cmd`.
fn scrub_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("PORTA_") || name == "PORTAL_DOMAIN_DNS_CHECK" || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.env("NO_COLOR", "1");
}

/// What a one-shot command did.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts exit code 0 and an empty `error:`-free stderr; returns stdout.
    #[track_caller]
    pub fn success(&self) -> &str {
        assert!(
            self.status.success(),
            "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("error:"),
            "stderr of a successful command:\n{}",
            self.stderr
        );
        &self.stdout
    }

    /// Asserts success and that stdout is exactly one JSON object; returns it.
    #[track_caller]
    pub fn json(&self) -> serde_json::Map<String, Value> {
        let stdout = self.success();
        assert_eq!(stdout.lines().count(), 1, "--json must print one line:\n{stdout}");
        match serde_json::from_str::<Value>(stdout) {
            Ok(Value::Object(map)) => map,
            other => panic!("--json printed no JSON object: {other:?}\n{stdout}"),
        }
    }

    /// Asserts the command failed with `code`, printed nothing on stdout and
    /// one message on stderr starting `error: `; returns that message.
    #[track_caller]
    pub fn failure(&self, code: i32) -> &str {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert_eq!(self.stdout, "", "a failed command printed on stdout");
        assert!(
            self.stderr.starts_with("error: "),
            "stderr must start with `error: `:\n{}",
            self.stderr
        );
        &self.stderr
    }
}

/// The ports one store's servers listen on, all on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The portal core (plain HTTP).
    pub portal: u16,
    /// The edge's plain HTTP listener (ACME, redirects, `/healthz`).
    pub edge_http: u16,
    /// The edge's TLS listener: the port in every link porta prints.
    pub edge_https: u16,
    pub metrics: u16,
}

impl Ports {
    /// Fresh free ports for every listener, all different: the four
    /// listeners are held until all are picked, so the OS cannot hand the
    /// same port out twice (it did: portal and edge on one port).
    pub fn fresh() -> Ports {
        let held: Vec<TcpListener> = (0..4)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
            .collect();
        let port = |i: usize| held[i].local_addr().expect("local addr").port();
        Ports {
            portal: port(0),
            edge_http: port(1),
            edge_https: port(2),
            metrics: port(3),
        }
    }
}

/// One test's porta state: data directory, database and ports.
pub struct Store {
    pub backend: Backend,
    dir: tempfile::TempDir,
    /// The data directory: `dir` itself, or a directory in it that porta
    /// creates.
    data: PathBuf,
    /// `None`: porta's default SQLite file in the data directory.
    database_url: Option<String>,
    pub ports: Ports,
}

impl Store {
    /// A fresh store on `db`'s backend. On PostgreSQL porta uses `db`'s
    /// database (so `db` must outlive the store's processes); on SQLite it
    /// uses its default file under the fresh data directory.
    pub fn new(db: &TestDb) -> Store {
        let database_url = match db.backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(db.url.clone()),
        };
        let dir = tempfile::tempdir().expect("temp data dir");
        Store {
            backend: db.backend,
            data: dir.path().to_owned(),
            dir,
            database_url,
            ports: Ports::fresh(),
        }
    }

    /// A fresh SQLite store (porta's default database).
    pub fn sqlite() -> Store {
        let dir = tempfile::tempdir().expect("temp data dir");
        Store {
            backend: Backend::Sqlite,
            data: dir.path().to_owned(),
            dir,
            database_url: None,
            ports: Ports::fresh(),
        }
    }

    /// A fresh SQLite store whose data directory does not exist yet: porta
    /// creates it (tests of how it does).
    pub fn sqlite_in_a_new_directory() -> Store {
        let dir = tempfile::tempdir().expect("temp dir");
        Store {
            backend: Backend::Sqlite,
            data: dir.path().join("data"),
            dir,
            database_url: None,
            ports: Ports::fresh(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The database porta uses: the URL it was given, or its default SQLite
    /// file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir().join("porta.sqlite").display()),
        }
    }

    /// A small pool on the store's database, for tests that change rows as
    /// another porta process would. Porta must have created (and migrated)
    /// the database first: call after [`Store::up`].
    ///
    /// The pool connects lazily and touches no file itself. (Closing any
    /// descriptor of a SQLite file drops every POSIX lock this process
    /// holds on it, including those of an in-process porta's connections —
    /// SQLite's documented caveat — so nothing here may open the file
    /// outside SQLite; `Db::connect` only chmods an existing file.)
    pub async fn connect_db(&self) -> porta_core::db::Db {
        let url = self.database_url();
        if self.database_url.is_none() {
            let file = self.data_dir().join("porta.sqlite");
            assert!(file.exists(), "porta has not created {} yet", file.display());
        }
        let db = porta_core::db::Db::connect_lazy(&url, 4)
            .unwrap_or_else(|e| panic!("cannot open porta's database {url}: {e}"));
        porta_core::db::tenants::count(&db)
            .await
            .unwrap_or_else(|e| panic!("cannot read porta's database {url}: {e}"));
        db
    }

    /// `https://<host>:<edge HTTPS port>`: how browsers reach `host`.
    pub fn https_origin(&self, host: &str) -> String {
        format!("https://{host}:{}", self.ports.edge_https)
    }

    /// `porta` with the store's data directory, database and ports.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_porta"));
        scrub_env(&mut cmd);
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .current_dir(self.dir.path());
        if let Some(url) = &self.database_url {
            cmd.env("PORTA_DATABASE_URL", url);
        }
        set_ports(&mut cmd, self.ports);
        cmd
    }

    /// Runs `porta ARGS` to completion with `stdin` (none: empty).
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Outcome {
        run_command(self.command(args), stdin).await
    }

    /// Starts `porta up` and waits until it serves.
    pub fn up(&self) -> Porta {
        self.start("up", &[])
    }

    /// Starts `porta portal` and waits until it serves.
    pub fn portal(&self) -> Porta {
        self.start("portal", &[])
    }

    /// Starts `porta COMMAND` with extra environment and waits until it
    /// serves: `porta: portal listening on ...` printed, the portal's
    /// `/healthz` answering and, for `up`, the edge's too.
    pub fn start(&self, command: &str, env: &[(&str, &str)]) -> Porta {
        let mut cmd = self.command([command]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Porta::spawn(cmd, self.data_dir().to_owned(), self.ports, command == "up")
    }

    /// [`Store::start`] without the `PORTA_EDGE_UPSTREAMS` every other
    /// child gets: the edge's upstream is left to porta.
    pub fn start_with_default_upstreams(&self, command: &str, env: &[(&str, &str)]) -> Porta {
        let mut cmd = self.command([command]);
        cmd.env_remove("PORTA_EDGE_UPSTREAMS");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Porta::spawn(cmd, self.data_dir().to_owned(), self.ports, command == "up")
    }

    /// `<data-dir>/demo.json`, parsed.
    pub fn demo_json(&self) -> Value {
        let path = self.data_dir().join("demo.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("demo.json: {e}\n{text}"))
    }

    /// `porta tenant list --json`.
    pub async fn tenants(&self) -> Vec<Value> {
        let out = self.run(&["tenant", "list", "--json"], None).await;
        let stdout = out.success();
        match serde_json::from_str(stdout) {
            Ok(Value::Array(rows)) => rows,
            other => panic!("tenant list --json: {other:?}\n{stdout}"),
        }
    }
}

/// Runs `cmd` in its own process group with a bounded wait.
pub async fn run_command(cmd: Command, stdin: Option<&str>) -> Outcome {
    use tokio::io::AsyncWriteExt;
    let shown = format!("{cmd:?}");
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn porta");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        // The command may exit before reading (on argument errors).
        let _ = pipe.write_all(text.as_bytes()).await;
    }
    drop(pipe);
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{shown} did not finish within {COMMAND_TIMEOUT:?}"))
        .expect("wait for porta");
    Outcome {
        status: output.status,
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// Everything a child printed on stdout so far, filled by a reader thread.
#[derive(Default)]
struct Captured {
    text: Mutex<(String, bool)>,
    changed: Condvar,
}

/// A running `porta up` / `porta portal`.
pub struct Porta {
    child: Child,
    stdout: Arc<Captured>,
    /// stderr goes to a file, so it can be read at any time.
    stderr_path: PathBuf,
    _log_dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    /// The portal core.
    pub addr: SocketAddr,
    pub ports: Ports,
}

impl Porta {
    /// Starts `cmd` in its own process group with stdout captured and
    /// stderr in a file; does not wait for it.
    fn launch(mut cmd: Command, data_dir: PathBuf, ports: Ports) -> Porta {
        let log_dir = tempfile::tempdir().expect("temp log dir");
        let stderr_path = log_dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create stderr log");
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawn porta");
        let pipe = child.stdout.take().expect("stdout");
        let stdout = Arc::new(Captured::default());
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = String::new();
            loop {
                line.clear();
                let done = !matches!(reader.read_line(&mut line), Ok(n) if n > 0);
                let mut text = sink.text.lock().unwrap();
                text.0.push_str(&line);
                text.1 = done;
                sink.changed.notify_all();
                if done {
                    break;
                }
            }
        });
        Porta {
            child,
            stdout,
            stderr_path,
            _log_dir: log_dir,
            data_dir,
            addr: SocketAddr::from(([127, 0, 0, 1], ports.portal)),
            ports,
        }
    }

    fn spawn(cmd: Command, data_dir: PathBuf, ports: Ports, with_edge: bool) -> Porta {
        let mut porta = Porta::launch(cmd, data_dir, ports);
        porta.wait_until_serving(with_edge);
        porta
    }

    fn wait_until_serving(&mut self, with_edge: bool) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let expected = format!("porta: portal listening on http://{}\n", self.addr);
        self.wait_stdout_until(deadline, |out| out.contains("portal listening on"));
        let out = self.stdout();
        if !out.starts_with(&expected) {
            self.fail(&format!("stdout must start with {expected:?}"));
        }
        let mut probes = vec![self.addr];
        if with_edge {
            probes.push(SocketAddr::from(([127, 0, 0, 1], self.ports.edge_http)));
        }
        for probe in probes {
            loop {
                if let Ok(Some(status)) = self.child.try_wait() {
                    self.fail(&format!("porta exited early with {status}"));
                }
                if healthz_ok(probe) {
                    break;
                }
                if Instant::now() > deadline {
                    self.fail(&format!("/healthz on {probe} did not answer 200 in time"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Waits (bounded) until stdout satisfies `ready`; panics with the
    /// child's output if it exits or the deadline passes first.
    fn wait_stdout_until(&mut self, deadline: Instant, ready: impl Fn(&str) -> bool) {
        let captured = self.stdout.clone();
        let mut text = captured.text.lock().unwrap();
        loop {
            if ready(&text.0) {
                return;
            }
            if text.1 {
                drop(text);
                let _ = self.child.wait();
                self.fail("porta closed stdout (exited?)");
            }
            let now = Instant::now();
            if now >= deadline {
                drop(text);
                self.fail("timed out waiting for output");
            }
            let wait = (deadline - now).min(Duration::from_millis(200));
            text = captured.changed.wait_timeout(text, wait).unwrap().0;
        }
    }

    /// Waits up to `timeout` for `needle` on stdout.
    pub fn wait_stdout_contains(&mut self, needle: &str, timeout: Duration) {
        self.wait_stdout_until(Instant::now() + timeout, |out| out.contains(needle));
    }

    #[track_caller]
    fn fail(&self, why: &str) -> ! {
        panic!(
            "porta ({}): {why}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.addr,
            self.stdout(),
            self.stderr()
        );
    }

    /// What the child printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text.lock().unwrap().0.clone()
    }

    /// What the child logged on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A client for the portal on the tenant host `<slug>.portal.localhost`,
    /// which browsers reach through this store's edge.
    pub fn site(&self, slug: &str) -> SiteClient {
        SiteClient::behind_edge(
            &format!("{slug}.portal.localhost"),
            self.addr,
            self.ports.edge_https,
        )
    }

    /// A plain-HTTP client for `http://127.0.0.1:<port>` (no tenant host).
    pub fn plain(&self, port: u16) -> SiteClient {
        SiteClient::new("127.0.0.1", SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Stops the server with SIGTERM and returns its exit status (panics if
    /// it does not exit within [`SHUTDOWN_TIMEOUT`]).
    pub fn stop(mut self) -> ExitStatus {
        signal_group(self.child.id(), "TERM");
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for porta") {
                return status;
            }
            if Instant::now() > deadline {
                self.fail("did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Porta {
    /// The child's process id (also its process group's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server's process group with SIGKILL (no shutdown of any
    /// kind: a crash) and returns its exit status once it is gone.
    pub fn kill(mut self) -> ExitStatus {
        signal_group(self.child.id(), "KILL");
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for porta") {
                return status;
            }
            if Instant::now() > deadline {
                self.fail("did not exit after SIGKILL");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Porta {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pgid = self.child.id();
        signal_group(pgid, "TERM");
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(pgid, "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /healthz` on 127.0.0.1 answers 200 (a plain, blocking probe).
fn healthz_ok(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200 ")
}

/// A signed-in session: the token of the session cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
}

impl Session {
    /// The `Cookie` request header that carries the session.
    pub fn cookie_header(&self) -> String {
        format!("{SESSION_COOKIE}={}", self.token)
    }
}

/// One HTTP response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The only value of header `name`; panics when it is missing or repeated.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        let values: Vec<_> = self.headers.get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "expected one {name} header: {self:?}");
        values[0].to_str().expect("ASCII header")
    }

    #[track_caller]
    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("ASCII Set-Cookie").to_owned())
            .collect()
    }

    /// The text of the element with `id` in the HTML body (up to its first
    /// child tag or closing tag); `None` when there is no such element.
    pub fn text_of(&self, id: &str) -> Option<&str> {
        let marker = format!("id=\"{id}\"");
        let at = self.body.find(&marker)?;
        let rest = &self.body[at..];
        let start = rest.find('>')? + 1;
        let end = rest[start..].find('<')?;
        Some(rest[start..start + end].trim())
    }

    /// Asserts a 303 to exactly `location`.
    #[track_caller]
    pub fn assert_see_other(&self, location: &str) {
        assert_eq!(self.status, 303, "expected 303 to {location}: {self:?}");
        assert_eq!(self.location(), location, "{self:?}");
    }
}

/// Plain HTTP to one host, resolved to a server's address. No redirects are
/// followed and no cookies are kept: tests see every step. Requests to the
/// portal come from 127.0.0.1, a trusted proxy in the development config,
/// so the portal treats them as the edge's (HTTPS for the browser): forms
/// are posted as a browser on [`SiteClient::browser_origin`] would, with
/// that Origin and the CSRF token of the page the form is on.
pub struct SiteClient {
    http: reqwest::Client,
    /// `http://<host>:<port>`.
    pub origin: String,
    /// The origin browsers see this host at (what they send as `Origin`):
    /// `https://<host>:<edge HTTPS port>` for a tenant host behind the
    /// edge, else [`SiteClient::origin`].
    pub browser_origin: String,
}

impl SiteClient {
    pub fn new(host: &str, addr: SocketAddr) -> SiteClient {
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(30));
        if host.parse::<std::net::IpAddr>().is_err() {
            http = http.resolve(host, addr);
        }
        let http = http.build().expect("HTTP client");
        let origin = format!("http://{host}:{}", addr.port());
        SiteClient {
            http,
            browser_origin: origin.clone(),
            origin,
        }
    }

    /// A client for the tenant host `host` of a portal at `addr`, which
    /// browsers reach through the edge on `https_port`.
    pub fn behind_edge(host: &str, addr: SocketAddr, https_port: u16) -> SiteClient {
        SiteClient {
            browser_origin: format!("https://{host}:{https_port}"),
            ..SiteClient::new(host, addr)
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, cookie: Option<&str>) -> Reply {
        let request = match cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        let response = request.send().await.expect("HTTP request to porta");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("HTTP body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path`, with the session cookie when given.
    pub async fn get(&self, path: &str, session: Option<&Session>) -> Reply {
        let cookie = session.map(Session::cookie_header);
        self.get_with_cookie(path, cookie.as_deref()).await
    }

    /// `GET path` with exactly this `Cookie` header, if any.
    pub async fn get_with_cookie(&self, path: &str, cookie: Option<&str>) -> Reply {
        let url = format!("{}{path}", self.origin);
        self.send(self.http.get(url), cookie).await
    }

    /// `GET path` with extra request headers and no cookie.
    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let url = format!("{}{path}", self.origin);
        let mut request = self.http.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request, None).await
    }

    /// `POST path` with a form body exactly as given: no Origin, no CSRF
    /// token (what a hostile page or a plain script sends).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)], session: Option<&Session>) -> Reply {
        let url = format!("{}{path}", self.origin);
        let cookie = session.map(Session::cookie_header);
        self.send(self.http.post(url).form(form), cookie.as_deref()).await
    }

    /// Posts `form` with `cookie`, this site's Origin and the CSRF `token`.
    pub async fn post_as_page(&self, path: &str, form: &[(&str, &str)], cookie: &str, token: &str) -> Reply {
        let url = format!("{}{path}", self.origin);
        let mut fields = form.to_vec();
        fields.push((forms::CSRF_FIELD, token));
        let request = self
            .http
            .post(url)
            .header("origin", &self.browser_origin)
            .form(&fields);
        self.send(request, Some(cookie)).await
    }

    /// What the sign-in page at `page` (a path with its query) gives an
    /// anonymous visitor for its form: the CSRF cookie and token.
    pub async fn anonymous_csrf(&self, page: &str) -> forms::Csrf {
        let reply = self.get(page, None).await;
        assert_eq!(reply.status, 200, "the sign-in page {page}: {reply:?}");
        let cookie = forms::cookie_pair(&reply.set_cookies(), forms::CSRF_COOKIE)
            .unwrap_or_else(|| panic!("{page} sets no {} cookie: {reply:?}", forms::CSRF_COOKIE));
        let token = forms::csrf_field(&reply.body).unwrap_or_else(|| panic!("no CSRF field on {page}"));
        forms::Csrf { cookie, token }
    }

    /// The CSRF token in the forms of the page at `path` for `session`.
    pub async fn page_csrf(&self, path: &str, session: &Session) -> String {
        let reply = self.get(path, Some(session)).await;
        forms::csrf_field(&reply.body).unwrap_or_else(|| panic!("no CSRF field on {path}: {reply:?}"))
    }

    /// Posts `form` to `path` as the page at `token_page` would for
    /// `session`: this site's Origin, the session cookie, that page's token.
    pub async fn submit(
        &self,
        path: &str,
        form: &[(&str, &str)],
        session: &Session,
        token_page: &str,
    ) -> Reply {
        let token = self.page_csrf(token_page, session).await;
        self.post_as_page(path, form, &session.cookie_header(), &token)
            .await
    }

    /// Posts the client sign-in form as its page would (that page's CSRF
    /// cookie and token, this site's Origin).
    pub async fn client_sign_in(&self, email: &str, password: &str) -> Reply {
        self.client_sign_in_with(email, password, None).await
    }

    /// The client sign-in form, with the handoff `binding` (the hash a
    /// custom domain's handoff start sends the browser with) when given.
    pub async fn client_sign_in_with(&self, email: &str, password: &str, binding: Option<&str>) -> Reply {
        let path = "/auth/client-portal/signin";
        let page = match binding {
            Some(b) => format!("{path}?handoff={b}"),
            None => path.to_owned(),
        };
        let csrf = self.anonymous_csrf(&page).await;
        let mut form = vec![("email", email), ("password", password)];
        if let Some(b) = binding {
            form.push(("handoff", b));
        }
        self.post_as_page(path, &form, &csrf.cookie, &csrf.token).await
    }

    /// Signs a client user in, asserting the answer's shape (303, not
    /// cacheable, exactly one session cookie with exactly the documented
    /// attributes); returns the session and where the 303 points.
    pub async fn sign_in_client(&self, email: &str, password: &str) -> SignedIn {
        self.sign_in_client_with(email, password, None).await
    }

    /// Signs a staff member in on this (canonical) host, as the staff
    /// sign-in page posts its form.
    pub async fn sign_in_staff(&self, email: &str, password: &str) -> SignedIn {
        let path = "/auth/msp/signin";
        let csrf = self.anonymous_csrf(path).await;
        let reply = self
            .post_as_page(
                path,
                &[("email", email), ("password", password)],
                &csrf.cookie,
                &csrf.token,
            )
            .await;
        assert_eq!(reply.status, 303, "staff sign-in: {reply:?}");
        let cookies = reply.set_cookies();
        assert_eq!(cookies.len(), 1, "one Set-Cookie: {reply:?}");
        SignedIn {
            session: session_from_set_cookie(&cookies[0]),
            location: reply.location().to_owned(),
        }
    }

    /// [`SiteClient::sign_in_client`] with a handoff binding.
    pub async fn sign_in_client_with(&self, email: &str, password: &str, binding: Option<&str>) -> SignedIn {
        let reply = self.client_sign_in_with(email, password, binding).await;
        assert_eq!(reply.status, 303, "sign-in: {reply:?}");
        assert_eq!(reply.header("cache-control"), "no-store");
        let cookies = reply.set_cookies();
        assert_eq!(cookies.len(), 1, "one Set-Cookie: {reply:?}");
        SignedIn {
            session: session_from_set_cookie(&cookies[0]),
            location: reply.location().to_owned(),
        }
    }
}

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub session: Session,
    /// Where the browser is sent: `next`, or the custom-domain handoff.
    pub location: String,
}

/// The session in a sign-in's `Set-Cookie`, asserting its exact attributes.
#[track_caller]
pub fn session_from_set_cookie(set_cookie: &str) -> Session {
    let rest = set_cookie
        .strip_prefix(&format!("{SESSION_COOKIE}="))
        .unwrap_or_else(|| panic!("not the session cookie: {set_cookie}"));
    let (token, attributes) = rest
        .split_once(';')
        .unwrap_or_else(|| panic!("cookie without attributes: {set_cookie}"));
    assert_eq!(
        attributes, SESSION_COOKIE_ATTRIBUTES,
        "session cookie attributes: {set_cookie}"
    );
    assert!(
        token.len() >= 32 && token.bytes().all(|b| b.is_ascii_graphic() && b != b','),
        "session token looks wrong: {token:?}"
    );
    Session {
        token: token.to_owned(),
    }
}

/// Asserts the dashboard of a signed-in client user shows exactly these
/// facts and is not cacheable.
#[track_caller]
pub fn assert_dashboard(reply: &Reply, display_name: &str, client: &str, tenant: &str) {
    assert_eq!(reply.status, 200, "dashboard: {reply:?}");
    assert_eq!(reply.header("cache-control"), "no-store");
    assert!(reply.header("content-type").starts_with("text/html"), "{reply:?}");
    assert_eq!(
        reply.text_of("welcome"),
        Some(format!("Welcome, {display_name}").as_str())
    );
    assert_eq!(reply.text_of("client-name"), Some(client));
    assert_eq!(reply.text_of("tenant-name"), Some(tenant));
}

/// Fields of a demo.json user.
pub struct DemoUser {
    pub email: String,
    pub password: String,
    pub signin_url: String,
}

/// The first demo.json user whose `key` is `value`.
#[track_caller]
pub fn demo_user_where(demo: &Value, key: &str, value: &str) -> DemoUser {
    let user = demo["users"]
        .as_array()
        .expect("users array")
        .iter()
        .find(|u| u[key] == value)
        .unwrap_or_else(|| panic!("no user with {key} {value} in demo.json: {demo}"));
    let field = |k: &str| {
        user[k]
            .as_str()
            .unwrap_or_else(|| panic!("demo user field {k}: {user}"))
            .to_owned()
    };
    DemoUser {
        email: field("email"),
        password: field("password"),
        signin_url: field("signin_url"),
    }
}

/// The user of `user_type` in a parsed demo.json.
#[track_caller]
pub fn demo_user(demo: &Value, user_type: &str) -> DemoUser {
    demo_user_where(demo, "user_type", user_type)
}

// ---------------------------------------------------------------------------
// Several nodes on one store (tests/domains.rs)

impl Store {
    /// `porta ARGS` as [`Store::command`] builds it, but with the listeners
    /// of `ports`: another node on the same data directory (keys, local CA)
    /// and database. `ports.portal` is also its portal upstream.
    pub fn command_on<I, S>(&self, ports: Ports, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.command(args);
        set_ports(&mut cmd, ports);
        cmd
    }

    /// Starts `porta edge` alone on `ports` (a second edge node of this
    /// store, proxying to the portal on `ports.portal`) with extra
    /// environment, and waits until it prints `porta: edge listening on`
    /// and its plain-HTTP `/healthz` answers.
    pub fn start_edge_node(&self, ports: Ports, env: &[(&str, &str)]) -> Porta {
        let mut cmd = self.command_on(ports, ["edge"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Porta::spawn_edge_only(cmd, self.data_dir().to_owned(), ports)
    }
}

impl Store {
    /// Starts `porta portal` alone on `ports.portal` (another portal node
    /// of this store) with extra environment, and waits until it serves.
    pub fn start_portal_node(&self, ports: Ports, env: &[(&str, &str)]) -> Porta {
        let mut cmd = self.command_on(ports, ["portal"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Porta::spawn(cmd, self.data_dir().to_owned(), ports, false)
    }
}

impl Porta {
    /// Spawns `porta edge` (no portal of its own) and waits until it serves.
    fn spawn_edge_only(cmd: Command, data_dir: PathBuf, ports: Ports) -> Porta {
        let mut porta = Porta::launch(cmd, data_dir, ports);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        porta.wait_stdout_until(deadline, |out| out.contains("porta: edge listening on"));
        let probe = SocketAddr::from(([127, 0, 0, 1], ports.edge_http));
        loop {
            if let Ok(Some(status)) = porta.child.try_wait() {
                porta.fail(&format!("porta edge exited early with {status}"));
            }
            if healthz_ok(probe) {
                break;
            }
            if Instant::now() > deadline {
                porta.fail(&format!("/healthz on {probe} did not answer 200 in time"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        porta
    }
}

impl Porta {
    /// The node's Prometheus text (`GET /metrics` on its metrics listener).
    pub async fn metrics(&self) -> String {
        let reply = self.plain(self.ports.metrics).get("/metrics", None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }
}

/// The value of the sample `series` (`name{labels}`) in Prometheus text,
/// parsed as `T` (a counter as `u64`, a gauge as `f64`).
pub fn metric_sample<T: std::str::FromStr>(text: &str, series: &str) -> Option<T> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        Some(
            value
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{series}: {value:?} is not a number")),
        )
    })
}
