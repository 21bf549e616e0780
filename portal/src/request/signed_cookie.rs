//! Short-lived state a browser carries between two requests (the second
//! sign-in step, an OpenID Connect round trip): JSON, signed with
//! HMAC-SHA256 under a key derived for that purpose ([`encode`]), or
//! encrypted under the master key ([`seal`]) when the browser must not
//! read it either. Values carry their own expiry.

use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use porta_core::master_key::MasterKey;
use porta_core::session_cookie::Transport;
use porta_core::session_token::DerivedKeys;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;

use super::session::cookie_header;

type HmacSha256 = Hmac<Sha256>;

/// The most a signed value may take in a cookie.
const MAX_LEN: usize = 3000;

fn mac(key: &[u8; 32], payload: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac
}

/// `payload.tag`, both base64url.
pub fn encode<T: Serialize>(keys: &DerivedKeys, value: &T) -> String {
    let json = serde_json::to_vec(value).expect("plain data serialises");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let (_, key) = keys.signing();
    let tag = URL_SAFE_NO_PAD.encode(mac(key.expose(), &payload).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The value, if `raw` was signed by one of `keys` and parses.
pub fn decode<T: DeserializeOwned>(keys: &DerivedKeys, raw: &str) -> Option<T> {
    if raw.len() > MAX_LEN {
        return None;
    }
    let (payload, tag) = raw.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    keys.all()
        .any(|key| mac(key.expose(), payload).verify_slice(&tag).is_ok())
        .then_some(())?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Like [`encode`], but encrypted as well (AES-256-GCM under the master
/// key, `purpose` as associated data): for state the browser must carry
/// but not read, such as a PKCE verifier.
pub fn seal<T: Serialize>(key: &MasterKey, purpose: &str, value: &T) -> String {
    let json = serde_json::to_vec(value).expect("plain data serialises");
    let sealed = key.seal(&json, purpose.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(sealed.nonce),
        URL_SAFE_NO_PAD.encode(sealed.ciphertext)
    )
}

/// The value [`seal`] made for `purpose`, if it opens and parses.
pub fn open<T: DeserializeOwned>(key: &MasterKey, purpose: &str, raw: &str) -> Option<T> {
    if raw.len() > MAX_LEN {
        return None;
    }
    let (nonce, ciphertext) = raw.split_once('.')?;
    let nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?;
    let ciphertext = URL_SAFE_NO_PAD.decode(ciphertext).ok()?;
    let json = key.open(&ciphertext, &nonce, purpose.as_bytes()).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The cookie's name: `__Host-` prefixed over HTTPS.
pub fn name(base: &'static str, transport: Transport) -> String {
    match transport {
        Transport::Https => format!("__Host-{base}"),
        Transport::PlainHttp => base.to_owned(),
    }
}

/// The value of cookie `name` in the request, if any.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    Cookie::split_parse(cookie_header(headers))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` for `value` (host-only, HttpOnly, SameSite=`same_site`,
/// Path=/) living `max_age_seconds`; `None` value clears it.
pub fn set(
    name: &str,
    value: Option<&str>,
    transport: Transport,
    same_site: SameSite,
    max_age_seconds: i64,
) -> HeaderValue {
    let mut cookie = Cookie::build((name.to_owned(), value.unwrap_or_default().to_owned()))
        .http_only(true)
        .secure(transport == Transport::Https)
        .same_site(same_site)
        .path("/")
        .build();
    if value.is_some() {
        cookie.set_max_age(cookie::time::Duration::seconds(max_age_seconds));
    } else {
        cookie.make_removal();
    }
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are base64url")
}

#[cfg(test)]
mod tests {
    use super::*;
    use porta_core::secret::Secret;
    use porta_core::session_token::{SessionKey, SessionKeys};

    fn keys(secret: &str) -> DerivedKeys {
        SessionKeys::new(vec![SessionKey::new("k", Secret::new(secret)).unwrap()])
            .unwrap()
            .derive("test")
    }

    #[test]
    fn values_round_trip_and_resist_tampering() {
        let k = keys("a-secret-a-secret-a-secret-a-secret-0123");
        let raw = encode(&k, &("jane", 42));
        assert_eq!(decode::<(String, i32)>(&k, &raw), Some(("jane".into(), 42)));
        let other = keys("another-secret-another-secret-another-01");
        assert_eq!(decode::<(String, i32)>(&other, &raw), None);
        let (payload, tag) = raw.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"["mallory",42]"#);
        assert_eq!(decode::<(String, i32)>(&k, &format!("{forged}.{tag}")), None);
        assert_eq!(decode::<(String, i32)>(&k, payload), None);
        assert_eq!(decode::<(String, i32)>(&k, "x.y"), None);
        assert_eq!(decode::<(String, i32)>(&k, &"a".repeat(5000)), None);
    }

    #[test]
    fn sealed_values_open_only_for_their_purpose() {
        let key = MasterKey::generate();
        let raw = seal(&key, "oidc", &("verifier", 7));
        assert!(!raw.contains("verifier"));
        assert_eq!(
            open::<(String, i32)>(&key, "oidc", &raw),
            Some(("verifier".into(), 7))
        );
        assert_eq!(open::<(String, i32)>(&key, "other", &raw), None);
        assert_eq!(open::<(String, i32)>(&MasterKey::generate(), "oidc", &raw), None);
        assert_eq!(open::<(String, i32)>(&key, "oidc", "a.b"), None);
    }
}
