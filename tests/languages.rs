//! Every page in every language: `porta up` (in this process, so the
//! catalogue's miss counter is the portal's) with its demo data, the demo
//! client Admin and the staff Admin signed in, and every page reachable
//! from their menus (lists, and the details they link to) fetched in
//! English, French, German and Spanish. Each must answer 200 with
//! `<html lang>` of its language, its menu in that language's words, no
//! message id shown as text, and no lookup that found no message.
//!
//! The sign-in page's language switcher and `Accept-Language` are checked
//! on the way.

mod common;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;

use common::{demo_user, Session, SiteClient, Store};
use porta_core::locale::Locale;
use porta_portal::i18n::messages::missing_lookups;
use porta_testkit::{both_backends, TestDb};

const CANONICAL_HOST: &str = "acme.portal.localhost";

/// Every message of `locale`: id → text.
fn catalogue(locale: Locale) -> HashMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("portal/locales")
        .join(locale.tag());
    let mut messages = HashMap::new();
    for entry in std::fs::read_dir(&dir).expect("the locale's folder") {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some((id, value)) = line.split_once(" = ") {
                if !id.starts_with('#') && !id.contains(' ') {
                    messages.insert(id.to_owned(), value.to_owned());
                }
            }
        }
    }
    messages
}

/// The text a reader sees: element content and the attributes that are
/// read out or shown (placeholder, title, aria-label, alt).
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        let Some(gt) = rest[lt..].find('>') else { break };
        let tag = &rest[lt..lt + gt];
        for attr in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
            if let Some(at) = tag.find(attr) {
                let value = &tag[at + attr.len()..];
                out.push_str(&value[..value.find('"').unwrap_or(value.len())]);
                out.push(' ');
            }
        }
        rest = &rest[lt + gt + 1..];
        // Scripts and styles are not text.
        for skip in ["script", "style"] {
            if tag.starts_with(&format!("<{skip}")) {
                if let Some(end) = rest.find(&format!("</{skip}>")) {
                    rest = &rest[end..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// Message ids that appear as words of `text`.
fn raw_ids<'a>(text: &str, ids: &'a BTreeSet<String>) -> Vec<&'a str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .filter(|w| w.contains('-'))
        .filter_map(|w| ids.get(w.trim_end_matches('.')).map(String::as_str))
        .collect()
}

/// The same-area pages `html` links to (paths only; no downloads).
fn links(html: &str, area: &str) -> Vec<String> {
    html.match_indices("href=\"")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            let href = &rest[..rest.find('"')?];
            let path = href.split(['?', '#']).next()?;
            let wanted = path.starts_with(area)
                && !path.contains("/download")
                && !path.ends_with(".csv")
                && !path.ends_with("/pdf")
                && !path.ends_with("/open")
                && !path.contains("/documents/")
                && !path.contains("/attachments/");
            wanted.then(|| path.to_owned())
        })
        .collect()
}

/// The French text of each page, under the test artifacts
/// (`$CARGO_TARGET_DIR/test-artifacts/languages/`), for reading.
fn keep_artifact(path: &str, text: &str) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts").join("languages");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    let _ = std::fs::write(dir.join(format!("{name}.fr.txt")), words.join(" "));
}

struct Reader<'a> {
    site: &'a SiteClient,
    session: Session,
    /// The menu entry every page of the area shows.
    home_nav: &'static str,
    area: &'static str,
    start: &'static str,
}

async fn every_page_in_every_language(
    reader: Reader<'_>,
    catalogues: &HashMap<Locale, HashMap<String, String>>,
) -> usize {
    let ids: BTreeSet<String> = catalogues[&Locale::En].keys().cloned().collect();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([reader.start.to_owned()]);
    let mut visited = 0;
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || seen.len() > 80 {
            continue;
        }
        for locale in Locale::ALL {
            let cookie = format!("{}; porta_lang={}", reader.session.cookie_header(), locale.tag());
            let before = missing_lookups();
            let reply = reader.site.get_with_cookie(&path, Some(&cookie)).await;
            assert_eq!(reply.status, 200, "{path} in {locale}: {}", reply.status);
            if !reply.header("content-type").starts_with("text/html") {
                break;
            }
            assert_eq!(
                missing_lookups(),
                before,
                "{path} in {locale} looked up a message that is not there"
            );
            assert!(
                reply.body.contains(&format!("<html lang=\"{}\">", locale.tag())),
                "{path} in {locale}: wrong <html lang>"
            );
            let words = &catalogues[&locale][reader.home_nav];
            assert_eq!(
                reply.text_of(reader.home_nav),
                Some(words.as_str()),
                "{path} in {locale}: the menu is not in {locale}"
            );
            let shown = raw_ids(&visible_text(&reply.body), &ids);
            assert!(
                shown.is_empty(),
                "{path} in {locale} shows message ids: {shown:?}"
            );
            if locale == Locale::En {
                queue.extend(links(&reply.body, reader.area));
            }
            if locale == Locale::Fr {
                keep_artifact(&path, &visible_text(&reply.body));
            }
        }
        visited += 1;
    }
    visited
}

async fn pages_in_every_language(db: TestDb) {
    let mut store = Store::new(&db);
    let up = store.up_in_process(&[]).await;
    let demo = store.demo_json();
    let site = SiteClient::behind_edge(CANONICAL_HOST, up.addr, up.edge_https);
    let catalogues: HashMap<Locale, HashMap<String, String>> =
        Locale::ALL.into_iter().map(|l| (l, catalogue(l))).collect();

    // Before sign-in: the browser's language, then the switcher's choice.
    let signin = "/auth/client-portal/signin";
    for (header, tag) in [
        ("fr-CH, fr;q=0.9", "fr"),
        ("de", "de"),
        ("es-MX", "es"),
        ("nl, en;q=0.5", "en"),
    ] {
        let reply = site
            .get_with_headers(signin, &[("accept-language", header)])
            .await;
        assert_eq!(reply.status, 200);
        assert!(reply.body.contains(&format!("<html lang=\"{tag}\">")), "{header}");
        assert!(
            reply.body.contains("id=\"language-switcher\""),
            "the sign-in page offers the switcher"
        );
    }
    let csrf = site.anonymous_csrf(signin).await;
    let reply = site
        .post_as_page(
            "/language",
            &[("lang", "fr"), ("back", signin)],
            &csrf.cookie,
            &csrf.token,
        )
        .await;
    reply.assert_see_other(signin);
    assert_eq!(
        reply.set_cookies(),
        ["porta_lang=fr; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=31536000"]
    );
    let french = site.get_with_cookie(signin, Some("porta_lang=fr")).await;
    assert!(french.body.contains("<html lang=\"fr\">"));
    assert_eq!(
        french.text_of("signin-submit"),
        Some(catalogues[&Locale::Fr]["auth-signin-sign-in"].as_str())
    );
    // Another origin is never gone back to; an unknown language is refused.
    let reply = site
        .post_as_page(
            "/language",
            &[("lang", "fr"), ("back", "//evil.example/")],
            &csrf.cookie,
            &csrf.token,
        )
        .await;
    reply.assert_see_other("/");
    let reply = site
        .post_as_page(
            "/language",
            &[("lang", "xx"), ("back", signin)],
            &csrf.cookie,
            &csrf.token,
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.set_cookies().is_empty());

    let jane = demo_user(&demo, "client");
    let client = site.sign_in_client(&jane.email, &jane.password).await.session;
    let alex = demo_user(&demo, "internal");
    let staff = site.sign_in_staff(&alex.email, &alex.password).await.session;
    let client_pages = every_page_in_every_language(
        Reader {
            site: &site,
            session: client,
            home_nav: "nav-dashboard",
            area: "/client-portal",
            start: "/client-portal/dashboard",
        },
        &catalogues,
    )
    .await;
    let staff_pages = every_page_in_every_language(
        Reader {
            site: &site,
            session: staff,
            home_nav: "nav-home",
            area: "/msp",
            start: "/msp",
        },
        &catalogues,
    )
    .await;
    // The demo has real content everywhere: lists and their details.
    assert!(client_pages >= 10, "only {client_pages} client pages found");
    assert!(staff_pages >= 10, "only {staff_pages} staff pages found");
}

both_backends! {
    every_page_renders_in_every_language => pages_in_every_language;
}
