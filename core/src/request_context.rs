//! What the edge knows about a request, carried to the portal.
//!
//! The edge resolves host -> tenant once per request (through its cache) and
//! tells the portal in the internal header [`HEADER`], so the portal need
//! not look the host up again. Only the edge can set it: the edge removes
//! every client-sent `x-porta-*` header, and the value is signed with a key
//! derived from the session keys (HMAC-SHA256, see
//! [`crate::session_token::SessionKeys::derive`]), so a portal reachable
//! without the edge cannot be fooled by a client that writes the header
//! itself. A value that does not verify is ignored (the portal falls back to
//! its own lookup); it never changes who the request is for.
//!
//! Wire format, `|`-separated (no field can contain `|`):
//! `1|<kind>|<tenant>|<domain or ->|<host>|<client ip>|<unix seconds>|<key id>|<base64url mac>`,
//! the MAC over everything before `|<key id>`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::UnixMillis;
use crate::host::HostName;
use crate::ids::{PortalDomainId, TenantId};
use crate::session_token::{DerivedKeys, SessionKeys};

/// The internal header the edge sets on every proxied request.
pub const HEADER: &str = "x-porta-context";
/// How old (or how far in the future, for clock skew between nodes) a
/// context may be.
pub const MAX_AGE_SECONDS: i64 = 60;
const PURPOSE: &str = "request-context";
const VERSION: &str = "1";

/// Which of a tenant's hosts a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostKind {
    /// `<slug>.<canonical_base>`: where sign-in happens.
    Canonical,
    /// An active custom domain of the tenant.
    Custom,
}

impl HostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HostKind::Canonical => "canonical",
            HostKind::Custom => "custom",
        }
    }
}

impl fmt::Display for HostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HostKind {
    type Err = InvalidContext;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "canonical" => Ok(HostKind::Canonical),
            "custom" => Ok(HostKind::Custom),
            _ => Err(InvalidContext::Malformed),
        }
    }
}

/// Where a host leads: its tenant, and the custom domain when it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub tenant: TenantId,
    pub kind: HostKind,
    /// The custom domain's id (`None` on the canonical host).
    pub domain: Option<PortalDomainId>,
}

/// What the edge passes to the portal about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub host: HostName,
    pub route: Route,
    /// The client's address as the edge saw it.
    pub client_ip: IpAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidContext {
    #[error("request context is malformed")]
    Malformed,
    #[error("request context names an unknown key")]
    UnknownKey,
    #[error("request context signature does not verify")]
    BadSignature,
    #[error("request context is too old or from the future")]
    Stale,
}

/// Signs and verifies request contexts.
#[derive(Debug, Clone)]
pub struct ContextSigner {
    keys: DerivedKeys,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8; 32], payload: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac
}

impl ContextSigner {
    pub fn new(keys: &SessionKeys) -> Self {
        Self {
            keys: keys.derive(PURPOSE),
        }
    }

    /// The header value for `context` at `now`.
    pub fn sign(&self, context: &RequestContext, now: UnixMillis) -> String {
        let domain = context
            .route
            .domain
            .map_or_else(|| "-".to_owned(), |d| d.to_string());
        let payload = format!(
            "{VERSION}|{}|{}|{domain}|{}|{}|{}",
            context.route.kind,
            context.route.tenant,
            context.host,
            context.client_ip,
            now.as_seconds()
        );
        let (id, key) = self.keys.signing();
        let tag = URL_SAFE_NO_PAD.encode(mac(key.expose(), &payload).finalize().into_bytes());
        format!("{payload}|{id}|{tag}")
    }

    /// The context in `header` if it verifies and is fresh at `now`.
    pub fn verify(&self, header: &str, now: UnixMillis) -> Result<RequestContext, InvalidContext> {
        if header.len() > 1024 {
            return Err(InvalidContext::Malformed);
        }
        let (rest, tag) = header.rsplit_once('|').ok_or(InvalidContext::Malformed)?;
        let (payload, key_id) = rest.rsplit_once('|').ok_or(InvalidContext::Malformed)?;
        let key = self.keys.get(key_id).ok_or(InvalidContext::UnknownKey)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| InvalidContext::Malformed)?;
        // Constant-time comparison.
        mac(key.expose(), payload)
            .verify_slice(&tag)
            .map_err(|_| InvalidContext::BadSignature)?;
        let fields: Vec<&str> = payload.split('|').collect();
        let [version, kind, tenant, domain, host, ip, at] = fields[..] else {
            return Err(InvalidContext::Malformed);
        };
        if version != VERSION {
            return Err(InvalidContext::Malformed);
        }
        let at: i64 = at.parse().map_err(|_| InvalidContext::Malformed)?;
        if (now.as_seconds() - at).abs() > MAX_AGE_SECONDS {
            return Err(InvalidContext::Stale);
        }
        let kind: HostKind = kind.parse()?;
        let domain = match domain {
            "-" => None,
            d => Some(d.parse().map_err(|_| InvalidContext::Malformed)?),
        };
        if (kind == HostKind::Custom) != domain.is_some() {
            return Err(InvalidContext::Malformed);
        }
        Ok(RequestContext {
            host: HostName::parse(host).map_err(|_| InvalidContext::Malformed)?,
            route: Route {
                tenant: tenant.parse().map_err(|_| InvalidContext::Malformed)?,
                kind,
                domain,
            },
            client_ip: ip.parse().map_err(|_| InvalidContext::Malformed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::session_token::SessionKey;

    fn keys(id: &str, fill: char) -> SessionKeys {
        SessionKeys::new(vec![SessionKey::new(
            id,
            Secret::new(fill.to_string().repeat(32)),
        )
        .unwrap()])
        .unwrap()
    }

    fn context(kind: HostKind) -> RequestContext {
        RequestContext {
            host: HostName::parse("portal.acme-it.example").unwrap(),
            route: Route {
                tenant: TenantId::generate(),
                kind,
                domain: (kind == HostKind::Custom).then(PortalDomainId::generate),
            },
            client_ip: "2001:db8::7".parse().unwrap(),
        }
    }

    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

    #[test]
    fn round_trips_and_survives_rotation() {
        let signer = ContextSigner::new(&keys("k1", 'a'));
        for kind in [HostKind::Canonical, HostKind::Custom] {
            let ctx = context(kind);
            let header = signer.sign(&ctx, NOW);
            assert_eq!(signer.verify(&header, NOW), Ok(ctx.clone()));
            let rotated = ContextSigner::new(
                &SessionKeys::new(vec![
                    SessionKey::new("k2", Secret::new("b".repeat(32))).unwrap(),
                    SessionKey::new("k1", Secret::new("a".repeat(32))).unwrap(),
                ])
                .unwrap(),
            );
            assert_eq!(rotated.verify(&header, NOW), Ok(ctx));
        }
    }

    #[test]
    fn refuses_forgeries_and_stale_contexts() {
        let signer = ContextSigner::new(&keys("k1", 'a'));
        let header = signer.sign(&context(HostKind::Custom), NOW);
        // Another key with the same id.
        assert_eq!(
            ContextSigner::new(&keys("k1", 'z')).verify(&header, NOW),
            Err(InvalidContext::BadSignature)
        );
        // A changed tenant.
        let other = TenantId::generate().to_string();
        let parts: Vec<&str> = header.split('|').collect();
        let forged = header.replacen(parts[2], &other, 1);
        assert_eq!(signer.verify(&forged, NOW), Err(InvalidContext::BadSignature));
        // Too old, or from too far in the future.
        assert_eq!(
            signer.verify(&header, NOW.plus_seconds(MAX_AGE_SECONDS + 1)),
            Err(InvalidContext::Stale)
        );
        assert_eq!(
            signer.verify(&header, NOW.plus_seconds(-MAX_AGE_SECONDS - 1)),
            Err(InvalidContext::Stale)
        );
        for junk in ["", "|", "1|custom", &"x".repeat(2000), "1|a|b|c|d|e|f|k1|!!"] {
            assert!(signer.verify(junk, NOW).is_err(), "{junk}");
        }
        assert_eq!(
            signer.verify(&header.replace("|k1|", "|k9|"), NOW),
            Err(InvalidContext::UnknownKey)
        );
    }

    #[test]
    fn derived_keys_differ_from_the_session_key_and_per_purpose() {
        let k = keys("k1", 'a');
        let a = k.derive("request-context");
        let b = k.derive("csrf");
        assert_ne!(a.signing().1.expose(), b.signing().1.expose());
        assert_ne!(&a.signing().1.expose()[..], "a".repeat(32).as_bytes());
        assert!(!format!("{a:?}").contains("aaaa"));
    }
}
