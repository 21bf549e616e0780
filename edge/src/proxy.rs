//! The one Pingora proxy type. Its phases, in order:
//!
//! - `early_request_filter`: the head has been read, the body's read
//!   deadline starts ([`crate::deadline`]);
//! - `request_filter`: plain HTTP gets ACME HTTP-01 answers, `/healthz`, or a
//!   308 to HTTPS (for hosts the edge serves; 404 for others). On TLS the
//!   Host must equal the SNI name (else 421), the edge answers the handoff
//!   start, page and token exchange itself ([`crate::handoff`]), and any
//!   other request needs a known host (else 404) and is proxied.
//! - `request_body_filter`: the end of a proxied body ends its deadline.
//! - `upstream_peer`: the next healthy portal upstream ([`Upstreams`]: round
//!   robin, health-checked; another one on a failed connect), with the
//!   configured connect and read timeouts.
//! - `upstream_request_filter`: client-sent forwarding and internal headers
//!   are dropped; `X-Forwarded-Host/Proto/For` are set by the edge.
//! - `fail_to_proxy`: a branded 502 page when no upstream can be reached, 504
//!   when one is too slow to answer, the edge's own page for other
//!   failures, nothing for a client that is gone.
//! - `logging`: request metrics; the connection waits for its next head.
//!
//! While the edge drains ([`crate::drain`]) every response closes its
//! connection.
//!
//! Every response the edge writes over TLS carries HSTS as configured
//! (`edge.hsts_max_age_seconds`), proxied ones too (`response_filter`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::{Error, ErrorSource, ErrorType, Result};
use porta_core::clock::UnixMillis;
use porta_core::db::acme_challenges;
use porta_core::host::HostName;

use porta_core::paths;
use porta_core::request_context::{HostKind, RequestContext, Route, HEADER as CONTEXT_HEADER};

use crate::deadline;
use crate::drain::{Drain, InFlight};
use crate::metrics::EdgeMetrics;
use crate::pages;
use crate::state::EdgeState;
use crate::tls::ServerNameTag;
use crate::upstreams::Upstreams;

const EXCHANGE_PATH: &str = paths::EXCHANGE;
const HANDOFF_PATH: &str = paths::HANDOFF;
const HANDOFF_JS_PATH: &str = paths::HANDOFF_JS;
const ACME_PREFIX: &str = paths::ACME_CHALLENGE_PREFIX;

pub(crate) fn is_tls(session: &Session) -> bool {
    session.digest().and_then(|d| d.ssl_digest.as_ref()).is_some()
}

/// Headers a client may not set: forwarding facts are the edge's to state.
fn is_forwarding_header(name: &str) -> bool {
    name == "forwarded"
        || name == "x-real-ip"
        || name == "x-client-ip"
        || name.starts_with("x-forwarded-")
        || name.starts_with("x-porta-")
}

pub struct EdgeProxy {
    pub state: Arc<EdgeState>,
    pub upstreams: Upstreams,
    /// This edge's stopping state: requests in flight, draining.
    pub drain: Arc<Drain>,
}

/// Per-request facts, filled in `request_filter`.
#[derive(Debug)]
pub struct RequestCtx {
    host: Option<HostName>,
    /// Where the host leads (tenant, custom domain), for the portal.
    route: Option<Route>,
    /// `canonical`, `custom`, `unknown` or `none` (metrics label).
    host_kind: &'static str,
    /// Status of a response the edge wrote itself.
    local_status: Option<u16>,
    /// Upstreams this request failed to connect to.
    tried: Vec<SocketAddr>,
    /// Counts the request while it lives (see [`crate::drain`]).
    _in_flight: InFlight,
}

/// The Host header, or the HTTP/2 authority.
fn raw_host(session: &Session) -> Option<String> {
    let req = session.req_header();
    req.headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri.authority().map(|a| a.as_str().to_owned()))
}

pub(crate) fn client_ip(session: &Session) -> IpAddr {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// All `Cookie` headers of the request, joined (HTTP/2 may send several).
pub(crate) fn cookie_header(session: &Session) -> String {
    session
        .req_header()
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ")
}

impl EdgeProxy {
    /// Writes a complete response from the edge itself (with HSTS on TLS).
    pub(crate) async fn respond(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        status: u16,
        content_type: &str,
        body: impl Into<Bytes>,
        extra: &[(&'static str, String)],
    ) -> Result<bool> {
        let body = body.into();
        let mut header = ResponseHeader::build(status, Some(5 + extra.len()))?;
        header.insert_header("content-type", content_type)?;
        header.insert_header("content-length", body.len().to_string())?;
        header.insert_header("cache-control", "no-store")?;
        header.insert_header("x-content-type-options", "nosniff")?;
        for (name, value) in extra {
            header.append_header(*name, value.as_str())?;
        }
        if let (true, Some(hsts)) = (is_tls(session), &self.state.hsts) {
            header.insert_header("strict-transport-security", hsts.as_str())?;
        }
        // The connection is kept only when the request was read to its end
        // (no body, or one the edge read, as the exchange's): a body left
        // unread would have to be drained before the next request.
        if !session.is_body_done() {
            session.set_keepalive(None);
        }
        // A response written here ends what the client may still send.
        deadline::request_done(session);
        session
            .write_response_header(Box::new(header), body.is_empty())
            .await?;
        if !body.is_empty() {
            session.write_response_body(Some(body), true).await?;
        }
        ctx.local_status = Some(status);
        Ok(true)
    }

    pub(crate) async fn respond_html(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        status: u16,
        html: String,
    ) -> Result<bool> {
        self.respond(session, ctx, status, "text/html; charset=utf-8", html, &[])
            .await
    }

    /// A host the cache could not look up: while the database is away a
    /// 503 with `Retry-After` (the host may be fine), else an error.
    async fn host_lookup_failed(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        e: &porta_core::db::DbError,
    ) -> Result<bool> {
        if !e.is_unavailable() {
            return Err(Error::because(
                ErrorType::InternalError,
                "host lookup",
                e.to_string(),
            ));
        }
        tracing::warn!(error = %e, "host lookup failed: the database is unavailable");
        let page = pages::unavailable();
        self.respond(
            session,
            ctx,
            503,
            "text/html; charset=utf-8",
            page,
            &[("retry-after", "30".to_owned())],
        )
        .await
    }

    /// Plain HTTP: ACME HTTP-01, health, or 308 to the same URL on HTTPS.
    async fn plain_http(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let path = session.req_header().uri.path().to_owned();
        if path == "/healthz" {
            return self.respond(session, ctx, 200, "text/plain", "ok\n", &[]).await;
        }
        let host = raw_host(session).and_then(|h| HostName::from_host_header(&h).ok());
        let Some(host) = host else {
            return self.respond_html(session, ctx, 400, pages::bad_request()).await;
        };
        ctx.host = Some(host.clone());
        if let Some(token) = path.strip_prefix(ACME_PREFIX) {
            let found = acme_challenges::http01(&self.state.db, token, &host, UnixMillis::now())
                .await
                .map_err(|e| Error::because(ErrorType::InternalError, "ACME challenge lookup", e))?;
            return match found {
                Some(key_authorization) => {
                    self.respond(session, ctx, 200, "text/plain", key_authorization, &[])
                        .await
                }
                None => {
                    self.respond(session, ctx, 404, "text/plain", "no such challenge\n", &[])
                        .await
                }
            };
        }
        let path_and_query = session
            .req_header()
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        // Only for hosts this edge serves: an open redirector for any name
        // pointed at us helps nobody.
        let known = match self.state.hosts.route(&host).await {
            Ok(known) => known,
            Err(e) => return self.host_lookup_failed(session, ctx, &e).await,
        };
        if known.is_none() {
            ctx.host_kind = "unknown";
            return self.respond_html(session, ctx, 404, pages::not_found()).await;
        }
        let location = format!(
            "{}{}",
            porta_core::config::Config::https_origin(&host, self.state.config.public_https_port),
            path_and_query
        );
        self.respond(session, ctx, 308, "text/plain", "", &[("location", location)])
            .await
    }
}

#[async_trait]
impl ProxyHttp for EdgeProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            host: None,
            route: None,
            host_kind: "none",
            local_status: None,
            tried: Vec::new(),
            _in_flight: InFlight::start(&self.drain),
        }
    }

    /// The head has been read: from now on its body has the body deadline.
    async fn early_request_filter(&self, session: &mut Session, _ctx: &mut RequestCtx) -> Result<()> {
        deadline::head_read(session);
        Ok(())
    }

    /// Each piece of a proxied request body; the last one ends its deadline.
    async fn request_body_filter(
        &self,
        session: &mut Session,
        _body: &mut Option<Bytes>,
        end_of_stream: bool,
        _ctx: &mut RequestCtx,
    ) -> Result<()> {
        if end_of_stream {
            deadline::body_read(session);
        }
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let ssl = session.digest().and_then(|d| d.ssl_digest.clone());
        let Some(ssl) = ssl else {
            return self.plain_http(session, ctx).await;
        };
        let host = raw_host(session).and_then(|h| HostName::from_host_header(&h).ok());
        let path = session.req_header().uri.path().to_owned();
        if path == EXCHANGE_PATH && host.is_none() {
            // The exchange reports a missing host itself, in its order.
            return self.exchange(session, ctx, None).await;
        }
        let Some(host) = host else {
            return self.respond_html(session, ctx, 400, pages::bad_request()).await;
        };
        // No domain fronting: the request must be for the name the TLS
        // connection was opened (and its certificate chosen) for.
        let sni = ssl.extension.get::<ServerNameTag>().map(|t| t.0.as_str());
        if sni != Some(host.as_str()) {
            return self.respond_html(session, ctx, 421, pages::misdirected()).await;
        }
        ctx.host = Some(host.clone());
        if path == "/healthz" {
            return self.respond(session, ctx, 200, "text/plain", "ok\n", &[]).await;
        }
        if path == EXCHANGE_PATH {
            return self.exchange(session, ctx, Some(&host)).await;
        }
        let route = match self.state.hosts.route(&host).await {
            Ok(route) => route,
            Err(e) => return self.host_lookup_failed(session, ctx, &e).await,
        };
        let Some(route) = route else {
            ctx.host_kind = "unknown";
            return self.respond_html(session, ctx, 404, pages::not_found()).await;
        };
        ctx.host_kind = route.kind.as_str();
        ctx.route = Some(route);
        if route.kind == HostKind::Custom {
            if path == HANDOFF_PATH {
                return self.handoff_page(session, ctx, route.tenant).await;
            }
            if path == paths::HANDOFF_START {
                return self.handoff_start(session, ctx, route.tenant).await;
            }
            if path == HANDOFF_JS_PATH {
                return self
                    .respond(
                        session,
                        ctx,
                        200,
                        "text/javascript; charset=utf-8",
                        pages::HANDOFF_JS,
                        &[],
                    )
                    .await;
            }
        }
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
        let addr = self.upstreams.pick(&ctx.tried);
        let policy = &self.state.config.edge.upstream;
        let mut peer = HttpPeer::new(addr, false, String::new());
        peer.options.connection_timeout = Some(policy.connect_timeout);
        peer.options.total_connection_timeout = Some(policy.connect_timeout);
        peer.options.read_timeout = Some(policy.read_timeout);
        peer.options.write_timeout = Some(policy.read_timeout);
        Ok(Box::new(peer))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        // Try each other upstream once before giving up.
        if let Some(addr) = peer._address.as_inet() {
            ctx.tried.push(*addr);
        }
        if ctx.tried.len() < self.upstreams.len() {
            e.set_retry(true);
        }
        e
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        // Header names are stored lower-case: nothing to allocate unless a
        // client did send one of these.
        let client_set: Vec<http::HeaderName> = upstream_request
            .headers
            .keys()
            .filter(|name| is_forwarding_header(name.as_str()))
            .cloned()
            .collect();
        for name in client_set {
            upstream_request.remove_header(&name);
        }
        if let Some(host) = &ctx.host {
            upstream_request.insert_header("x-forwarded-host", host.as_str())?;
        }
        upstream_request.insert_header("x-forwarded-proto", "https")?;
        let ip = client_ip(session);
        upstream_request.insert_header("x-forwarded-for", ip.to_string())?;
        // What the edge resolved, signed, so the portal need not look the
        // host up again (and cannot be told otherwise by a client).
        if let (Some(host), Some(route)) = (&ctx.host, ctx.route) {
            let context = RequestContext {
                host: host.clone(),
                route,
                client_ip: ip,
            };
            let value = signed_context(&self.state.context, context, UnixMillis::now());
            upstream_request.insert_header(CONTEXT_HEADER, value)?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        _ctx: &mut RequestCtx,
    ) -> Result<()> {
        if self.drain.is_draining() {
            session.set_keepalive(None);
        }
        // Proxied responses only reach browsers over TLS.
        if let Some(hsts) = &self.state.hsts {
            upstream_response.insert_header("strict-transport-security", hsts.as_str())?;
        }
        Ok(())
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
        let code = match e.etype() {
            ErrorType::HTTPStatus(code) => *code,
            _ => match e.esource() {
                ErrorSource::Upstream => upstream_failure_status(e.etype()),
                // The client is gone or too slow: nothing to answer it.
                ErrorSource::Downstream => match e.etype() {
                    ErrorType::WriteError
                    | ErrorType::ReadError
                    | ErrorType::ReadTimedout
                    | ErrorType::ConnectionClosed => 0,
                    _ => 400,
                },
                ErrorSource::Internal | ErrorSource::Unset => 500,
            },
        };
        if code == 502 || code == 503 || code == 504 {
            let (code, page) = match code {
                504 => (504, pages::gateway_timeout()),
                503 => (503, pages::unavailable()),
                _ => (502, pages::bad_gateway()),
            };
            let _ = self.respond_html(session, ctx, code, page).await;
            return FailToProxy {
                error_code: code,
                can_reuse_downstream: false,
            };
        }
        if code > 0 {
            // The edge's own page, so HSTS and the other headers are on it.
            let _ = self.respond_html(session, ctx, code, pages::failure(code)).await;
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    /// What Pingora writes into its error logs about a request: method,
    /// path and host, never the query string (the handoff URL carries the
    /// one-time token there).
    fn request_summary(&self, session: &Session, ctx: &RequestCtx) -> String {
        let req = session.req_header();
        let host = ctx.host.as_ref().map_or("-", HostName::as_str);
        format!("{} {}, Host: {host}", req.method, req.uri.path())
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        deadline::next_request(session);
        let status = session
            .response_written()
            .map(|r| r.status.as_u16())
            .or(ctx.local_status)
            .unwrap_or(0);
        count_request(ctx.host_kind, status);
    }
}

/// What a client gets when the upstream failed: 504 when it was too slow
/// (it took longer than `edge.upstream_read_timeout_seconds` to answer or
/// to take the request), 502 when it could not be reached or broke off.
fn upstream_failure_status(etype: &ErrorType) -> u16 {
    match etype {
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => 504,
        _ => 502,
    }
}

thread_local! {
    /// This thread's last signed request context: one signature serves
    /// every request of the same client, host and second (a keep-alive
    /// connection's), instead of an HMAC and three allocations each.
    static LAST_CONTEXT: std::cell::RefCell<Option<(RequestContext, i64, String)>> =
        const { std::cell::RefCell::new(None) };
    /// This thread's request counters by (host kind, status): the
    /// labelled lookup (hashing the label values under a lock) once per
    /// pair, not per request.
    static REQUEST_COUNTERS: std::cell::RefCell<Vec<(&'static str, u16, prometheus::IntCounter)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The signed context header for `context` at `now` (see [`LAST_CONTEXT`]).
fn signed_context(
    signer: &porta_core::request_context::ContextSigner,
    context: RequestContext,
    now: UnixMillis,
) -> String {
    let second = now.as_seconds();
    LAST_CONTEXT.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((cached, at, value)) = last.as_ref() {
            if *at == second && *cached == context {
                return value.clone();
            }
        }
        let value = signer.sign(&context, now);
        *last = Some((context, second, value.clone()));
        value
    })
}

/// `porta_edge_requests_total{host_kind, status}` += 1.
fn count_request(host_kind: &'static str, status: u16) {
    REQUEST_COUNTERS.with(|counters| {
        let mut counters = counters.borrow_mut();
        if let Some((_, _, counter)) = counters
            .iter()
            .find(|(kind, code, _)| *code == status && *kind == host_kind)
        {
            counter.inc();
            return;
        }
        let counter = EdgeMetrics::global()
            .requests
            .with_label_values(&[host_kind, &status.to_string()]);
        counter.inc();
        counters.push((host_kind, status, counter));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_upstream_is_504_and_an_unreachable_one_502() {
        assert_eq!(upstream_failure_status(&ErrorType::ReadTimedout), 504);
        assert_eq!(upstream_failure_status(&ErrorType::WriteTimedout), 504);
        for etype in [
            ErrorType::ConnectRefused,
            ErrorType::ConnectTimedout,
            ErrorType::ConnectNoRoute,
            ErrorType::ConnectError,
            ErrorType::ConnectionClosed,
            ErrorType::ReadError,
        ] {
            assert_eq!(upstream_failure_status(&etype), 502, "{etype:?}");
        }
    }

    #[test]
    fn forwarding_and_internal_headers_are_the_edges_to_set() {
        for name in [
            "forwarded",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-real-ip",
            "x-porta-tenant",
            "x-porta-context",
        ] {
            assert!(is_forwarding_header(name), "{name}");
        }
        for name in ["host", "cookie", "x-request-id", "forwarded-for", "user-agent"] {
            assert!(!is_forwarding_header(name), "{name}");
        }
    }
}
