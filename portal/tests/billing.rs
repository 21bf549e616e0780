//! Billing on both backends: staff build and finalize invoices through
//! their pages; the client sees finalized invoices only (never a draft),
//! with the status computed from payments and the due date; other
//! companies and tenants see nothing (404, their data absent); a `User`
//! is refused (403); a finalized invoice cannot change through any staff
//! route nor through SQL (the triggers refuse it); the PDF's text, as
//! `pdftotext` reads it, carries the invoice's number, lines and figures.

mod common;

use common::*;
use porta_core::billing::{line_total, CalendarDate, Quantity, TaxRate, Totals};
use porta_core::clock::UnixMillis;
use porta_core::db::billing::{invoices, Scope};
use porta_core::db::clients;
use porta_core::db::Db;
use porta_core::ids::{ClientId, InvoiceId, TenantId};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use proptest::prelude::*;
use reqwest::StatusCode;

const LINE_A: &str = "Managed workstations";
const LINE_B: &str = "Onsite visit, server room";
const LINE_C: &str = "Backup storage licence";
const CREDIT: &str = "Goodwill credit for the outage";
const DRAFT_LINE: &str = "DRAFT-ONLY secret line";
const INITECH_LINE: &str = "INITECH-ONLY consulting";

struct World {
    app: TestApp,
    host: String,
    tenant: TenantId,
    globex: ClientId,
    staff: String,
    jane: String,
    frank: String,
    uma: String,
    peter: String,
    /// Globex's finalized INV-1001.
    invoice: String,
    /// Globex's draft.
    draft: String,
    /// Initech's finalized invoice (INV-1002: numbers are given at finalize).
    initech_invoice: String,
    initech: ClientId,
}

impl World {
    fn staff_invoice(&self, client: ClientId, id: &str) -> String {
        format!("/msp/billing/clients/{client}/invoices/{id}")
    }
}

async fn client_user(
    app: &TestApp,
    tenant: TenantId,
    client: Option<ClientId>,
    email: &str,
    role: &str,
) -> String {
    let id = match client {
        None => user(&app.db, tenant, email, UserType::Client, email).await,
        Some(client) => porta_core::db::users::create(
            &app.db,
            &porta_core::db::users::NewUser {
                tenant,
                user_type: UserType::Client,
                email: porta_core::email::EmailAddress::parse(email).unwrap(),
                display_name: email.into(),
                client: Some(client),
                password_hash: porta_core::password::hash(&porta_core::secret::Secret::new(PASSWORD))
                    .unwrap(),
            },
        )
        .await
        .unwrap(),
    };
    with_role(&app.db, tenant, id, UserType::Client, role).await;
    email.to_owned()
}

/// Creates a draft for `client` through the staff page; its id.
async fn draft(app: &TestApp, host: &str, staff: &str, client: ClientId, extra: &[(&str, &str)]) -> String {
    let page = format!("/msp/billing/clients/{client}");
    let mut form = vec![("terms_days", "30"), ("memo", "Thank you for your business.")];
    form.extend_from_slice(extra);
    let r = app
        .submit(host, &format!("{page}/invoices"), &form, staff, &page)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    let to = location(&r).unwrap();
    let prefix = format!("{page}/invoices/");
    assert!(to.starts_with(&prefix), "{to}");
    let id = to[prefix.len()..prefix.len() + 36].to_owned();
    assert!(to.ends_with("?notice=invoice_created"), "{to}");
    id
}

async fn add_line(
    app: &TestApp,
    host: &str,
    staff: &str,
    base: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    app.submit(host, &format!("{base}/lines"), form, staff, base)
        .await
}

async fn world(t: TestDb) -> World {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let globex = clients::find_by_name(&app.db, acme.tenant, "Globex Corporation")
        .await
        .unwrap()
        .unwrap()
        .id;
    let initech = clients::create(&app.db, acme.tenant, "Initech").await.unwrap().id;
    let jane = client_user(&app, acme.tenant, None, "jane@globex.example", "Admin").await;
    let frank = client_user(&app, acme.tenant, None, "frank@globex.example", "Finance").await;
    let uma = client_user(&app, acme.tenant, None, "uma@globex.example", "User").await;
    let peter = client_user(&app, acme.tenant, Some(initech), "peter@initech.example", "Admin").await;
    let sam = user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam Staff",
    )
    .await;
    with_role(&app.db, acme.tenant, sam, UserType::Internal, "Admin").await;
    let staff = session_pair(
        &app.sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    let jane = app.session_cookie(&acme.host, &jane).await;
    let frank = app.session_cookie(&acme.host, &frank).await;
    let uma = app.session_cookie(&acme.host, &uma).await;
    let peter = app.session_cookie(&acme.host, &peter).await;
    let host = acme.host.clone();

    // INV-1001 for Globex: three lines, two tax rates, a credit.
    let invoice = draft(&app, &host, &staff, globex, &[]).await;
    let base = format!("/msp/billing/clients/{globex}/invoices/{invoice}");
    for form in [
        &[
            ("description", LINE_A),
            ("quantity", "12"),
            ("unit_price", "45.00"),
            ("tax_rate", "20"),
            ("service_start", "2026-11-01"),
            ("service_end", "2026-11-30"),
        ][..],
        &[
            ("description", LINE_B),
            ("quantity", "2.5"),
            ("unit_price", "95"),
            ("tax_rate", "20"),
        ][..],
        &[
            ("description", LINE_C),
            ("quantity", "3"),
            ("unit_price", "12.34"),
            ("tax_rate", ""),
        ][..],
    ] {
        let r = add_line(&app, &host, &staff, &base, form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    }
    let r = app
        .submit(
            &host,
            &format!("{base}/credits"),
            &[("description", CREDIT), ("amount", "10.00")],
            &staff,
            &base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .submit(&host, &format!("{base}/finalize"), &[], &staff, &base)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    assert!(location(&r).unwrap().ends_with("?notice=invoice_finalized"));

    // A draft that stays a draft.
    let draft_id = draft(&app, &host, &staff, globex, &[]).await;
    let draft_base = format!("/msp/billing/clients/{globex}/invoices/{draft_id}");
    let r = add_line(
        &app,
        &host,
        &staff,
        &draft_base,
        &[
            ("description", DRAFT_LINE),
            ("quantity", "1"),
            ("unit_price", "777.77"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Initech's own invoice.
    let initech_invoice = draft(&app, &host, &staff, initech, &[]).await;
    let ibase = format!("/msp/billing/clients/{initech}/invoices/{initech_invoice}");
    let r = add_line(
        &app,
        &host,
        &staff,
        &ibase,
        &[
            ("description", INITECH_LINE),
            ("quantity", "1"),
            ("unit_price", "5000"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .submit(&host, &format!("{ibase}/finalize"), &[], &staff, &ibase)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    World {
        app,
        host,
        tenant: acme.tenant,
        globex,
        staff,
        jane,
        frank,
        uma,
        peter,
        invoice,
        draft: draft_id,
        initech_invoice,
        initech,
    }
}

/// Runs one statement; the database's refusal as text.
async fn try_sql(db: &Db, sql: &str) -> Result<u64, String> {
    porta_core::on_pool!(db, |pool| sqlx::query(sql)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
    .map_err(|e| e.to_string())
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian package poppler-utils) is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn the_client_sees_finalized_invoices_and_their_figures(t: TestDb) {
    let w = world(t).await;
    let (status, page) = w.app.page(&w.host, "/client-portal/billing", &w.jane).await;
    assert_eq!(status, StatusCode::OK);
    // 12 × 45.00 + 2.5 × 95.00 + 3 × 12.34 = 814.52; 20% of 777.50 = 155.50;
    // less 10.00 of credit: 960.02.
    let row = page
        .split(&format!("id=\"invoice-{}\"", w.invoice))
        .nth(1)
        .unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("INV-1001"), "{row}");
    assert!(row.contains("$960.02"), "{row}");
    assert!(row.contains(&CalendarDate::today().to_string()), "{row}");
    assert!(row.contains(&CalendarDate::today().plus_days(30).unwrap().to_string()));
    assert!(row.contains(">Sent</span>"), "{row}");
    // Never a draft, nor another company's invoice.
    assert!(!page.contains(&w.draft) && !page.contains("Draft"));
    assert!(!page.contains(&w.initech_invoice) && !page.contains("INV-1002"));
    assert!(page.contains("id=\"nav-billing\""));

    let detail = format!("/client-portal/billing/invoices/{}", w.invoice);
    let (status, page) = w.app.page(&w.host, &detail, &w.frank).await;
    assert_eq!(status, StatusCode::OK, "Finance reads billing");
    for expected in [
        LINE_A,
        LINE_B,
        LINE_C,
        "2026-11-01 – 2026-11-30",
        "$45.00",
        "$540.00",
        "2.5",
        "$237.50",
        "$37.02",
        CREDIT,
        "-$10.00",
        "<dd id=\"subtotal\">$814.52</dd>",
        "Tax 20% on $777.50</dt><dd class=\"tax-line\">$155.50</dd>",
        "<dd class=\"strong\" id=\"total\">$960.02</dd>",
        "<dd id=\"amount-paid\">$0.00</dd>",
        "<dd class=\"strong\" id=\"amount-due\">$960.02</dd>",
    ] {
        assert!(page.contains(expected), "{expected:?} on the invoice page");
    }

    // The PDF: an attachment never cached, whose text carries the figures.
    let r = w.app.get(&w.host, &format!("{detail}/pdf"), Some(&w.jane)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["content-disposition"], "attachment; filename=\"INV-1001.pdf\"");
    assert_eq!(h["cache-control"], "private, no-store");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = pdftotext(&bytes);
    for expected in [
        "Invoice",
        "INV-1001",
        "Acme IT",
        "Globex Corporation",
        LINE_A,
        LINE_B,
        LINE_C,
        "540.00",
        "237.50",
        "37.02",
        "Subtotal",
        "$814.52",
        "Tax 20% on $777.50",
        "$155.50",
        "-$10.00",
        "$960.02",
        "Amount due",
        "Sent",
    ] {
        assert!(text.contains(expected), "{expected:?} in the PDF text:\n{text}");
    }
    assert!(!text.contains(DRAFT_LINE) && !text.contains(INITECH_LINE));
}

async fn others_see_nothing_and_users_are_refused(t: TestDb) {
    let w = world(t).await;
    let detail = |id: &str| format!("/client-portal/billing/invoices/{id}");
    // Another company's invoice, a draft, nonsense: 404 with nothing of it.
    for (who, id, secret) in [
        (&w.jane, w.initech_invoice.as_str(), INITECH_LINE),
        (&w.jane, w.draft.as_str(), DRAFT_LINE),
        (&w.peter, w.invoice.as_str(), LINE_A),
        (&w.peter, w.draft.as_str(), DRAFT_LINE),
    ] {
        for path in [detail(id), format!("{}/pdf", detail(id))] {
            let (status, body) = w.app.page(&w.host, &path, who).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.contains(secret) && !body.contains("960.02"), "{path}");
        }
    }
    for bad in ["nope", "00000000-0000-0000-0000-000000000000", "%00"] {
        let (status, _) = w.app.page(&w.host, &detail(bad), &w.jane).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    let (_, list) = w.app.page(&w.host, "/client-portal/billing", &w.peter).await;
    assert!(list.contains("INV-1002") && !list.contains("INV-1001") && !list.contains("960.02"));

    // A User is refused billing: the pages, the PDF, the menu entry and
    // the dashboard's unpaid figures.
    for path in [
        "/client-portal/billing".to_owned(),
        detail(&w.invoice),
        format!("{}/pdf", detail(&w.invoice)),
    ] {
        let (status, body) = w.app.page(&w.host, &path, &w.uma).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!body.contains("960.02") && !body.contains(LINE_A), "{path}");
    }
    let (status, dashboard) = w.app.page(&w.host, "/client-portal/dashboard", &w.uma).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!dashboard.contains("kpi-unpaid-invoices") && !dashboard.contains("960.02"));
    assert!(!dashboard.contains("nav-billing") && !dashboard.contains("INV-1001"));

    // Clients cannot reach the staff pages.
    let staff_page = w.staff_invoice(w.globex, &w.invoice);
    let (status, _) = w.app.page(&w.host, &staff_page, &w.jane).await;
    assert_ne!(status, StatusCode::OK);
    // Staff: the wrong company in the path is a 404.
    let (status, body) = w
        .app
        .page(&w.host, &w.staff_invoice(w.initech, &w.invoice), &w.staff)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains(LINE_A));

    // Another tenant: its staff and its clients see none of it.
    let beta = tenant(&w.app.db, "beta", "Beta IT").await;
    let bo = user(
        &w.app.db,
        beta.tenant,
        "bo@beta.example",
        UserType::Internal,
        "Bo",
    )
    .await;
    with_role(&w.app.db, beta.tenant, bo, UserType::Internal, "Admin").await;
    let bo = session_pair(&w.app.sign_in_staff(&beta.host, "bo@beta.example", PASSWORD).await).unwrap();
    let beta_client = client_user(&w.app, beta.tenant, None, "ann@beta-client.example", "Admin").await;
    let ann = w.app.session_cookie(&beta.host, &beta_client).await;
    for path in [
        staff_page.clone(),
        format!("{staff_page}/pdf"),
        format!("/msp/billing/clients/{}", w.globex),
    ] {
        let (status, body) = w.app.page(&beta.host, &path, &bo).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains(LINE_A) && !body.contains("Globex"), "{path}");
    }
    for path in [detail(&w.invoice), format!("{}/pdf", detail(&w.invoice))] {
        let (status, body) = w.app.page(&beta.host, &path, &ann).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains(LINE_A));
    }
    let (_, list) = w.app.page(&beta.host, "/client-portal/billing", &ann).await;
    assert!(!list.contains("INV-1001") && list.contains("id=\"no-invoices\""));
    // Jane's session is not valid on the other tenant's host.
    let (status, _) = w.app.page(&beta.host, &detail(&w.invoice), &w.jane).await;
    assert_ne!(status, StatusCode::OK);
    // A staff POST on another tenant's invoice is a 404 and changes nothing.
    let r = w
        .app
        .submit(
            &beta.host,
            &format!("{staff_page}/cancel"),
            &[("reason", "x")],
            &bo,
            "/msp/billing",
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn status_follows_payments_and_the_due_date(t: TestDb) {
    let w = world(t).await;
    let base = w.staff_invoice(w.globex, &w.invoice);
    let pay = |amount: &'static str| {
        let base = base.clone();
        let w = &w;
        async move {
            w.app
                .submit(
                    &w.host,
                    &format!("{base}/payments"),
                    &[
                        ("amount", amount),
                        ("paid_on", "2026-12-01"),
                        ("method", "bank_transfer"),
                        ("reference", "REF-778"),
                    ],
                    &w.staff,
                    &base,
                )
                .await
        }
    };
    // Amounts as staff type them: refused clearly when malformed or too much.
    let r = pay("1,000.00").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("without thousands separators"));
    let r = pay("960.03").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("more than what is due (USD 960.02)"));
    let r = pay("500.00").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status_of = |page: &str, id: &str| {
        let row = page
            .split(&format!("id=\"invoice-{id}\""))
            .nth(1)
            .unwrap()
            .to_owned();
        row[..row.find("</tr>").unwrap()].to_owned()
    };
    let (_, page) = w.app.page(&w.host, "/client-portal/billing", &w.jane).await;
    let row = status_of(&page, &w.invoice);
    assert!(
        row.contains(">Partially paid</span>") && row.contains("$460.02"),
        "{row}"
    );
    assert!(
        page.contains("REF-778") && page.contains("$500.00"),
        "payments history"
    );
    let (_, dashboard) = w.app.page(&w.host, "/client-portal/dashboard", &w.jane).await;
    let card = dashboard.split("id=\"kpi-unpaid-invoices\"").nth(1).unwrap();
    let card = &card[..card.find("</a>").unwrap()];
    assert!(card.contains("<span class=\"kpi-value\">1</span>"), "{card}");
    assert!(card.contains("$460.02 due"), "{card}");
    assert!(
        dashboard.contains("INV-1001"),
        "the invoice is in the activity feed"
    );

    // Paid in full.
    let r = pay("460.02").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = w.app.page(&w.host, "/client-portal/billing", &w.jane).await;
    assert!(status_of(&page, &w.invoice).contains(">Paid</span>"));
    let (_, dashboard) = w.app.page(&w.host, "/client-portal/dashboard", &w.jane).await;
    let card = dashboard.split("id=\"kpi-unpaid-invoices\"").nth(1).unwrap();
    assert!(card.contains("<span class=\"kpi-value\">0</span>") && card.contains("Nothing due"));

    // Overdue: issued 45 days ago on 30-day terms, nothing paid; then a
    // part payment keeps it overdue.
    let scope = Scope::staff(w.tenant, w.globex);
    let id = invoices::create_draft(
        &w.app.db,
        scope,
        &invoices::NewDraft {
            credit_note: false,
            terms_days: 30,
            memo: "",
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    invoices::add_line(
        &w.app.db,
        scope,
        id,
        &invoices::NewLine {
            description: "Late line",
            quantity: Quantity::whole(1),
            unit_price_minor: 10_000,
            tax_rate: TaxRate(0),
            service_start: None,
            service_end: None,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap();
    let issued = CalendarDate::today().plus_days(-45).unwrap();
    invoices::finalize(&w.app.db, scope, id, issued, UnixMillis::now())
        .await
        .unwrap();
    let (_, page) = w.app.page(&w.host, "/client-portal/billing", &w.jane).await;
    let row = status_of(&page, &id.to_string());
    assert!(
        row.contains(">Overdue</span>") && row.contains(&issued.plus_days(30).unwrap().to_string()),
        "{row}"
    );
    let late = w.staff_invoice(w.globex, &id.to_string());
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{late}/payments"),
            &[("amount", "1"), ("paid_on", "2026-12-01"), ("method", "card")],
            &w.staff,
            &late,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = w.app.page(&w.host, "/client-portal/billing", &w.jane).await;
    assert!(status_of(&page, &id.to_string()).contains(">Overdue</span>"));
    // The payments were audited.
    let audited = fetch_i64(
        &w.app.db,
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('billing.payment.record', 'billing.invoice.finalize')",
    )
    .await;
    assert_eq!(
        audited,
        3 + 2,
        "three payments and two finalized through the pages"
    );
}

async fn a_finalized_invoice_cannot_change(t: TestDb) {
    let w = world(t).await;
    let base = w.staff_invoice(w.globex, &w.invoice);
    let (_, before) = w.app.page(&w.host, &base, &w.staff).await;
    let line = before.split("<tr id=\"line-").nth(1).unwrap()[..36].to_owned();
    let credit = before.split("<tr id=\"credit-").nth(1).unwrap()[..36].to_owned();
    assert!(
        !before.contains("id=\"add-line-form\""),
        "no line form on a finalized invoice"
    );
    // Every staff route that changes a draft is refused.
    for (path, form) in [
        (
            format!("{base}/lines"),
            vec![
                ("description", "Sneaked in"),
                ("quantity", "1"),
                ("unit_price", "1"),
            ],
        ),
        (format!("{base}/lines/{line}/delete"), vec![]),
        (
            format!("{base}/credits"),
            vec![("description", "Sneaky credit"), ("amount", "900")],
        ),
        (format!("{base}/credits/{credit}/delete"), vec![]),
        (format!("{base}/finalize"), vec![]),
        (format!("{base}/delete"), vec![]),
    ] {
        let r = w.app.submit(&w.host, &path, &form, &w.staff, &base).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{path}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("this invoice is finalized: it can no longer be changed"),
            "{path}"
        );
    }
    let (_, after) = w.app.page(&w.host, &base, &w.staff).await;
    assert!(after.contains("<dd class=\"strong\" id=\"total\">$960.02</dd>"));
    assert!(!after.contains("Sneaked in") && after.contains(LINE_A) && after.contains(CREDIT));

    // Straight SQL is refused by the triggers, on both backends.
    let id = &w.invoice;
    let sub = format!("(SELECT id FROM invoice_lines WHERE invoice_id = '{id}' LIMIT 1)");
    let tenant = w.tenant;
    for sql in [
        format!("UPDATE invoices SET total_minor = 1 WHERE id = '{id}'"),
        format!("UPDATE invoices SET status = 'draft', number = NULL WHERE id = '{id}'"),
        format!("UPDATE invoices SET memo = 'changed' WHERE id = '{id}'"),
        format!("DELETE FROM invoices WHERE id = '{id}'"),
        format!("UPDATE invoice_lines SET unit_price_minor = 1 WHERE invoice_id = '{id}'"),
        format!("DELETE FROM invoice_lines WHERE invoice_id = '{id}'"),
        format!(
            "INSERT INTO invoice_lines (id, tenant_id, invoice_id, position, description, quantity_milli, \
             unit_price_minor, tax_rate_bp, line_total_minor) VALUES \
             ('{}', '{tenant}', '{id}', 9, 'x', 1000, 1, 0, 1)",
            InvoiceId::generate()
        ),
        format!("UPDATE invoice_lines SET invoice_id = '{id}' WHERE id = {sub}"),
        format!("UPDATE invoice_credits SET amount_minor = 90000 WHERE invoice_id = '{id}'"),
        format!("DELETE FROM invoice_credits WHERE invoice_id = '{id}'"),
        format!(
            "INSERT INTO invoice_credits (id, tenant_id, invoice_id, description, amount_minor, created_at) \
             VALUES ('{}', '{tenant}', '{id}', 'x', 1, 0)",
            InvoiceId::generate()
        ),
    ] {
        let refused = try_sql(&w.app.db, &sql).await;
        let message = refused.expect_err(&sql);
        assert!(message.contains("invoice is finalized"), "{sql}: {message}");
    }
    // A draft's lines move only within drafts: into a finalized one, no.
    let draft_line = format!(
        "UPDATE invoice_lines SET invoice_id = '{id}' WHERE invoice_id = '{}'",
        w.draft
    );
    assert!(try_sql(&w.app.db, &draft_line).await.is_err());
    let unchanged = fetch_i64(
        &w.app.db,
        &format!("SELECT total_minor FROM invoices WHERE id = '{id}'"),
    )
    .await;
    assert_eq!(unchanged, 96_002);
    assert_eq!(
        fetch_i64(
            &w.app.db,
            &format!("SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = '{id}'")
        )
        .await,
        3
    );
    // A draft still changes freely.
    assert_eq!(
        try_sql(
            &w.app.db,
            &format!("UPDATE invoices SET memo = 'ok' WHERE id = '{}'", w.draft)
        )
        .await,
        Ok(1)
    );

    // Payments are append-only; an invoice with payments is not cancelled.
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{base}/payments"),
            &[("amount", "100"), ("paid_on", "2026-12-02"), ("method", "cash")],
            &w.staff,
            &base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for sql in [
        format!("UPDATE payments SET amount_minor = 1 WHERE invoice_id = '{id}'"),
        format!("DELETE FROM payments WHERE invoice_id = '{id}'"),
    ] {
        assert!(
            try_sql(&w.app.db, &sql)
                .await
                .unwrap_err()
                .contains("payments cannot be"),
            "{sql}"
        );
    }
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{base}/cancel"),
            &[("reason", "x")],
            &w.staff,
            &base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("the invoice has payments"));
    // No payment on a draft, through SQL either.
    let pay_draft = format!(
        "INSERT INTO payments (id, tenant_id, client_id, invoice_id, amount_minor, currency, paid_on, method, created_at) \
         VALUES ('{}', '{tenant}', '{}', '{}', 1, 'USD', '2026-12-01', 'cash', 0)",
        InvoiceId::generate(),
        w.globex,
        w.draft
    );
    assert!(try_sql(&w.app.db, &pay_draft)
        .await
        .unwrap_err()
        .contains("finalized invoices only"));

    // Cancelling the Initech invoice (no payments) works once; then it is final.
    let ibase = w.staff_invoice(w.initech, &w.initech_invoice);
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{ibase}/cancel"),
            &[("reason", "Billed twice")],
            &w.staff,
            &ibase,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).unwrap().ends_with("notice=invoice_cancelled"));
    let (_, page) = w.app.page(&w.host, "/client-portal/billing", &w.peter).await;
    assert!(page.contains(">Cancelled</span>"));
    let again = format!(
        "UPDATE invoices SET status = 'finalized', cancelled_at = NULL WHERE id = '{}'",
        w.initech_invoice
    );
    assert!(try_sql(&w.app.db, &again)
        .await
        .unwrap_err()
        .contains("invoice is finalized"));
    let r = w
        .app
        .submit(&w.host, &format!("{ibase}/cancel"), &[], &w.staff, &ibase)
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        fetch_i64(
            &w.app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'billing.invoice.cancel'"
        )
        .await,
        1
    );
}

async fn contracts_prepaid_hours_and_usage(t: TestDb) {
    let w = world(t).await;
    let page = format!("/msp/billing/clients/{}", w.globex);
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{page}/contract-lines"),
            &[
                ("service", "Managed backup"),
                ("rate", "4.50"),
                ("unit", "GB"),
                ("frequency", "monthly"),
                ("start_date", "2026-01-01"),
            ],
            &w.staff,
            &page,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let bad = w
        .app
        .submit(
            &w.host,
            &format!("{page}/contract-lines"),
            &[
                ("service", "X"),
                ("rate", "4,50"),
                ("frequency", "monthly"),
                ("start_date", "2026-01-01"),
            ],
            &w.staff,
            &page,
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("Rate: write the amount with digits"));
    let (_, staff_page) = w.app.page(&w.host, &page, &w.staff).await;
    let line = staff_page.split("<tr id=\"line-").nth(1).unwrap()[..36].to_owned();
    let this_month = CalendarDate::today().month();
    let last_month = this_month.plus(-1).unwrap();
    for (month, qty) in [(this_month, "812.5"), (last_month, "640")] {
        let r = w
            .app
            .submit(
                &w.host,
                &format!("{page}/usage"),
                &[
                    ("contract_line", &line),
                    ("month", &month.to_string()),
                    ("quantity", qty),
                ],
                &w.staff,
                &page,
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{page}/prepaid"),
            &[
                ("name", "Support block 2026"),
                ("hours", "20"),
                ("purchased_on", "2026-01-05"),
            ],
            &w.staff,
            &page,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, staff_page) = w.app.page(&w.host, &page, &w.staff).await;
    let block = staff_page.split("<li id=\"block-").nth(1).unwrap()[..36].to_owned();
    let draw = |hours: &'static str| {
        let path = format!("{page}/prepaid/{block}/draw");
        let w = &w;
        let page = page.clone();
        async move {
            w.app
                .submit(&w.host, &path, &[("hours", hours)], &w.staff, &page)
                .await
        }
    };
    assert_eq!(draw("7.5").await.status(), StatusCode::SEE_OTHER);
    let r = draw("13").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("at most the 12.5 h that remain"));

    let (_, client) = w.app.page(&w.host, "/client-portal/billing", &w.jane).await;
    assert!(client.contains("Managed backup") && client.contains("$4.50 per GB"));
    assert!(
        client.contains("<progress max=\"1200\" value=\"750\""),
        "12.5 of 20 hours left"
    );
    assert!(client.contains("12.5 h remaining</span> of 20 h"));
    let usage = client.split(&format!("id=\"usage-{line}\"")).nth(1).unwrap();
    assert!(usage.contains("<svg"), "the chart");
    assert!(usage.contains(&format!(
        "<td>{}</td><td class=\"num\">812.5</td>",
        this_month.label()
    )));
    assert!(usage.contains(&format!(
        "<td>{}</td><td class=\"num\">640</td>",
        last_month.label()
    )));
    assert!(usage.contains("<td class=\"num\">1452.5</td>"), "the total");
    // None of it reaches another company.
    let (_, other) = w.app.page(&w.host, "/client-portal/billing", &w.peter).await;
    assert!(!other.contains("Managed backup") && !other.contains("Support block 2026"));
    // A line of another company cannot be given usage through this one.
    let r = w
        .app
        .submit(
            &w.host,
            &format!("/msp/billing/clients/{}/usage", w.initech),
            &[("contract_line", &line), ("month", "2026-01"), ("quantity", "1")],
            &w.staff,
            &page,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

both_backends! {
    the_client_sees_finalized_invoices_and_their_figures => the_client_sees_finalized_invoices_and_their_figures;
    others_see_nothing_and_users_are_refused => others_see_nothing_and_users_are_refused;
    status_follows_payments_and_the_due_date => status_follows_payments_and_the_due_date;
    a_finalized_invoice_cannot_change => a_finalized_invoice_cannot_change;
    contracts_prepaid_hours_and_usage => contracts_prepaid_hours_and_usage;
}

/// Exact reference: the line's quantity × price over 1000, rounded half away
/// from zero, computed independently of the code under test.
fn reference_line(quantity: i64, price: i64) -> i64 {
    let n = i128::from(quantity) * i128::from(price);
    let q = (n.abs() + 500) / 1000;
    (if n < 0 { -q } else { q }) as i64
}

proptest! {
    /// total = Σ lines + Σ tax per rate − credits, in minor units, with
    /// each tax rounded once per rate.
    #[test]
    fn invoice_arithmetic_adds_up(
        lines in prop::collection::vec((1i64..1_000_000, -100_000i64..10_000_000, prop::sample::select(vec![0i32, 500, 825, 1900, 2000, 10_000])), 1..12),
        credits in prop::collection::vec(1i64..100_000, 0..4),
    ) {
        let totals: Vec<(i64, TaxRate)> = lines
            .iter()
            .map(|(q, p, r)| (line_total(Quantity(*q), *p).unwrap(), TaxRate(*r)))
            .collect();
        for ((q, p, _), (t, _)) in lines.iter().zip(&totals) {
            prop_assert_eq!(*t, reference_line(*q, *p));
        }
        let t = Totals::of(&totals, &credits).unwrap();
        let subtotal: i64 = totals.iter().map(|(t, _)| t).sum();
        let mut tax = 0i64;
        for rate in [0i32, 500, 825, 1900, 2000, 10_000] {
            let base: i64 = totals.iter().filter(|(_, r)| r.0 == rate).map(|(t, _)| t).sum();
            let n = i128::from(base) * i128::from(rate);
            let q = (n.abs() + 5_000) / 10_000;
            tax += (if n < 0 { -q } else { q }) as i64;
        }
        let credit: i64 = credits.iter().sum();
        prop_assert_eq!(t.subtotal_minor, subtotal);
        prop_assert_eq!(t.tax_minor, tax);
        prop_assert_eq!(t.credit_minor, credit);
        prop_assert_eq!(t.total_minor, subtotal + tax - credit);
        prop_assert_eq!(t.taxes.iter().map(|s| s.tax_minor).sum::<i64>(), t.tax_minor);
        prop_assert_eq!(t.taxes.iter().map(|s| s.base_minor).sum::<i64>(), t.subtotal_minor);
    }
}
