//! Safe post-sign-in redirect targets (`next=`).

use std::fmt;

/// The part of the site a redirect may lead into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalArea {
    /// `/client-portal/...`, for client users.
    ClientPortal,
    /// `/msp/...`, for MSP staff.
    Msp,
}

impl PortalArea {
    pub fn prefix(self) -> &'static str {
        match self {
            PortalArea::ClientPortal => "/client-portal",
            PortalArea::Msp => "/msp",
        }
    }

    /// The sign-in page of this area.
    pub fn signin_path(self) -> &'static str {
        match self {
            PortalArea::ClientPortal => crate::paths::CLIENT_SIGNIN,
            PortalArea::Msp => crate::paths::MSP_SIGNIN,
        }
    }

    /// Where a user of this area lands when no (valid) `next` was given.
    pub fn landing(self) -> &'static str {
        match self {
            PortalArea::ClientPortal => "/client-portal/dashboard",
            PortalArea::Msp => "/msp",
        }
    }
}

/// A same-site relative path (optionally with a query) under one
/// [`PortalArea`]. It cannot name another host or scheme: it starts with a
/// single `/`, holds only URL-safe ASCII, has no backslash, no empty, `.` or
/// `..` segment, and no percent-escape of a separator, dot, percent sign or
/// control character, so no decoding step downstream can turn it into
/// `//evil.com` or `/\evil.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPath(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidNextPath {
    #[error("next path is empty or longer than 2048 characters")]
    Length,
    #[error("next path has a character that is not allowed")]
    Character,
    #[error("next path has a malformed or forbidden percent-escape")]
    Escape,
    #[error("next path must be a relative path starting with a single '/'")]
    NotRelative,
    #[error("next path has an empty, '.' or '..' segment")]
    Segment,
    #[error("next path is outside the allowed area")]
    OutsideArea,
}

const MAX_LEN: usize = 2048;

fn allowed_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
}

/// Bytes that may not appear percent-encoded: separators, dots, `%` itself,
/// whitespace and controls.
fn forbidden_escaped(b: u8) -> bool {
    b < 0x21 || b == 0x7f || b"/\\.%?#".contains(&b)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl NextPath {
    pub fn parse(raw: &str, area: PortalArea) -> Result<Self, InvalidNextPath> {
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(InvalidNextPath::Length);
        }
        let bytes = raw.as_bytes();
        if !bytes.iter().all(|&b| allowed_byte(b)) {
            return Err(InvalidNextPath::Character);
        }
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let decoded = match (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(hi), Some(lo)) => hi * 16 + lo,
                    _ => return Err(InvalidNextPath::Escape),
                };
                if forbidden_escaped(decoded) {
                    return Err(InvalidNextPath::Escape);
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        let path = raw.split('?').next().unwrap_or_default();
        let Some(rest) = path.strip_prefix('/') else {
            return Err(InvalidNextPath::NotRelative);
        };
        if rest.starts_with('/') {
            return Err(InvalidNextPath::NotRelative);
        }
        let segments: Vec<&str> = rest.split('/').collect();
        let last = segments.len() - 1;
        for (index, segment) in segments.iter().enumerate() {
            // A trailing slash leaves one empty final segment, which is fine.
            let empty_inside = segment.is_empty() && index != last;
            if empty_inside || *segment == "." || *segment == ".." {
                return Err(InvalidNextPath::Segment);
            }
        }
        let prefix = area.prefix();
        let in_area = path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|after| after.starts_with('/'));
        if !in_area {
            return Err(InvalidNextPath::OutsideArea);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The parsed `raw`, or the area's landing page when `raw` is missing or
    /// unsafe.
    pub fn or_landing(raw: Option<&str>, area: PortalArea) -> Self {
        raw.and_then(|raw| Self::parse(raw, area).ok())
            .unwrap_or_else(|| Self::landing(area))
    }

    pub fn landing(area: PortalArea) -> Self {
        Self(area.landing().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NextPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AREA: PortalArea = PortalArea::ClientPortal;

    #[test]
    fn accepts_paths_in_the_area() {
        for ok in [
            "/client-portal",
            "/client-portal/",
            "/client-portal/dashboard",
            "/client-portal/tickets/42?status=open&sort=-created",
            "/client-portal/search?q=caf%C3%A9",
            "/client-portal/a:b@c",
        ] {
            assert_eq!(NextPath::parse(ok, AREA).map(|p| p.0), Ok(ok.to_owned()), "{ok}");
        }
    }

    /// Open-redirect and traversal attempts seen in the wild; every one must
    /// fall back to the landing page.
    pub(crate) const HOSTILE: &[&str] = &[
        "",
        "//evil.com",
        "//evil.com/client-portal/dashboard",
        "///evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/client-portal\\..\\..\\evil",
        "https://evil.com/client-portal/dashboard",
        "http:evil.com",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "evil.com/client-portal",
        "client-portal/dashboard",
        "%2f%2fevil.com",
        "/%2f%2fevil.com",
        "/%2F%2Fevil.com",
        "/client-portal/%2f%2fevil.com",
        "/client-portal/%5cevil.com",
        "/%5c%5cevil.com",
        "/client-portal/%2e%2e/%2e%2e/admin",
        "/client-portal/../msp",
        "/client-portal/./dashboard",
        "/client-portal//evil.com",
        "/client-portal/%252f%252fevil.com",
        "/client-portal/%0d%0aSet-Cookie:x=1",
        "/client-portal/\r\nLocation: https://evil.com",
        "/client-portal/\tdashboard",
        "/client-portal/ dashboard",
        "/client-portal/dash\0board",
        "/client-portal/%00",
        "/client-portal/%zz",
        "/client-portal/%2",
        "/client-portal/#//evil.com",
        "/client-portal/dashboard#frag",
        "/client-portalx/dashboard",
        "/client-portal.evil.com",
        "/msp",
        "/",
        "/auth/client-portal/signin",
        "/client-portal/d\u{0430}shboard",
        "\u{2215}\u{2215}evil.com",
        "/client-portal/\u{ff0f}\u{ff0f}evil.com",
        "/client-portal/<script>",
        "/client-portal/\"onmouseover=",
    ];

    #[test]
    fn neutralises_every_hostile_value() {
        assert!(HOSTILE.len() >= 30);
        for hostile in HOSTILE {
            assert!(NextPath::parse(hostile, AREA).is_err(), "accepted {hostile:?}");
            assert_eq!(
                NextPath::or_landing(Some(hostile), AREA).as_str(),
                "/client-portal/dashboard"
            );
        }
    }

    #[test]
    fn long_values_are_refused() {
        let long = format!("/client-portal/{}", "a".repeat(MAX_LEN));
        assert_eq!(NextPath::parse(&long, AREA), Err(InvalidNextPath::Length));
    }

    #[test]
    fn msp_area_has_its_own_prefix() {
        assert!(NextPath::parse("/msp/settings", PortalArea::Msp).is_ok());
        assert_eq!(
            NextPath::parse("/client-portal/dashboard", PortalArea::Msp),
            Err(InvalidNextPath::OutsideArea)
        );
        assert_eq!(NextPath::or_landing(None, PortalArea::Msp).as_str(), "/msp");
    }

    proptest! {
        #[test]
        fn anything_accepted_is_a_same_site_path(raw in ".{0,80}") {
            if let Ok(next) = NextPath::parse(&raw, AREA) {
                let s = next.as_str();
                prop_assert!(s.starts_with("/client-portal"));
                prop_assert!(!s.contains("//"));
                prop_assert!(!s.contains('\\'));
                prop_assert!(s.bytes().all(|b| b.is_ascii_graphic()));
            }
        }

        #[test]
        fn prefixed_random_suffixes_never_escape(suffix in "[/\\\\%.a-z0-9:@?#]{0,40}") {
            let raw = format!("/client-portal{suffix}");
            if let Ok(next) = NextPath::parse(&raw, AREA) {
                let path = next.as_str().split('?').next().unwrap_or_default();
                prop_assert!(!path.split('/').any(|seg| seg == ".." || seg == "."));
                prop_assert!(!path.contains("//"));
            }
        }
    }
}
