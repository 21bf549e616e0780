//! `/theme.css`: the tenant's own colours as a stylesheet of our origin, so
//! pages never need inline styles (the CSP forbids them): each priority's
//! colour as `--prio` of its class. Values that are not `#rrggbb` are left
//! out, so no stored text can reach the stylesheet.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::request::Site;
use crate::state::AppState;

/// `#rrggbb`, nothing else.
pub fn is_hex_colour(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn stylesheet(State(state): State<AppState>, site: Site) -> Result<Response, AppError> {
    let catalog = state.catalog.get(site.tenant.id).await?;
    let mut css = String::from("/* The colours of this portal's tenant. */\n");
    // Colours were checked when saved and are printed from their type.
    let brand = &site.brand;
    if brand.primary.is_some() || brand.secondary.is_some() {
        css.push_str(":root {");
        if let Some(primary) = brand.primary {
            let _ = write!(css, " --brand: {primary}; --brand-ink: {};", primary.text_on());
        }
        if let Some(secondary) = brand.secondary {
            let _ = write!(css, " --accent: {secondary};");
        }
        css.push_str(" }\n");
    }
    for p in catalog.priorities.iter().filter(|p| is_hex_colour(&p.color)) {
        let _ = writeln!(css, ".prio-{} {{ --prio: {}; }}", p.id.short(), p.color);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        css,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_colours_pass() {
        assert!(is_hex_colour("#1a2B3c"));
        for bad in [
            "",
            "#fff",
            "red",
            "#12345g",
            "#123456; } body { display:none",
            "#1234567",
        ] {
            assert!(!is_hex_colour(bad), "{bad}");
        }
    }
}
