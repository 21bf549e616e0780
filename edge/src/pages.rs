//! What the edge itself answers with: branded error pages and the handoff
//! page with its script.

/// A minimal branded page (no external assets, so it renders even when the
/// portal is down). `title` and `message` are text: they are escaped.
pub fn error_page(status: u16, title: &str, message: &str) -> String {
    let title = html_escape(title);
    let message = html_escape(message);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main class=\"card\" data-status=\"{status}\"><h1>{title}</h1><p>{message}</p></main></body></html>\n"
    )
}

const STYLE: &str = "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d2430;background:#f5f7fa}\
    .card{max-width:28rem;margin:4rem auto;background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:1.5rem 2rem}\
    h1{font-size:1.3rem;margin-top:0}.muted{color:#5b6678}a{color:#2456d6}";

pub fn not_found() -> String {
    error_page(
        404,
        "Portal not found",
        "There is no client portal at this address. Check the link you followed.",
    )
}

pub fn misdirected() -> String {
    error_page(
        421,
        "Misdirected request",
        "This connection was opened for another site. Open the address again in a new tab.",
    )
}

pub fn bad_gateway() -> String {
    error_page(
        502,
        "The portal is temporarily unavailable",
        "We could not reach the client portal just now. Please try again in a minute.",
    )
}

pub fn unavailable() -> String {
    error_page(
        503,
        "The portal is temporarily unavailable",
        "The client portal cannot reach its database just now. Please try again in a minute.",
    )
}

pub fn gateway_timeout() -> String {
    error_page(
        504,
        "The portal is taking too long",
        "The client portal did not answer in time. Please try again in a minute.",
    )
}

pub fn bad_request() -> String {
    error_page(400, "Bad request", "The request could not be understood.")
}

/// The page of a request the edge could not complete (`status` 4xx or
/// 5xx, other than the ones with pages of their own).
pub fn failure(status: u16) -> String {
    match status {
        400 => bad_request(),
        500..=599 => error_page(
            status,
            "Something went wrong",
            "The portal could not answer this request. Please try again in a minute.",
        ),
        _ => error_page(status, "Request failed", "The request could not be completed."),
    }
}

/// The handoff page: shows a loading state, and its script (served from
/// `/auth/client-portal/handoff.js`, so the page can forbid inline script)
/// exchanges the token once and follows the answer.
pub fn handoff_page(canonical_signin: &str) -> String {
    let canonical_signin = html_escape(canonical_signin);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Signing you in…</title><style>{STYLE}</style></head>\
         <body><main class=\"card\" id=\"handoff\" data-signin=\"{canonical_signin}\">\
         <h1 id=\"handoff-title\">Signing you in…</h1>\
         <p id=\"handoff-message\" class=\"muted\">One moment while we open your portal.</p>\
         <p id=\"handoff-retry\" hidden><a href=\"{canonical_signin}\">Sign in again</a></p>\
         </main><script src=\"/auth/client-portal/handoff.js\"></script></body></html>\n"
    )
}

/// Why an exchange failed, in words for the visitor, by error code.
pub const HANDOFF_JS: &str = r#"(function () {
  "use strict";
  var messages = {
    ott_required: "This sign-in link is incomplete.",
    invalid_or_expired: "This sign-in link has expired or was already used.",
    domain_not_found: "This address is not a client portal.",
    domain_inactive: "This portal address is not active yet.",
    dns_mismatch: "This portal address is not set up correctly yet.",
    rate_limited: "Too many attempts. Wait a minute, then sign in again.",
    host_missing: "This request could not be understood."
  };
  var params = new URLSearchParams(window.location.search);
  var ott = params.get("ott");
  // The token must not stay in the address bar or the history.
  window.history.replaceState(null, "", window.location.pathname);
  function fail(code) {
    document.getElementById("handoff-title").textContent = "We could not sign you in";
    document.getElementById("handoff-message").textContent =
      messages[code] || "Something went wrong while signing you in.";
    document.getElementById("handoff-retry").hidden = false;
    document.getElementById("handoff").setAttribute("data-error", code || "error");
  }
  fetch("/api/client-portal/domain-session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ott: ott || "" })
  }).then(function (response) {
    return response.json().then(function (body) {
      if (response.ok && typeof body.redirectTo === "string" && body.redirectTo.charAt(0) === "/" && body.redirectTo.charAt(1) !== "/") {
        window.location.replace(body.redirectTo);
      } else {
        fail(body.error);
      }
    });
  }).catch(function () { fail("error"); });
})();
"#;

/// `text` safe in HTML text and in quoted attribute values.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handoff_page_escapes_the_signin_link_and_loads_its_script() {
        let page = handoff_page("https://a.example/x?\"<b>&c");
        assert!(page.contains("data-signin=\"https://a.example/x?&quot;&lt;b&gt;&amp;c\""));
        assert!(page.contains("<script src=\"/auth/client-portal/handoff.js\"></script>"));
        assert!(
            !page.contains("<script>"),
            "no inline script: the page's CSP forbids it"
        );
    }

    #[test]
    fn error_pages_escape_every_value() {
        let page = error_page(
            400,
            "<script>alert('t')</script>",
            "a & b \"<img src=x onerror=alert(1)>\" 'q'",
        );
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("<title>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;</title>"));
        assert!(page.contains("<h1>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;</h1>"));
        assert!(page.contains("<p>a &amp; b &quot;&lt;img src=x onerror=alert(1)&gt;&quot; &#39;q&#39;</p>"));
        assert!(page.contains("data-status=\"400\""));
        // The fixed pages are unchanged by escaping.
        assert!(not_found().contains("<h1>Portal not found</h1>"));
    }

    #[test]
    fn the_script_only_follows_same_site_paths() {
        assert!(
            HANDOFF_JS.contains(r#"body.redirectTo.charAt(0) === "/" && body.redirectTo.charAt(1) !== "/""#)
        );
        assert!(HANDOFF_JS.contains("history.replaceState"));
    }
}
