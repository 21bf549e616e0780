//! The HTTP client under instant-acme: hyper over rustls (ring), as
//! instant-acme's own default client, with what that one hides:
//!
//! - a connect timeout and a bound on each whole exchange (headers and
//!   body), so an unreachable or stalled CA fails fast;
//! - transport failures as one error type ([`TransportError`]), so they are
//!   told apart from the CA's answers;
//! - the `Retry-After` of error responses, recorded in a task-local slot
//!   ([`with_retry_after_slot`]), which instant-acme drops when it turns a
//!   response into a problem document.

use std::cell::Cell;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// How long establishing a connection (TCP and TLS) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take, from sending to the last body byte.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

tokio::task_local! {
    /// The `Retry-After` of the latest error response within the scope.
    static RETRY_AFTER_SLOT: Cell<Option<Duration>>;
}

/// Runs `fut` with a fresh slot for the `Retry-After` of error responses;
/// [`retry_after`] reads it within the scope.
pub(crate) async fn with_retry_after_slot<F: Future>(fut: F) -> F::Output {
    RETRY_AFTER_SLOT.scope(Cell::new(None), fut).await
}

/// The `Retry-After` of the latest error response in this scope, if any.
pub(crate) fn retry_after() -> Option<Duration> {
    RETRY_AFTER_SLOT.try_with(Cell::get).ok().flatten()
}

/// Records the `Retry-After` of an error response in this scope's slot.
pub(crate) fn record_retry_after(delay: Option<Duration>) {
    let _ = RETRY_AFTER_SLOT.try_with(|slot| slot.set(delay));
}

/// The CA could not be talked to: connection refused or reset, TLS failure,
/// timeout. Its text carries the whole cause chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TransportError(pub(crate) String);

/// The client, trusting `root_ca_pem` (every certificate in the file) when
/// given, else the platform's trust store.
pub(crate) fn client(root_ca_pem: Option<&Path>) -> Result<Box<dyn HttpClient>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match root_ca_pem {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read the ACME root CA {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{} holds no PEM certificate", path.display()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("{} is not a usable root CA: {e}", path.display()))?;
            }
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            builder.with_tls_config(config)
        }
        None => builder
            .with_provider_and_platform_verifier(provider)
            .map_err(|e| format!("cannot use the platform's trust store: {e}"))?,
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = builder.https_only().enable_http1().wrap_connector(http);
    Ok(Box::new(AcmeHttp {
        client: Client::builder(TokioExecutor::new()).build(connector),
    }))
}

struct AcmeHttp {
    client: Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let response = self.client.request(req);
        Box::pin(async move {
            let exchange = async {
                let response = response.await.map_err(|e| TransportError(error_chain(&e)))?;
                let (parts, body) = response.into_parts();
                let body = body
                    .collect()
                    .await
                    .map_err(|e| TransportError(format!("reading the response: {}", error_chain(&e))))?
                    .to_bytes();
                Ok::<_, TransportError>((parts, body))
            };
            let (parts, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
                .await
                .map_err(|_| {
                    TransportError(format!(
                        "no complete answer within {}s",
                        REQUEST_TIMEOUT.as_secs()
                    ))
                })
                .and_then(|r| r)
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            if parts.status.is_client_error() || parts.status.is_server_error() {
                let delay = parts
                    .headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                if parts.status == StatusCode::TOO_MANY_REQUESTS || delay.is_some() {
                    record_retry_after(delay);
                }
            }
            Ok(BytesResponse {
                parts,
                body: Box::new(body),
            })
        })
    }
}

/// `Retry-After` as a delay from `now`: delay-seconds or an HTTP-date (a
/// date in the past is no delay).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An error with its sources: "client error (Connect): tcp connect error:
/// Connection refused (os error 111)".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        // 2001-09-09T01:46:40Z is 1_000_000_000; one minute later:
        assert_eq!(
            parse_retry_after("Sun, 09 Sep 2001 01:47:40 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 09 Sep 2001 01:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[tokio::test]
    async fn the_slot_is_per_scope() {
        assert_eq!(retry_after(), None, "no scope: nothing, no panic");
        with_retry_after_slot(async {
            assert_eq!(retry_after(), None);
            record_retry_after(Some(Duration::from_secs(7)));
            assert_eq!(retry_after(), Some(Duration::from_secs(7)));
            with_retry_after_slot(async { assert_eq!(retry_after(), None) }).await;
        })
        .await;
    }

    #[test]
    fn chains_sources() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert_eq!(error_chain(&e), "outer: refused");
    }
}
