//! A real OpenID Connect provider for tests: panva's `oidc-provider` (npm,
//! OpenID Certified) on Node.js, run as a child process on 127.0.0.1.
//!
//! Sign-in with OpenID Connect is only as good as its handling of a real
//! provider's answers (signatures, nonces, audiences, expiry, PKCE), so the
//! tests talk to one rather than to a mock written to match our own reading
//! of the specification.
//!
//! [`OidcProvider::start`] installs `oidc-provider@9` once into a cache
//! shared by every test process (see [`cache_dir`]), writes the instance's
//! configuration (port, redirect URIs, fresh client secrets, ID token
//! lifetime) into a temporary directory next to a copy of
//! `testkit/oidc/provider.mjs`, launches `node` and waits until discovery
//! answers. The process is killed when the [`OidcProvider`] is dropped.
//!
//! The provider knows two clients, [`client_id`](OidcProvider::client_id)
//! (`porta`) and [`other_client_id`](OidcProvider::other_client_id)
//! (`other`, for wrong-audience tests), both registered with the same
//! redirect URIs and allowed `client_secret_basic` and `client_secret_post`;
//! PKCE (S256) is required. Its accounts, by id (what one signs in as):
//!
//! | account | `email`               | `email_verified` | `name`          |
//! |---------|-----------------------|------------------|-----------------|
//! | `alice` | `alice@example.test`  | `true`           | `Alice Example` |
//! | `bob`   | `bob@example.test`    | `false`          | `Bob`           |
//! | `carol` | `carol@example.test`  | (absent)         | `Carol`         |
//! | `dave`  | `jane@globex.example` | `true`           | `Dave`          |
//!
//! The `email` and `profile` claims are in the ID token and in userinfo.
//! [`OidcProvider::authorize`] plays the browser: it follows an
//! authorization URL through the provider's development login and consent
//! forms and hands back the redirect to the client.
//!
//! ```ignore
//! let idp = OidcProvider::start(OidcOptions {
//!     redirect_uris: vec![format!("{portal}/auth/oidc/callback")],
//!     ..OidcOptions::default()
//! })
//! .await;
//! // register idp.issuer(), idp.client_id(), idp.client_secret() with Porta,
//! // then take Porta's redirect to the provider:
//! let callback = idp.authorize(&authorization_url, "alice").await;
//! // …and request `callback` from Porta with Porta's cookies.
//! ```

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use url::Url;

/// The provider module, compiled in so the harness works from any working
/// directory.
const PROVIDER_MJS: &str = include_str!("../oidc/provider.mjs");
/// The npm package installed, as given to `npm install`.
const PACKAGE: &str = "oidc-provider@9";
/// The directory under [`cache_dir`] that holds the install; named after the
/// major version so a future bump installs next to it.
const INSTALL_NAME: &str = "v9";
/// How long [`OidcProvider::start`] waits for discovery to answer.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on one request to the provider.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh ports are picked (bind to port 0, release, hand to node); when
/// another process grabs one in between, node exits and is started again.
const START_ATTEMPTS: usize = 3;
/// Bound on the redirects and forms of one [`OidcProvider::authorize`].
const MAX_STEPS: usize = 20;

/// The accounts the provider knows (see the module documentation for their
/// claims; they are defined in `testkit/oidc/provider.mjs`).
pub const ACCOUNTS: &[&str] = &["alice", "bob", "carol", "dave"];

/// What [`OidcProvider::start`] needs from the test.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    /// Redirect URIs registered for client `porta` (and for client `other`).
    /// At least one.
    pub redirect_uris: Vec<String>,
    /// Seconds an ID token lives (default 600); 1 for expiry tests.
    pub id_token_ttl_seconds: u64,
}

impl Default for OidcOptions {
    fn default() -> Self {
        OidcOptions {
            redirect_uris: Vec::new(),
            id_token_ttl_seconds: 600,
        }
    }
}

/// A running provider; see the module documentation.
pub struct OidcProvider {
    port: u16,
    dir: tempfile::TempDir,
    log_path: PathBuf,
    client_secret: String,
    other_client_secret: String,
    child: Option<Child>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer())
            .field("dir", &self.dir.path())
            .field("running", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Starts the provider on a free port of 127.0.0.1 and waits until its
    /// discovery document answers. The first start on a machine runs `npm
    /// install` (a few seconds). Panics with a clear message when node or
    /// npm is missing, the install fails, or the provider does not come up
    /// (the message includes the provider's log): tests that need a real
    /// provider must not pass silently without one.
    pub async fn start(options: OidcOptions) -> OidcProvider {
        assert!(
            !options.redirect_uris.is_empty(),
            "OidcOptions::redirect_uris is empty: the provider needs at least one redirect URI per client"
        );
        let package = installed_package();
        let dir = tempfile::tempdir().expect("temp dir for the OpenID provider");
        std::fs::write(dir.path().join("provider.mjs"), PROVIDER_MJS).expect("write provider.mjs");
        // ESM ignores NODE_PATH: `import 'oidc-provider'` is resolved from
        // the module's directory upwards, so the module gets a
        // `node_modules` of its own that points at the shared install.
        std::os::unix::fs::symlink(package.join("node_modules"), dir.path().join("node_modules"))
            .expect("link node_modules into the provider's directory");

        let mut provider = OidcProvider {
            port: 0,
            log_path: dir.path().join("provider.log"),
            client_secret: random_secret(),
            other_client_secret: random_secret(),
            child: None,
            dir,
        };
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            provider.port = free_port();
            provider.write_config(&options);
            match provider.launch().await {
                Ok(()) => return provider,
                Err(e) => last_error = e,
            }
        }
        panic!("the OpenID provider did not start after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// The issuer, `http://127.0.0.1:PORT` (no trailing slash; discovery is
    /// at `{issuer}/.well-known/openid-configuration`).
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The client Porta is registered as: `porta`.
    pub fn client_id(&self) -> &str {
        "porta"
    }

    /// The secret of [`client_id`](Self::client_id), random per instance.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// A second client, `other`, with the same redirect URIs: its ID tokens
    /// are valid, but not for `porta`.
    pub fn other_client_id(&self) -> &str {
        "other"
    }

    /// The secret of [`other_client_id`](Self::other_client_id).
    pub fn other_client_secret(&self) -> &str {
        &self.other_client_secret
    }

    /// The last lines of the provider's log (one line per request, and the
    /// errors it reports), for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(40);
        format!(
            "--- oidc-provider log (last lines) ---\n{}",
            lines[start..].join("\n")
        )
    }

    /// Signs in as `account` the way a browser would: requests
    /// `authorization_url` (a URL of this provider), follows redirects
    /// within the provider keeping its cookies, submits the login form (the
    /// account id, any password) and the consent form, and returns the
    /// first redirect that leaves the provider — the client's redirect URI
    /// with `code` and `state` (or `error`) — without requesting it.
    ///
    /// Each call is a fresh browser: no session from an earlier call. Only
    /// `response_mode=query` (the default for `code`) is supported. Panics,
    /// with the provider's log, on anything else (an error page, an unknown
    /// account, a loop).
    pub async fn authorize(&self, authorization_url: &str, account: &str) -> String {
        // The library answers an unknown account with a server error after
        // the login form: say what is wrong instead.
        assert!(
            ACCOUNTS.contains(&account),
            "the OpenID provider has no account {account:?}; it knows {ACCOUNTS:?}"
        );
        let issuer = Url::parse(&self.issuer()).expect("the issuer is a URL");
        let mut url = Url::parse(authorization_url)
            .unwrap_or_else(|e| panic!("authorization URL {authorization_url:?}: {e}"));
        assert!(
            url.origin() == issuer.origin(),
            "authorization URL {url} is not on the provider {issuer}"
        );
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("build an HTTP client");
        let mut request = browser.get(url.clone());
        let mut trail = Vec::new();
        for _ in 0..MAX_STEPS {
            let response = request.send().await.unwrap_or_else(|e| {
                panic!("request {url} from the OpenID provider: {e}\n{}", self.log_tail())
            });
            let status = response.status();
            trail.push(format!("{status} {url}"));
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or_else(|| panic!("{status} from {url} without a Location\n{}", self.log_tail()));
                let next = url
                    .join(location)
                    .unwrap_or_else(|e| panic!("Location {location:?} from {url}: {e}"));
                if next.origin() != issuer.origin() {
                    return next.to_string();
                }
                url = next;
                request = browser.get(url.clone());
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            let Some(form) = Form::parse(&body) else {
                panic!(
                    "the OpenID provider answered {status} at {url} with neither a redirect nor a form \
                     (signing in as {account:?}; steps: {trail:?}):\n{}\n{}",
                    excerpt(&body),
                    self.log_tail()
                );
            };
            let action = url
                .join(&form.action)
                .unwrap_or_else(|e| panic!("form action {:?} at {url}: {e}", form.action));
            assert!(
                action.origin() == issuer.origin(),
                "the form at {url} posts to {action}, not to the provider"
            );
            let mut fields = form.hidden;
            match fields
                .iter()
                .find(|(name, _)| name == "prompt")
                .map(|(_, v)| v.as_str())
            {
                Some("login") => {
                    fields.push(("login".to_owned(), account.to_owned()));
                    fields.push(("password".to_owned(), "any password".to_owned()));
                }
                Some("consent") => {}
                other => panic!(
                    "a form at {url} with prompt {other:?}, neither login nor consent:\n{}\n{}",
                    excerpt(&body),
                    self.log_tail()
                ),
            }
            url = action;
            request = browser.post(url.clone()).form(&fields);
        }
        panic!(
            "signing in as {account:?} took more than {MAX_STEPS} steps: {trail:?}\n{}",
            self.log_tail()
        );
    }

    fn write_config(&self, options: &OidcOptions) {
        let config = serde_json::json!({
            "port": self.port,
            "redirect_uris": options.redirect_uris,
            "id_token_ttl_seconds": options.id_token_ttl_seconds,
            "cookie_key": random_secret(),
            "clients": [
                { "client_id": self.client_id(), "client_secret": self.client_secret },
                { "client_id": self.other_client_id(), "client_secret": self.other_client_secret },
            ],
        });
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&config).expect("the provider's config serializes"),
        )
        .expect("write the provider's config");
    }

    /// Whether the process is running (not stopped, not exited).
    fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Spawns node and waits for discovery; on failure the process is gone
    /// and the error carries its log.
    async fn launch(&mut self) -> Result<(), String> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("open {}: {e}", self.log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("node")
            .arg("provider.mjs")
            .arg("config.json")
            .current_dir(self.dir.path())
            // Development interactions (the login and consent forms) are
            // what the tests drive; keep them whatever the caller's
            // environment says.
            .env_remove("NODE_ENV")
            .env_remove("NODE_OPTIONS")
            .env_remove("DEBUG")
            // A pipe that closes when this process dies: the provider exits
            // on end of input instead of outliving a killed test run.
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn node: {e} ({})", node_hint()))?;
        self.child = Some(child);

        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("build an HTTP client");
        let discovery = format!("{}/.well-known/openid-configuration", self.issuer());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !self.is_running() {
                self.stop();
                return Err(format!("the provider exited during startup\n{}", self.log_tail()));
            }
            if let Ok(response) = client.get(&discovery).send().await {
                if response.status() == 200 {
                    let json: serde_json::Value = response.json().await.unwrap_or_default();
                    if json["issuer"] == self.issuer() {
                        return Ok(());
                    }
                    // Someone else's server on the port we picked.
                    self.stop();
                    return Err(format!("{discovery} answered for another issuer: {json}"));
                }
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "{discovery} did not answer within {START_TIMEOUT:?}\n{}",
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the npm install lives, shared by every test process and run:
/// `$PORTA_TEST_CACHE/oidc-provider`, by default
/// `~/.cache/porta-test-deps/oidc-provider`. Deleting it makes the next
/// start install again.
pub fn cache_dir() -> PathBuf {
    let root = match std::env::var_os("PORTA_TEST_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").expect("HOME is set (for ~/.cache)");
            Path::new(&home).join(".cache").join("porta-test-deps")
        }
    };
    root.join("oidc-provider")
}

/// The package directory (`package.json`, `node_modules/oidc-provider`),
/// installed on first use. One install per process at a time (the other
/// threads wait for it); across processes, each installs into a directory
/// of its own and renames it into place, and the loser of that race uses
/// the winner's.
fn installed_package() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(install).clone()
}

fn install() -> PathBuf {
    let cache = cache_dir();
    let target = cache.join(INSTALL_NAME);
    if is_installed(&target) {
        return target;
    }
    check_command("node");
    check_command("npm");
    std::fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("create {}: {e}", cache.display()));
    remove_stale_installs(&cache);
    let staging = cache.join(format!(".install-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&staging).unwrap_or_else(|e| panic!("create {}: {e}", staging.display()));
    std::fs::write(
        staging.join("package.json"),
        r#"{ "name": "porta-test-oidc-provider", "private": true, "type": "module" }"#,
    )
    .expect("write package.json");
    let output = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
            "--loglevel=warn",
        ])
        .arg(PACKAGE)
        .current_dir(&staging)
        .env_remove("NODE_ENV")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run npm: {e} ({})", node_hint()));
    if !output.status.success() || !is_installed(&staging) {
        let _ = std::fs::remove_dir_all(&staging);
        panic!(
            "`npm install {PACKAGE}` in {} failed ({}; the npm registry must be reachable \
             the first time):\n{}\n{}",
            staging.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    match std::fs::rename(&staging, &target) {
        Ok(()) => target,
        // Another process renamed its install into place first.
        Err(_) if is_installed(&target) => {
            let _ = std::fs::remove_dir_all(&staging);
            target
        }
        Err(e) => panic!(
            "move {} to {}: {e} (remove {} and retry)",
            staging.display(),
            target.display(),
            target.display()
        ),
    }
}

fn is_installed(package: &Path) -> bool {
    package.join("node_modules/oidc-provider/package.json").is_file()
}

/// Staging directories of installs that died (killed test runs): anything
/// older than an hour is not in progress any more.
fn remove_stale_installs(cache: &Path) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(".install-")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn check_command(program: &str) {
    let ok = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "`{program}` is missing: {}", node_hint());
}

fn node_hint() -> &'static str {
    "the OpenID provider tests need Node.js 20 or later with npm on the PATH \
     (e.g. NodeSource's `nodejs` package; Debian bookworm's `nodejs` is too old)"
}

/// A form of the provider's interaction pages: its action and hidden
/// inputs. The pages are the library's own templates, so plain string
/// search is enough.
#[derive(Debug, PartialEq)]
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

impl Form {
    fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let form = &html[start..];
        let form = &form[..form.find("</form>").unwrap_or(form.len())];
        let tag_end = form.find('>')?;
        let action = attribute(&form[..tag_end], "action")?;
        let mut hidden = Vec::new();
        let mut rest = &form[tag_end..];
        while let Some(i) = rest.find("<input") {
            rest = &rest[i..];
            let end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[..end];
            if attribute(tag, "type").as_deref() == Some("hidden") {
                if let Some(name) = attribute(tag, "name") {
                    hidden.push((name, attribute(tag, "value").unwrap_or_default()));
                }
            }
            rest = &rest[end..];
        }
        Some(Form { action, hidden })
    }
}

/// The value of `name="…"` in a tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// Undoes the escaping of the library's templates (`& < > " '`).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The start of a page, for failure messages.
fn excerpt(body: &str) -> &str {
    let mut end = body.len().min(2000);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    &body[..end]
}

/// A random secret, 64 hex characters.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port on 127.0.0.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_login_form() {
        let html = r#"<div><form autocomplete="off" action="http://127.0.0.1:1/interaction/a&amp;b" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password" >
  <button type="submit" class="login login-submit">Sign-in</button>
</form><form action="/abort"><input type="hidden" name="x" value="y"/></form>"#;
        assert_eq!(
            Form::parse(html),
            Some(Form {
                action: "http://127.0.0.1:1/interaction/a&b".to_owned(),
                hidden: vec![("prompt".to_owned(), "login".to_owned())],
            })
        );
        assert_eq!(Form::parse("<p>no form</p>"), None);
    }
}
