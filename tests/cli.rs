//! End-to-end tests of the `porta` binary: `up`, `portal` and the admin
//! commands, run as child processes against SQLite (porta's default file in
//! a fresh data directory) and PostgreSQL (a fresh database from the
//! testkit), with sign-ins over plain HTTP to the portal on 127.0.0.1, as
//! the edge reaches it (the full browser path through the edge is in
//! `tests/browser.rs`).

mod common;

use std::time::Duration;

use common::{assert_dashboard, demo_user, Store, DEMO_CUSTOM_DOMAIN, DEMO_SLUG, SESSION_COOKIE};
use porta_core::ott::HandoffNonce;
use porta_testkit::{both_backends, Backend, TestDb};
use serde_json::{json, Map, Value};

both_backends! {
    up_seeds_the_demo_and_prints_how_to_sign_in => up_seeds_the_demo;
    second_up_keeps_the_demo_and_its_sessions => second_up_keeps_the_demo;
    admin_commands_print_exact_json_and_the_user_signs_in => admin_commands_and_sign_in;
    bad_arguments_fail_with_a_message_naming_the_problem => bad_arguments;
}

/// The sorted keys of a JSON object.
fn keys(map: &Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[track_caller]
fn as_object(value: &Value) -> &Map<String, Value> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {value}"))
}

/// Asserts `value` is a UUID string (porta's ids) and returns it.
#[track_caller]
fn uuid(value: &Value) -> String {
    let id = value
        .as_str()
        .unwrap_or_else(|| panic!("id is not a string: {value}"));
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "id is not a UUID: {id}");
    assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
    id.to_owned()
}

/// Asserts neither the passwords nor the session tokens appear in `log`,
/// and that the log did record the sign-in (so the check is not vacuous).
#[track_caller]
fn assert_no_secrets_in_log(log: &str, secrets: &[&str]) {
    assert!(
        log.contains("signed in"),
        "the server log should record the sign-in:\n{log}"
    );
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !log.contains(secret),
            "a secret ({} chars) leaked into the server log:\n{log}",
            secret.len()
        );
    }
}

/// The binding a browser brings from the custom domain's handoff start: the
/// hash of the nonce the edge gave it there (the test plays the edge).
fn handoff_binding() -> String {
    HandoffNonce::generate().binding().to_param()
}

/// Where a demo client sign-in on the canonical host without a binding
/// goes: once through the custom domain's handoff start, which gives the
/// browser its nonce and comes back with its hash.
#[track_caller]
fn assert_demo_handoff_start(store: &Store, location: &str) {
    assert_eq!(
        location,
        format!(
            "{}/auth/client-portal/handoff/start?next=%2Fclient-portal%2Fdashboard",
            store.https_origin(DEMO_CUSTOM_DOMAIN)
        )
    );
}

/// The handoff URL a demo client sign-in bound to a browser answers with
/// (the demo tenant has an active custom domain); returns the one-time token.
#[track_caller]
fn assert_demo_handoff(store: &Store, location: &str) -> String {
    let prefix = format!(
        "{}/auth/client-portal/handoff?ott=",
        store.https_origin(DEMO_CUSTOM_DOMAIN)
    );
    let rest = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected a handoff to {prefix}..., got {location}"));
    let ott = rest
        .strip_suffix("&next=%2Fclient-portal%2Fdashboard")
        .unwrap_or_else(|| panic!("handoff without next=/client-portal/dashboard: {location}"));
    assert!(ott.len() >= 32, "one-time token too short: {location}");
    ott.to_owned()
}

/// `porta up` on an empty database seeds the demo tenant, writes demo.json
/// (mode 0600, exactly the documented fields), prints the listeners and the
/// credentials, starts the edge, and the demo client user can sign in.
async fn up_seeds_the_demo(db: TestDb) {
    let store = Store::new(&db);
    // At debug level, so the secrets check below covers every log line.
    let mut porta = store.start("up", &[("RUST_LOG", "debug")]);
    let origin = store.https_origin("acme.portal.localhost");

    let demo = store.demo_json();
    let top = as_object(&demo);
    assert_eq!(
        keys(top),
        [
            "ca_certificate",
            "canonical_url",
            "client_name",
            "custom_domain",
            "custom_domain_url",
            "tenant_name",
            "tenant_slug",
            "users"
        ]
    );
    assert_eq!(demo["tenant_slug"], "acme");
    assert_eq!(demo["tenant_name"], "Acme IT Services");
    assert_eq!(demo["client_name"], "Globex Corporation");
    assert_eq!(demo["canonical_url"], origin.as_str());
    assert_eq!(demo["custom_domain"], DEMO_CUSTOM_DOMAIN);
    assert_eq!(demo["custom_domain_url"], store.https_origin(DEMO_CUSTOM_DOMAIN));
    let ca = store.data_dir().join("local-ca").join("root.pem");
    assert_eq!(demo["ca_certificate"], ca.display().to_string());
    let pem = std::fs::read_to_string(&ca).expect("local CA root.pem");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let users = demo["users"].as_array().expect("users");
    // Every role of both kinds, in two companies; `up` prints the first
    // client user and the first staff member in full.
    const CLIENT: &str = "/auth/client-portal/signin";
    const STAFF: &str = "/auth/msp/signin";
    let expected = [
        (
            "jane.doe@globex.example",
            "client",
            "Admin",
            "Jane Doe",
            CLIENT,
            Some("Globex Corporation"),
        ),
        (
            "alex.admin@acme-it.example",
            "internal",
            "Admin",
            "Alex Admin",
            STAFF,
            None,
        ),
        (
            "frank.finance@globex.example",
            "client",
            "Finance",
            "Frank Finance",
            CLIENT,
            Some("Globex Corporation"),
        ),
        (
            "uma.user@globex.example",
            "client",
            "User",
            "Uma User",
            CLIENT,
            Some("Globex Corporation"),
        ),
        (
            "peter.gibbons@initech.example",
            "client",
            "Admin",
            "Peter Gibbons",
            CLIENT,
            Some("Initech"),
        ),
        (
            "milton.waddams@initech.example",
            "client",
            "User",
            "Milton Waddams",
            CLIENT,
            Some("Initech"),
        ),
        (
            "tina.tech@acme-it.example",
            "internal",
            "Technician",
            "Tina Tech",
            STAFF,
            None,
        ),
    ];
    assert_eq!(users.len(), expected.len(), "{demo}");
    let mut passwords = Vec::new();
    for (user, (email, user_type, role, name, path, company)) in users.iter().zip(expected) {
        let fields = as_object(user);
        let mut wanted = vec![
            "display_name",
            "email",
            "password",
            "role",
            "signin_url",
            "user_type",
        ];
        if company.is_some() {
            wanted.insert(0, "company");
        }
        assert_eq!(keys(fields), wanted);
        assert_eq!(user["company"].as_str(), company);
        assert_eq!(user["email"], email);
        assert_eq!(user["user_type"], user_type);
        assert_eq!(user["role"], role);
        assert_eq!(user["display_name"], name);
        assert_eq!(user["signin_url"], format!("{origin}{path}"));
        let password = user["password"].as_str().expect("password").to_owned();
        assert!(
            password.len() >= 10 && password.bytes().all(|b| b.is_ascii_alphanumeric()),
            "demo password {password:?}"
        );
        passwords.push(password);
    }
    let mut distinct = passwords.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        passwords.len(),
        "each demo user has its own password"
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(store.data_dir().join("demo.json"))
        .expect("demo.json")
        .permissions()
        .mode();
    assert_eq!(format!("{:o}", mode & 0o777), "600", "demo.json holds passwords");

    // The listeners, then the credentials.
    porta.wait_stdout_contains(&format!("password  {}\n", passwords[1]), Duration::from_secs(10));
    let stdout = porta.stdout();
    let ports = store.ports;
    let edge_line = format!(
        "porta: edge listening on https://127.0.0.1:{} and http://127.0.0.1:{}\n",
        ports.edge_https, ports.edge_http
    );
    assert!(
        stdout.contains(&edge_line),
        "stdout lacks {edge_line:?}:\n{stdout}"
    );
    for (index, user) in users.iter().enumerate() {
        let printed: &[&str] = if index < 2 {
            &["email", "password", "signin_url"]
        } else {
            // The others by address; their passwords stay in demo.json.
            &["email"]
        };
        for field in printed {
            let value = user[*field].as_str().expect("string");
            assert!(stdout.contains(value), "stdout lacks {field}:\n{stdout}");
        }
        if index >= 2 {
            let password = user["password"].as_str().expect("string");
            assert!(
                !stdout.contains(password),
                "only demo.json holds the other passwords"
            );
        }
    }
    let mail_dir = store.data_dir().join("mail");
    assert!(
        stdout.contains(&format!("written to {} as an .eml file", mail_dir.display())),
        "up says where development mail goes:\n{stdout}"
    );

    // Where the data went.
    let sqlite_file = store.data_dir().join("porta.sqlite");
    match db.backend {
        Backend::Sqlite => assert!(sqlite_file.exists(), "SQLite default file missing"),
        Backend::Postgres => assert!(!sqlite_file.exists(), "PostgreSQL run wrote SQLite"),
    }
    let tenants = store.tenants().await;
    assert_eq!(tenants.len(), 1, "{tenants:?}");
    assert_eq!(tenants[0]["slug"], "acme");
    assert_eq!(tenants[0]["name"], "Acme IT Services");

    // Both servers answer.
    for client in [porta.plain(ports.portal), porta.plain(ports.edge_http)] {
        let health = client.get("/healthz", None).await;
        assert_eq!(
            (health.status, health.body.as_str()),
            (200, "ok\n"),
            "{}",
            client.origin
        );
    }

    // The demo client user signs in on the canonical host (the portal as the
    // edge reaches it) and is handed off to the custom domain.
    let site = porta.site(DEMO_SLUG);
    let jane = demo_user(&demo, "client");
    let form = site.get("/auth/client-portal/signin", None).await;
    assert_eq!(form.status, 200, "{form:?}");
    for id in ["email", "password", "signin-submit"] {
        assert!(form.body.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    assert_eq!(form.text_of("signin-error"), None);
    // As a browser sent from the custom domain's handoff start signs in.
    let signed_in = site
        .sign_in_client_with(&jane.email, &jane.password, Some(&handoff_binding()))
        .await;
    let ott = assert_demo_handoff(&store, &signed_in.location);
    let dashboard = site
        .get("/client-portal/dashboard", Some(&signed_in.session))
        .await;
    assert_dashboard(&dashboard, "Jane Doe", "Globex Corporation", "Acme IT Services");

    // Operators read the tenant's records while it runs.
    let listed = store
        .run(&["ticket", "list", "--tenant", "acme", "--json"], None)
        .await;
    let tickets: Value = serde_json::from_str(listed.success()).expect("ticket list --json");
    let tickets = tickets.as_array().expect("an array");
    assert!(tickets.len() >= 10, "the demo's open tickets: {tickets:?}");
    for t in tickets {
        assert!(t["number"].as_str().is_some_and(|n| n.starts_with("TIC-")), "{t}");
        assert_eq!(t["closed"], false, "open tickets only by default: {t}");
    }
    let initech = store
        .run(
            &[
                "ticket", "list", "--tenant", "acme", "--client", "Initech", "--state", "all", "--json",
            ],
            None,
        )
        .await;
    let initech: Value = serde_json::from_str(initech.success()).expect("json");
    assert!(initech
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["client"] == "Initech"));
    let audit = store
        .run(
            &["audit", "list", "--tenant", "acme", "--kind", "signin", "--json"],
            None,
        )
        .await;
    let audit: Value = serde_json::from_str(audit.success()).expect("audit list --json");
    let rows = audit.as_array().expect("an array");
    assert!(
        rows.iter().any(|r| r["actor"] == jane.email.as_str()
            && r["action"] == "signin"
            && r["outcome"] == "success"),
        "Jane's sign-in is in the audit log: {rows:?}"
    );
    let unknown = store.run(&["audit", "list", "--tenant", "nope"], None).await;
    assert!(!unknown.status.success());

    assert_no_secrets_in_log(
        &porta.stderr(),
        &[&passwords[0], &passwords[1], &signed_in.session.token, &ott],
    );
    let status = porta.stop();
    assert!(status.success(), "porta up exits 0 on SIGTERM: {status:?}");
}

/// A second `porta up` on the same data directory and database does not
/// seed again: demo.json is untouched, there is still one tenant, the same
/// passwords are printed and work, and a session from the first run is
/// still valid (keys and sessions persist).
async fn second_up_keeps_the_demo(db: TestDb) {
    let store = Store::new(&db);
    let first = store.up();
    let demo_path = store.data_dir().join("demo.json");
    let demo_before = std::fs::read(&demo_path).expect("demo.json");
    let demo = store.demo_json();
    let jane = demo_user(&demo, "client");
    let alex = demo_user(&demo, "internal");
    let signed_in = first
        .site(DEMO_SLUG)
        .sign_in_client(&jane.email, &jane.password)
        .await;
    assert_demo_handoff_start(&store, &signed_in.location);
    let status = first.stop();
    assert!(status.success(), "porta up exits 0 on SIGTERM: {status:?}");

    let mut second = store.up();
    for password in [&jane.password, &alex.password] {
        second.wait_stdout_contains(&format!("password  {password}\n"), Duration::from_secs(10));
    }
    assert_eq!(
        std::fs::read(&demo_path).expect("demo.json"),
        demo_before,
        "a second `porta up` must not rewrite demo.json"
    );
    let tenants = store.tenants().await;
    assert_eq!(tenants.len(), 1, "reseeded? {tenants:?}");
    assert_eq!(tenants[0]["slug"], "acme");

    let site = second.site(DEMO_SLUG);
    let old_session = site
        .get("/client-portal/dashboard", Some(&signed_in.session))
        .await;
    assert_dashboard(&old_session, "Jane Doe", "Globex Corporation", "Acme IT Services");
    let again = site
        .sign_in_client_with(&jane.email, &jane.password, Some(&handoff_binding()))
        .await;
    assert_demo_handoff(&store, &again.location);
    assert_ne!(again.session.token, signed_in.session.token);
}

/// `tenant create`, `tenant list`, `client create` and `user create` with
/// `--json` print exactly the documented objects; `porta portal` then serves
/// the new tenant (and no demo), where the new client user signs in, sees
/// their dashboard and signs out, while the internal user is refused at the
/// client door. Nothing secret reaches the server log, even at debug level.
async fn admin_commands_and_sign_in(db: TestDb) {
    let store = Store::new(&db);

    let tenant = store
        .run(
            &[
                "tenant",
                "create",
                "--slug",
                "beta",
                "--name",
                "Beta Networks",
                "--json",
            ],
            None,
        )
        .await
        .json();
    assert_eq!(keys(&tenant), ["canonical_url", "id", "name", "slug"]);
    let tenant_id = uuid(&tenant["id"]);
    assert_eq!(tenant["slug"], "beta");
    assert_eq!(tenant["name"], "Beta Networks");
    assert_eq!(
        tenant["canonical_url"],
        store.https_origin("beta.portal.localhost")
    );
    assert_eq!(
        store.tenants().await,
        [json!({ "id": tenant_id, "slug": "beta", "name": "Beta Networks" })]
    );

    let client = store
        .run(
            &[
                "client",
                "create",
                "--tenant",
                "beta",
                "--name",
                "Northwind",
                "--json",
            ],
            None,
        )
        .await
        .json();
    assert_eq!(keys(&client), ["id", "name", "tenant"]);
    uuid(&client["id"]);
    assert_eq!(client["tenant"], "beta");
    assert_eq!(client["name"], "Northwind");

    let sam_password = "correct horse battery";
    let sam = store
        .run(
            &[
                "user",
                "create",
                "--tenant",
                "beta",
                "--email",
                "Sam.Smith@Northwind.example",
                "--type",
                "client",
                "--client",
                "Northwind",
                "--json",
            ],
            Some(&format!("{sam_password}\n")),
        )
        .await
        .json();
    assert_eq!(
        keys(&sam),
        [
            "client",
            "display_name",
            "email",
            "id",
            "role",
            "tenant",
            "user_type"
        ]
    );
    uuid(&sam["id"]);
    assert_eq!(sam["tenant"], "beta");
    assert_eq!(sam["email"], "sam.smith@northwind.example");
    assert_eq!(sam["user_type"], "client");
    assert_eq!(sam["client"], "Northwind");
    assert_eq!(sam["role"], "User");
    assert_eq!(sam["display_name"], "Sam Smith");

    let ivy_password = "staff-only-secret-42";
    let ivy = store
        .run(
            &[
                "user",
                "create",
                "--tenant",
                "beta",
                "--email",
                "ivy@beta-it.example",
                "--type",
                "internal",
                "--role",
                "Admin",
                "--name",
                "Ivy Ops",
                "--json",
            ],
            Some(&format!("{ivy_password}\r\n")),
        )
        .await
        .json();
    assert_eq!(keys(&ivy), keys(&sam));
    uuid(&ivy["id"]);
    assert_eq!(ivy["tenant"], "beta");
    assert_eq!(ivy["email"], "ivy@beta-it.example");
    assert_eq!(ivy["user_type"], "internal");
    assert_eq!(ivy["client"], Value::Null);
    assert_eq!(ivy["role"], "Admin");
    assert_eq!(ivy["display_name"], "Ivy Ops");

    // `porta portal` serves what the database holds and seeds nothing.
    let porta = store.start("portal", &[("RUST_LOG", "debug")]);
    assert!(!store.data_dir().join("demo.json").exists());
    assert_eq!(store.tenants().await.len(), 1);
    let acme = porta
        .site(DEMO_SLUG)
        .get("/auth/client-portal/signin", None)
        .await;
    assert_eq!(acme.status, 404, "unknown tenant host: {acme:?}");

    let site = porta.site("beta");
    let anonymous = site.get("/client-portal/dashboard", None).await;
    anonymous.assert_see_other("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard");

    let wrong = site
        .client_sign_in("sam.smith@northwind.example", "not the password")
        .await;
    wrong.assert_see_other(
        "/auth/client-portal/signin?error=CredentialsSignin&next=%2Fclient-portal%2Fdashboard",
    );
    assert_eq!(wrong.set_cookies(), Vec::<String>::new());

    let staff = site.client_sign_in("ivy@beta-it.example", ivy_password).await;
    staff.assert_see_other("/auth/client-portal/signin?error=AccessDenied");
    assert_eq!(staff.set_cookies(), Vec::<String>::new());

    // The email is matched case-insensitively, as it was stored.
    let signed_in = site
        .sign_in_client("SAM.SMITH@northwind.example", sam_password)
        .await;
    // No custom domain: straight to the dashboard.
    assert_eq!(signed_in.location, "/client-portal/dashboard");
    let session = signed_in.session;
    let dashboard = site.get("/client-portal/dashboard", Some(&session)).await;
    assert_dashboard(&dashboard, "Sam Smith", "Northwind", "Beta Networks");
    assert_eq!(dashboard.text_of("email"), Some("sam.smith@northwind.example"));
    assert_eq!(dashboard.text_of("roles"), Some("User"));

    // Signing out without the page's Origin and token is refused...
    let forged = site.post_form("/auth/signout", &[], Some(&session)).await;
    assert_eq!(forged.status, 403, "{forged:?}");
    // ... from the dashboard's own form it works.
    let signout = site
        .submit("/auth/signout", &[], &session, "/client-portal/dashboard")
        .await;
    signout.assert_see_other("/auth/client-portal/signin");
    let cleared = signout.set_cookies();
    assert_eq!(cleared.len(), 1, "{signout:?}");
    assert!(
        cleared[0].starts_with(&format!("{SESSION_COOKIE}=;")),
        "sign-out must clear the session cookie: {}",
        cleared[0]
    );
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=0"] {
        assert!(
            cleared[0].split("; ").any(|a| a == attribute),
            "{attribute} missing: {}",
            cleared[0]
        );
    }
    // The session is revoked on the server, not only forgotten by the client.
    let replay = site.get("/client-portal/dashboard", Some(&session)).await;
    replay.assert_see_other("/auth/client-portal/signin?next=%2Fclient-portal%2Fdashboard");

    assert_no_secrets_in_log(&porta.stderr(), &[sam_password, ivy_password, &session.token]);
}

/// Every refused invocation exits 1 with `error: ...` naming the problem and
/// changes nothing: afterwards the tenant is as it was and the user that the
/// failed attempts tried to create can still be created.
async fn bad_arguments(db: TestDb) {
    let store = Store::new(&db);
    store
        .run(
            &["tenant", "create", "--slug", "beta", "--name", "Beta Networks"],
            None,
        )
        .await
        .success();
    store
        .run(
            &["client", "create", "--tenant", "beta", "--name", "Northwind"],
            None,
        )
        .await
        .success();

    const GOOD: &str = "a long enough password\n";
    let user = |rest: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["user", "create", "--tenant"];
        args.extend_from_slice(rest);
        args
    };
    let sam = ["beta", "--email", "sam@northwind.example", "--type", "client"];
    let client_user = user(&[&sam[..], &["--client", "Northwind"]].concat());
    let with = |base: &[&'static str], extra: &[&'static str]| [base, extra].concat();

    // (arguments, standard input, what the message must name)
    let cases: Vec<(Vec<&str>, &str, &[&str])> = vec![
        (
            vec!["tenant", "create", "--slug", "Not Valid!", "--name", "X"],
            "",
            &["--slug", "Not Valid!"],
        ),
        (
            vec!["tenant", "create", "--slug", "beta", "--name", "Other"],
            "",
            &["\"beta\"", "already exists"],
        ),
        (
            vec!["client", "create", "--tenant", "nope", "--name", "X"],
            "",
            &["no tenant", "nope"],
        ),
        (
            vec!["client", "create", "--tenant", "beta", "--name", "Northwind"],
            "",
            &["already has a client named", "Northwind"],
        ),
        (
            user(&["nope", "--email", "a@b.example", "--type", "internal"]),
            GOOD,
            &["no tenant", "nope"],
        ),
        (user(&sam), GOOD, &["client users need --client"]),
        (
            user(&[
                "beta",
                "--email",
                "ivy@beta.example",
                "--type",
                "internal",
                "--client",
                "Northwind",
            ]),
            GOOD,
            &["internal users", "--client"],
        ),
        (
            with(&user(&sam), &["--client", "Initech"]),
            GOOD,
            &["no client named", "Initech"],
        ),
        (
            with(&client_user, &["--role", "Wizard"]),
            GOOD,
            &["no role named", "Wizard"],
        ),
        // Admin is a client role too now; Technician is staff only.
        (
            with(&client_user, &["--role", "Technician"]),
            GOOD,
            &["\"Technician\"", "internal users", "not client users"],
        ),
        (
            user(&[
                "beta",
                "--email",
                "not-an-email",
                "--type",
                "client",
                "--client",
                "Northwind",
            ]),
            GOOD,
            &["--email", "not-an-email"],
        ),
        (client_user.clone(), "tooshort1\n", &["password", "at least 10"]),
        (client_user.clone(), "", &["no password on standard input"]),
        (client_user.clone(), "\n", &["no password on standard input"]),
    ];
    for (args, stdin, names) in &cases {
        let out = store.run(args, Some(stdin)).await;
        let message = out.failure(1);
        for name in *names {
            assert!(
                message.contains(name),
                "`porta {}`: the message should name {name:?}:\n{message}",
                args.join(" ")
            );
        }
        let typed = stdin.trim_end();
        if !typed.is_empty() {
            assert!(!message.contains(typed), "the password was echoed: {message}");
        }
    }

    // Nothing changed.
    let tenants = store.tenants().await;
    assert_eq!(tenants.len(), 1, "{tenants:?}");
    assert_eq!(tenants[0]["name"], "Beta Networks");
    let created = store.run(&client_user, Some(GOOD)).await;
    assert!(created.success().contains("sam@northwind.example"));
    let duplicate = store.run(&client_user, Some(GOOD)).await;
    let message = duplicate.failure(1);
    assert!(
        message.contains("already has a client user sam@northwind.example"),
        "{message}"
    );
}

/// Configuration problems are reported with their key before anything is
/// touched: an unknown key in a `--config` file and an unknown `PORTA_*`
/// variable both stop `porta up` with exit 1.
#[tokio::test]
async fn config_errors_name_the_key() {
    let store = Store::sqlite();
    let config = store.data_dir().join("bad.toml");
    std::fs::write(&config, "bogus = 1\n").expect("write config");

    let mut cmd = store.command(["up"]);
    cmd.arg("--config").arg(&config);
    let out = common::run_command(cmd, None).await;
    let message = out.failure(1);
    assert!(message.contains("bogus"), "{message}");
    assert!(message.contains("bad.toml"), "names the file: {message}");

    let mut cmd = store.command(["up"]);
    cmd.env("PORTA_BOGUS", "1");
    let out = common::run_command(cmd, None).await;
    let message = out.failure(1);
    assert!(message.contains("PORTA_BOGUS"), "{message}");

    let left: Vec<_> = std::fs::read_dir(store.data_dir())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["bad.toml"], "a refused config must touch nothing");
}

/// A PostgreSQL URL that cannot be reached fails with a message that says
/// so and never prints the password in the URL.
#[tokio::test]
async fn unreachable_postgres_fails_without_printing_the_password() {
    let store = Store::sqlite();
    let mut cmd = store.command(["migrate"]);
    cmd.env(
        "PORTA_DATABASE_URL",
        "postgres://porta:hunter2-db-secret@127.0.0.1:1/porta",
    );
    let out = common::run_command(cmd, None).await;
    let message = out.failure(1);
    assert!(message.contains("cannot connect to PostgreSQL"), "{message}");
    assert!(!message.contains("hunter2-db-secret"), "{message}");
}

/// clap rejects malformed command lines with exit code 2 and names the
/// argument.
#[tokio::test]
async fn usage_errors_exit_2_and_name_the_argument() {
    let store = Store::sqlite();
    let cases: [(&[&str], &str); 3] = [
        (&["tenant", "create", "--name", "X"], "--slug"),
        (
            &[
                "user",
                "create",
                "--tenant",
                "beta",
                "--email",
                "a@b.example",
                "--type",
                "wizard",
            ],
            "wizard",
        ),
        (&["frobnicate"], "frobnicate"),
    ];
    for (args, name) in cases {
        let out = store.run(args, None).await;
        let message = out.failure(2);
        assert!(message.contains(name), "`porta {}`: {message}", args.join(" "));
    }
}

/// What `porta up` keeps of its own it keeps to itself: the data directory
/// it creates is 0700, the SQLite database and its WAL 0600 (they hold
/// password hashes and sessions), whatever the umask.
#[tokio::test]
async fn up_creates_a_private_data_directory_and_database() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::sqlite_in_a_new_directory();
    assert!(!store.data_dir().exists());
    let porta = store.up();
    let mode = |path: &std::path::Path| {
        let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        format!("{:o}", meta.permissions().mode() & 0o777)
    };
    assert_eq!(mode(store.data_dir()), "700", "the data directory");
    let database = store.data_dir().join("porta.sqlite");
    assert_eq!(mode(&database), "600", "porta.sqlite");
    // SQLite keeps the WAL while connections are open (porta's are).
    let wal = store.data_dir().join("porta.sqlite-wal");
    assert!(wal.exists(), "no WAL next to {}", database.display());
    assert_eq!(mode(&wal), "600", "porta.sqlite-wal");
    drop(porta);
}
