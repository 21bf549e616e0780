//! Screenshots of the pages no flow of `tests/browser.rs` passes through,
//! each at 1280×800 and 390×844 into the artifacts directory (see
//! `common::browser::shoot`), once the page shows what it should: the
//! sign-in pages, and what Jane Doe (client admin) and Alex Admin (MSP
//! admin) see without changing anything. The flows take the other pages'
//! screenshots on the way (new ticket, ticket detail, notifications, the
//! staff ticket, forgot password, new password, two-factor enrolment,
//! recovery codes, second step).

use fantoccini::{Client, Locator};

use super::{assert_page, CANONICAL_HOST};
use crate::common::browser::{bounded, shared, shoot, sign_in, text, wait_for_url};
use crate::common::DEMO_CUSTOM_DOMAIN;

/// One page to look at: its screenshot name, path, `<title>` (before
/// " · Acme IT Services"), and an element with its exact text.
struct Page {
    name: &'static str,
    path: &'static str,
    title: &'static str,
    heading: (&'static str, &'static str),
}

const CLIENT_PAGES: &[Page] = &[
    Page {
        name: "tickets",
        path: "/client-portal/tickets",
        title: "Tickets",
        heading: ("section.card h1", "Tickets"),
    },
    Page {
        name: "account",
        path: "/client-portal/account",
        title: "Account",
        heading: ("#company-heading", "Globex Corporation"),
    },
    Page {
        name: "client-settings",
        path: "/client-portal/client-settings",
        title: "Client settings",
        heading: ("section.card h1", "Client settings"),
    },
    Page {
        name: "profile",
        path: "/client-portal/profile",
        title: "Your profile",
        heading: ("#details-heading", "Your profile"),
    },
];

const STAFF_PAGES: &[Page] = &[
    Page {
        name: "staff-ticket-queue",
        path: "/msp/tickets",
        title: "Ticket queue",
        heading: ("section.card h1", "Ticket queue"),
    },
    Page {
        name: "staff-clients",
        path: "/msp/clients",
        title: "Clients",
        heading: ("section.card h1", "Clients"),
    },
    Page {
        name: "staff-signin-settings",
        path: "/msp/settings/sign-in",
        title: "Sign-in & security",
        heading: ("#policy-heading", "Sign-in & security"),
    },
    Page {
        name: "staff-audit",
        path: "/msp/audit",
        title: "Audit log",
        heading: ("#audit-heading", "Audit log"),
    },
    Page {
        name: "staff-portal-domain",
        path: "/msp/settings/portal-domain",
        title: "Portal domain",
        heading: ("section.card h1", "Client portal domain"),
    },
    Page {
        name: "staff-profile",
        path: "/msp/profile",
        title: "Your profile",
        heading: ("#details-heading", "Your profile"),
    },
];

/// Opens `origin` + `page.path`, asserts it is that page (no redirect,
/// its title, its heading) and takes its screenshots.
async fn visit(browser: &Client, origin: &str, page: &Page) {
    let url = format!("{origin}{}", page.path);
    browser
        .goto(&url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    wait_for_url(browser, &url).await;
    assert_page(browser, page.title).await;
    let (css, expected) = page.heading;
    assert_eq!(text(browser, css).await, expected, "the heading of {url}");
    shoot(browser, page.name, css).await;
}

/// The texts of the cells of column `column` (1-based) of table `table`.
async fn column(browser: &Client, table: &str, column: usize) -> Vec<String> {
    let cells = browser
        .find_all(Locator::Css(&format!("{table} tbody tr td:nth-child({column})")))
        .await
        .expect("find cells");
    let mut texts = Vec::new();
    for cell in cells {
        texts.push(cell.text().await.expect("cell text"));
    }
    texts
}

/// Every page not on a flow's way, signed out, as Jane and as Alex, at
/// both widths; each is the page it should be (title, heading, and for
/// the lists the rows the demo has) before its screenshots are taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_at_1280_and_390_px() {
    let shared = shared();
    let jane = shared.first("client");
    let alex = shared.first("internal");
    let canonical = shared.origin(CANONICAL_HOST);
    let custom = shared.origin(DEMO_CUSTOM_DOMAIN);

    let client = shared.browser().await;
    let staff = shared.browser().await;
    let client_pages = async {
        client.goto(&jane.signin_url).await.expect("open sign-in");
        assert_page(&client, "Sign in to the client portal").await;
        shoot(&client, "client-signin", "#signin-form").await;
        sign_in(&client, &jane.email, &jane.password).await;
        wait_for_url(&client, &format!("{custom}/client-portal/dashboard")).await;
        assert_page(&client, "Dashboard").await;
        assert_eq!(text(&client, "#welcome").await, "Welcome, Jane Doe");
        shoot(&client, "client-dashboard", "#welcome").await;
        for page in CLIENT_PAGES {
            visit(&client, &custom, page).await;
            if page.name == "account" {
                let people = column(&client, "#company-users", 1).await;
                for name in ["Jane Doe", "Frank Finance", "Uma User"] {
                    assert!(
                        people.iter().any(|p| p.starts_with(name)),
                        "{name} among Globex's people: {people:?}"
                    );
                }
            }
            if page.name == "tickets" {
                let tickets = column(&client, "#ticket-table", 1).await;
                assert!(
                    !tickets.is_empty() && tickets.iter().all(|t| t.starts_with("TIC-")),
                    "Globex's tickets: {tickets:?}"
                );
            }
        }
    };
    let staff_pages = async {
        staff.goto(&alex.signin_url).await.expect("open staff sign-in");
        assert_page(&staff, "Staff sign-in").await;
        shoot(&staff, "staff-signin", "#signin-form").await;
        sign_in(&staff, &alex.email, &alex.password).await;
        wait_for_url(&staff, &format!("{canonical}/msp")).await;
        assert_page(&staff, "MSP").await;
        assert_eq!(text(&staff, "#welcome").await, "MSP area of Acme IT Services");
        shoot(&staff, "staff-home", "#welcome").await;
        for page in STAFF_PAGES {
            visit(&staff, &canonical, page).await;
            if page.name == "staff-clients" {
                let companies = column(&staff, "#clients", 1).await;
                assert_eq!(companies, ["Globex Corporation", "Initech"]);
            }
        }
        // One client: Globex, through its link in the list.
        staff
            .goto(&format!("{canonical}/msp/clients"))
            .await
            .expect("open the clients");
        let link = staff
            .find(Locator::LinkText("Globex Corporation"))
            .await
            .expect("the link to Globex");
        let href = link.attr("href").await.expect("href").expect("an href");
        let id = href
            .strip_prefix("/msp/clients/")
            .unwrap_or_else(|| panic!("the link to Globex: {href}"));
        link.click().await.expect("open Globex");
        wait_for_url(&staff, &format!("{canonical}/msp/clients/{id}")).await;
        assert_page(&staff, "Globex Corporation").await;
        assert_eq!(text(&staff, "#company-heading").await, "Globex Corporation");
        let contacts = text(&staff, "#contacts").await;
        for name in ["Jane Doe", "Frank Finance", "Uma User"] {
            assert!(
                contacts.contains(name),
                "{name} among Globex's contacts: {contacts}"
            );
        }
        shoot(&staff, "staff-client", "#contacts").await;
    };
    bounded(async {
        tokio::join!(client_pages, staff_pages);
    })
    .await;
    client.close().await.expect("close the client's browser");
    staff.close().await.expect("close the staff browser");
}
