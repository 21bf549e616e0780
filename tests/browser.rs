//! The demo sign-in in a real browser: headless Chromium driven through
//! chromedriver (WebDriver, fantoccini) against `porta up` on SQLite, over
//! HTTPS through the edge, from the canonical host to the demo tenant's
//! custom domain and back.
//!
//! Chromium and chromedriver are Debian's `chromium` and `chromium-driver`,
//! which `scripts/test` installs; when they are missing this test fails
//! (it never skips). See the notes on what is known to work: one
//! chromedriver per test in its own process group, `--port=0`, the real
//! Chromium binary, every host name mapped to 127.0.0.1, and porta's local
//! CA trusted by the SHA-256 of its public key (nothing is installed).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::{demo_user, Store, DEMO_CUSTOM_DOMAIN, SESSION_COOKIE};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The real Chromium binary (`/usr/bin/chromium` is a wrapper script).
const CHROMIUM: &str = "/usr/lib/chromium/chromium";
/// Upper bound of every wait in this test.
const WAIT: Duration = Duration::from_secs(30);
/// Upper bound of the whole sign-in/sign-out flow.
const FLOW_LIMIT: Duration = Duration::from_secs(120);

/// A chromedriver in its own process group, with Chromium's home and temp
/// directories in a temp dir; the whole group is killed on drop (killing
/// chromedriver alone would leave Chromium running).
struct Chromedriver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Chromedriver {
    fn start() -> Chromedriver {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install Debian's `chromium` (scripts/test does)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            .env("XDG_CONFIG_HOME", dir.path())
            .env("TMPDIR", dir.path())
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
        Chromedriver { child, port, dir }
    }

    /// A new headless Chromium session with a fresh profile that trusts
    /// the CA whose public key hashes to `trusted_spki`.
    async fn session(&self, trusted_spki: &str) -> Client {
        let profile = self.dir.path().join("profile");
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
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connect = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await;
        connect.unwrap_or_else(|e| {
            let log = std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!("cannot start a Chromium session: {e}\n--- chromedriver.log (end) ---\n{tail}")
        })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let pgid = self.child.id();
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -KILL -{pgid}")])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// base64(SHA-256(SubjectPublicKeyInfo)) of the PEM certificate at `path`,
/// as Chromium's `--ignore-certificate-errors-spki-list` wants it.
fn spki_sha256(path: &Path) -> String {
    use sha2::Digest;
    let pem = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM certificate");
    let cert = pem.parse_x509().expect("X.509 certificate");
    let digest = sha2::Sha256::digest(cert.tbs_certificate.subject_pki.raw);
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Polls the browser's URL until it equals `expected` (bounded).
async fn wait_for_url(browser: &Client, expected: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.expect("current URL");
        if url.as_str() == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected to reach {expected} within {WAIT:?}, still at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the browser's URL until `matches` says yes (bounded); returns it.
async fn wait_for_url_where(browser: &Client, matches: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.expect("current URL");
        if matches(url.as_str()) {
            return url.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no expected URL within {WAIT:?}, still at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fills in and submits the sign-in form of the current page.
async fn sign_in(browser: &Client, email: &str, password: &str) {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#email"))
        .await
        .expect("#email")
        .send_keys(email)
        .await
        .expect("type email");
    browser
        .find(Locator::Css("#password"))
        .await
        .expect("#password")
        .send_keys(password)
        .await
        .expect("type password");
    browser
        .find(Locator::Css("#signin-submit"))
        .await
        .expect("#signin-submit")
        .click()
        .await
        .expect("submit");
}

/// The value of the sign-in form's hidden field `name`, if it has one.
async fn hidden(browser: &Client, name: &str) -> Option<String> {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#signin-form"))
        .await
        .expect("the sign-in form");
    let found = browser
        .find_all(Locator::Css(&format!("#signin-form input[name={name}]")))
        .await
        .expect("find");
    match found.first() {
        Some(input) => input.prop("value").await.expect("value"),
        None => None,
    }
}

/// Text of the element matching `css`, waiting (bounded) for it to exist.
async fn text(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        .text()
        .await
        .expect("element text")
}

/// Jane Doe signs in with the demo credentials from demo.json on the
/// canonical host, is handed off to the custom domain (once through its
/// handoff start, for the nonce that binds the token to this browser) and
/// sees her dashboard there with a Secure, HttpOnly session cookie; she
/// signs out and lands on the canonical sign-in page, and from then on the
/// dashboard on either host sends her back to sign in: the custom domain's
/// with the binding of its handoff start, from which signing in lands her
/// on the custom domain's dashboard in one go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_client_user_signs_in_and_out_in_chromium() {
    let store = Store::sqlite();
    let porta = store.up();
    let demo = store.demo_json();
    let jane = demo_user(&demo, "client");
    let canonical = store.https_origin("acme.portal.localhost");
    let custom = store.https_origin(DEMO_CUSTOM_DOMAIN);
    assert_eq!(jane.signin_url, format!("{canonical}/auth/client-portal/signin"));
    let ca = demo["ca_certificate"].as_str().expect("ca_certificate");
    let trusted = spki_sha256(Path::new(ca));

    let driver = Chromedriver::start();
    let browser = tokio::time::timeout(WAIT, driver.session(&trusted))
        .await
        .unwrap_or_else(|_| panic!("no Chromium session within {WAIT:?}"));
    let flow = async {
        browser.goto(&jane.signin_url).await.expect("open sign-in");
        wait_for_url(&browser, &jane.signin_url).await;
        // A certificate error would show Chromium's interstitial instead.
        assert_eq!(
            browser.title().await.expect("title"),
            "Sign in to the client portal · Acme IT Services"
        );
        sign_in(&browser, &jane.email, &jane.password).await;

        // Through the handoff to the dashboard on the custom domain.
        let dashboard = format!("{custom}/client-portal/dashboard");
        wait_for_url(&browser, &dashboard).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Jane Doe");
        assert_eq!(text(&browser, "#client-name").await, "Globex Corporation");
        assert_eq!(text(&browser, "#tenant-name").await, "Acme IT Services");

        let cookie = browser
            .get_named_cookie(SESSION_COOKIE)
            .await
            .expect("session cookie on the custom domain");
        assert_eq!(cookie.http_only(), Some(true), "{cookie}");
        assert_eq!(cookie.secure(), Some(true), "{cookie}");
        assert_eq!(cookie.path(), Some("/"), "{cookie}");
        assert_eq!(format!("{:?}", cookie.same_site()), "Some(Lax)", "{cookie}");
        // HttpOnly: page scripts cannot read the session.
        let visible = browser
            .execute("return document.cookie", vec![])
            .await
            .expect("document.cookie");
        assert_eq!(visible, json!(""), "document.cookie shows the session");

        browser
            .find(Locator::Css("#signout"))
            .await
            .expect("#signout")
            .click()
            .await
            .expect("sign out");
        wait_for_url(&browser, &jane.signin_url).await;
        browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#signin-form"))
            .await
            .expect("sign-in form after sign-out");
        assert!(
            browser
                .find_all(Locator::Css("#signin-error"))
                .await
                .expect("find")
                .is_empty(),
            "no error after a normal sign-out"
        );

        // Signed out on both hosts: each dashboard sends her to sign in. The
        // canonical one straight to its sign-in...
        let back_to_signin = format!("{}?next=%2Fclient-portal%2Fdashboard", jane.signin_url);
        browser
            .goto(&format!("{canonical}/client-portal/dashboard"))
            .await
            .expect("open the canonical dashboard");
        wait_for_url(&browser, &back_to_signin).await;
        assert_eq!(
            hidden(&browser, "next").await.as_deref(),
            Some("/client-portal/dashboard")
        );
        assert_eq!(
            hidden(&browser, "handoff").await,
            None,
            "no handoff from the canonical host"
        );
        // ... the custom domain's through its handoff start, which gives the
        // browser its nonce there and brings the nonce's hash along.
        browser.goto(&dashboard).await.expect("open the custom dashboard");
        let bound = wait_for_url_where(&browser, |url| {
            url.strip_prefix(&format!("{back_to_signin}&handoff="))
                .is_some_and(|binding| binding.len() == 43 && !binding.contains('&'))
        })
        .await;
        let binding = bound.rsplit('=').next().expect("the binding").to_owned();
        assert_eq!(
            hidden(&browser, "next").await.as_deref(),
            Some("/client-portal/dashboard")
        );
        assert_eq!(
            hidden(&browser, "handoff").await.as_deref(),
            Some(binding.as_str()),
            "the form carries the binding"
        );
        // Signing in from there lands on the custom domain's dashboard.
        sign_in(&browser, &jane.email, &jane.password).await;
        wait_for_url(&browser, &dashboard).await;
        assert_eq!(text(&browser, "#welcome").await, "Welcome, Jane Doe");
    };
    // Every step waits at most WAIT; the whole flow is bounded as well (a
    // navigation that never completes would otherwise wait for WebDriver's
    // five-minute page-load timeout).
    tokio::time::timeout(FLOW_LIMIT, flow)
        .await
        .unwrap_or_else(|_| panic!("the browser flow did not finish within {FLOW_LIMIT:?}"));
    browser.close().await.expect("close the browser");
    drop(driver);
    // The server outlives the browser.
    drop(porta);
}
