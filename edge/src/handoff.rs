//! What the edge answers itself in the handoff to a custom domain: the
//! handoff start (the browser's nonce, then the canonical sign-in), the
//! handoff page, and the token exchange (its checks are in
//! [`crate::exchange`]).

use http::Method;
use pingora::proxy::Session;
use pingora::{Error, ErrorType, Result};
use porta_core::clock::UnixMillis;
use porta_core::host::HostName;
use porta_core::ids::TenantId;
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::ott::{find_nonce, nonce_cookie, HandoffNonce, BINDING_PARAM};

use crate::exchange::{self, ExchangeRequest};
use crate::metrics::EdgeMetrics;
use crate::pages;
use crate::proxy::{client_ip, cookie_header, EdgeProxy, RequestCtx};

/// The most an exchange body may hold.
const MAX_EXCHANGE_BODY: usize = 8 * 1024;

impl EdgeProxy {
    pub(crate) async fn exchange(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        host: Option<&HostName>,
    ) -> Result<bool> {
        if session.req_header().method != Method::POST {
            return self
                .respond(
                    session,
                    ctx,
                    405,
                    "application/json",
                    r#"{"error":"method_not_allowed"}"#,
                    &[("allow", "POST".into())],
                )
                .await;
        }
        let mut body = Vec::new();
        while let Some(chunk) = session.read_request_body().await? {
            if body.len() + chunk.len() > MAX_EXCHANGE_BODY {
                return self
                    .respond(
                        session,
                        ctx,
                        413,
                        "application/json",
                        r#"{"error":"body_too_large"}"#,
                        &[],
                    )
                    .await;
            }
            body.extend_from_slice(&chunk);
        }
        let user_agent = session
            .req_header()
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = &session.req_header().headers;
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = text("content-type");
        let origin = text("origin");
        let request = ExchangeRequest {
            host: host.map(HostName::as_str),
            client_ip: client_ip(session),
            user_agent: user_agent.as_deref(),
            content_type: content_type.as_deref(),
            origin: origin.as_deref(),
            nonce: find_nonce(&cookie_header(session)),
            body: &body,
        };
        let metrics = EdgeMetrics::global();
        match exchange::exchange(&self.state, &request).await {
            Ok(done) => {
                metrics.ott_exchanges.with_label_values(&["success"]).inc();
                let json = serde_json::json!({ "redirectTo": done.redirect_to }).to_string();
                self.respond(
                    session,
                    ctx,
                    200,
                    "application/json",
                    json,
                    &[("set-cookie", done.set_cookie), ("set-cookie", done.clear_nonce)],
                )
                .await
            }
            Err(e) => {
                metrics.ott_exchanges.with_label_values(&[e.code()]).inc();
                let json = serde_json::json!({ "error": e.code() }).to_string();
                let retry_after =
                    porta_core::rate_limit::IpRateLimiter::retry_after(UnixMillis::now()).to_string();
                let extra: &[(&'static str, String)] = match e {
                    exchange::ExchangeError::RateLimited => &[("retry-after", retry_after)],
                    exchange::ExchangeError::Unavailable => &[("retry-after", "30".to_owned())],
                    _ => &[],
                };
                self.respond(session, ctx, e.status(), "application/json", json, extra)
                    .await
            }
        }
    }

    /// `GET /auth/client-portal/handoff/start?next=…` on a custom domain:
    /// gives the browser its handoff nonce (keeping a valid one it has) and
    /// sends it to the canonical host's sign-in with the nonce's hash.
    pub(crate) async fn handoff_start(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        tenant: TenantId,
    ) -> Result<bool> {
        let tenant = self
            .state
            .hosts
            .tenant(tenant)
            .await
            .map_err(|e| Error::because(ErrorType::InternalError, "tenant lookup", e.to_string()))?;
        let next = session.req_header().uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "next")
                .map(|(_, v)| v.into_owned())
        });
        let next = NextPath::or_landing(next.as_deref(), PortalArea::ClientPortal);
        let nonce = find_nonce(&cookie_header(session)).unwrap_or_else(HandoffNonce::generate);
        let canonical = HostName::tenant_host(&tenant.slug, &self.state.config.canonical_base);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next.as_str())
            .append_pair(BINDING_PARAM, &nonce.binding().to_param())
            .finish();
        let location = format!(
            "{}?{query}",
            exchange::canonical_signin_url(&self.state.config, &canonical)
        );
        self.respond(
            session,
            ctx,
            303,
            "text/plain",
            "",
            &[
                ("location", location),
                ("set-cookie", nonce_cookie(&nonce).to_string()),
                ("referrer-policy", "no-referrer".to_owned()),
            ],
        )
        .await
    }

    pub(crate) async fn handoff_page(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        tenant: TenantId,
    ) -> Result<bool> {
        let tenant = self
            .state
            .hosts
            .tenant(tenant)
            .await
            .map_err(|e| Error::because(ErrorType::InternalError, "tenant lookup", e.to_string()))?;
        let canonical = HostName::tenant_host(&tenant.slug, &self.state.config.canonical_base);
        let signin = exchange::canonical_signin_url(&self.state.config, &canonical);
        let csp = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        self.respond(
            session,
            ctx,
            200,
            "text/html; charset=utf-8",
            pages::handoff_page(&signin),
            &[
                ("content-security-policy", csp.to_owned()),
                ("referrer-policy", "no-referrer".to_owned()),
            ],
        )
        .await
    }
}
