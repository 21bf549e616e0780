//! Where and how to get certificates over ACME.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use porta_core::challenge_kind::ChallengeKind;
use porta_core::config::AcmeConfig;
use porta_core::secret::Secret;

/// The CA, the account's contact and EAB, and the challenge preference.
/// `Debug` hides the EAB key.
#[derive(Clone)]
pub struct AcmeSettings {
    /// The CA's directory, e.g. `https://acme-v02.api.letsencrypt.org/directory`.
    pub directory_url: String,
    /// An e-mail address (`mailto:` is added when missing) or a contact URI.
    pub contact: Option<String>,
    /// A PEM file of roots to trust for the CA's HTTPS (a test or private
    /// CA); `None` trusts the platform's store.
    pub root_ca_pem: Option<PathBuf>,
    /// External account binding: the key id and the HMAC key in base64url
    /// (padded or not; standard base64 is accepted too).
    pub eab: Option<(String, Secret)>,
    /// Challenge kinds in order of preference; a failed kind falls back to
    /// the next one.
    pub challenge_order: Vec<ChallengeKind>,
    /// How long to wait for validation and then for the certificate.
    pub order_timeout: Duration,
}

impl AcmeSettings {
    /// Settings for `directory_url` with the defaults: no contact, the
    /// platform's trust store, no EAB, HTTP-01 then TLS-ALPN-01, 90 s.
    pub fn new(directory_url: impl Into<String>) -> AcmeSettings {
        AcmeSettings {
            directory_url: directory_url.into(),
            contact: None,
            root_ca_pem: None,
            eab: None,
            challenge_order: vec![ChallengeKind::Http01, ChallengeKind::TlsAlpn01],
            order_timeout: Duration::from_secs(90),
        }
    }

    /// The settings of the `[acme]` section (the default order timeout).
    pub fn from_config(acme: &AcmeConfig) -> AcmeSettings {
        AcmeSettings {
            contact: acme.contact.clone(),
            root_ca_pem: acme.root_ca.clone(),
            eab: acme.eab.clone(),
            challenge_order: acme.challenge_order.clone(),
            ..AcmeSettings::new(acme.directory_url.clone())
        }
    }
}

impl fmt::Debug for AcmeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeSettings")
            .field("directory_url", &self.directory_url)
            .field("contact", &self.contact)
            .field("root_ca_pem", &self.root_ca_pem)
            .field("eab", &self.eab.as_ref().map(|(kid, _)| (kid, "[redacted]")))
            .field("challenge_order", &self.challenge_order)
            .field("order_timeout", &self.order_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_eab_key() {
        let mut settings = AcmeSettings::new("https://ca.test/dir");
        settings.eab = Some(("kid-1".to_owned(), Secret::new("c2VjcmV0LWhtYWM")));
        let debug = format!("{settings:?}");
        assert!(debug.contains("kid-1"));
        assert!(!debug.contains("c2VjcmV0LWhtYWM"), "{debug}");
    }

    #[test]
    fn the_configured_challenge_order_is_kept() {
        let config = porta_core::config::Config::from_toml(
            "t",
            "[acme]\ndirectory_url = \"https://ca.test/dir\"\nchallenge_order = [\"tls-alpn-01\"]\ncontact = \"ops@x.test\"\n",
        )
        .unwrap();
        let settings = AcmeSettings::from_config(config.acme.as_ref().unwrap());
        assert_eq!(settings.directory_url, "https://ca.test/dir");
        assert_eq!(settings.challenge_order, [ChallengeKind::TlsAlpn01]);
        assert_eq!(settings.contact.as_deref(), Some("ops@x.test"));
        assert_eq!(settings.order_timeout, Duration::from_secs(90));
    }
}
