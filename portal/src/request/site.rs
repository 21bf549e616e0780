//! Which tenant a request is for, and how the browser reached us.
//!
//! Through the edge, the signed request context ([`HEADER`]) says it all:
//! host, tenant, custom domain, client address, HTTPS. Without a context
//! that verifies (a portal reached directly, in development or tests), the
//! host comes from `Host` (or the HTTP/2 authority), or from
//! `X-Forwarded-Host` when the peer is a trusted proxy, and is looked up
//! through the cache. A forged or stale context is ignored: it can never
//! make a request count for another tenant than its host's.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::tenants::Tenant;
use porta_core::host::HostName;
use porta_core::ids::PortalDomainId;
use porta_core::request_context::{HostKind, Route, HEADER};
use porta_core::session_cookie::Transport;

use crate::error::AppError;
use crate::state::AppState;

/// The tenant and connection facts of one request.
#[derive(Debug, Clone)]
pub struct Site {
    pub tenant: Arc<Tenant>,
    /// The tenant's branding.
    pub brand: Arc<porta_core::db::branding::Branding>,
    pub host: HostName,
    pub kind: HostKind,
    /// The custom domain, when the request came in on one.
    pub domain: Option<PortalDomainId>,
    pub transport: Transport,
    pub client_ip: IpAddr,
    pub user_agent: Option<String>,
    /// The language this browser picked with the sign-in page's switcher.
    pub switcher_language: Option<porta_core::locale::Locale>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The last (nearest) address in `X-Forwarded-For`: the one the trusted
/// proxy itself appended.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    header(headers, "x-forwarded-for")?
        .rsplit(',')
        .next()
        .and_then(|ip| ip.trim().parse().ok())
}

/// What the request's own headers say, for a request without a context.
struct Claimed {
    host: HostName,
    transport: Transport,
    client_ip: IpAddr,
}

fn claimed(config: &Config, parts: &Parts, peer: IpAddr) -> Result<Claimed, AppError> {
    let trusted = config
        .portal
        .trusted_proxies
        .iter()
        .any(|net| net.contains(&peer));
    let headers = &parts.headers;
    let raw_host = trusted
        .then(|| header(headers, "x-forwarded-host"))
        .flatten()
        .or_else(|| header(headers, "host"))
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .ok_or(AppError::UnknownHost)?;
    let host = HostName::from_host_header(raw_host).map_err(|_| AppError::UnknownHost)?;
    let transport = match trusted.then(|| header(headers, "x-forwarded-proto")).flatten() {
        Some(proto) if proto.eq_ignore_ascii_case("https") => Transport::Https,
        Some(proto) if proto.eq_ignore_ascii_case("http") => Transport::PlainHttp,
        _ => config.portal.public_transport,
    };
    let client_ip = if trusted {
        forwarded_for(headers).unwrap_or(peer)
    } else {
        peer
    };
    Ok(Claimed {
        host,
        transport,
        client_ip,
    })
}

/// Resolves the [`Site`] of a request (see the module docs).
pub async fn resolve(state: &AppState, parts: &Parts) -> Result<Site, AppError> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let verified = header(&parts.headers, HEADER).and_then(|value| {
        state
            .context
            .verify(value, UnixMillis::now())
            .inspect_err(|e| tracing::warn!(reason = %e, "request context refused; looking the host up"))
            .ok()
    });
    let (host, route, transport, client_ip) = match verified {
        Some(ctx) => (ctx.host, Some(ctx.route), Transport::Https, ctx.client_ip),
        None => {
            let c = claimed(&state.config, parts, peer)?;
            let route = state.hosts.route(&c.host).await?;
            (c.host, route, c.transport, c.client_ip)
        }
    };
    let Route { tenant, kind, domain } = route.ok_or(AppError::UnknownHost)?;
    let tenant = state.hosts.tenant(tenant).await?;
    let brand = state.branding.get(tenant.id).await?;
    Ok(Site {
        tenant,
        brand,
        host,
        kind,
        domain,
        transport,
        client_ip,
        user_agent: header(&parts.headers, "user-agent").map(|ua| ua.chars().take(512).collect()),
        switcher_language: crate::i18n::negotiate::switcher_choice(&parts.headers),
    })
}

impl Site {
    pub fn is_custom_domain(&self) -> bool {
        self.kind == HostKind::Custom
    }

    /// The tenant's canonical host.
    pub fn canonical_host(&self, config: &Config) -> HostName {
        HostName::tenant_host(&self.tenant.slug, &config.canonical_base)
    }

    /// `https://<canonical host>[:port]` (or http in plain-HTTP development).
    pub fn canonical_origin(&self, config: &Config) -> String {
        config.public_origin(&self.canonical_host(config))
    }

    /// This host's origin as the browser sees it: scheme, host and port.
    pub fn origin(&self, config: &Config) -> String {
        config.origin(&self.host, self.transport)
    }
}
