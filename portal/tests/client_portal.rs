//! The client portal and the MSP side of tickets, on both backends: every
//! route against every role, another company's and another tenant's data
//! never shown, internal notes and documents never reaching a client,
//! attachments, paging and filters, notifications, profile and account.

mod common;

use common::*;
use porta_core::db::{clients, sessions, users, Db};
use porta_core::ids::{ClientId, TenantId, UserId};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const GLOBEX_TICKET: &str = "Printer on fire in the Globex lobby";
const INITECH_TICKET: &str = "INITECH-ONLY: TPS cover sheets";
const SECRET_NOTE: &str = "SECRET-NOTE: the root cause is our firewall";
const SECRET_FILE: &str = "secret-export.txt";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

/// Who is who in the tests.
struct World {
    app: TestApp,
    host: String,
    tenant: TenantId,
    jane: String,
    frank: String,
    uma: String,
    peter: String,
    tom: String,
    ada: String,
    beta_host: String,
    bob: String,
    jane_id: UserId,
    uma_id: UserId,
}

async fn client_user_of(
    db: &Db,
    tenant: TenantId,
    client: ClientId,
    email: &str,
    name: &str,
    role: &str,
) -> UserId {
    let id = users::create(
        db,
        &users::NewUser {
            tenant,
            user_type: UserType::Client,
            email: porta_core::email::EmailAddress::parse(email).unwrap(),
            display_name: name.into(),
            client: Some(client),
            password_hash: porta_core::password::hash(&porta_core::secret::Secret::new(PASSWORD)).unwrap(),
        },
    )
    .await
    .unwrap();
    with_role(db, tenant, id, UserType::Client, role).await;
    id
}

async fn world(t: TestDb) -> World {
    let app = TestApp::start(t).await;
    let db = app.db.clone();
    let acme = tenant(&db, "acme", "Acme IT").await;
    let globex = clients::find_by_name(&db, acme.tenant, "Globex Corporation")
        .await
        .unwrap()
        .unwrap()
        .id;
    let initech = clients::create(&db, acme.tenant, "Initech").await.unwrap().id;
    let jane_id = client_user_of(
        &db,
        acme.tenant,
        globex,
        "jane@globex.example",
        "Jane Doe",
        "Admin",
    )
    .await;
    client_user_of(
        &db,
        acme.tenant,
        globex,
        "frank@globex.example",
        "Frank Finance",
        "Finance",
    )
    .await;
    let uma_id = client_user_of(&db, acme.tenant, globex, "uma@globex.example", "Uma User", "User").await;
    client_user_of(
        &db,
        acme.tenant,
        initech,
        "peter@initech.example",
        "Peter Gibbons",
        "Admin",
    )
    .await;
    user(
        &db,
        acme.tenant,
        "tom@acme-it.example",
        UserType::Internal,
        "Tom Tech",
    )
    .await;
    let ada = user(
        &db,
        acme.tenant,
        "ada@acme-it.example",
        UserType::Internal,
        "Ada Admin",
    )
    .await;
    with_role(&db, acme.tenant, ada, UserType::Internal, "Admin").await;
    let beta = tenant(&db, "beta", "Beta MSP").await;
    let beta_globex = clients::find_by_name(&db, beta.tenant, "Globex Corporation")
        .await
        .unwrap()
        .unwrap()
        .id;
    client_user_of(
        &db,
        beta.tenant,
        beta_globex,
        "bob@globex.example",
        "Bob",
        "Admin",
    )
    .await;
    let h = acme.host.clone();
    let staff = |email: &'static str| {
        let app = &app;
        let h = h.clone();
        async move {
            let response = app.sign_in_staff(&h, email, PASSWORD).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            cookie_pair(&response).unwrap()
        }
    };
    let tom = staff("tom@acme-it.example").await;
    let ada_cookie = staff("ada@acme-it.example").await;
    World {
        jane: app.session_cookie(&h, "jane@globex.example").await,
        frank: app.session_cookie(&h, "frank@globex.example").await,
        uma: app.session_cookie(&h, "uma@globex.example").await,
        peter: app.session_cookie(&h, "peter@initech.example").await,
        bob: app.session_cookie(&beta.host, "bob@globex.example").await,
        tom,
        ada: ada_cookie,
        host: h,
        tenant: acme.tenant,
        beta_host: beta.host,
        jane_id,
        uma_id,
        app,
    }
}

/// Opens a ticket through the portal as `cookie`; returns its number.
async fn open_ticket(w: &World, cookie: &str, title: &str, files: &[(&str, &str, Vec<u8>)]) -> String {
    let response = w
        .app
        .submit_multipart(
            &w.host,
            "/client-portal/tickets",
            &[("title", title), ("description", "It started this morning.")],
            files,
            cookie,
            "/client-portal/tickets/new",
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    let target = location(&response).unwrap();
    let number = target
        .strip_prefix("/client-portal/tickets/")
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_owned();
    assert!(target.ends_with("?notice=ticket_created"), "{target}");
    number
}

/// Jane's ticket with Tom's public reply, his internal note with an
/// internal file, and Jane's public file; Peter's Initech ticket.
async fn tickets(w: &World) -> (String, String) {
    let globex = open_ticket(
        w,
        &w.jane,
        GLOBEX_TICKET,
        &[("attachments", "screenshot.png", PNG.to_vec())],
    )
    .await;
    let page = format!("/msp/tickets/{globex}");
    let reply = w
        .app
        .submit_multipart(
            &w.host,
            &format!("{page}/comments"),
            &[("body", "We are on our way."), ("visibility", "public")],
            &[],
            &w.tom,
            &page,
        )
        .await;
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let note = w
        .app
        .submit_multipart(
            &w.host,
            &format!("{page}/comments"),
            &[("body", SECRET_NOTE), ("visibility", "internal")],
            &[("attachments", SECRET_FILE, b"internal numbers".to_vec())],
            &w.tom,
            &page,
        )
        .await;
    assert_eq!(note.status(), StatusCode::SEE_OTHER);
    let initech = open_ticket(w, &w.peter, INITECH_TICKET, &[]).await;
    (globex, initech)
}

/// A form post: path, fields, the page whose token it uses, the status
/// for Admin, Finance and User.
type PostCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    [u16; 3],
);

/// Every client route against every client role: allowed ones answer,
/// the others get the 403 page; staff pages send clients to staff sign-in.
async fn routes_against_roles(t: TestDb) {
    let w = world(t).await;
    let (globex, _) = tickets(&w).await;
    let get_cases: Vec<(String, [u16; 3])> = vec![
        ("/client-portal/dashboard".into(), [200, 200, 200]),
        ("/client-portal/tickets".into(), [200, 200, 200]),
        ("/client-portal/tickets/new".into(), [200, 200, 200]),
        (format!("/client-portal/tickets/{globex}"), [200, 200, 200]),
        ("/client-portal/account".into(), [200, 200, 200]),
        ("/client-portal/profile".into(), [200, 200, 200]),
        ("/client-portal/notifications".into(), [200, 200, 200]),
        ("/client-portal/client-settings".into(), [200, 200, 403]),
        ("/msp/tickets".into(), [303, 303, 303]),
        ("/msp/clients".into(), [303, 303, 303]),
    ];
    let roles = [("Admin", &w.jane), ("Finance", &w.frank), ("User", &w.uma)];
    for (path, expected) in &get_cases {
        for ((role, cookie), want) in roles.iter().zip(expected) {
            let (status, body) = w.app.page(&w.host, path, cookie).await;
            assert_eq!(status.as_u16(), *want, "{role} GET {path}");
            if *want == 403 {
                assert!(
                    body.contains("Not allowed") && body.contains(r#"id="nav-dashboard""#),
                    "a 403 page in the layout: {body}"
                );
            }
        }
    }
    // Writes: who may change the company, its settings and its people.
    let post_cases: Vec<PostCase> = vec![
        (
            "/client-portal/account/company",
            vec![("name", "Globex Corporation")],
            "/client-portal/account",
            [303, 403, 403],
        ),
        (
            "/client-portal/client-settings",
            vec![],
            "/client-portal/dashboard",
            [303, 403, 403],
        ),
        (
            "/client-portal/account/invitations",
            vec![
                ("display_name", "Newcomer"),
                ("email", "new@globex.example"),
                ("role", "x"),
            ],
            "/client-portal/account",
            [400, 403, 403],
        ),
    ];
    for (path, form, token_page, expected) in &post_cases {
        for ((role, cookie), want) in roles.iter().zip(expected) {
            let response = w.app.submit(&w.host, path, form, cookie, token_page).await;
            assert_eq!(response.status().as_u16(), *want, "{role} POST {path}");
        }
    }
    // The menu shows only what the role may open.
    let (_, uma_page) = w.app.page(&w.host, "/client-portal/dashboard", &w.uma).await;
    assert!(!uma_page.contains(r#"id="nav-client-settings""#));
    let (_, jane_page) = w.app.page(&w.host, "/client-portal/dashboard", &w.jane).await;
    assert!(jane_page.contains(r#"id="nav-client-settings""#));
    // Staff: the queue, tickets and clients.
    for cookie in [&w.tom, &w.ada] {
        for path in ["/msp/tickets", &format!("/msp/tickets/{globex}"), "/msp/clients"] {
            let (status, _) = w.app.page(&w.host, path, cookie).await;
            assert_eq!(status, StatusCode::OK, "staff GET {path}");
        }
    }
}

/// Another company's ticket, its files, and another tenant's pages: 404
/// or no session, and never a word of the data.
async fn foreign_data_is_never_shown(t: TestDb) {
    let w = world(t).await;
    let (globex, initech) = tickets(&w).await;
    let (status, body) = w
        .app
        .page(&w.host, &format!("/client-portal/tickets/{initech}"), &w.jane)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("INITECH-ONLY"));
    for path in [
        "/client-portal/tickets",
        "/client-portal/dashboard",
        "/client-portal/notifications",
    ] {
        let (_, body) = w.app.page(&w.host, path, &w.jane).await;
        assert!(!body.contains("INITECH-ONLY"), "{path} shows Initech's ticket");
        let (_, body) = w.app.page(&w.host, path, &w.peter).await;
        assert!(
            !body.contains(GLOBEX_TICKET),
            "{path} shows Globex's ticket to Initech"
        );
    }
    let (_, globex_page) = w
        .app
        .page(&w.host, &format!("/client-portal/tickets/{globex}"), &w.jane)
        .await;
    let doc = globex_page
        .split(&format!("/client-portal/tickets/{globex}/documents/"))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a document link")
        .to_owned();
    let foreign = format!("/client-portal/tickets/{globex}/documents/{doc}");
    let response = w.app.get(&w.host, &foreign, Some(&w.peter)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Writes on another company's ticket: refused, nothing changed.
    let close = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/tickets/{globex}/status"),
            &[("action", "close")],
            &w.peter,
            "/client-portal/dashboard",
        )
        .await;
    assert_eq!(close.status(), StatusCode::NOT_FOUND);
    let reply = w
        .app
        .submit_multipart(
            &w.host,
            &format!("/client-portal/tickets/{globex}/comments"),
            &[("body", "hijack")],
            &[],
            &w.peter,
            "/client-portal/dashboard",
        )
        .await;
    assert_eq!(reply.status(), StatusCode::NOT_FOUND);
    let (_, body) = w
        .app
        .page(&w.host, &format!("/client-portal/tickets/{globex}"), &w.jane)
        .await;
    assert!(
        !body.contains("hijack") && body.contains(r#"id="close-ticket""#),
        "still open, no reply"
    );
    // Another tenant: its session is no session here, and our ticket does
    // not exist on its host.
    let response = w.app.get(&w.host, "/client-portal/tickets", Some(&w.bob)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, body) = w
        .app
        .page(&w.beta_host, &format!("/client-portal/tickets/{globex}"), &w.bob)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains(GLOBEX_TICKET));
    let (_, body) = w.app.page(&w.beta_host, "/client-portal/tickets", &w.bob).await;
    assert!(!body.contains(GLOBEX_TICKET) && body.contains("no tickets yet"));
    // Staff of another tenant see none of it either.
    let (_, body) = w.app.page(&w.beta_host, "/msp/clients", &w.bob).await;
    assert!(!body.contains("Initech"));
}

/// Internal notes and their files exist for staff and nowhere for clients:
/// not on the ticket, the list, the dashboard, the notifications, nor as a
/// download.
async fn internal_notes_never_reach_clients(t: TestDb) {
    let w = world(t).await;
    let (globex, _) = tickets(&w).await;
    let staff_view = format!("/msp/tickets/{globex}");
    let (_, staff_page) = w.app.page(&w.host, &staff_view, &w.tom).await;
    assert!(staff_page.contains(SECRET_NOTE) && staff_page.contains(SECRET_FILE));
    let internal_doc = staff_page
        .split(&format!("/msp/tickets/{globex}/documents/"))
        .find_map(|part| {
            part.split('"')
                .next()
                .filter(|id| part.contains(SECRET_FILE) && id.len() == 36)
        })
        .map(str::to_owned);
    for cookie in [&w.jane, &w.frank, &w.uma] {
        for path in [
            format!("/client-portal/tickets/{globex}"),
            "/client-portal/tickets".to_owned(),
            "/client-portal/dashboard".to_owned(),
            "/client-portal/notifications".to_owned(),
        ] {
            let (status, body) = w.app.page(&w.host, &path, cookie).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(
                !body.contains("SECRET-NOTE") && !body.contains(SECRET_FILE),
                "{path} leaks the note"
            );
        }
    }
    // Every document id of the ticket, public or internal, tried as a client.
    let (_, staff_page) = w.app.page(&w.host, &staff_view, &w.tom).await;
    let ids: Vec<String> = staff_page
        .split(&format!("/msp/tickets/{globex}/documents/"))
        .skip(1)
        .filter_map(|part| part.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let mut refused = 0;
    for id in &ids {
        let response = w
            .app
            .get(
                &w.host,
                &format!("/client-portal/tickets/{globex}/documents/{id}"),
                Some(&w.jane),
            )
            .await;
        if response.status() == StatusCode::NOT_FOUND {
            refused += 1;
        } else {
            assert_eq!(response.status(), StatusCode::OK);
            let bytes = response.bytes().await.unwrap();
            assert_ne!(&bytes[..], b"internal numbers");
        }
    }
    assert_eq!(refused, 1, "exactly the internal document is refused");
    // Staff download the internal one.
    let id = internal_doc.unwrap_or_else(|| ids[1].clone());
    let response = w
        .app
        .get(
            &w.host,
            &format!("/msp/tickets/{globex}/documents/{id}"),
            Some(&w.tom),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Uploads: the size limit, a refused type, hostile names stored safely,
/// served as attachments with their own type and `nosniff`.
async fn attachments_are_checked_and_served_safely(t: TestDb) {
    let w = world(t).await;
    let new = "/client-portal/tickets/new";
    let too_big = w
        .app
        .submit_multipart(
            &w.host,
            "/client-portal/tickets",
            &[("title", "Big file")],
            &[("attachments", "big.txt", vec![b'a'; 11 * 1024 * 1024])],
            &w.jane,
            new,
        )
        .await;
    assert!(
        matches!(
            too_big.status(),
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE
        ),
        "{}",
        too_big.status()
    );
    let body = too_big.text().await.unwrap();
    assert!(
        body.contains("larger than the limit") || body.contains("too large"),
        "{body}"
    );
    let exe = w
        .app
        .submit_multipart(
            &w.host,
            "/client-portal/tickets",
            &[("title", "Tool")],
            &[(
                "attachments",
                "cat.png",
                b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec(),
            )],
            &w.jane,
            new,
        )
        .await;
    assert_eq!(exe.status(), StatusCode::BAD_REQUEST);
    let body = exe.text().await.unwrap();
    assert!(body.contains("cannot be attached"), "{body}");
    assert!(body.contains(r#"value="Tool""#), "what was typed is kept");
    // A NUL in a part's header is a malformed request: refused whole,
    // nothing stored.
    let nul = w
        .app
        .submit_multipart(
            &w.host,
            "/client-portal/tickets",
            &[("title", "NUL")],
            &[("attachments", "nul\0byte.txt", b"nul".to_vec())],
            &w.jane,
            new,
        )
        .await;
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
    assert!(nul.text().await.unwrap().contains("The form could not be read."));
    assert!(!w.app.files_dir.path().join("tenants").exists(), "nothing stored");
    // Hostile names: stored under our name, shown safely.
    let long = format!("{}.txt", "x".repeat(300));
    let number = open_ticket(
        &w,
        &w.jane,
        "Hostile names",
        &[
            ("attachments", "../../etc/passwd", b"root:x:0:0".to_vec()),
            ("attachments", "C:\\Windows\\..\\evil.txt", b"win".to_vec()),
            ("attachments", &long, b"long".to_vec()),
            ("attachments", "invoice\u{202E}gnp.exe", b"rtl".to_vec()),
        ],
    )
    .await;
    let (_, page) = w
        .app
        .page(&w.host, &format!("/client-portal/tickets/{number}"), &w.jane)
        .await;
    assert!(
        page.contains(">passwd</a>")
            && page.contains(">evil.txt</a>")
            && page.contains(">invoicegnp.exe</a>"),
        "{page}"
    );
    assert!(
        page.contains(&format!(">{}.txt</a>", "x".repeat(196))),
        "long names are cut to 200 characters"
    );
    assert!(!page.contains('\u{202E}') && !page.contains("../"));
    let stored: Vec<String> = std::fs::read_dir(
        w.app
            .files_dir
            .path()
            .join(format!("tenants/{}/documents", w.tenant)),
    )
    .unwrap()
    .map(|e| e.unwrap().file_name().into_string().unwrap())
    .collect();
    assert_eq!(stored.len(), 4);
    assert!(
        stored
            .iter()
            .all(|n| n.len() == 36 && uuid::Uuid::parse_str(n).is_ok()),
        "our names only: {stored:?}"
    );
    assert!(!w.app.files_dir.path().join("etc").exists());
    let link = page
        .split(&format!("/client-portal/tickets/{number}/documents/"))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let download = w
        .app
        .get(
            &w.host,
            &format!("/client-portal/tickets/{number}/documents/{link}"),
            Some(&w.jane),
        )
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    let h = download.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-type"], "text/plain");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
}

/// Ten a page, newest first; filters and paging links keep each other.
async fn paging_and_filters(t: TestDb) {
    let w = world(t).await;
    let mut numbers = Vec::new();
    for i in 0..12 {
        numbers.push(open_ticket(&w, &w.uma, &format!("Laptop {i:02}"), &[]).await);
    }
    open_ticket(&w, &w.uma, "Printer jam", &[]).await;
    let close = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/tickets/{}/status", numbers[0]),
            &[("action", "close")],
            &w.uma,
            "/client-portal/dashboard",
        )
        .await;
    assert_eq!(
        location(&close).as_deref(),
        Some(format!("/client-portal/tickets/{}?notice=ticket_closed", numbers[0]).as_str())
    );
    let (_, page1) = w
        .app
        .page(&w.host, "/client-portal/tickets?state=open&q=laptop", &w.uma)
        .await;
    assert!(
        page1.contains(r#"<span class="muted" id="pager-summary">1–10 of 11</span>"#),
        "{page1}"
    );
    assert!(
        page1.contains(r#"href="/client-portal/tickets?state=open&#38;q=laptop&#38;page=2""#),
        "{page1}"
    );
    assert!(!page1.contains("Printer jam"));
    assert!(
        !page1.contains(&format!(">{}<", numbers[0])),
        "the closed one is not open"
    );
    let (_, page2) = w
        .app
        .page(
            &w.host,
            "/client-portal/tickets?state=open&q=laptop&page=2",
            &w.uma,
        )
        .await;
    assert!(
        page2.contains("11–11 of 11") && page2.contains("Laptop 01"),
        "{page2}"
    );
    let (_, closed) = w
        .app
        .page(&w.host, "/client-portal/tickets?state=closed", &w.uma)
        .await;
    assert!(closed.contains("1–1 of 1") && closed.contains("Laptop 00"));
    let (_, by_number) = w
        .app
        .page(
            &w.host,
            &format!("/client-portal/tickets?q={}", numbers[5]),
            &w.uma,
        )
        .await;
    assert!(by_number.contains("1–1 of 1") && by_number.contains("Laptop 05"));
}

/// Replies move the response state and notify the other side; the bell
/// counts them; preferences switch them off.
async fn replies_notify_the_other_side(t: TestDb) {
    let w = world(t).await;
    let (globex, _) = tickets(&w).await;
    // Tom's public reply reached Jane's colleagues' bells (and Jane's).
    let (_, frank_page) = w.app.page(&w.host, "/client-portal/dashboard", &w.frank).await;
    assert!(
        frank_page.contains(r#"<span class="count" id="bell-count">"#),
        "{frank_page}"
    );
    let (_, list) = w
        .app
        .page(&w.host, "/client-portal/notifications", &w.frank)
        .await;
    assert!(list.contains("Tom Tech replied on") && !list.contains("SECRET"));
    // Uma switches replies off in the app, Tom replies again: nothing new for her.
    let before = porta_core::db::notifications::unread_count(&w.app.db, w.tenant, w.uma_id)
        .await
        .unwrap();
    let off = w
        .app
        .submit(
            &w.host,
            "/client-portal/profile/notifications",
            &[
                ("in_app.ticket_created", "on"),
                ("in_app.ticket_status_changed", "on"),
            ],
            &w.uma,
            "/client-portal/profile",
        )
        .await;
    assert_eq!(
        location(&off).as_deref(),
        Some("/client-portal/profile?notice=preferences_saved")
    );
    let page = format!("/msp/tickets/{globex}");
    w.app
        .submit_multipart(
            &w.host,
            &format!("{page}/comments"),
            &[("body", "Fixed."), ("visibility", "public")],
            &[],
            &w.tom,
            &page,
        )
        .await;
    assert_eq!(
        porta_core::db::notifications::unread_count(&w.app.db, w.tenant, w.uma_id)
            .await
            .unwrap(),
        before
    );
    let jane_unread = porta_core::db::notifications::unread_count(&w.app.db, w.tenant, w.jane_id)
        .await
        .unwrap();
    assert!(jane_unread >= 2);
    // Jane replies: the ticket awaits the MSP again.
    let (_, detail) = w
        .app
        .page(&w.host, &format!("/client-portal/tickets/{globex}"), &w.jane)
        .await;
    assert!(detail.contains("Awaiting your reply"), "{detail}");
    w.app
        .submit_multipart(
            &w.host,
            &format!("/client-portal/tickets/{globex}/comments"),
            &[("body", "Thanks!")],
            &[],
            &w.jane,
            &format!("/client-portal/tickets/{globex}"),
        )
        .await;
    let (_, detail) = w
        .app
        .page(&w.host, &format!("/client-portal/tickets/{globex}"), &w.jane)
        .await;
    assert!(detail.contains("Awaiting support"));
    // Mark all read.
    let done = w
        .app
        .submit(
            &w.host,
            "/client-portal/notifications/read-all",
            &[],
            &w.jane,
            "/client-portal/notifications",
        )
        .await;
    assert_eq!(
        location(&done).as_deref(),
        Some("/client-portal/notifications?notice=notifications_read")
    );
    assert_eq!(
        porta_core::db::notifications::unread_count(&w.app.db, w.tenant, w.jane_id)
            .await
            .unwrap(),
        0
    );
}

/// Changing the password needs the current one and signs out the other
/// sessions; a deactivated colleague is signed out everywhere.
async fn profile_and_account_security(t: TestDb) {
    let w = world(t).await;
    let second = w.app.session_cookie(&w.host, "jane@globex.example").await;
    let wrong = w
        .app
        .submit(
            &w.host,
            "/client-portal/profile/password",
            &[
                ("current", "nope"),
                ("new", "a much longer secret"),
                ("confirm", "a much longer secret"),
            ],
            &w.jane,
            "/client-portal/profile",
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("current password is not right"));
    let changed = w
        .app
        .submit(
            &w.host,
            "/client-portal/profile/password",
            &[
                ("current", PASSWORD),
                ("new", "a much longer secret"),
                ("confirm", "a much longer secret"),
            ],
            &w.jane,
            "/client-portal/profile",
        )
        .await;
    assert_eq!(
        location(&changed).as_deref(),
        Some("/client-portal/profile?notice=password_changed")
    );
    assert_eq!(
        w.app
            .get(&w.host, "/client-portal/dashboard", Some(&w.jane))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        w.app
            .get(&w.host, "/client-portal/dashboard", Some(&second))
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(
        w.app
            .sign_in(&w.host, "jane@globex.example", "a much longer secret")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // Jane deactivates Uma: Uma's session ends at once.
    let deactivate = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/account/users/{}/deactivate", w.uma_id),
            &[],
            &w.jane,
            "/client-portal/account",
        )
        .await;
    assert_eq!(
        location(&deactivate).as_deref(),
        Some("/client-portal/account?notice=user_deactivated")
    );
    assert_eq!(
        w.app
            .get(&w.host, "/client-portal/dashboard", Some(&w.uma))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let live = sessions::live_for_user(
        &w.app.db,
        w.tenant,
        w.uma_id,
        porta_core::clock::UnixMillis::now(),
    )
    .await
    .unwrap();
    assert!(live.is_empty());
    // Nobody manages another company's people.
    let foreign = w
        .app
        .submit(
            &w.host,
            &format!("/client-portal/account/users/{}/reactivate", w.uma_id),
            &[],
            &w.peter,
            "/client-portal/account",
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let (_, account) = w.app.page(&w.host, "/client-portal/account", &w.peter).await;
    assert!(!account.contains("uma@globex.example") && !account.contains("jane@globex.example"));
}

both_backends! {
    role_matrix => routes_against_roles;
    isolation => foreign_data_is_never_shown;
    internal => internal_notes_never_reach_clients;
    attachments => attachments_are_checked_and_served_safely;
    paging => paging_and_filters;
    notifications => replies_notify_the_other_side;
    security => profile_and_account_security;
}
