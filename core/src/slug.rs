//! Tenant slugs: the first label of a tenant's canonical host.

use std::fmt;
use std::str::FromStr;

/// A tenant slug: 1-63 characters of `a-z`, `0-9` and `-`, not starting or
/// ending with `-`, so `<slug>.<canonical_base>` is always a valid host.
/// Input is trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSlug {
    #[error("slug is empty")]
    Empty,
    #[error("slug is longer than 63 characters")]
    TooLong,
    #[error("slug may contain only letters a-z, digits and '-'")]
    BadCharacter,
    #[error("slug may not start or end with '-'")]
    EdgeHyphen,
}

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, InvalidSlug> {
        let slug = raw.trim().to_ascii_lowercase();
        if slug.is_empty() {
            return Err(InvalidSlug::Empty);
        }
        if slug.len() > 63 {
            return Err(InvalidSlug::TooLong);
        }
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(InvalidSlug::BadCharacter);
        }
        if slug.starts_with('-') || slug.ends_with('-') {
            return Err(InvalidSlug::EdgeHyphen);
        }
        Ok(Self(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TenantSlug {
    type Err = InvalidSlug;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(TenantSlug::parse(" Acme-IT ").unwrap().as_str(), "acme-it");
    }

    #[test]
    fn rejects_each_bad_form_with_its_reason() {
        assert_eq!(TenantSlug::parse(""), Err(InvalidSlug::Empty));
        assert_eq!(TenantSlug::parse(&"a".repeat(64)), Err(InvalidSlug::TooLong));
        assert_eq!(TenantSlug::parse("acme.it"), Err(InvalidSlug::BadCharacter));
        assert_eq!(TenantSlug::parse("acme_it"), Err(InvalidSlug::BadCharacter));
        assert_eq!(TenantSlug::parse("ácme"), Err(InvalidSlug::BadCharacter));
        assert_eq!(TenantSlug::parse("-acme"), Err(InvalidSlug::EdgeHyphen));
        assert_eq!(TenantSlug::parse("acme-"), Err(InvalidSlug::EdgeHyphen));
    }
}
