//! The portal's pages in English and in French, at both widths, in the
//! demo tenant's branding: the language chosen with the sign-in page's
//! switcher, then kept through sign-in (the demo users chose none in their
//! profile). Frank Finance (client, billing) and Alex Admin (staff) look;
//! every screenshot is `{en,fr}-{page}-{width}.png`.

use fantoccini::{Client, Locator};

use super::common::browser::{
    bounded, click, element, shared, shoot, sign_in, text, user_by_email, wait_for_url,
};
use super::common::DEMO_CUSTOM_DOMAIN;
use super::CANONICAL_HOST;

/// The words of the menu's first entry in each language.
fn first_menu_entry(lang: &str, staff: bool) -> &'static str {
    match (lang, staff) {
        ("fr", false) => "Tableau de bord",
        ("fr", true) => "Accueil",
        (_, false) => "Dashboard",
        (_, true) => "Home",
    }
}

async fn choose_language(browser: &Client, lang: &str) {
    element(browser, "#language-switcher").await;
    browser
        .find(Locator::Css("#lang"))
        .await
        .expect("the language choice")
        .select_by_value(lang)
        .await
        .expect("choose a language");
    click(browser, "#language-submit").await;
    let html = browser.find(Locator::Css("html")).await.expect("html");
    let mut tries = 0;
    while html.attr("lang").await.expect("lang").as_deref() != Some(lang) {
        tries += 1;
        assert!(tries < 100, "the sign-in page did not switch to {lang}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn assert_language(browser: &Client, lang: &str, staff: bool, path: &str) {
    let html = browser.find(Locator::Css("html")).await.expect("html");
    assert_eq!(
        html.attr("lang").await.expect("lang").as_deref(),
        Some(lang),
        "{path}"
    );
    let first = if staff { "#nav-home" } else { "#nav-dashboard" };
    assert_eq!(
        text(browser, first).await,
        first_menu_entry(lang, staff),
        "the menu of {path}"
    );
}

/// The paths of the menu's entries on the page shown.
async fn menu(browser: &Client) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    for link in browser
        .find_all(Locator::Css("nav.mainnav a"))
        .await
        .expect("the menu")
    {
        let id = link.attr("id").await.expect("id").unwrap_or_default();
        let href = link.attr("href").await.expect("href").unwrap_or_default();
        entries.push((id, href));
    }
    entries
}

/// Every page of one reader's menu (and a project's board) in one
/// language: English as the demo's readers see it, French chosen with the
/// switcher of the sign-in page (which becomes the profile's language).
async fn tour(lang: &'static str, staff: bool) {
    let shared = shared();
    let browser = shared.browser().await;
    // Readers no other test changes: the switcher makes its choice theirs.
    let email = match (lang, staff) {
        ("fr", false) => "frank.finance@globex.example",
        ("fr", true) => "tina.tech@acme-it.example",
        (_, false) => "jane.doe@globex.example",
        (_, true) => "alex.admin@acme-it.example",
    };
    let user = user_by_email(&shared.demo, email);
    let origin = if staff {
        shared.origin(CANONICAL_HOST)
    } else {
        shared.origin(DEMO_CUSTOM_DOMAIN)
    };
    browser.goto(&user.signin_url).await.expect("open sign-in");
    if lang != "en" {
        choose_language(&browser, lang).await;
    }
    let who = if staff { "staff" } else { "client" };
    shoot(&browser, &format!("{lang}-{who}-signin"), "#signin-form").await;
    sign_in(&browser, &user.email, &user.password).await;
    let landing = if staff { "/msp" } else { "/client-portal/dashboard" };
    wait_for_url(&browser, &format!("{origin}{landing}")).await;
    let entries = menu(&browser).await;
    assert!(entries.len() >= 4, "a menu of {email}: {entries:?}");
    for (id, path) in &entries {
        let url = format!("{origin}{path}");
        browser
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        wait_for_url(&browser, &url).await;
        assert_language(&browser, lang, staff, path).await;
        let name = id.strip_prefix("nav-").unwrap_or(id);
        shoot(&browser, &format!("{lang}-{who}-{name}"), "main h1").await;
    }
    // A project's board: the first project of the list.
    let list = if staff {
        "/msp/projects"
    } else {
        "/client-portal/projects"
    };
    browser
        .goto(&format!("{origin}{list}"))
        .await
        .expect("open projects");
    let link = browser
        .find(Locator::Css("a[href$='/projects/PRJ-1001']"))
        .await
        .expect("a project in the list");
    link.click().await.expect("open the project");
    element(&browser, "main h1").await;
    assert_language(&browser, lang, staff, "a project").await;
    shoot(&browser, &format!("{lang}-{who}-project"), "main h1").await;
    browser.close().await.expect("close the browser");
}

/// English and French, client and staff, side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_in_english_and_in_french() {
    bounded(async {
        tokio::join!(tour("en", false), tour("fr", false));
        tokio::join!(tour("en", true), tour("fr", true));
    })
    .await;
}
