//! Headless Chromium for the browser tests: one chromedriver per test
//! binary and one `porta up` (SQLite, with the demo) shared by the tests
//! that can share it, each started on first use; WebDriver sessions
//! (fantoccini) with a fresh profile each; waits on conditions, bounded by
//! [`WAIT`]; screenshots at 1280×800 and 390×844 into the artifacts
//! directory.
//!
//! What is known to work on these machines (Debian's `chromium` and
//! `chromium-driver`, which `scripts/test` installs; when they are missing
//! the tests fail, they never skip): chromedriver in its own process group
//! with `--port=0`, the real Chromium binary, every host name mapped to
//! 127.0.0.1, porta's local CA trusted by the SHA-256 of its public key
//! (nothing is installed), exact viewports through CDP.
//!
//! The shared processes live in statics, whose destructors never run: each
//! has a reaper, a `sh` in its own process group that waits for the end of
//! a pipe from this process and then kills the process group and removes
//! the directories. The pipe closes when this process exits, however it
//! exits (a failed test, Ctrl-C, SIGKILL), so nothing outlives the binary.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::{demo_user, DemoUser, Porta, Store};

/// The real Chromium binary (`/usr/bin/chromium` is a wrapper script).
pub const CHROMIUM: &str = "/usr/lib/chromium/chromium";
/// Upper bound of every wait, page load and script.
pub const WAIT: Duration = Duration::from_secs(30);
/// Upper bound of one test's whole browser flow.
pub const FLOW_LIMIT: Duration = Duration::from_secs(120);
/// The viewports of the screenshots: desktop (also every session's
/// viewport) and phone.
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

/// Kills process groups and removes directories when this process exits:
/// a `sh` that reads a pipe whose only writer is this process (std makes
/// its pipes close-on-exec, so no other child holds it), then runs its
/// script. It has its own process group, so a Ctrl-C in the terminal
/// reaches it only through the closed pipe, after the test process died.
struct Reaper {
    _pipe: ChildStdin,
    _child: Child,
}

impl Reaper {
    fn start(script: &str) -> Reaper {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("cat >/dev/null; {script}"))
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh (the reaper)");
        let pipe = child.stdin.take().expect("the reaper's stdin");
        Reaper {
            _pipe: pipe,
            _child: child,
        }
    }
}

/// The shell-quoted form of `path`.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// This binary's chromedriver: in its own process group, with Chromium's
/// home and temp directories in a temp dir.
pub struct Chromedriver {
    /// Never waited for: the reaper ends it with this process.
    _child: Child,
    port: u16,
    dir: PathBuf,
    sessions: AtomicUsize,
    _reaper: Reaper,
}

/// The chromedriver of this test binary, started on first use.
pub fn chromedriver() -> &'static Chromedriver {
    static DRIVER: OnceLock<Chromedriver> = OnceLock::new();
    DRIVER.get_or_init(Chromedriver::start)
}

impl Chromedriver {
    fn start() -> Chromedriver {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install Debian's `chromium` (scripts/test does)"
        );
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .arg(format!("--log-path={}", dir.join("chromedriver.log").display()))
            .env("XDG_CONFIG_HOME", &dir)
            .env("TMPDIR", &dir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run chromedriver ({e}): install Debian's `chromium-driver` (scripts/test does)"
                )
            });
        // Killing chromedriver alone would leave Chromium running: the
        // whole group goes.
        let reaper = Reaper::start(&format!(
            "kill -KILL -{} 2>/dev/null; rm -rf {}",
            child.id(),
            quoted(&dir)
        ));
        // "ChromeDriver was started successfully on port N."
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!("chromedriver did not report its port within {WAIT:?}; it printed: {seen:?}")
            });
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest
                    .trim_end_matches('.')
                    .trim()
                    .parse::<u16>()
                    .unwrap_or_else(|_| panic!("chromedriver port in {line:?}"));
            }
            seen.push(line);
        };
        Chromedriver {
            _child: child,
            port,
            dir,
            sessions: AtomicUsize::new(0),
            _reaper: reaper,
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A new headless Chromium session with a fresh profile that trusts
    /// the CA whose public key hashes to `trusted_spki`, a viewport of
    /// exactly [`DESKTOP`], and page loads and scripts bounded by [`WAIT`].
    pub async fn session(&self, trusted_spki: &str) -> Client {
        let n = self.sessions.fetch_add(1, Ordering::SeqCst);
        let profile = self.dir.join(format!("profile-{n}"));
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            "--window-size=1280,800".to_owned(),
            // One argv element, no quotes: every name resolves to loopback
            // and no DNS query leaves the machine.
            "--host-resolver-rules=MAP * 127.0.0.1".to_owned(),
            format!("--ignore-certificate-errors-spki-list={trusted_spki}"),
        ];
        let capabilities = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities);
        let webdriver = format!("http://127.0.0.1:{}", self.port);
        let browser = match tokio::time::timeout(WAIT, builder.connect(&webdriver)).await {
            Ok(Ok(browser)) => browser,
            Ok(Err(e)) => panic!(
                "cannot start a Chromium session: {e}\n--- chromedriver.log (end) ---\n{}",
                self.log_tail()
            ),
            Err(_) => panic!(
                "no Chromium session within {WAIT:?}\n--- chromedriver.log (end) ---\n{}",
                self.log_tail()
            ),
        };
        // A navigation that never completes fails after WAIT, not after
        // WebDriver's five minutes.
        browser
            .update_timeouts(TimeoutConfiguration::new(Some(WAIT), Some(WAIT), None))
            .await
            .expect("set the WebDriver timeouts");
        set_viewport(&browser, DESKTOP).await;
        browser
    }
}

/// `POST /session/{id}/goog/cdp/execute`: a Chrome DevTools command.
pub async fn cdp(browser: &Client, cmd: &str, params: Value) -> Value {
    let id = browser
        .session_id()
        .await
        .expect("session id")
        .expect("a WebDriver session");
    let url = format!(
        "http://127.0.0.1:{}/session/{id}/goog/cdp/execute",
        chromedriver().port
    );
    let reply = reqwest::Client::new()
        .post(&url)
        .timeout(WAIT)
        .json(&json!({ "cmd": cmd, "params": params }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
    let status = reply.status();
    let body: Value = reply.json().await.unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
    assert!(status.is_success(), "CDP {cmd}: {status} {body}");
    body["value"].clone()
}

/// Makes the viewport exactly `width`×`height` CSS pixels (a window's
/// size is not its viewport's, and windows are at least 500 wide); phone
/// widths are emulated as a phone (overlay scrollbars, meta viewport).
pub async fn set_viewport(browser: &Client, (width, height): (u32, u32)) {
    cdp(
        browser,
        "Emulation.setDeviceMetricsOverride",
        json!({
            "width": width,
            "height": height,
            "deviceScaleFactor": 1,
            "mobile": width < 500,
        }),
    )
    .await;
}

/// The shared `porta up`: a fresh SQLite store with the demo.
pub struct Shared {
    pub store: Store,
    pub porta: Porta,
    pub demo: Value,
    /// base64(SHA-256(SPKI)) of porta's local CA, for Chromium.
    pub trusted: String,
    _reaper: Reaper,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// What the shared porta, if it runs, logged about requests for the path
/// of `url` and its warnings and errors: the last 15 such lines (for
/// failure messages; the other tests' requests are in the same log).
pub fn server_log_about(url: &str) -> String {
    let Some(shared) = SHARED.get() else {
        return String::new();
    };
    let path = url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let needle = format!("path=\"{path}\"");
    let log = shared.porta.stderr();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&needle) || l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The `porta up` of this test binary, started on first use.
pub fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let store = Store::sqlite();
        let porta = store.up();
        // SIGTERM, up to 10 s to stop, then SIGKILL; then its files.
        let reaper = Reaper::start(&format!(
            "kill -TERM -{pg} 2>/dev/null; i=0; \
             while kill -0 -{pg} 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; \
             kill -KILL -{pg} 2>/dev/null; rm -rf {data} {log}",
            pg = porta.child.id(),
            data = quoted(store.dir.path()),
            log = quoted(porta._log_dir.path()),
        ));
        let demo = store.demo_json();
        let ca = demo["ca_certificate"].as_str().expect("ca_certificate");
        let trusted = spki_sha256(Path::new(ca));
        Shared {
            store,
            porta,
            demo,
            trusted,
            _reaper: reaper,
        }
    })
}

impl Shared {
    /// A new browser session that trusts this porta's CA.
    pub async fn browser(&self) -> Client {
        chromedriver().session(&self.trusted).await
    }

    /// The demo user with this email address.
    #[track_caller]
    pub fn user(&self, email: &str) -> DemoUser {
        user_by_email(&self.demo, email)
    }

    /// The first demo user of `user_type` (`client`, `internal`).
    #[track_caller]
    pub fn first(&self, user_type: &str) -> DemoUser {
        demo_user(&self.demo, user_type)
    }

    /// `https://<host>:<edge HTTPS port>`.
    pub fn origin(&self, host: &str) -> String {
        self.store.https_origin(host)
    }
}

/// The demo.json user with this email address.
#[track_caller]
pub fn user_by_email(demo: &Value, email: &str) -> DemoUser {
    super::demo_user_where(demo, "email", email)
}

/// base64(SHA-256(SubjectPublicKeyInfo)) of the PEM certificate at `path`,
/// as Chromium's `--ignore-certificate-errors-spki-list` wants it.
pub fn spki_sha256(path: &Path) -> String {
    use sha2::Digest;
    let pem = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM certificate");
    let cert = pem.parse_x509().expect("X.509 certificate");
    let digest = sha2::Sha256::digest(cert.tbs_certificate.subject_pki.raw);
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Runs a test's browser `flow` bounded by [`FLOW_LIMIT`] (every step is
/// bounded by [`WAIT`] as well).
pub async fn bounded<F: std::future::Future>(flow: F) -> F::Output {
    tokio::time::timeout(FLOW_LIMIT, flow)
        .await
        .unwrap_or_else(|_| panic!("the browser flow did not finish within {FLOW_LIMIT:?}"))
}

// ---------------------------------------------------------------------------
// Waiting and reading

/// Polls until `check` gives a value (bounded by [`WAIT`]); `what` says
/// what was awaited, `last` what was seen instead.
pub async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) => assert!(
                Instant::now() < deadline,
                "{what}: not within {WAIT:?}; last seen: {last}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the browser's URL until it equals `expected` (bounded).
pub async fn wait_for_url(browser: &Client, expected: &str) {
    wait_for_url_where(browser, |url| url == expected).await;
}

/// Polls the browser's URL until `matches` says yes (bounded); returns it.
/// Fails at once on porta's error page; the panic shows the page's text
/// and what porta logged about it.
pub async fn wait_for_url_where(browser: &Client, matches: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.expect("current URL").to_string();
        if matches(&url) {
            return url;
        }
        // porta's error page will not turn into the expected one.
        let error_page = count(browser, "#error-page").await > 0;
        if error_page || Instant::now() >= deadline {
            panic!(
                "not at the expected URL (waited up to {WAIT:?}), at {url}, showing:\n{}\n--- porta's log (end) ---\n{}",
                page_text(browser).await,
                server_log_about(&url)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The visible text of the current page (for failure messages).
pub async fn page_text(browser: &Client) -> String {
    browser
        .execute("return document.body ? document.body.innerText : ''", vec![])
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The element matching `css`, waiting (bounded) for it to exist.
pub async fn element(browser: &Client, css: &str) -> fantoccini::elements::Element {
    match browser.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(found) => found,
        Err(e) => {
            let url = browser
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!(
                "no element {css} on {url}: {e}; it shows:\n{}\n--- porta's log (end) ---\n{}",
                page_text(browser).await,
                server_log_about(&url)
            )
        }
    }
}

/// Text of the element matching `css`, waiting (bounded) for it to exist.
pub async fn text(browser: &Client, css: &str) -> String {
    element(browser, css).await.text().await.expect("element text")
}

/// How many elements match `css` now.
pub async fn count(browser: &Client, css: &str) -> usize {
    browser.find_all(Locator::Css(css)).await.expect("find").len()
}

/// Types `value` into the field matching `css`.
pub async fn type_into(browser: &Client, css: &str, value: &str) {
    element(browser, css)
        .await
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Clicks the element matching `css`.
pub async fn click(browser: &Client, css: &str) {
    element(browser, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The page's title, asserted to be `expected` (`<title>` is
/// "`<page>` · `<tenant>`"): a certificate error or an error page would
/// show another.
pub async fn assert_title(browser: &Client, expected: &str) {
    let title = browser.title().await.expect("title");
    let url = browser.current_url().await.expect("current URL");
    assert_eq!(title, expected, "the title of {url}");
}

/// Fills in and submits the sign-in form of the current page.
pub async fn sign_in(browser: &Client, email: &str, password: &str) {
    type_into(browser, "#email", email).await;
    type_into(browser, "#password", password).await;
    click(browser, "#signin-submit").await;
}

/// The value of the sign-in form's hidden field `name`, if it has one.
pub async fn hidden(browser: &Client, name: &str) -> Option<String> {
    element(browser, "#signin-form").await;
    let found = browser
        .find_all(Locator::Css(&format!("#signin-form input[name={name}]")))
        .await
        .expect("find");
    match found.first() {
        Some(input) => input.prop("value").await.expect("value"),
        None => None,
    }
}

/// The unread count the bell shows: the number in its label
/// ("Notifications: N unread"), which its badge repeats when not zero.
pub async fn bell_count(browser: &Client) -> u32 {
    let bell = element(browser, "#bell").await;
    let label = bell
        .attr("aria-label")
        .await
        .expect("aria-label")
        .unwrap_or_default();
    let n: u32 = label
        .strip_prefix("Notifications: ")
        .and_then(|rest| rest.strip_suffix(" unread"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the bell's label: {label:?}"));
    let badge = browser.find_all(Locator::Css("#bell-count")).await.expect("find");
    match badge.first() {
        Some(badge) => assert_eq!(badge.text().await.expect("badge text"), n.to_string()),
        None => assert_eq!(n, 0, "a bell with {n} unread shows no count"),
    }
    n
}

// ---------------------------------------------------------------------------
// Screenshots

/// Where screenshots go: `$PORTA_TEST_ARTIFACTS` when set, else
/// `<target dir>/test-artifacts/screenshots/`. Created on first use, when
/// the layout report of this run is started afresh.
pub fn artifacts_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = match std::env::var_os("PORTA_TEST_ARTIFACTS") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .filter(|d| !d.is_empty())
                    .map(|d| root.join(d))
                    .unwrap_or_else(|| root.join("target"));
                target.join("test-artifacts").join("screenshots")
            }
        };
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        std::fs::write(dir.join(LAYOUT_REPORT), "")
            .unwrap_or_else(|e| panic!("cannot write in {}: {e}", dir.display()));
        dir
    })
}

/// What [`shoot`] found out of place at phone width, page by page.
pub const LAYOUT_REPORT: &str = "layout-390.txt";

/// Elements that do not fit the viewport's width: the page scrolling
/// sideways, outermost elements reaching past the right edge outside any
/// scrolling box, and boxes whose content scrolls sideways.
const LAYOUT_CHECK: &str = r#"
const vw = document.documentElement.clientWidth;
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
  + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
const path = el => { const p = []; for (let e = el; e && e !== document.body && p.length < 4; e = e.parentElement) p.unshift(name(e)); return p.join(' > '); };
const inScroller = el => { for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) { if (getComputedStyle(e).overflowX !== 'visible') return true; } return false; };
const out = [];
const doc = document.documentElement;
if (doc.scrollWidth > vw) out.push(`the page is ${doc.scrollWidth}px wide in a ${vw}px viewport`);
const reported = new Set();
for (const el of document.body.querySelectorAll('*')) {
  if (out.length >= 20) break;
  if (el.closest('.visually-hidden, .skip-link, svg')) continue;
  const s = getComputedStyle(el);
  if (s.display === 'none' || s.visibility === 'hidden') continue;
  const r = el.getBoundingClientRect();
  if (r.width < 2 || r.height < 2) continue;
  let under = false;
  for (let e = el.parentElement; e; e = e.parentElement) if (reported.has(e)) { under = true; break; }
  if (!under && r.right > vw + 1 && !inScroller(el)) {
    reported.add(el);
    out.push(`${path(el)} reaches x=${Math.round(r.right)}`);
  }
  if (!el.matches('textarea, input, select') && (s.overflowX === 'auto' || s.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
    out.push(`${path(el)} scrolls sideways: ${el.scrollWidth}px of content in ${el.clientWidth}px`);
  }
}
return out;
"#;

/// Screenshots of the current page at [`DESKTOP`] and [`PHONE`] size into
/// `<artifacts>/<page>-1280.png` and `<page>-390.png`, taken once the
/// element `ready` is there; each asserted to be a PNG of more than 5 KB.
/// What does not fit at phone width goes to the layout report. The
/// viewport is [`DESKTOP`] afterwards, as before.
pub async fn shoot(browser: &Client, page: &str, ready: &str) {
    element(browser, ready).await;
    let dir = artifacts_dir();
    // The phone first: the session's own viewport, the desktop, is the
    // one left at the end.
    for viewport in [PHONE, DESKTOP] {
        set_viewport(browser, viewport).await;
        let png = browser
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot of {page}: {e}"));
        let file = dir.join(format!("{page}-{}.png", viewport.0));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "the screenshot of {page} is no PNG"
        );
        assert!(
            png.len() > 5 * 1024,
            "the screenshot of {page} at {} px has only {} bytes: a blank page?",
            viewport.0,
            png.len()
        );
        // The size PNG's header says: the exact viewport.
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), viewport, "the size of the screenshot of {page}");
        std::fs::write(&file, &png).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
        if viewport == PHONE {
            let found = browser.execute(LAYOUT_CHECK, vec![]).await.expect("layout check");
            let found: Vec<String> = serde_json::from_value(found).expect("layout check result");
            if !found.is_empty() {
                let url = browser.current_url().await.expect("current URL");
                let mut entry = format!("{page} ({}):\n", url.path());
                for line in &found {
                    entry.push_str(&format!("  {line}\n"));
                }
                eprint!("layout at {} px: {entry}", PHONE.0);
                use std::io::Write;
                let mut report = std::fs::OpenOptions::new()
                    .append(true)
                    .open(dir.join(LAYOUT_REPORT))
                    .expect("the layout report");
                report
                    .write_all(entry.as_bytes())
                    .expect("write the layout report");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Files

/// A small valid PNG image (`width`×`height`, RGB, a gradient), encoded by
/// hand: stored deflate blocks, CRC-32 and Adler-32.
pub fn tiny_png(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 0x80]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// One development mail porta wrote to `<data dir>/mail/`, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file: PathBuf,
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Mail {
    fn read(file: &Path) -> Option<Mail> {
        let raw = std::fs::read(file).ok()?;
        let message = mail_parser::MessageParser::default().parse(&raw)?;
        let to = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        Some(Mail {
            file: file.to_owned(),
            to,
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
        })
    }

    /// The first `https://…` link in the text body that contains `part`.
    pub fn link_containing(&self, part: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .filter(|w| w.starts_with("https://"))
            .find(|w| w.contains(part))
            .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
    }
}

/// Waits (bounded) for an `.eml` file in `dir` that `wanted` accepts (the
/// directory is shared: other tests' mail lands there too); returns it.
pub async fn wait_for_mail(dir: &Path, wanted: impl Fn(&Mail) -> bool) -> Mail {
    poll(&format!("a matching mail in {}", dir.display()), || async {
        let mut seen = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "eml") {
                    // Written whole by a rename, so a file is complete.
                    if let Some(mail) = Mail::read(&path) {
                        if wanted(&mail) {
                            return Ok(mail);
                        }
                        seen.push(format!("{} to {}", mail.subject, mail.to));
                    }
                }
            }
        }
        Err(format!("{seen:?}"))
    })
    .await
}
