//! Ticket events mailed as each person's preferences say (a real SMTP
//! server), and the staff audit viewer with its filters and CSV export,
//! on both backends.

mod common;

use common::*;
use porta_core::db::notifications::{self, Preference};
use porta_core::db::Db;
use porta_core::ticket::NotificationKind;
use porta_core::user_type::UserType;
use porta_testkit::smtp::SmtpReceiver;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const JANE: &str = "jane@globex.example";
const ANN: &str = "ann@globex.example";
const TOM: &str = "tom@acme-it.example";

async fn mails_of(db: &Db, to: &str, kind: &str) -> i64 {
    fetch_i64(
        db,
        &format!("SELECT COUNT(*) FROM mail_outbox WHERE to_address = '{to}' AND kind = '{kind}'"),
    )
    .await
}

async fn ticket_events_are_mailed_as_people_wish(t: TestDb) {
    let smtp = SmtpReceiver::start();
    let env = smtp.env();
    let app = TestApp::start_with(t, &smtp_vars(&env)).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let ann = user(&app.db, acme.tenant, ANN, UserType::Client, "Ann Other").await;
    user(&app.db, acme.tenant, TOM, UserType::Internal, "Tom Tech").await;
    // Ann wants replies in the portal only.
    notifications::set_preferences(
        &app.db,
        acme.tenant,
        ann,
        &[Preference {
            kind: NotificationKind::CommentAdded,
            in_app: true,
            email: false,
        }],
    )
    .await
    .unwrap();
    let jane = app.session_cookie(&acme.host, JANE).await;
    let tom = session_pair(&app.sign_in_staff(&acme.host, TOM, PASSWORD).await).unwrap();

    let opened = app
        .submit_multipart(
            &acme.host,
            "/client-portal/tickets",
            &[("title", "Scanner offline"), ("description", "Since the update.")],
            &[],
            &jane,
            "/client-portal/tickets/new",
        )
        .await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let number = location(&opened)
        .unwrap()
        .trim_start_matches("/client-portal/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let created = smtp.wait_for(ANN, "Jane Doe opened").await;
    assert!(created.text.contains("Scanner offline"));
    let link = created.link_containing("/client-portal/tickets/").unwrap();
    assert_eq!(
        link,
        format!(
            "http://{}:{}/client-portal/tickets/{number}",
            acme.host,
            app.addr.port()
        )
    );

    let page = format!("/msp/tickets/{number}");
    for (body, visibility) in [
        ("Rebooting it remotely.", "public"),
        ("SECRET: the vendor's fault", "internal"),
    ] {
        let reply = app
            .submit_multipart(
                &acme.host,
                &format!("{page}/comments"),
                &[("body", body), ("visibility", visibility)],
                &[],
                &tom,
                &page,
            )
            .await;
        assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    }
    let replied = smtp.wait_for(JANE, "Tom Tech replied").await;
    assert!(replied.text.contains(&format!("/client-portal/tickets/{number}")));
    assert!(
        replied.text.contains("/client-portal/profile"),
        "says where to change it"
    );
    // Ann heard in the portal, not by mail; nobody heard of the note.
    assert_eq!(mails_of(&app.db, ANN, "comment_added").await, 0);
    assert_eq!(
        notifications::unread_count(&app.db, acme.tenant, ann)
            .await
            .unwrap(),
        2
    );
    assert_eq!(mails_of(&app.db, JANE, "comment_added").await, 1);
    let all = fetch_i64(
        &app.db,
        "SELECT COUNT(*) FROM mail_outbox WHERE text_body LIKE '%SECRET%'",
    )
    .await;
    assert_eq!(all, 0, "an internal note is never mailed");
    assert!(smtp.messages().iter().all(|m| !m.raw.contains("SECRET")));
}

/// The audit table of a page.
fn table_of(page: &str) -> &str {
    let start = page
        .find(r#"<table class="responsive" id="audit">"#)
        .expect("the audit table");
    let end = page[start..].find("</table>").unwrap() + start;
    &page[start..end]
}

async fn staff_read_the_audit_log(t: TestDb) {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let beta = tenant(&app.db, "beta", "Beta IT").await;
    user(&app.db, acme.tenant, JANE, UserType::Client, "Jane Doe").await;
    let sam = user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam Admin",
    )
    .await;
    with_role(&app.db, acme.tenant, sam, UserType::Internal, "Admin").await;
    user(&app.db, acme.tenant, TOM, UserType::Internal, "Tom Tech").await;
    user(
        &app.db,
        beta.tenant,
        "bob@beta.example",
        UserType::Client,
        "Bob Beta",
    )
    .await;
    app.session_cookie(&acme.host, JANE).await;
    app.sign_in(&acme.host, "=HYPERLINK(\"http://evil.example\")", "nope")
        .await;
    app.session_cookie(&beta.host, "bob@beta.example").await;
    let admin = session_pair(
        &app.sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    let tech = session_pair(&app.sign_in_staff(&acme.host, TOM, PASSWORD).await).unwrap();

    let (status, _) = app.page(&acme.host, "/msp/audit", &tech).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a Technician may not read it");
    assert_eq!(
        app.page(&acme.host, "/msp/audit.csv", &tech).await.0,
        StatusCode::FORBIDDEN
    );

    let (status, page) = app.page(&acme.host, "/msp/audit", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let rows = table_of(&page);
    assert!(rows.contains(JANE) && rows.contains("sam@acme-it.example"));
    assert!(
        !page.contains("bob@beta.example"),
        "another tenant's rows are not here"
    );
    assert!(
        page.contains(r#"<option value="signin""#),
        "the kinds to filter by"
    );

    let jane_id = porta_core::db::users::find_credentials(
        &app.db,
        acme.tenant,
        &porta_core::email::EmailAddress::parse(JANE).unwrap(),
        UserType::Client,
    )
    .await
    .unwrap()
    .unwrap()
    .id;
    let (_, mine) = app
        .page(&acme.host, &format!("/msp/audit?user={jane_id}"), &admin)
        .await;
    let rows = table_of(&mine);
    assert!(
        rows.contains(JANE) && !rows.contains("sam@acme-it.example"),
        "only Jane's own rows: {rows}"
    );
    let (_, signins) = app.page(&acme.host, "/msp/audit?kind=signin", &admin).await;
    let rows = table_of(&signins);
    assert!(rows.contains("<code>signin</code>"));
    assert_eq!(
        rows.matches("<code>").count(),
        rows.matches("<code>signin</code>").count()
    );
    let (_, none) = app.page(&acme.host, "/msp/audit?kind=2fa", &admin).await;
    assert!(none.contains(r#"id="audit-empty""#));
    let (_, past) = app
        .page(&acme.host, "/msp/audit?from=2001-01-01&to=2001-01-02", &admin)
        .await;
    assert!(past.contains(r#"id="audit-empty""#));
    let (status, bad) = app.page(&acme.host, "/msp/audit?from=yesterday", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bad.contains("Dates are written 2026-11-29."));

    let csv = app
        .get(&acme.host, "/msp/audit.csv?kind=signin", Some(&admin))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"audit-log.csv\""
    );
    let body = csv.text().await.unwrap();
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some("time_utc,actor_email,actor_name,action,outcome,subject,ip,user_agent,detail")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().all(|r| r.contains(",signin,")), "{body}");
    assert!(rows.iter().any(|r| r.contains(JANE) && r.contains(",success,")));
    assert!(!body.contains("bob@beta.example"));
    assert!(body.contains("'=hyperlink"), "formulas are defused: {body}");
    assert!(!body.contains(",=hyperlink"));
    for secret in [PASSWORD, "nope"] {
        assert!(!body.contains(secret), "no password in the log");
    }
}

both_backends! {
    ticket_events_are_mailed_as_people_wish => ticket_events_are_mailed_as_people_wish;
    staff_read_the_audit_log => staff_read_the_audit_log;
}
