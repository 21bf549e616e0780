//! The languages the portal speaks: a closed set, each with a complete
//! translation. A locale is parsed once from a stored preference, a cookie
//! or an `Accept-Language` header; everything else takes a [`Locale`].

use std::fmt;
use std::str::FromStr;

/// A language with a complete translation of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
    De,
    Es,
}

/// A language tag that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a supported language: {0:?} (one of en, fr, de, es)")]
pub struct UnsupportedLocale(pub String);

impl Locale {
    pub const ALL: [Locale; 4] = [Locale::En, Locale::Fr, Locale::De, Locale::Es];

    /// The BCP 47 tag (`fr`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
            Locale::De => "de",
            Locale::Es => "es",
        }
    }

    /// The language's name in itself, for a language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Fr => "Français",
            Locale::De => "Deutsch",
            Locale::Es => "Español",
        }
    }

    /// The locale of a language tag's primary subtag (`fr-CA` → French);
    /// `None` for other languages and malformed tags.
    pub fn of_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Locale::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// A stored preference: empty means "not chosen"; an unknown value (an
    /// older row, a language since removed) counts as not chosen too.
    pub fn of_preference(stored: &str) -> Option<Locale> {
        if stored.trim().is_empty() {
            None
        } else {
            Locale::of_tag(stored)
        }
    }

    /// The best of our languages for an `Accept-Language` header (RFC 9110
    /// §12.5.4): the supported range with the highest weight, the earlier
    /// one on ties; `q=0` excludes. `None` when none is supported.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(u16, Locale)> = None;
        for range in accept_language.split(',').take(32) {
            let mut parts = range.split(';');
            let Some(tag) = parts.next().map(str::trim) else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(parse_weight))
                .unwrap_or(Some(1000));
            let (Some(weight), Some(locale)) = (weight, Locale::of_tag(tag)) else {
                continue;
            };
            if weight == 0 {
                continue;
            }
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, locale));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// A quality value (`0.8`) in thousandths; `None` when malformed.
fn parse_weight(q: &str) -> Option<u16> {
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let value = whole + thousandths;
    (value <= 1000).then_some(value)
}

impl FromStr for Locale {
    type Err = UnsupportedLocale;

    /// Exactly one of our tags (`en`, `fr`, `de`, `es`), as stored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::ALL
            .into_iter()
            .find(|l| l.tag() == s.trim())
            .ok_or_else(|| UnsupportedLocale(s.chars().take(40).collect()))
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_others_are_refused() {
        for l in Locale::ALL {
            assert_eq!(l.tag().parse::<Locale>(), Ok(l));
        }
        assert!("nl".parse::<Locale>().is_err());
        assert!("".parse::<Locale>().is_err());
        assert_eq!(Locale::of_preference(""), None);
        assert_eq!(Locale::of_preference("de"), Some(Locale::De));
        assert_eq!(Locale::of_preference("xx"), None);
        assert_eq!(Locale::of_tag("fr-CA"), Some(Locale::Fr));
        assert_eq!(Locale::of_tag("ES_mx"), Some(Locale::Es));
    }

    #[test]
    fn accept_language_picks_the_heaviest_supported_range() {
        assert_eq!(Locale::negotiate("fr-CH, fr;q=0.9, en;q=0.8"), Some(Locale::Fr));
        assert_eq!(Locale::negotiate("nl, de;q=0.7, en;q=0.5"), Some(Locale::De));
        assert_eq!(Locale::negotiate("en;q=0.2, es;q=0.9"), Some(Locale::Es));
        assert_eq!(Locale::negotiate("fr;q=0, de;q=0.1"), Some(Locale::De));
        assert_eq!(Locale::negotiate("de;q=0.5, fr;q=0.5"), Some(Locale::De));
        assert_eq!(Locale::negotiate("nl, it"), None);
        assert_eq!(Locale::negotiate(""), None);
        assert_eq!(Locale::negotiate("*"), None);
        // Malformed weights are ignored, never a panic.
        assert_eq!(
            Locale::negotiate("fr;q=2, de;q=abc, es;q=0.12345, en;q=1.0"),
            Some(Locale::En)
        );
        assert_eq!(Locale::negotiate(";;;,,,q=;"), None);
    }
}
