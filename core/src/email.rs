//! Email addresses as sign-in names.

use std::fmt;
use std::str::FromStr;

/// An email address, trimmed and lower-cased (sign-in is case-insensitive),
/// with one `@`, a local part of at most 64 bytes, a domain of dotted LDH
/// labels, and at most 254 bytes in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidEmail {
    #[error("email address is empty")]
    Empty,
    #[error("email address is longer than 254 characters")]
    TooLong,
    #[error("email address must contain exactly one '@'")]
    At,
    #[error("the part before '@' is empty, too long or has characters not allowed")]
    LocalPart,
    #[error("the part after '@' is not a domain name such as example.com")]
    Domain,
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(InvalidEmail::Empty);
        }
        if email.len() > 254 {
            return Err(InvalidEmail::TooLong);
        }
        let mut parts = email.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidEmail::At);
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        if !local_ok {
            return Err(InvalidEmail::LocalPart);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err(InvalidEmail::Domain);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = InvalidEmail;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_lower_case() {
        assert_eq!(
            EmailAddress::parse("  Jane.Doe@Globex.Example ")
                .unwrap()
                .as_str(),
            "jane.doe@globex.example"
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        assert_eq!(EmailAddress::parse(" "), Err(InvalidEmail::Empty));
        assert_eq!(EmailAddress::parse("jane"), Err(InvalidEmail::At));
        assert_eq!(EmailAddress::parse("a@b@c.com"), Err(InvalidEmail::At));
        assert_eq!(EmailAddress::parse("@c.com"), Err(InvalidEmail::LocalPart));
        assert_eq!(EmailAddress::parse("a b@c.com"), Err(InvalidEmail::LocalPart));
        assert_eq!(EmailAddress::parse("a..b@c.com"), Err(InvalidEmail::LocalPart));
        assert_eq!(EmailAddress::parse("a@localhost"), Err(InvalidEmail::Domain));
        assert_eq!(EmailAddress::parse("a@-c.com"), Err(InvalidEmail::Domain));
        assert_eq!(EmailAddress::parse("a@c..com"), Err(InvalidEmail::Domain));
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert_eq!(EmailAddress::parse(&long), Err(InvalidEmail::TooLong));
    }
}
