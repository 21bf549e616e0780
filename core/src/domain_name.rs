//! Custom domains as MSP staff register them.

use std::fmt;

use crate::host::HostName;

/// A domain a tenant may register as its portal address: trimmed,
/// lower-cased, IDNA-encoded to ASCII, at most 253 characters with labels of
/// at most 63, letters/digits/hyphens only, at least two labels, not a
/// public suffix itself (`co.uk`, `github.io`), no wildcard, no IP address.
/// [`DomainName::check_against_base`] adds the deployment's rule that it is
/// not under the canonical base.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainName(HostName);

/// Why a domain was refused; each has its own message for staff.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDomain {
    #[error("enter a domain name, for example portal.example.com")]
    Empty,
    #[error("enter only the domain name, without https:// or a path")]
    NotJustADomain,
    #[error("wildcard domains cannot be registered; enter one name such as portal.example.com")]
    Wildcard,
    #[error("an IP address is not a domain name")]
    IpAddress,
    #[error("the domain contains characters that cannot be encoded (IDNA)")]
    Idna,
    #[error("the domain is longer than 253 characters")]
    TooLong,
    #[error("the domain has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel,
    #[error("a label of the domain is longer than 63 characters")]
    LabelTooLong,
    #[error("the domain may contain only letters, digits, hyphens and dots")]
    BadCharacter,
    #[error("a label of the domain may not start or end with a hyphen")]
    EdgeHyphen,
    #[error("enter a full domain name with at least two labels, such as portal.example.com")]
    SingleLabel,
    #[error("the last label of a domain cannot be all digits")]
    NumericTld,
    #[error("{0} is a public suffix; use a name under it, such as portal.{0}")]
    PublicSuffix(String),
    #[error("domains under {0} are this service's own addresses and cannot be registered")]
    UnderCanonicalBase(String),
}

impl DomainName {
    pub fn parse(raw: &str) -> Result<DomainName, InvalidDomain> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(InvalidDomain::Empty);
        }
        if text.contains("://") || text.contains(['/', '?', '#', '@']) || text.contains(char::is_whitespace) {
            return Err(InvalidDomain::NotJustADomain);
        }
        if text.contains('*') {
            return Err(InvalidDomain::Wildcard);
        }
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.contains(':') || text.starts_with('[') || text.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(InvalidDomain::IpAddress);
        }
        if text.split('.').any(str::is_empty) {
            return Err(InvalidDomain::EmptyLabel);
        }
        if text.contains('_') {
            return Err(InvalidDomain::BadCharacter);
        }
        let ascii = idna::domain_to_ascii(text).map_err(|_| InvalidDomain::Idna)?;
        if ascii.len() > 253 {
            return Err(InvalidDomain::TooLong);
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        for label in &labels {
            if label.is_empty() {
                return Err(InvalidDomain::EmptyLabel);
            }
            if label.len() > 63 {
                return Err(InvalidDomain::LabelTooLong);
            }
            if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(InvalidDomain::BadCharacter);
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(InvalidDomain::EdgeHyphen);
            }
        }
        if labels.len() < 2 {
            return Err(InvalidDomain::SingleLabel);
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(InvalidDomain::NumericTld);
        }
        if let Some(suffix) = psl::suffix(ascii.as_bytes()) {
            if suffix.is_known() && suffix.as_bytes() == ascii.as_bytes() {
                return Err(InvalidDomain::PublicSuffix(ascii));
            }
        }
        let host = HostName::parse(&ascii).map_err(|_| InvalidDomain::BadCharacter)?;
        Ok(DomainName(host))
    }

    /// Refuses the canonical base itself and anything under it.
    pub fn check_against_base(&self, base: &HostName) -> Result<(), InvalidDomain> {
        let name = self.0.as_str();
        let base_str = base.as_str();
        let under = name == base_str
            || name
                .strip_suffix(base_str)
                .is_some_and(|rest| rest.ends_with('.'));
        if under {
            return Err(InvalidDomain::UnderCanonicalBase(base_str.to_owned()));
        }
        Ok(())
    }

    pub fn as_host(&self) -> &HostName {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises() {
        assert_eq!(
            DomainName::parse("  Portal.Acme-IT.com. ").unwrap().as_str(),
            "portal.acme-it.com"
        );
        assert_eq!(
            DomainName::parse("portal.bücher.de").unwrap().as_str(),
            "portal.xn--bcher-kva.de"
        );
        assert_eq!(DomainName::parse("acme.co.uk").unwrap().as_str(), "acme.co.uk");
        assert_eq!(
            DomainName::parse("portal.localhost").unwrap().as_str(),
            "portal.localhost"
        );
    }

    /// Bad names and the reason each must get.
    fn corpus() -> Vec<(String, InvalidDomain)> {
        use InvalidDomain::*;
        let long_label = format!("{}.example.com", "a".repeat(64));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        vec![
            ("".into(), Empty),
            ("   ".into(), Empty),
            ("https://portal.example.com".into(), NotJustADomain),
            ("portal.example.com/login".into(), NotJustADomain),
            ("portal example.com".into(), NotJustADomain),
            ("user@example.com".into(), NotJustADomain),
            ("portal.example.com?x=1".into(), NotJustADomain),
            ("*.example.com".into(), Wildcard),
            ("portal.*.example.com".into(), Wildcard),
            ("192.168.1.10".into(), IpAddress),
            ("[::1]".into(), IpAddress),
            ("2001:db8::1".into(), IpAddress),
            ("portal.example.com:8443".into(), IpAddress),
            (long_name, TooLong),
            (long_label, LabelTooLong),
            ("portal..example.com".into(), EmptyLabel),
            (".example.com".into(), EmptyLabel),
            ("portal_x.example.com".into(), BadCharacter),
            ("portal!.example.com".into(), BadCharacter),
            ("-portal.example.com".into(), EdgeHyphen),
            ("portal-.example.com".into(), EdgeHyphen),
            ("localhost".into(), SingleLabel),
            ("com".into(), SingleLabel),
            ("portal.example.123".into(), NumericTld),
            ("co.uk".into(), PublicSuffix("co.uk".into())),
            ("github.io".into(), PublicSuffix("github.io".into())),
            ("com.au".into(), PublicSuffix("com.au".into())),
            ("xn--zz.example.com".into(), Idna),
        ]
    }

    #[test]
    fn rejects_each_bad_name_with_its_reason() {
        let corpus = corpus();
        assert!(corpus.len() >= 25);
        for (raw, expected) in corpus {
            assert_eq!(DomainName::parse(&raw), Err(expected.clone()), "{raw:?}");
            assert!(!expected.to_string().is_empty());
        }
    }

    #[test]
    fn refuses_the_canonical_base_and_below() {
        let base = HostName::parse("portal.example.net").unwrap();
        for name in [
            "portal.example.net",
            "acme.portal.example.net",
            "x.acme.portal.example.net",
        ] {
            assert_eq!(
                DomainName::parse(name).unwrap().check_against_base(&base),
                Err(InvalidDomain::UnderCanonicalBase("portal.example.net".into()))
            );
        }
        for name in [
            "xportal.example.net",
            "portal.example.net.evil.com",
            "example.net",
        ] {
            assert!(
                DomainName::parse(name).unwrap().check_against_base(&base).is_ok(),
                "{name}"
            );
        }
    }

    proptest! {
        #[test]
        fn accepted_names_are_valid_hosts(raw in "[a-zA-Z0-9._*:/ -]{0,70}") {
            if let Ok(name) = DomainName::parse(&raw) {
                prop_assert!(HostName::parse(name.as_str()).is_ok());
                prop_assert!(!name.as_str().contains('*'));
                prop_assert!(name.as_str().contains('.'));
            }
        }
    }
}
