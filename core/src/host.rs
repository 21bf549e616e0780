//! Host names as they arrive in `Host` headers, SNI and configuration.

use std::fmt;
use std::str::FromStr;

use crate::slug::TenantSlug;

/// A DNS host name in ASCII form: lower-cased, without a trailing dot or a
/// port, at most 253 bytes, labels of 1-63 LDH characters not starting or
/// ending with `-`. IP literals are not host names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidHost {
    #[error("host name is empty")]
    Empty,
    #[error("host name is longer than 253 characters")]
    TooLong,
    #[error("host name has an empty label or a label longer than 63 characters")]
    BadLabel,
    #[error("host name may contain only letters, digits, '-' and '.'")]
    BadCharacter,
    #[error("a label of a host name may not start or end with '-'")]
    EdgeHyphen,
    #[error("an IP address is not a host name")]
    IpAddress,
    #[error("the port after the host name is not a number")]
    BadPort,
}

impl HostName {
    /// Parses a bare host name (no port).
    pub fn parse(raw: &str) -> Result<Self, InvalidHost> {
        let host = raw.trim().to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        if host.is_empty() {
            return Err(InvalidHost::Empty);
        }
        if host.len() > 253 {
            return Err(InvalidHost::TooLong);
        }
        if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
            return Err(InvalidHost::IpAddress);
        }
        for label in host.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(InvalidHost::BadLabel);
            }
            if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(InvalidHost::BadCharacter);
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(InvalidHost::EdgeHyphen);
            }
        }
        if host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            // `1.2.3.999` is not an IPv4 address but is no host name either.
            return Err(InvalidHost::IpAddress);
        }
        Ok(Self(host.to_owned()))
    }

    /// Parses the value of a `Host` header (`name` or `name:port`), dropping
    /// the port.
    pub fn from_host_header(raw: &str) -> Result<Self, InvalidHost> {
        let raw = raw.trim();
        if raw.starts_with('[') {
            return Err(InvalidHost::IpAddress);
        }
        match raw.rsplit_once(':') {
            Some((name, port)) => {
                if port.is_empty() || port.parse::<u16>().is_err() {
                    return Err(InvalidHost::BadPort);
                }
                Self::parse(name)
            }
            None => Self::parse(raw),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug when this host is `<slug>.<base>` (exactly one label more).
    pub fn tenant_slug_under(&self, base: &HostName) -> Option<TenantSlug> {
        let label = self.0.strip_suffix(base.as_str())?.strip_suffix('.')?;
        if label.contains('.') {
            return None;
        }
        TenantSlug::parse(label).ok()
    }

    /// `<slug>.<base>`: the canonical host of a tenant.
    pub fn tenant_host(slug: &TenantSlug, base: &HostName) -> HostName {
        // A slug is one valid label; if the result were too long the base
        // would already be unusable, and configuration rejects such bases.
        HostName(format!("{}.{}", slug.as_str(), base.as_str()))
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for HostName {
    type Err = InvalidHost;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> HostName {
        HostName::parse(s).unwrap()
    }

    #[test]
    fn host_header_drops_port_and_case() {
        assert_eq!(
            HostName::from_host_header("Acme.Portal.Localhost:8080").unwrap(),
            host("acme.portal.localhost")
        );
        assert_eq!(
            HostName::from_host_header("acme.example.").unwrap(),
            host("acme.example")
        );
    }

    #[test]
    fn rejects_bad_hosts() {
        assert_eq!(HostName::parse(""), Err(InvalidHost::Empty));
        assert_eq!(HostName::parse("127.0.0.1"), Err(InvalidHost::IpAddress));
        assert_eq!(HostName::parse("1.2.3.999"), Err(InvalidHost::IpAddress));
        assert_eq!(
            HostName::from_host_header("[::1]:80"),
            Err(InvalidHost::IpAddress)
        );
        assert_eq!(HostName::from_host_header("a.com:x"), Err(InvalidHost::BadPort));
        assert_eq!(HostName::from_host_header("a.com:"), Err(InvalidHost::BadPort));
        assert_eq!(HostName::parse("a..com"), Err(InvalidHost::BadLabel));
        assert_eq!(HostName::parse("a_b.com"), Err(InvalidHost::BadCharacter));
        assert_eq!(HostName::parse("a b.com"), Err(InvalidHost::BadCharacter));
        assert_eq!(HostName::parse("-a.com"), Err(InvalidHost::EdgeHyphen));
        assert_eq!(
            HostName::parse(&format!("{}.com", "a".repeat(64))),
            Err(InvalidHost::BadLabel)
        );
        let long = vec!["a".repeat(60); 5].join(".");
        assert_eq!(HostName::parse(&long), Err(InvalidHost::TooLong));
    }

    #[test]
    fn finds_tenant_slug_one_label_below_base() {
        let base = host("portal.localhost");
        assert_eq!(
            host("acme.portal.localhost")
                .tenant_slug_under(&base)
                .unwrap()
                .as_str(),
            "acme"
        );
        assert_eq!(host("portal.localhost").tenant_slug_under(&base), None);
        assert_eq!(host("x.acme.portal.localhost").tenant_slug_under(&base), None);
        assert_eq!(host("evilportal.localhost").tenant_slug_under(&base), None);
        assert_eq!(
            host("acme.portal.localhost.evil.com").tenant_slug_under(&base),
            None
        );
    }
}
