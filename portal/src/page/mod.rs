//! Page rendering: askama templates under `portal/templates/`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Html;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Html<String> {
    render(&ErrorPage {
        status: status.as_u16(),
        title,
        message,
    })
}

/// Renders a template; a template error (a bug) becomes a plain page rather
/// than a panic.
pub fn render(template: &impl Template) -> Html<String> {
    match template.render() {
        Ok(html) => Html(html),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            Html("<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_owned())
        }
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SigninPage<'a> {
    pub tenant_name: &'a str,
    pub heading: &'a str,
    pub action: &'a str,
    pub error: Option<&'a str>,
    pub next: Option<&'a str>,
    pub other_link: (&'a str, &'a str),
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage<'a> {
    pub tenant_name: &'a str,
    pub user_name: &'a str,
    pub email: &'a str,
    pub client_name: &'a str,
    pub roles: &'a [String],
    pub last_signin: Option<String>,
}

#[derive(Template)]
#[template(path = "msp.html")]
pub struct MspHomePage<'a> {
    pub tenant_name: &'a str,
    pub user_name: &'a str,
    pub email: &'a str,
    pub roles: &'a [String],
}

/// `2026-11-29 14:05 UTC` for a millisecond timestamp.
pub fn format_time(millis: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).ok()?;
    at.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .ok()
}

#[derive(Template)]
#[template(path = "msp_domain.html")]
pub struct MspDomainPage<'a> {
    pub tenant_name: &'a str,
    pub user_name: &'a str,
    pub can_update: bool,
    pub domain: Option<&'a crate::domain_settings::DomainView>,
    pub observed: Option<String>,
    pub last_checked: Option<String>,
    pub refresh: bool,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}
