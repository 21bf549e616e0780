//! OpenID Connect providers as a tenant configures them: a closed set of
//! presets (what the settings page offers and how the button looks) and
//! the issuer URL, validated once.

use std::fmt;
use std::str::FromStr;

/// Which kind of provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OidcPreset {
    Google,
    /// Microsoft Entra ID (Azure AD): the tenant's `…/{tenant-id}/v2.0` issuer.
    Microsoft,
    /// A Keycloak realm: `https://host/realms/{realm}`.
    Keycloak,
    /// Any provider that publishes `/.well-known/openid-configuration`.
    Generic,
}

impl OidcPreset {
    pub const ALL: [OidcPreset; 4] = [
        OidcPreset::Google,
        OidcPreset::Microsoft,
        OidcPreset::Keycloak,
        OidcPreset::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OidcPreset::Google => "google",
            OidcPreset::Microsoft => "microsoft",
            OidcPreset::Keycloak => "keycloak",
            OidcPreset::Generic => "generic",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OidcPreset::Google => "Google",
            OidcPreset::Microsoft => "Microsoft Entra ID",
            OidcPreset::Keycloak => "Keycloak",
            OidcPreset::Generic => "Other OpenID provider",
        }
    }

    /// The issuer URL to start from (placeholders in braces to fill in).
    pub fn issuer_template(self) -> &'static str {
        match self {
            OidcPreset::Google => "https://accounts.google.com",
            OidcPreset::Microsoft => "https://login.microsoftonline.com/{directory-id}/v2.0",
            OidcPreset::Keycloak => "https://{keycloak-host}/realms/{realm}",
            OidcPreset::Generic => "https://",
        }
    }
}

impl fmt::Display for OidcPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider kind {0:?} (google, microsoft, keycloak or generic)")]
pub struct UnknownPreset(String);

impl FromStr for OidcPreset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

/// Why an issuer URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerUrlError {
    #[error("is not a URL")]
    NotUrl,
    #[error("must use https (http only for a provider on this machine)")]
    NotHttps,
    #[error("must not carry a query, fragment or credentials")]
    Extra,
    #[error("still has a {{placeholder}} to fill in")]
    Placeholder,
}

/// An issuer URL: `https://…`, or `http://` on a loopback host (tests,
/// a provider on the same machine); no query, fragment or credentials;
/// without its trailing slash (as issuers compare exactly, the provider's
/// discovery document must say the same).
pub fn check_issuer_url(raw: &str) -> Result<String, IssuerUrlError> {
    let text = raw.trim();
    if text.contains('{') || text.contains('}') {
        return Err(IssuerUrlError::Placeholder);
    }
    let url = url::Url::parse(text).map_err(|_| IssuerUrlError::NotUrl)?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost")) | Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
    ) && match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => true,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(IssuerUrlError::NotHttps),
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(IssuerUrlError::Extra);
    }
    if url.host().is_none() {
        return Err(IssuerUrlError::NotUrl);
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_round_trip() {
        for p in OidcPreset::ALL {
            assert_eq!(p.as_str().parse::<OidcPreset>(), Ok(p));
        }
        assert!("okta".parse::<OidcPreset>().is_err());
    }

    #[test]
    fn issuers_are_https_or_loopback() {
        assert_eq!(
            check_issuer_url("https://accounts.google.com/").as_deref(),
            Ok("https://accounts.google.com")
        );
        assert!(check_issuer_url("http://127.0.0.1:4000").is_ok());
        assert!(check_issuer_url("http://localhost:8080/realms/x").is_ok());
        assert!(check_issuer_url("http://[::1]:8080").is_ok());
        assert_eq!(
            check_issuer_url("http://idp.example.com"),
            Err(IssuerUrlError::NotHttps)
        );
        assert_eq!(check_issuer_url("http://10.0.0.1"), Err(IssuerUrlError::NotHttps));
        assert_eq!(check_issuer_url("ftp://x.example"), Err(IssuerUrlError::NotHttps));
        assert_eq!(
            check_issuer_url("https://x.example/?a=1"),
            Err(IssuerUrlError::Extra)
        );
        assert_eq!(
            check_issuer_url("https://u:p@x.example"),
            Err(IssuerUrlError::Extra)
        );
        assert_eq!(check_issuer_url("nonsense"), Err(IssuerUrlError::NotUrl));
        assert_eq!(
            check_issuer_url(OidcPreset::Keycloak.issuer_template()),
            Err(IssuerUrlError::Placeholder)
        );
    }
}
