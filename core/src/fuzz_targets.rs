//! The parsers that face the network or the operator, as fuzz targets: one
//! function per target, taking the fuzzer's bytes. `fuzz/` (cargo-afl, not
//! part of the workspace) runs each under AFL++; `tests/fuzz_corpus.rs`
//! replays the committed corpus (`fuzz/corpus/<target>/`) through the same
//! functions in every test run, so they keep compiling and holding without
//! afl installed.
//!
//! A target panics only when a parser breaks a promise: it panicked itself,
//! or it accepted something and what it returned does not parse again to
//! the same value, or a safe `next` path decodes into another host.

use crate::clock::UnixMillis;
use crate::config::Config;
use crate::domain_name::DomainName;
use crate::email::EmailAddress;
use crate::host::HostName;
use crate::next_path::{NextPath, PortalArea};
use crate::ott::{self, BindingHash, OttToken};
use crate::secret::Secret;
use crate::session_cookie::{find_session_token, Transport};
use crate::session_token::{SessionKey, SessionKeys};
use crate::signin_form::SigninForm;

/// A fuzz target: the fuzzer's bytes in, a panic for a broken promise.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its corpus directory and fuzz binary).
pub const TARGETS: &[(&str, Target)] = &[
    ("host", host),
    ("domain_name", domain_name),
    ("next_path", next_path),
    ("session_token", session_token),
    ("exchange_body", exchange_body),
    ("signin_form", signin_form),
    ("config", config),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Host headers and SNI names (`HostName::from_host_header`, and
/// `HostName::parse` as the certificate cache keys SNI names).
pub fn host(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    for parsed in [HostName::from_host_header(raw), HostName::parse(raw)]
        .into_iter()
        .flatten()
    {
        let name = parsed.as_str();
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'),
            "{name:?}"
        );
        assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
        assert_eq!(HostName::parse(name).as_ref(), Ok(&parsed));
    }
}

/// Custom domains as staff type them.
pub fn domain_name(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    if let Ok(domain) = DomainName::parse(raw) {
        assert_eq!(DomainName::parse(domain.as_str()).as_ref(), Ok(&domain));
        let base = HostName::parse("portal.example.com").expect("a host name");
        let _ = domain.check_against_base(&base);
    }
}

/// Decodes `%XX` escapes (what a browser or a later hop may do).
fn percent_decoded(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The `next` sanitiser: what it accepts stays in its area, on this host,
/// even after percent-decoding.
pub fn next_path(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    for area in [PortalArea::ClientPortal, PortalArea::Msp] {
        let Ok(next) = NextPath::parse(raw, area) else {
            continue;
        };
        assert_eq!(NextPath::parse(next.as_str(), area).as_ref(), Ok(&next));
        for form in [next.as_str().as_bytes().to_vec(), percent_decoded(next.as_str())] {
            assert!(form.starts_with(area.prefix().as_bytes()), "{raw:?}");
            assert!(!form.starts_with(b"//") && !form.contains(&b'\\'), "{raw:?}");
            let path = form.split(|b| *b == b'?').next().unwrap_or_default();
            assert!(
                !path
                    .split(|b| *b == b'/')
                    .any(|segment| segment == b".." || segment == b"."),
                "{raw:?}"
            );
        }
    }
}

/// The session cookie and its token: a `Cookie` header, the token found in
/// it (or the whole input) verified against a key.
pub fn session_token(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    let keys = fuzz_keys();
    let host = HostName::parse("acme.portal.example.com").expect("a host name");
    let now = UnixMillis(1_800_000_000_000);
    for transport in [Transport::Https, Transport::PlainHttp] {
        if let Some(token) = find_session_token(raw, transport) {
            assert!(!token.is_empty());
            let _ = keys.verify(&token, &host, now);
        }
    }
    let _ = keys.verify(raw, &host, now);
    let _ = ott::find_nonce(raw);
}

fn fuzz_keys() -> SessionKeys {
    let key = SessionKey::new(
        "fuzz",
        Secret::new("a fuzzing key of at least 32 bytes!!".to_owned()),
    )
    .expect("a valid key");
    SessionKeys::new(vec![key]).expect("one key")
}

/// The body of the one-time-token exchange, and the token in it.
pub fn exchange_body(data: &[u8]) {
    if let Some(token) = ott::token_in_exchange_body(data) {
        assert!(!token.is_empty());
        if let Ok(parsed) = OttToken::parse(&token) {
            assert_eq!(parsed.expose(), token);
        }
    }
}

/// The sign-in form body and the values taken from it.
pub fn signin_form(data: &[u8]) {
    let Ok(form) = SigninForm::parse(data) else {
        return;
    };
    let _ = EmailAddress::parse(&form.email);
    for area in [PortalArea::ClientPortal, PortalArea::Msp] {
        let next = NextPath::or_landing(form.next.as_deref(), area);
        assert!(next.as_str().starts_with(area.prefix()));
    }
    if let Some(h) = form.handoff.as_deref() {
        if let Ok(binding) = BindingHash::from_param(h) {
            assert_eq!(binding.to_param(), h);
        }
    }
}

/// The configuration loader: a TOML file (no environment).
pub fn config(data: &[u8]) {
    let Some(raw) = text(data) else { return };
    let _ = Config::from_toml("fuzz.toml", raw);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_takes_empty_and_odd_input() {
        for (name, target) in TARGETS {
            for input in [&b""[..], b"\xff\xfe", b"\0", b"%", b"[", b"=&=&"] {
                target(input);
            }
            assert!(!name.is_empty());
        }
    }
}
