//! The message catalogue: Fluent files under `portal/locales/{tag}/`,
//! compiled into the binary, one bundle per [`Locale`].
//!
//! A message missing in a language is a defect the tests catch (every
//! language has exactly English's ids); at run time it falls back to
//! English, is logged once per lookup and counted, and a message missing
//! even in English shows its id (which the page tests look for).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use porta_core::locale::Locale;

/// The catalogue's files, in every language (`portal/locales/en/auth.ftl`…).
macro_rules! catalogue {
    ($($file:literal),+ $(,)?) => {
        /// The names of the catalogue's files (without `.ftl`).
        pub const FILES: &[&str] = &[$($file),+];

        fn sources(locale: Locale) -> Vec<(&'static str, &'static str)> {
            match locale {
                Locale::En => vec![$(($file, include_str!(concat!("../../locales/en/", $file, ".ftl")))),+],
                Locale::Fr => vec![$(($file, include_str!(concat!("../../locales/fr/", $file, ".ftl")))),+],
                Locale::De => vec![$(($file, include_str!(concat!("../../locales/de/", $file, ".ftl")))),+],
                Locale::Es => vec![$(($file, include_str!(concat!("../../locales/es/", $file, ".ftl")))),+],
            }
        }
    };
}

catalogue!("common", "errors", "notices", "auth", "client", "tickets", "projects", "profile", "msp", "mail",);

/// The source of every file of `locale`, for the catalogue's own tests.
pub fn files_of(locale: Locale) -> Vec<(&'static str, &'static str)> {
    sources(locale)
}

/// Lookups that found no message in the reader's language.
static MISSING: AtomicU64 = AtomicU64::new(0);

/// How many lookups so far found no message (a metric; the page tests
/// assert it does not move).
pub fn missing_lookups() -> u64 {
    MISSING.load(Ordering::Relaxed)
}

struct Catalogue {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
}

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let langid = locale
        .tag()
        .parse()
        .expect("our tags are valid language identifiers");
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Pages are HTML: no Unicode isolation marks around placeables.
    bundle.set_use_isolating(false);
    for (file, source) in sources(locale) {
        // A file that does not parse fails the catalogue's tests; here its
        // good entries are still used.
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(partial, errors)| {
            tracing::error!(locale = %locale, file, errors = errors.len(), "a message file has syntax errors");
            partial
        });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(locale = %locale, file, errors = errors.len(), "a message file repeats ids");
        }
    }
    bundle
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    bundles: Locale::ALL.into_iter().map(|l| (l, bundle(l))).collect(),
});

impl Catalogue {
    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        &self
            .bundles
            .iter()
            .find(|(l, _)| *l == locale)
            .expect("every locale has a bundle")
            .1
    }

    /// The pattern of `id` (or `id.attribute`) in `locale`.
    fn pattern(&self, locale: Locale, id: &str) -> Option<&fluent_syntax::ast::Pattern<&str>> {
        let bundle = self.bundle(locale);
        let (id, attribute) = match id.split_once('.') {
            Some((id, attribute)) => (id, Some(attribute)),
            None => (id, None),
        };
        let message = bundle.get_message(id)?;
        match attribute {
            Some(name) => Some(message.get_attribute(name)?.value()),
            None => message.value(),
        }
    }

    fn format(&self, locale: Locale, id: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let bundle = self.bundle(locale);
        let pattern = self.pattern(locale, id)?;
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(locale = %locale, id, errors = errors.len(), "a message did not format cleanly");
        }
        Some(text.into_owned())
    }
}

/// The text of message `id` (or `id.attribute`) in `locale`.
pub fn text(locale: Locale, id: &str, args: Option<&FluentArgs<'_>>) -> String {
    let catalogue = &*CATALOGUE;
    if let Some(text) = catalogue.format(locale, id, args) {
        return text;
    }
    MISSING.fetch_add(1, Ordering::Relaxed);
    tracing::error!(locale = %locale, id, "no such message");
    if locale != Locale::En {
        if let Some(text) = catalogue.format(Locale::En, id, args) {
            return text;
        }
    }
    id.to_owned()
}

/// Whether message `id` exists in `locale` (for code that offers a message
/// only when there is one, such as optional hints).
pub fn has(locale: Locale, id: &str) -> bool {
    CATALOGUE.pattern(locale, id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_syntax::ast;
    use std::collections::BTreeSet;

    /// Every id (and `id.attribute`) of `locale`, failing on syntax errors
    /// and on ids repeated across files.
    fn ids(locale: Locale) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for (file, source) in files_of(locale) {
            let resource = fluent_syntax::parser::parse(source)
                .unwrap_or_else(|(_, errors)| panic!("{locale}/{file}.ftl does not parse: {errors:?}"));
            for entry in resource.body {
                if let ast::Entry::Message(message) = entry {
                    let id = message.id.name.to_owned();
                    if message.value.is_some() {
                        assert!(ids.insert(id.clone()), "{locale}/{file}.ftl repeats {id}");
                    }
                    for attribute in message.attributes {
                        ids.insert(format!("{id}.{}", attribute.id.name));
                    }
                }
            }
        }
        ids
    }

    #[test]
    fn every_language_has_exactly_the_english_messages() {
        let english = ids(Locale::En);
        assert!(
            english.len() > 100,
            "the catalogue looks empty: {}",
            english.len()
        );
        for locale in [Locale::Fr, Locale::De, Locale::Es] {
            let other = ids(locale);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(missing.is_empty(), "{locale} lacks {missing:?}");
            assert!(extra.is_empty(), "{locale} has messages English lacks: {extra:?}");
        }
    }

    #[test]
    fn a_missing_message_shows_its_id_and_is_counted() {
        let before = missing_lookups();
        assert_eq!(
            text(Locale::Fr, "no-such-message-anywhere", None),
            "no-such-message-anywhere"
        );
        assert!(missing_lookups() > before);
    }

    #[test]
    fn arguments_are_placed_without_isolation_marks() {
        let mut args = FluentArgs::new();
        args.set("count", 3);
        let text = text(Locale::En, "bell-label", Some(&args));
        assert_eq!(text, "Notifications: 3 unread");
        assert!(!text.contains('\u{2068}'));
    }
}
