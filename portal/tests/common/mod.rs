//! A portal on port 0 over a fresh database, with typed helpers.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use porta_core::config::Config;
use porta_core::db::{clients, roles, tenants, users, Db};
use porta_core::email::EmailAddress;
use porta_core::ids::{TenantId, UserId};
use porta_core::password;
use porta_core::secret::Secret;
use porta_core::session_token::{SessionKey, SessionKeys};
use porta_core::slug::TenantSlug;
use porta_core::user_type::UserType;
use porta_testkit::TestDb;
use reqwest::header::{HeaderMap, HOST, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

pub const KEY_ID: &str = "test-key";
pub const KEY_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub keys: SessionKeys,
    pub http: reqwest::Client,
    /// Where this portal keeps attachments.
    pub files_dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _test_db: TestDb,
}

pub fn keys() -> SessionKeys {
    SessionKeys::new(vec![SessionKey::new(KEY_ID, Secret::new(KEY_SECRET)).unwrap()]).unwrap()
}

/// The dev configuration on port 0 with `overrides` (environment style).
pub fn config(overrides: &[(&str, &str)]) -> Config {
    // The portal reached directly over plain HTTP, trusting no proxy, unless
    // a test says otherwise.
    let mut vars: Vec<(String, String)> = vec![
        ("PORTA_PORTAL_LISTEN".into(), "127.0.0.1:0".into()),
        ("PORTA_PORTAL_PUBLIC_SCHEME".into(), "http".into()),
        ("PORTA_PORTAL_TRUSTED_PROXIES".into(), "".into()),
    ];
    vars.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let names: Vec<String> = vars.iter().map(|(k, _)| k.clone()).collect();
    Config::from_toml_with_env("dev", porta_core::config::DEV_TOML, &names, |k| {
        vars.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .unwrap()
}

impl TestApp {
    pub async fn start(test_db: TestDb) -> TestApp {
        Self::start_with(test_db, &[]).await
    }

    pub async fn start_with(test_db: TestDb, overrides: &[(&str, &str)]) -> TestApp {
        let files_dir = tempfile::tempdir().unwrap();
        let files_var = files_dir.path().display().to_string();
        let mail_var = files_dir.path().join("mail").display().to_string();
        let mut with_files: Vec<(&str, &str)> = vec![
            ("PORTA_ATTACHMENTS_LOCAL_DIR", &files_var),
            // Mail without an SMTP server lands here, not in the working copy.
            ("PORTA_MAIL_DEV_DIR", &mail_var),
            ("PORTA_MAIL_POLL_INTERVAL_SECONDS", "1"),
        ];
        with_files.extend_from_slice(overrides);
        let mut config = config(&with_files);
        // Links (and the expected Origin) use the port actually bound.
        config.portal.public_port = None;
        let config = Arc::new(config);
        let db = test_db.db.clone();
        let app = porta_portal::build(config, db.clone(), keys()).await.unwrap();
        let addr = app.address();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            addr,
            db,
            keys: keys(),
            http,
            files_dir,
            _shutdown: tx,
            _test_db: test_db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET `path` on `host` with an optional `Cookie` header.
    pub async fn get(&self, host: &str, path: &str, cookie: Option<&str>) -> Response {
        let mut req = self.http.get(self.url(path)).header(HOST, host);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.send().await.unwrap()
    }

    pub async fn get_with(&self, host: &str, path: &str, headers: HeaderMap) -> Response {
        self.http
            .get(self.url(path))
            .header(HOST, host)
            .headers(headers)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a form exactly as given: no Origin, no CSRF token (for
    /// hostile requests).
    pub async fn post_form(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, &str)],
        headers: HeaderMap,
    ) -> Response {
        self.http
            .post(self.url(path))
            .header(HOST, host)
            .headers(headers)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// `http://<host>:<port>`: what a browser sends as `Origin` here.
    pub fn origin(&self, host: &str) -> String {
        format!("http://{host}:{}", self.addr.port())
    }

    /// A new visitor's CSRF cookie (`name=value`) and token, as any page
    /// hands them out (here the password-reset page, which always has a
    /// form, even where password sign-in is off).
    pub async fn anonymous_csrf(&self, host: &str) -> (String, String) {
        let page = self.get(host, "/auth/client-portal/forgot-password", None).await;
        let cookie = set_cookies(&page)
            .into_iter()
            .find(|c| c.starts_with("porta.csrf="))
            .expect("the sign-in page sets the CSRF cookie");
        let pair = cookie.split(';').next().unwrap().to_owned();
        let token = csrf_field(&page.text().await.unwrap()).expect("a CSRF field");
        (pair, token)
    }

    /// The CSRF token of the page at `path` for the session in `cookie`.
    pub async fn page_csrf(&self, host: &str, path: &str, cookie: &str) -> String {
        let page = self.get(host, path, Some(cookie)).await;
        let html = page.text().await.unwrap();
        csrf_field(&html).unwrap_or_else(|| panic!("no CSRF field on {path}: {html}"))
    }

    /// POSTs `form` as the page at `token_page` would: same Origin, the
    /// session cookie, and that page's CSRF token.
    pub async fn submit(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, &str)],
        cookie: &str,
        token_page: &str,
    ) -> Response {
        let token = self.page_csrf(host, token_page, cookie).await;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf_token", &token));
        self.http
            .post(self.url(path))
            .header(HOST, host)
            .header("origin", self.origin(host))
            .header("cookie", cookie)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a multipart form (text `fields` and `files` as
    /// `(field, file name, bytes)`) as the page at `token_page` would.
    pub async fn submit_multipart(
        &self,
        host: &str,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
        cookie: &str,
        token_page: &str,
    ) -> Response {
        let token = self.page_csrf(host, token_page, cookie).await;
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (field, file_name, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.to_string());
            form = form.part(field.to_string(), part);
        }
        self.http
            .post(self.url(path))
            .header(HOST, host)
            .header("origin", self.origin(host))
            .header("cookie", cookie)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` and returns its status and body.
    pub async fn page(&self, host: &str, path: &str, cookie: &str) -> (StatusCode, String) {
        let response = self.get(host, path, Some(cookie)).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Posts a sign-in form (`fields` besides the token) as the sign-in page
    /// would, with `extra` headers.
    pub async fn sign_in_form(
        &self,
        host: &str,
        path: &str,
        fields: &[(&str, &str)],
        extra: HeaderMap,
    ) -> Response {
        let (cookie, token) = self.anonymous_csrf(host).await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.http
            .post(self.url(path))
            .header(HOST, host)
            .header("origin", self.origin(host))
            .header("cookie", cookie)
            .headers(extra)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Posts the client sign-in form.
    pub async fn sign_in(&self, host: &str, email: &str, password: &str) -> Response {
        self.sign_in_form(
            host,
            "/auth/client-portal/signin",
            &[("email", email), ("password", password)],
            HeaderMap::new(),
        )
        .await
    }

    pub async fn sign_in_staff(&self, host: &str, email: &str, password: &str) -> Response {
        self.sign_in_form(
            host,
            "/auth/msp/signin",
            &[("email", email), ("password", password)],
            HeaderMap::new(),
        )
        .await
    }

    /// Signs in and returns `name=value` of the session cookie.
    pub async fn session_cookie(&self, host: &str, email: &str) -> String {
        let response = self.sign_in(host, email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        session_pair(&response).expect("a session cookie")
    }
}

/// The value of the first `csrf_token` hidden field of a page.
pub fn csrf_field(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// Every Set-Cookie of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the session cookie a response sets.
pub fn session_pair(response: &Response) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|c| c.contains("authjs.session-token="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
}

/// `name=value` of the session cookie a response sets.
pub fn cookie_pair(response: &Response) -> Option<String> {
    session_pair(response)
}

/// The whole session Set-Cookie of a response.
pub fn set_cookie(response: &Response) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|c| c.contains("authjs.session-token="))
}

pub fn location(response: &Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A tenant with one client company, for the tests.
pub struct Fixture {
    pub tenant: TenantId,
    pub host: String,
}

pub async fn tenant(db: &Db, slug: &str, name: &str) -> Fixture {
    let t = tenants::create(db, &TenantSlug::parse(slug).unwrap(), name)
        .await
        .unwrap();
    clients::create(db, t.id, "Globex Corporation").await.unwrap();
    Fixture {
        tenant: t.id,
        host: format!("{slug}.portal.localhost"),
    }
}

pub async fn user(db: &Db, tenant: TenantId, email: &str, user_type: UserType, name: &str) -> UserId {
    let client = match user_type {
        UserType::Client => Some(
            clients::find_by_name(db, tenant, "Globex Corporation")
                .await
                .unwrap()
                .unwrap()
                .id,
        ),
        UserType::Internal => None,
    };
    let hash = password::hash(&Secret::new(PASSWORD)).unwrap();
    let id = users::create(
        db,
        &users::NewUser {
            tenant,
            user_type,
            email: EmailAddress::parse(email).unwrap(),
            display_name: name.into(),
            client,
            password_hash: hash,
        },
    )
    .await
    .unwrap();
    let role = roles::find_by_name(db, tenant, user_type, roles::default_role_name(user_type))
        .await
        .unwrap()
        .unwrap();
    roles::assign(db, tenant, id, &role, user_type).await.unwrap();
    id
}

/// Runs one statement (tests that move time or break rows on purpose).
pub async fn execute_sql(db: &Db, sql: &str) {
    porta_core::on_pool!(db, |pool| sqlx::query(sql).execute(pool).await.map(|_| ())).unwrap();
}

/// The one integer a query answers.
pub async fn fetch_i64(db: &Db, sql: &str) -> i64 {
    porta_core::on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap()
}

/// Gives `user` exactly the role `role` of their type.
pub async fn with_role(db: &Db, tenant: TenantId, user: UserId, user_type: UserType, role: &str) {
    let role = roles::find_by_name(db, tenant, user_type, role)
        .await
        .unwrap()
        .unwrap();
    roles::set_roles(db, tenant, user, user_type, &[role])
        .await
        .unwrap();
}

/// The `[mail]` settings of a test SMTP server, as `start_with` takes them.
pub fn smtp_vars(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
