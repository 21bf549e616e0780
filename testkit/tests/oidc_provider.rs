//! The OpenID provider harness against an independent relying party (the
//! `openidconnect` crate): discovery, the authorization code flow with PKCE,
//! state and nonce through the development login and consent forms, both
//! client authentication methods, the accounts' email claims in the ID token
//! and from userinfo, the second client's audience, and the ID token
//! lifetime option.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use porta_testkit::oidc::{OidcOptions, OidcProvider};
use url::Url;

/// Nothing listens there: `authorize` returns the redirect without
/// following it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/oidc/callback";

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        // What openidconnect asks of its HTTP client (no SSRF by redirect).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

async fn client(idp: &OidcProvider, id: &str, secret: &str) -> Client {
    let issuer = IssuerUrl::new(idp.issuer()).expect("issuer URL");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http())
        .await
        .unwrap_or_else(|e| panic!("discovery: {e:?}\n{}", idp.log_tail()));
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.to_owned()),
        Some(ClientSecret::new(secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("redirect URL"))
}

/// What one sign-in gave the relying party.
struct SignIn {
    id_token: CoreIdToken,
    nonce: Nonce,
    claims: CoreIdTokenClaims,
    userinfo: CoreUserInfoClaims,
}

/// One authorization code flow as `account`, verified by `client`.
async fn sign_in(idp: &OidcProvider, client: &Client, account: &str) -> SignIn {
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

    let callback = idp.authorize(url.as_str(), account).await;
    assert!(
        callback.starts_with(&format!("{REDIRECT_URI}?")),
        "{callback} is not the redirect URI"
    );
    let callback = Url::parse(&callback).expect("callback URL");
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("error"), None, "{callback}\n{}", idp.log_tail());
    assert_eq!(param("state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(
        param("iss"),
        Some(idp.issuer()),
        "RFC 9207 issuer in the response"
    );
    let code = param("code").expect("a code in the callback");

    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("token request: {e:?}\n{}", idp.log_tail()));
    let id_token = token.id_token().expect("an ID token").clone();
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap_or_else(|e| panic!("ID token of {account}: {e:?}"))
        .clone();
    let userinfo = client
        .user_info(token.access_token().clone(), None)
        .expect("a userinfo endpoint")
        .request_async(&http())
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}\n{}", idp.log_tail()));
    SignIn {
        id_token,
        nonce,
        claims,
        userinfo,
    }
}

fn email(claims: &CoreIdTokenClaims) -> Option<&str> {
    claims.email().map(|e| e.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relying_party_signs_in_through_the_provider() {
    let idp = OidcProvider::start(OidcOptions {
        redirect_uris: vec!["http://127.0.0.1:9/unused".to_owned(), REDIRECT_URI.to_owned()],
        ..OidcOptions::default()
    })
    .await;
    assert!(idp.issuer().starts_with("http://127.0.0.1:"));
    assert_eq!(idp.client_id(), "porta");
    assert_eq!(idp.other_client_id(), "other");
    assert!(idp.client_secret().len() >= 32);
    assert_ne!(idp.client_secret(), idp.other_client_secret());

    // client_secret_basic (openidconnect's default).
    let porta = client(&idp, idp.client_id(), idp.client_secret()).await;
    let alice = sign_in(&idp, &porta, "alice").await;
    assert_eq!(alice.claims.subject().as_str(), "alice");
    assert_eq!(email(&alice.claims), Some("alice@example.test"));
    assert_eq!(alice.claims.email_verified(), Some(true));
    let name = alice.claims.name().and_then(|n| n.get(None)).map(|n| n.as_str());
    assert_eq!(name, Some("Alice Example"));
    let lifetime = alice.claims.expiration() - alice.claims.issue_time();
    assert_eq!(lifetime.num_seconds(), 600, "the default ID token lifetime");
    assert_eq!(
        alice.userinfo.email().map(|e| e.as_str()),
        Some("alice@example.test")
    );
    assert_eq!(alice.userinfo.email_verified(), Some(true));

    // client_secret_post.
    let porta_post = client(&idp, idp.client_id(), idp.client_secret())
        .await
        .set_auth_type(AuthType::RequestBody);
    let bob = sign_in(&idp, &porta_post, "bob").await;
    assert_eq!(email(&bob.claims), Some("bob@example.test"));
    assert_eq!(bob.claims.email_verified(), Some(false));
    assert_eq!(bob.userinfo.email_verified(), Some(false));

    let carol = sign_in(&idp, &porta, "carol").await;
    assert_eq!(email(&carol.claims), Some("carol@example.test"));
    assert_eq!(carol.claims.email_verified(), None);
    assert_eq!(carol.userinfo.email_verified(), None);

    // The other client: its tokens are good, but not for porta.
    let other = client(&idp, idp.other_client_id(), idp.other_client_secret()).await;
    let dave = sign_in(&idp, &other, "dave").await;
    assert_eq!(email(&dave.claims), Some("jane@globex.example"));
    assert_eq!(dave.claims.email_verified(), Some(true));
    assert!(dave
        .claims
        .audiences()
        .iter()
        .all(|a| a.as_str() == idp.other_client_id()));
    assert!(
        dave.id_token
            .claims(&porta.id_token_verifier(), &dave.nonce)
            .is_err(),
        "porta accepted an ID token issued to another client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_token_lifetime_is_an_option() {
    let idp = OidcProvider::start(OidcOptions {
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        id_token_ttl_seconds: 1,
    })
    .await;
    let porta = client(&idp, idp.client_id(), idp.client_secret()).await;
    let alice = sign_in(&idp, &porta, "alice").await;
    let lifetime = alice.claims.expiration() - alice.claims.issue_time();
    assert_eq!(lifetime.num_seconds(), 1);
}
