//! Languages: which one a reader gets ([`negotiate`]), the messages in it
//! ([`messages`], Fluent) and dates, numbers and money as it writes them
//! ([`format`], ICU4X).
//!
//! Pages reach all three through their `PageContext` (`ctx.t("id")`,
//! `ctx.money(…)`); nothing user-facing is written in English in a
//! template or a handler.

pub mod format;
pub mod labels;
pub mod messages;
pub mod negotiate;
pub mod switch;

use askama::filters::Safe;
use fluent_bundle::{FluentArgs, FluentValue};
use porta_core::locale::Locale;

/// Messages in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Texts(pub Locale);

/// A value for a message's placeable: a number when it reads as a whole
/// number (so plural rules apply to it), else text.
pub enum Arg {
    Text(String),
    Number(i64),
}

impl Arg {
    pub fn of(value: impl std::fmt::Display) -> Arg {
        let text = value.to_string();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let plain_number = !digits.is_empty()
            && digits.len() <= 18
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        match text.parse::<i64>() {
            Ok(n) if plain_number => Arg::Number(n),
            _ => Arg::Text(text),
        }
    }
}

impl Texts {
    pub fn locale(self) -> Locale {
        self.0
    }

    /// Message `id` as plain text (for headers, mail subjects, JSON).
    pub fn plain(self, id: &str) -> String {
        messages::text(self.0, id, None)
    }

    /// Message `id` with its placeables filled, as plain text.
    pub fn plain_with(self, id: &str, args: &[(&str, Arg)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(s) => fluent.set(*name, FluentValue::from(s.as_str())),
                Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
            }
        }
        messages::text(self.0, id, Some(&fluent))
    }

    /// Message `id` for a page: escaped here (so a placeable's value is
    /// escaped too), and marked safe so the template does not escape it
    /// again.
    pub fn html(self, id: &str) -> Safe<String> {
        Safe(escape(&self.plain(id)))
    }

    pub fn html_with(self, id: &str, args: &[(&str, Arg)]) -> Safe<String> {
        Safe(escape(&self.plain_with(id, args)))
    }
}

/// HTML-escapes text for element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_become_numbers() {
        assert!(matches!(Arg::of(3), Arg::Number(3)));
        assert!(matches!(Arg::of("-12"), Arg::Number(-12)));
        assert!(matches!(Arg::of("007"), Arg::Text(_)));
        assert!(matches!(Arg::of("T-1001"), Arg::Text(_)));
        assert!(matches!(Arg::of("99999999999999999999"), Arg::Text(_)));
    }

    #[test]
    fn values_in_messages_are_escaped_once() {
        let t = Texts(Locale::En);
        let html = t
            .html_with("greeting", &[("name", Arg::of("<b>Jane & Co</b>"))])
            .0;
        assert!(html.contains("&lt;b&gt;Jane &amp; Co&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>"));
    }
}
