//! The ACME client Porta issues certificates with (instant-acme, ring).
//!
//! - **Account.** [`AcmeClient::connect`] loads the account for the
//!   configured directory from `acme_accounts` (its credentials JSON sealed
//!   with the [`MasterKey`], bound to the directory URL) or creates it once
//!   and stores it. When two nodes create it at the same time, the first
//!   insert wins and both use that account.
//! - **Issuance.** [`AcmeClient::issue`] orders a certificate for one host
//!   name. Each authorization is answered with the first challenge kind of
//!   [`AcmeSettings::challenge_order`] the CA offers, published in
//!   `acme_challenges` so that whichever edge node the CA reaches answers
//!   it: HTTP-01 on port 80 ([`acme_challenges::http01`]), TLS-ALPN-01 on
//!   443 ([`tls_alpn01_key_authorization`], then
//!   [`tls_alpn01_server_config`]). When a challenge fails, the next kind
//!   is tried on a new order. The certificate (ECDSA P-256 key) is stored with
//!   [`store::insert`] and issuer [`ISSUER`]; the published challenges are
//!   removed afterwards, whatever the outcome (if the future is dropped
//!   mid-order, they stop being served after an hour).
//! - **Errors** ([`AcmeError`]) tell a scheduler how to back off: rate limits
//!   (with the CA's `Retry-After`), an unreachable CA, a failed challenge, a
//!   refusal.
//! - **Leases** ([`try_lease`], [`release`]) keep two nodes from ordering for
//!   the same domain at once.
//!
//! Nothing here logs account keys, key authorizations or challenge tokens
//! above debug level.

mod http;
mod lease;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeStatus, ChallengeType, ExternalAccountKey,
    Identifier, NewAccount, NewOrder, Order, OrderStatus, Problem, RetryPolicy,
};
use porta_core::clock::UnixMillis;
use porta_core::db::acme_challenges;
use porta_core::db::{Db, DbError};
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::on_pool;
use porta_core::secret::Secret;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sqlx::FromRow;

pub use lease::{release, try_lease};

use crate::master_key::MasterKey;
use crate::store::{self, CertificateInfo, NewCertificate, StoreError};

/// The `issuer` recorded for certificates from ACME.
pub const ISSUER: &str = "acme";
/// The ALPN protocol of TLS-ALPN-01 (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// How long a published challenge may be answered: long enough for any
/// order, short enough that rows of a node that died stop being served.
const CHALLENGE_TTL_SECS: i64 = 3600;
const RATE_LIMITED: &str = "urn:ietf:params:acme:error:rateLimited";
/// Problem types that mean the CA could not validate a challenge.
const CHALLENGE_PROBLEMS: &[&str] = &[
    "urn:ietf:params:acme:error:connection",
    "urn:ietf:params:acme:error:dns",
    "urn:ietf:params:acme:error:incorrectResponse",
    "urn:ietf:params:acme:error:tls",
    "urn:ietf:params:acme:error:unauthorized",
    "urn:ietf:params:acme:error:caa",
];

/// A challenge kind Porta can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// `http-01`: `GET /.well-known/acme-challenge/<token>` on port 80.
    Http01,
    /// `tls-alpn-01`: a handshake with ALPN `acme-tls/1` on port 443.
    TlsAlpn01,
}

impl ChallengeKind {
    pub fn as_str(self) -> &'static str {
        self.stored().as_str()
    }

    fn acme(self) -> ChallengeType {
        match self {
            ChallengeKind::Http01 => ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
        }
    }

    fn stored(self) -> acme_challenges::ChallengeType {
        match self {
            ChallengeKind::Http01 => acme_challenges::ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => acme_challenges::ChallengeType::TlsAlpn01,
        }
    }

    fn from_acme(kind: &ChallengeType) -> Option<ChallengeKind> {
        match kind {
            ChallengeType::Http01 => Some(ChallengeKind::Http01),
            ChallengeType::TlsAlpn01 => Some(ChallengeKind::TlsAlpn01),
            _ => None,
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where and how to get certificates. `Debug` hides the EAB key.
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

/// Why an ACME operation failed, in the terms a scheduler backs off by.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA refused because of a rate limit (`rateLimited` or HTTP 429).
    /// Retry no earlier than `retry_after` when the CA said when.
    #[error("the ACME CA is rate limiting: {detail}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        detail: String,
    },
    /// The CA could not be reached: connection refused or reset, TLS
    /// failure, timeout, or the CA answered 503.
    #[error("the ACME CA is unreachable: {0}")]
    Unreachable(String),
    /// The CA could not validate the challenge (after every fallback).
    #[error("the {kind} challenge failed: {detail}")]
    ChallengeFailed { kind: ChallengeKind, detail: String },
    /// The CA did not finish validating or issuing within the order timeout.
    #[error("the ACME order timed out: {0}")]
    Timeout(String),
    /// Any other refusal from the CA (a problem document or an unusable
    /// answer).
    #[error("the ACME CA refused: {0}")]
    Rejected(String),
    /// The settings cannot work (unreadable root CA, bad EAB key, no
    /// challenge kind).
    #[error("invalid ACME settings: {0}")]
    Config(String),
    /// The stored account credentials cannot be opened or read.
    #[error("the stored ACME account cannot be used: {0}")]
    Credentials(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AcmeError {
    /// The earliest retry the CA asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AcmeError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<sqlx::Error> for AcmeError {
    fn from(e: sqlx::Error) -> Self {
        AcmeError::Db(DbError::Sqlx(e))
    }
}

/// An ACME account on one directory, ready to issue.
pub struct AcmeClient {
    db: Db,
    master: MasterKey,
    settings: AcmeSettings,
    account: Account,
}

impl fmt::Debug for AcmeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeClient")
            .field("directory_url", &self.settings.directory_url)
            .field("account", &self.account.id())
            .finish_non_exhaustive()
    }
}

#[derive(FromRow)]
struct AccountRow {
    credentials_encrypted: Vec<u8>,
    credentials_nonce: Vec<u8>,
}

impl AcmeClient {
    /// Loads the account for `settings.directory_url` or creates and stores
    /// it, then fetches the CA's directory. Fails with
    /// [`AcmeError::Unreachable`] when the CA cannot be reached.
    #[tracing::instrument(skip_all, fields(directory = %settings.directory_url))]
    pub async fn connect(
        db: &Db,
        master: &MasterKey,
        settings: AcmeSettings,
    ) -> Result<AcmeClient, AcmeError> {
        if settings.challenge_order.is_empty() {
            return Err(AcmeError::Config(
                "challenge_order names no challenge kind".to_owned(),
            ));
        }
        let account = http::with_retry_after_slot(load_or_create_account(db, master, &settings)).await?;
        Ok(AcmeClient {
            db: db.clone(),
            master: master.clone(),
            settings,
            account,
        })
    }

    /// The account's URL at the CA (its key id).
    pub fn account_id(&self) -> &str {
        self.account.id()
    }

    pub fn settings(&self) -> &AcmeSettings {
        &self.settings
    }

    /// Orders, validates and stores a certificate for `domain`; see the
    /// module documentation. Take the domain's [`try_lease`] first when
    /// several nodes may issue.
    #[tracing::instrument(skip_all, fields(domain = %domain))]
    pub async fn issue(
        &self,
        domain: &HostName,
        tenant: Option<TenantId>,
        now: UnixMillis,
    ) -> Result<CertificateInfo, AcmeError> {
        let (chain_pem, key_pem, kind) =
            http::with_retry_after_slot(self.order_with_fallback(domain, now)).await?;
        let info = store::insert(
            &self.db,
            &self.master,
            &NewCertificate {
                tenant,
                domain: domain.as_str(),
                issuer: ISSUER,
                chain_pem: &chain_pem,
                key_pem: &key_pem,
            },
            now,
        )
        .await?;
        tracing::info!(challenge = %kind, serial = %info.serial, "certificate issued over ACME");
        Ok(info)
    }

    /// Runs orders until one yields a certificate, moving to the next
    /// challenge kind after a failed challenge. Returns the chain, the key
    /// PEM and the kind that worked.
    async fn order_with_fallback(
        &self,
        domain: &HostName,
        now: UnixMillis,
    ) -> Result<(String, String, ChallengeKind), AcmeError> {
        let kinds = &self.settings.challenge_order;
        let mut start = 0;
        loop {
            let mut published = Vec::new();
            let result = self
                .order_once(domain, &kinds[start..], now, &mut published)
                .await;
            self.unpublish(&published).await;
            let error = match result {
                Ok(issued) => return Ok(issued),
                Err(e) => redact(e, &published),
            };
            let AcmeError::ChallengeFailed { kind, detail } = &error else {
                return Err(error);
            };
            let next = kinds[start..]
                .iter()
                .position(|k| k == kind)
                .map_or(kinds.len(), |i| start + i + 1);
            if next >= kinds.len() {
                return Err(error);
            }
            tracing::warn!(failed = %kind, next = %kinds[next], %detail, "ACME challenge failed; trying the next kind");
            start = next;
        }
    }

    /// One order, answering with the first of `kinds` the CA offers. The
    /// tokens it publishes are pushed to `published` as soon as they are
    /// stored, so the caller removes them whatever happens.
    async fn order_once(
        &self,
        domain: &HostName,
        kinds: &[ChallengeKind],
        now: UnixMillis,
        published: &mut Vec<String>,
    ) -> Result<(String, String, ChallengeKind), AcmeError> {
        let identifiers = [Identifier::Dns(domain.to_string())];
        let mut order = self
            .account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(classify)?;
        tracing::debug!(order = %order.url(), "ACME order created");

        let mut used = None;
        {
            let mut authorizations = order.authorizations();
            while let Some(next) = authorizations.next().await {
                let mut authz = next.map_err(classify)?;
                match authz.status {
                    AuthorizationStatus::Valid => continue,
                    AuthorizationStatus::Pending => {}
                    status => {
                        return Err(AcmeError::Rejected(format!(
                            "the authorization for {domain} is {status:?}"
                        )))
                    }
                }
                let Some(kind) = kinds
                    .iter()
                    .copied()
                    .find(|k| authz.challenges.iter().any(|c| c.r#type == k.acme()))
                else {
                    let offered: Vec<String> = authz
                        .challenges
                        .iter()
                        .map(|c| format!("{:?}", c.r#type))
                        .collect();
                    return Err(AcmeError::Rejected(format!(
                        "the CA offers none of {kinds:?} for {domain} (it offers {})",
                        offered.join(", ")
                    )));
                };
                let mut challenge = authz
                    .challenge(kind.acme())
                    .ok_or_else(|| AcmeError::Rejected(format!("the {kind} challenge vanished")))?;
                let key_authorization = challenge.key_authorization();
                acme_challenges::put(
                    &self.db,
                    &challenge.token,
                    domain,
                    kind.stored(),
                    key_authorization.as_str(),
                    now,
                    now.plus_seconds(CHALLENGE_TTL_SECS),
                )
                .await?;
                published.push(challenge.token.clone());
                tracing::debug!(challenge = %kind, token = %challenge.token, "ACME challenge published");
                challenge
                    .set_ready()
                    .await
                    .map_err(|e| classify_challenge(e, kind))?;
                used = Some(kind);
            }
        }

        let timeout = self.settings.order_timeout;
        let retry = RetryPolicy::new().timeout(timeout);
        match order.poll_ready(&retry).await {
            Ok(OrderStatus::Ready) => {}
            Ok(status) => return Err(why_not_ready(&mut order, format!("the order is {status:?}")).await),
            Err(instant_acme::Error::Api(problem)) if !is_rate_limited(&problem) => {
                return Err(why_not_ready(&mut order, problem.to_string()).await)
            }
            Err(instant_acme::Error::Timeout(_)) => {
                return Err(AcmeError::Timeout(format!(
                    "{domain} was not validated within {}s",
                    timeout.as_secs()
                )))
            }
            Err(e) => return Err(classify(e)),
        }

        let key_pem = order.finalize().await.map_err(classify)?;
        let chain_pem = order.poll_certificate(&retry).await.map_err(|e| match e {
            instant_acme::Error::Timeout(_) => AcmeError::Timeout(format!(
                "the certificate for {domain} was not issued within {}s",
                timeout.as_secs()
            )),
            e => classify(e),
        })?;
        // Every authorization was already valid: no challenge was needed.
        let kind = used.unwrap_or(kinds[0]);
        Ok((chain_pem, key_pem, kind))
    }

    /// Removes published challenges; a failure only leaves rows that
    /// expire on their own.
    async fn unpublish(&self, tokens: &[String]) {
        for token in tokens {
            if let Err(e) = acme_challenges::remove(&self.db, token).await {
                tracing::warn!(error = %e, "could not remove a finished ACME challenge (it expires on its own)");
            }
        }
    }
}

/// Finds out why an order did not become ready: a failed challenge if the
/// CA reports one, else `fallback` as a refusal.
async fn why_not_ready(order: &mut Order, fallback: String) -> AcmeError {
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        if authz.refresh().await.is_err() || authz.status != AuthorizationStatus::Invalid {
            continue;
        }
        for challenge in &authz.challenges {
            let Some(kind) = ChallengeKind::from_acme(&challenge.r#type) else {
                continue;
            };
            if challenge.status == ChallengeStatus::Invalid || challenge.error.is_some() {
                let detail = challenge
                    .error
                    .as_ref()
                    .map_or_else(|| "the CA marked it invalid".to_owned(), Problem::to_string);
                return AcmeError::ChallengeFailed { kind, detail };
            }
        }
    }
    AcmeError::Rejected(fallback)
}

fn is_rate_limited(problem: &Problem) -> bool {
    problem.r#type.as_deref() == Some(RATE_LIMITED) || problem.status == Some(429)
}

/// Maps instant-acme's error to what a scheduler acts on. Must run inside
/// [`http::with_retry_after_slot`] to see the CA's `Retry-After`.
fn classify(e: instant_acme::Error) -> AcmeError {
    use instant_acme::Error as E;
    match e {
        E::Api(problem) if is_rate_limited(&problem) => AcmeError::RateLimited {
            retry_after: http::retry_after(),
            detail: problem.to_string(),
        },
        E::Api(problem) if problem.status == Some(503) => AcmeError::Unreachable(problem.to_string()),
        E::Api(problem) => AcmeError::Rejected(problem.to_string()),
        E::Other(inner) if inner.is::<http::TransportError>() => AcmeError::Unreachable(inner.to_string()),
        E::Hyper(e) => AcmeError::Unreachable(http::error_chain(&e)),
        E::Timeout(_) => AcmeError::Timeout("the CA kept the order pending".to_owned()),
        E::Json(e) => AcmeError::Rejected(format!("unexpected answer from the CA: {e}")),
        E::InvalidUri(e) => AcmeError::Config(format!("invalid ACME URL: {e}")),
        E::Http(e) => AcmeError::Config(format!("invalid ACME request: {e}")),
        E::KeyRejected | E::Crypto => AcmeError::Credentials("the account key cannot be used".to_owned()),
        other => AcmeError::Rejected(other.to_string()),
    }
}

/// Like [`classify`], but a problem saying the CA could not validate is a
/// failed challenge (set-ready may report it synchronously).
fn classify_challenge(e: instant_acme::Error, kind: ChallengeKind) -> AcmeError {
    match e {
        instant_acme::Error::Api(problem)
            if problem
                .r#type
                .as_deref()
                .is_some_and(|t| CHALLENGE_PROBLEMS.contains(&t)) =>
        {
            AcmeError::ChallengeFailed {
                kind,
                detail: problem.to_string(),
            }
        }
        e => classify(e),
    }
}

/// CAs quote the token (and the key authorization) in validation errors:
/// keep them out of error texts, which get logged.
fn redact(e: AcmeError, tokens: &[String]) -> AcmeError {
    let clean = |mut text: String| {
        for token in tokens.iter().filter(|t| !t.is_empty()) {
            text = text.replace(token.as_str(), "[token]");
        }
        text
    };
    match e {
        AcmeError::ChallengeFailed { kind, detail } => AcmeError::ChallengeFailed {
            kind,
            detail: clean(detail),
        },
        AcmeError::Rejected(detail) => AcmeError::Rejected(clean(detail)),
        AcmeError::RateLimited { retry_after, detail } => AcmeError::RateLimited {
            retry_after,
            detail: clean(detail),
        },
        other => other,
    }
}

async fn load_or_create_account(
    db: &Db,
    master: &MasterKey,
    settings: &AcmeSettings,
) -> Result<Account, AcmeError> {
    let url = &settings.directory_url;
    if let Some(credentials) = load_credentials(db, master, url).await? {
        let account = builder(settings)?
            .from_credentials(credentials)
            .await
            .map_err(classify)?;
        tracing::debug!(account = %account.id(), "ACME account loaded");
        return Ok(account);
    }

    let contacts: Vec<String> = settings.contact.iter().map(|c| contact_uri(c)).collect();
    let contact_refs: Vec<&str> = contacts.iter().map(String::as_str).collect();
    let eab = settings
        .eab
        .as_ref()
        .map(|(kid, key)| {
            decode_eab_key(key.expose()).map(|bytes| ExternalAccountKey::new(kid.clone(), &bytes))
        })
        .transpose()?;
    let (account, credentials) = builder(settings)?
        .create(
            &NewAccount {
                contact: &contact_refs,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            url.clone(),
            eab.as_ref(),
        )
        .await
        .map_err(classify)?;

    let json = serde_json::to_vec(&credentials)
        .map_err(|e| AcmeError::Credentials(format!("cannot serialize the new account: {e}")))?;
    let sealed = master.seal(&json, url.as_bytes());
    drop(json);
    let sql = "INSERT INTO acme_accounts (id, directory_url, contact, credentials_encrypted, credentials_nonce, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (directory_url) DO NOTHING";
    let inserted = on_pool!(db, |pool| sqlx::query(sql)
        .bind(account.id())
        .bind(url)
        .bind(contacts.first())
        .bind(&sealed.ciphertext)
        .bind(&sealed.nonce)
        .bind(UnixMillis::now().0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        tracing::info!(account = %account.id(), "ACME account created");
        return Ok(account);
    }

    // Another node stored an account for this directory first: use that
    // one, so every node shares one account (ours stays unused).
    let credentials = load_credentials(db, master, url)
        .await?
        .ok_or(AcmeError::Db(DbError::NotFound("ACME account")))?;
    let winner = builder(settings)?
        .from_credentials(credentials)
        .await
        .map_err(classify)?;
    tracing::info!(account = %winner.id(), unused = %account.id(), "another node created the ACME account first; using it");
    Ok(winner)
}

async fn load_credentials(
    db: &Db,
    master: &MasterKey,
    url: &str,
) -> Result<Option<AccountCredentials>, AcmeError> {
    let sql = "SELECT credentials_encrypted, credentials_nonce FROM acme_accounts WHERE directory_url = $1";
    let row: Option<AccountRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(url)
        .fetch_optional(pool)
        .await)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let json = master
        .open(&row.credentials_encrypted, &row.credentials_nonce, url.as_bytes())
        .map_err(|_| {
            AcmeError::Credentials(format!(
                "the account for {url} cannot be decrypted with this master key"
            ))
        })?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| AcmeError::Credentials(format!("the stored account for {url} is not readable: {e}")))
}

fn builder(settings: &AcmeSettings) -> Result<instant_acme::AccountBuilder, AcmeError> {
    let client = http::client(settings.root_ca_pem.as_deref()).map_err(AcmeError::Config)?;
    Ok(Account::builder_with_http(client))
}

/// `mailto:` + an e-mail address; a URI is kept as it is.
fn contact_uri(contact: &str) -> String {
    let contact = contact.trim();
    if contact.contains(':') {
        contact.to_owned()
    } else {
        format!("mailto:{contact}")
    }
}

/// The EAB HMAC key: base64url, padded or not, or standard base64.
fn decode_eab_key(key: &str) -> Result<Vec<u8>, AcmeError> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let trimmed = key.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(key.trim()))
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| AcmeError::Config("the EAB HMAC key is not base64url".to_owned()))
}

/// The key authorization of the unexpired TLS-ALPN-01 challenge for
/// `domain` (the newest, if an order left several): what the edge answers
/// an `acme-tls/1` handshake with, through [`tls_alpn01_certificate`].
pub async fn tls_alpn01_key_authorization(
    db: &Db,
    domain: &HostName,
    now: UnixMillis,
) -> Result<Option<String>, DbError> {
    let sql = "SELECT key_authorization FROM acme_challenges \
               WHERE domain = $1 AND challenge_type = 'tls-alpn-01' AND expires_at > $2 \
               ORDER BY created_at DESC LIMIT 1";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(domain)
        .bind(now.0)
        .fetch_optional(pool)
        .await)?)
}

/// The self-signed certificate that answers a TLS-ALPN-01 challenge (RFC
/// 8737): `domain` as its only name and the critical `acmeIdentifier`
/// extension holding SHA-256 of the key authorization. Serve it with ALPN
/// `acme-tls/1` only; returns the certificate and its PKCS#8 key.
pub fn tls_alpn01_certificate(
    domain: &HostName,
    key_authorization: &str,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rcgen::Error> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key_authorization.as_bytes());
    let mut params = CertificateParams::new(vec![domain.to_string()])?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, domain.as_str());
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest.as_ref())];
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    ))
}

/// A TLS server configuration that answers a TLS-ALPN-01 challenge: ALPN
/// `acme-tls/1` only and the certificate of [`tls_alpn01_certificate`].
/// (`ServerConfig::with_single_cert` cannot be used: webpki refuses the
/// critical `acmeIdentifier` extension it does not know.)
pub fn tls_alpn01_server_config(
    domain: &HostName,
    key_authorization: &str,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let (cert, key) = tls_alpn01_certificate(domain, key_authorization)
        .map_err(|e| rustls::Error::General(format!("cannot generate the TLS-ALPN-01 certificate: {e}")))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)?;
    let certified = Arc::new(CertifiedKey::new(vec![cert], signing));
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneCertificate(certified)));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Serves one certificate whatever the ClientHello says.
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn problem(json: &str) -> Problem {
        serde_json::from_str(json).expect("a problem document")
    }

    #[tokio::test]
    async fn rate_limits_carry_the_retry_after_of_their_scope() {
        let limited =
            problem(r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many","status":429}"#);
        let e = classify(instant_acme::Error::Api(limited.clone()));
        assert!(
            matches!(
                e,
                AcmeError::RateLimited {
                    retry_after: None,
                    ..
                }
            ),
            "{e:?}"
        );

        let e = http::with_retry_after_slot(async {
            // What the HTTP layer records from a 429 with `Retry-After: 90`.
            http::record_retry_after(Some(Duration::from_secs(90)));
            classify(instant_acme::Error::Api(limited))
        })
        .await;
        assert_eq!(e.retry_after(), Some(Duration::from_secs(90)));

        let e = classify(instant_acme::Error::Api(problem(
            r#"{"detail":"slow down","status":429}"#,
        )));
        assert!(matches!(e, AcmeError::RateLimited { .. }), "{e:?}");
    }

    #[test]
    fn classifies_problems_and_transport() {
        let e = classify(instant_acme::Error::Api(problem(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"no","status":400}"#,
        )));
        assert!(
            matches!(e, AcmeError::Rejected(ref d) if d.contains("rejectedIdentifier")),
            "{e:?}"
        );

        let e = classify(instant_acme::Error::Api(problem(
            r#"{"detail":"maintenance","status":503}"#,
        )));
        assert!(matches!(e, AcmeError::Unreachable(_)), "{e:?}");

        let e = classify(instant_acme::Error::Other(Box::new(http::TransportError(
            "refused".to_owned(),
        ))));
        assert!(
            matches!(e, AcmeError::Unreachable(ref d) if d == "refused"),
            "{e:?}"
        );

        let e = classify(instant_acme::Error::Other("something else".into()));
        assert!(matches!(e, AcmeError::Rejected(_)), "{e:?}");

        let failed =
            problem(r#"{"type":"urn:ietf:params:acme:error:connection","detail":"refused","status":400}"#);
        let e = classify_challenge(instant_acme::Error::Api(failed), ChallengeKind::Http01);
        assert!(
            matches!(
                e,
                AcmeError::ChallengeFailed {
                    kind: ChallengeKind::Http01,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn redacts_tokens_from_details() {
        let e = AcmeError::ChallengeFailed {
            kind: ChallengeKind::Http01,
            detail: "expected \"tok123.thumb\" got \"x\"".to_owned(),
        };
        let e = redact(e, &["tok123".to_owned()]);
        assert!(matches!(e, AcmeError::ChallengeFailed { ref detail, .. } if !detail.contains("tok123")));
    }

    #[test]
    fn contacts_become_mailto_uris() {
        assert_eq!(contact_uri("ops@example.com"), "mailto:ops@example.com");
        assert_eq!(contact_uri("mailto:ops@example.com"), "mailto:ops@example.com");
    }

    #[test]
    fn decodes_eab_keys() {
        assert_eq!(decode_eab_key("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_eab_key("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_eab_key("_-8").unwrap(), vec![0xff, 0xef]);
        assert!(matches!(decode_eab_key("!!"), Err(AcmeError::Config(_))));
        assert!(matches!(decode_eab_key(""), Err(AcmeError::Config(_))));
    }

    #[test]
    fn settings_debug_hides_the_eab_key() {
        let mut settings = AcmeSettings::new("https://ca.test/dir");
        settings.eab = Some(("kid-1".to_owned(), Secret::new("c2VjcmV0LWhtYWM")));
        let debug = format!("{settings:?}");
        assert!(debug.contains("kid-1"));
        assert!(!debug.contains("c2VjcmV0LWhtYWM"), "{debug}");
    }

    #[test]
    fn tls_alpn01_certificate_carries_the_digest() {
        let domain = HostName::parse("shop.example.test").unwrap();
        let (cert, _key) = tls_alpn01_certificate(&domain, "token.thumbprint").unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier extension");
        assert!(ext.critical);
        let digest = ring::digest::digest(&ring::digest::SHA256, b"token.thumbprint");
        // DER OCTET STRING of 32 bytes: 0x04 0x20 then the digest.
        assert_eq!(&ext.value[..2], &[0x04, 0x20]);
        assert_eq!(&ext.value[2..], digest.as_ref());
        let names: Vec<String> = parsed
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(name) => name.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names, vec!["shop.example.test".to_owned()]);
    }
}
