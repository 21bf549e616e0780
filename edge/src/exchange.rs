//! `POST /api/client-portal/domain-session`: the one-time-token exchange.
//!
//! Checks, in this order, each with its JSON error code: the client IP is
//! within its rate (429 `rate_limited`); the body is declared JSON (403
//! `json_required`); a host is present (400 `host_missing`); the request
//! comes from the custom domain's own page (`Origin` equal to the host's,
//! else 403 `origin_mismatch`), so no other site can post a token; a token
//! is present (400 `ott_required`); the host is a registered custom domain
//! (404 `domain_not_found`); the domain is `active`, or, when
//! `PORTAL_DOMAIN_DNS_CHECK` is on and the domain is not active (nor
//! disabled), its CNAME reaches the tenant's canonical host (403
//! `domain_inactive` / 409 `dns_mismatch`); the token is consumed, in one
//! atomic statement scoped to this domain and its tenant, together with the
//! browser's handoff nonce cookie and while the issuing session is live
//! (400 `invalid_or_expired` for any mismatch: a token presented by another
//! browser is neither accepted nor burnt). On success a new session for
//! the custom domain, tied to the canonical one, the nonce cookie cleared,
//! and 200 `{"redirectTo": next}`.

use std::net::IpAddr;

use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::ott_exchange::{self, OttExchange};
use porta_core::db::portal_domains;
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::ids::{PortalDomainId, TenantId};
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::ott::{clear_nonce_cookie, HandoffNonce, OttToken};
use porta_core::request_context::{HostKind, Route};
use porta_core::session_cookie::Transport;
use porta_core::session_issue;

use crate::state::EdgeState;

/// Why an exchange failed; `code` is what the handoff page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("too many exchanges from this address")]
    RateLimited,
    #[error("the exchange takes a JSON body")]
    JsonRequired,
    #[error("the exchange was not posted by the custom domain's own page")]
    OriginMismatch,
    #[error("no token in the request")]
    OttRequired,
    #[error("no host in the request")]
    HostMissing,
    #[error("host is not a registered custom domain")]
    DomainNotFound,
    #[error("custom domain is not active")]
    DomainInactive,
    #[error("custom domain's CNAME does not point at the tenant")]
    DnsMismatch,
    #[error("token is invalid, expired, already used or for another domain")]
    InvalidOrExpired,
    /// The database cannot be reached (or cannot take the write) just now.
    #[error("the database is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ExchangeError {
    pub fn status(self) -> u16 {
        match self {
            ExchangeError::RateLimited => 429,
            ExchangeError::JsonRequired | ExchangeError::OriginMismatch => 403,
            ExchangeError::OttRequired | ExchangeError::HostMissing | ExchangeError::InvalidOrExpired => 400,
            ExchangeError::DomainNotFound => 404,
            ExchangeError::DomainInactive => 403,
            ExchangeError::DnsMismatch => 409,
            ExchangeError::Unavailable => 503,
            ExchangeError::Internal => 500,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ExchangeError::RateLimited => "rate_limited",
            ExchangeError::JsonRequired => "json_required",
            ExchangeError::OriginMismatch => "origin_mismatch",
            ExchangeError::OttRequired => "ott_required",
            ExchangeError::HostMissing => "host_missing",
            ExchangeError::DomainNotFound => "domain_not_found",
            ExchangeError::DomainInactive => "domain_inactive",
            ExchangeError::DnsMismatch => "dns_mismatch",
            ExchangeError::InvalidOrExpired => "invalid_or_expired",
            ExchangeError::Unavailable => "unavailable",
            ExchangeError::Internal => "error",
        }
    }
}

/// A successful exchange: the cookies to set and where to go.
#[derive(Debug)]
pub struct Exchanged {
    pub set_cookie: String,
    /// Removes the spent handoff nonce.
    pub clear_nonce: String,
    pub redirect_to: String,
}

/// What the request brought.
pub struct ExchangeRequest<'a> {
    pub host: Option<&'a str>,
    pub client_ip: IpAddr,
    pub user_agent: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub origin: Option<&'a str>,
    /// The browser's handoff nonce cookie, if it sent a valid one.
    pub nonce: Option<HandoffNonce>,
    pub body: &'a [u8],
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn internal(e: impl Into<Failure>) -> ExchangeError {
    match e.into() {
        Failure::Db(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, "one-time-token exchange: database unavailable");
            ExchangeError::Unavailable
        }
        other => {
            tracing::error!(error = %other, "one-time-token exchange failed");
            ExchangeError::Internal
        }
    }
}

/// What a step of the exchange failed with.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Db(#[from] porta_core::db::DbError),
    #[error(transparent)]
    Token(#[from] porta_core::session_token::TokenError),
}

pub async fn exchange(state: &EdgeState, request: &ExchangeRequest<'_>) -> Result<Exchanged, ExchangeError> {
    let now = UnixMillis::now();
    if !state.exchange_limiter.allow(request.client_ip, now) {
        return Err(ExchangeError::RateLimited);
    }
    if !is_json(request.content_type) {
        return Err(ExchangeError::JsonRequired);
    }
    // The host comes first: without one there is no origin to compare.
    let host = request
        .host
        .and_then(|h| HostName::from_host_header(h).ok())
        .ok_or(ExchangeError::HostMissing)?;
    let own_origin = Config::https_origin(&host, state.config.public_https_port);
    if request.origin != Some(own_origin.as_str()) {
        return Err(ExchangeError::OriginMismatch);
    }
    let raw = porta_core::ott::token_in_exchange_body(request.body).ok_or(ExchangeError::OttRequired)?;
    let domain = exchange_domain(state, &host).await?;
    let token = OttToken::parse(&raw).map_err(|_| ExchangeError::InvalidOrExpired)?;
    let ip = request.client_ip.to_string();
    // Without the browser's nonce no token can match: a binding nothing
    // has. Refused without touching the token; the attempt is logged.
    let Some(binding) = request.nonce.as_ref().map(HandoffNonce::binding) else {
        let refused = AuditEvent {
            tenant: Some(domain.tenant),
            actor: None,
            action: "handoff",
            outcome: "failure",
            subject: Some(host.as_str()),
            ip: Some(&ip),
            user_agent: request.user_agent,
            detail: Some(serde_json::json!({ "reason": "invalid_or_expired" })),
        };
        audit::record(&state.db, &refused, now).await.map_err(internal)?;
        return Err(ExchangeError::InvalidOrExpired);
    };
    // One write: the token is spent exactly when the session it buys and
    // the audit row exist; an error on the way leaves all three undone.
    let ttl_seconds = i64::try_from(state.config.session.ttl.as_secs()).unwrap_or(86_400);
    let handed_off = ott_exchange::exchange(
        &state.db,
        &OttExchange {
            hash: &token.hash(),
            binding: &binding,
            tenant: domain.tenant,
            domain: domain.id,
            domain_status: domain.status,
            host: host.as_str(),
            session_expires_at: now.plus_seconds(ttl_seconds),
            ip: Some(&ip),
            user_agent: request.user_agent,
            now,
        },
    )
    .await
    .map_err(internal)?;
    let Some(handed_off) = handed_off else {
        if domain.cached {
            // Refused, perhaps because the domain stopped being active
            // since the host cache learnt it (the write checks): then say
            // so, as a fresh lookup would have.
            fresh_domain(state, &host).await?;
        }
        return Err(ExchangeError::InvalidOrExpired);
    };
    let cookie = session_issue::cookie_for(
        &state.keys,
        &handed_off.session,
        handed_off.user_type,
        Transport::Https,
    )
    .map_err(internal)?;
    tracing::info!(
        tenant = %domain.tenant,
        domain = %host,
        user = %handed_off.session.user_id,
        "handoff completed"
    );
    let next = NextPath::or_landing(Some(&handed_off.next_path), PortalArea::ClientPortal);
    Ok(Exchanged {
        set_cookie: cookie.to_string(),
        clear_nonce: clear_nonce_cookie().to_string(),
        redirect_to: next.to_string(),
    })
}

/// The custom domain an exchange is for, and the status its checks passed
/// on (the exchange's write requires it still).
struct ExchangeDomain {
    id: PortalDomainId,
    tenant: TenantId,
    status: DomainStatus,
    /// Known from the host cache, not read just now.
    cached: bool,
}

/// An active domain as the host cache knows it (the route every proxied
/// request of the host takes): no query. Anything else is read fresh and
/// checked ([`fresh_domain`]).
async fn exchange_domain(state: &EdgeState, host: &HostName) -> Result<ExchangeDomain, ExchangeError> {
    if let Ok(Some(Route {
        tenant,
        kind: HostKind::Custom,
        domain: Some(id),
    })) = state.hosts.route(host).await
    {
        return Ok(ExchangeDomain {
            id,
            tenant,
            status: DomainStatus::Active,
            cached: true,
        });
    }
    fresh_domain(state, host).await
}

/// The registered domain of `host` as stored now: 404 when there is none;
/// active; or, with `PORTAL_DOMAIN_DNS_CHECK` on and neither active nor
/// disabled, pending with its CNAME reaching the tenant's canonical host;
/// else 403 `domain_inactive` / 409 `dns_mismatch`.
async fn fresh_domain(state: &EdgeState, host: &HostName) -> Result<ExchangeDomain, ExchangeError> {
    let domain = portal_domains::find_by_name(&state.db, host)
        .await
        .map_err(internal)?
        .ok_or(ExchangeError::DomainNotFound)?;
    match domain.status {
        DomainStatus::Active => {}
        DomainStatus::Disabled => return Err(ExchangeError::DomainInactive),
        _ if !state.config.portal_domain.dns_check => return Err(ExchangeError::DomainInactive),
        _ => {
            let check = state
                .dns
                .check(domain.domain.as_str(), &domain.expected_cname)
                .await;
            match check {
                Ok(check) if check.aligned => {}
                Ok(check) => {
                    tracing::info!(domain = %domain.domain, observed = ?check.observed, "handoff refused: CNAME not aligned");
                    return Err(ExchangeError::DnsMismatch);
                }
                Err(e) => {
                    tracing::warn!(domain = %domain.domain, error = %e, "handoff refused: DNS check failed");
                    return Err(ExchangeError::DnsMismatch);
                }
            }
        }
    }
    Ok(ExchangeDomain {
        id: domain.id,
        tenant: domain.tenant_id,
        status: domain.status,
        cached: false,
    })
}

/// The tenant's canonical sign-in page, for the handoff page's "sign in
/// again" link.
pub fn canonical_signin_url(config: &Config, canonical_host: &HostName) -> String {
    format!(
        "{}{}",
        Config::https_origin(canonical_host, config.public_https_port),
        porta_core::paths::CLIENT_SIGNIN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_code() {
        let table = [
            (ExchangeError::RateLimited, 429, "rate_limited"),
            (ExchangeError::JsonRequired, 403, "json_required"),
            (ExchangeError::OriginMismatch, 403, "origin_mismatch"),
            (ExchangeError::OttRequired, 400, "ott_required"),
            (ExchangeError::HostMissing, 400, "host_missing"),
            (ExchangeError::DomainNotFound, 404, "domain_not_found"),
            (ExchangeError::DomainInactive, 403, "domain_inactive"),
            (ExchangeError::DnsMismatch, 409, "dns_mismatch"),
            (ExchangeError::InvalidOrExpired, 400, "invalid_or_expired"),
            (ExchangeError::Unavailable, 503, "unavailable"),
            (ExchangeError::Internal, 500, "error"),
        ];
        for (error, status, code) in table {
            assert_eq!((error.status(), error.code()), (status, code));
        }
    }
}
