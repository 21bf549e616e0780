//! OpenID Connect, the protocol side: discovery (cached), the
//! authorization request (code flow with PKCE S256, `state`, `nonce`),
//! and the callback's checks — the code exchanged with the PKCE verifier,
//! the ID token's signature, issuer, audience, expiry and nonce verified
//! by `openidconnect`, and the address taken only when the provider says
//! it is verified. The sign-in handlers around it are `auth::oidc`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use porta_core::email::EmailAddress;
use porta_core::secret::Secret;

/// How long a discovery document is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(600);
/// Every request to a provider gives up after this.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a sign-in through a provider failed (logged; the browser is only
/// told it did not work).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the issuer URL is not valid: {0}")]
    Issuer(String),
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("the provider's configuration is incomplete: {0}")]
    Configuration(String),
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the provider sent no ID token")]
    NoIdToken,
    #[error("the ID token was refused: {0}")]
    IdToken(String),
    #[error("userinfo failed: {0}")]
    UserInfo(String),
    #[error("the provider sent no email address")]
    NoEmail,
    #[error("the provider sent an address that is not one: {0}")]
    BadEmail(String),
}

/// Discovery documents by issuer, for a while.
#[derive(Default)]
pub struct Discovery {
    cache: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

/// One provider as a request uses it.
pub struct Provider<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub redirect_uri: &'a str,
}

/// What the browser carries to the callback (sealed; see `auth::oidc`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: EmailAddress,
    /// `Some(true)` only when the provider said so; `None` when it said nothing.
    pub email_verified: Option<bool>,
    pub name: Option<String>,
}

pub fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        // A provider must not bounce us elsewhere (SSRF).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(PROVIDER_TIMEOUT)
        .build()
        .expect("a plain HTTP client builds")
}

impl Discovery {
    pub async fn metadata(
        &self,
        http: &openidconnect::reqwest::Client,
        issuer: &str,
    ) -> Result<CoreProviderMetadata, OidcError> {
        if let Some((at, metadata)) = self.cache.lock().expect("discovery cache").get(issuer) {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(metadata.clone());
            }
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| OidcError::Issuer(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(url, http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        self.cache
            .lock()
            .expect("discovery cache")
            .insert(issuer.to_owned(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn client(
    metadata: CoreProviderMetadata,
    provider: &Provider<'_>,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    OidcError,
> {
    let redirect = RedirectUrl::new(provider.redirect_uri.to_owned())
        .map_err(|e| OidcError::Configuration(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.to_owned()),
        Some(ClientSecret::new(provider.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// The authorization URL to send the browser to, and what to keep until
/// it comes back.
pub async fn authorize(
    discovery: &Discovery,
    http: &openidconnect::reqwest::Client,
    provider: &Provider<'_>,
) -> Result<(String, Pending), OidcError> {
    let metadata = discovery.metadata(http, provider.issuer).await?;
    let client = client(metadata, provider)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    Ok((
        url.to_string(),
        Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        },
    ))
}

/// A finished exchange: who signed in, and the ID token that said so.
pub struct Completed {
    pub identity: Identity,
    pub id_token: Secret,
}

/// Exchanges the code and verifies what comes back; the address from the
/// ID token, else from userinfo (for the same subject).
pub async fn complete(
    discovery: &Discovery,
    http: &openidconnect::reqwest::Client,
    provider: &Provider<'_>,
    pending: &Pending,
    code: &str,
) -> Result<Completed, OidcError> {
    let metadata = discovery.metadata(http, provider.issuer).await?;
    let client = client(metadata, provider)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| OidcError::Configuration(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
    let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone()))
        .map_err(|e| OidcError::IdToken(error_chain(&e)))?;
    let subject = claims.subject().to_string();
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let (email, verified) = match claims.email() {
        Some(email) => (email.to_string(), claims.email_verified()),
        None => {
            let info: openidconnect::core::CoreUserInfoClaims = client
                .user_info(response.access_token().clone(), Some(claims.subject().clone()))
                .map_err(|e| OidcError::Configuration(e.to_string()))?
                .request_async(http)
                .await
                .map_err(|e| OidcError::UserInfo(error_chain(&e)))?;
            let email = info.email().ok_or(OidcError::NoEmail)?.to_string();
            (email, info.email_verified())
        }
    };
    Ok(Completed {
        identity: Identity {
            subject,
            email: EmailAddress::parse(&email).map_err(|_| OidcError::BadEmail(email.clone()))?,
            email_verified: verified,
            name,
        },
        id_token: Secret::new(id_token.to_string()),
    })
}

/// Checks an ID token on its own (issuer, audience, signature, expiry,
/// nonce), as [`complete`] does.
pub async fn verify_id_token(
    discovery: &Discovery,
    http: &openidconnect::reqwest::Client,
    provider: &Provider<'_>,
    id_token: &str,
    nonce: &str,
) -> Result<String, OidcError> {
    let metadata = discovery.metadata(http, provider.issuer).await?;
    let client = client(metadata, provider)?;
    let token: openidconnect::core::CoreIdToken = id_token
        .parse()
        .map_err(|e: serde_json::Error| OidcError::IdToken(e.to_string()))?;
    let claims = token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
        .map_err(|e| OidcError::IdToken(error_chain(&e)))?;
    Ok(claims.subject().to_string())
}
