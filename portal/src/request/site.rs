//! Which tenant a request is for, and how the browser reached us.
//!
//! The host comes from `Host` (or the HTTP/2 authority), or from
//! `X-Forwarded-Host` when the peer is a trusted proxy (the edge); so do the
//! scheme and the client address. The host must be a tenant's canonical
//! host `<slug>.<canonical_base>` or an `active` custom domain; anything
//! else is an unknown host.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use porta_core::config::Config;
use porta_core::db::portal_domains;
use porta_core::db::tenants::{self, Tenant};
use porta_core::domain_status::DomainStatus;
use porta_core::host::HostName;
use porta_core::session_cookie::Transport;

use crate::error::AppError;
use crate::state::AppState;

/// Which of a tenant's hosts a request came in on.
#[derive(Debug, Clone)]
pub enum HostKind {
    /// `<slug>.<canonical_base>`: where sign-in happens.
    Canonical,
    /// An active custom domain of the tenant.
    CustomDomain,
}

/// The tenant and connection facts of one request.
#[derive(Debug, Clone)]
pub struct Site {
    pub tenant: Tenant,
    pub host: HostName,
    pub kind: HostKind,
    pub transport: Transport,
    pub client_ip: IpAddr,
    pub user_agent: Option<String>,
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

impl FromRequestParts<AppState> for Site {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // Already resolved by the guard in front of this handler.
        if let Some(site) = parts.extensions.get::<Site>() {
            return Ok(site.clone());
        }
        let config = &state.config;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
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

        let (tenant, kind) = match host.tenant_slug_under(&config.canonical_base) {
            Some(slug) => {
                let tenant = tenants::find_by_slug(&state.db, &slug).await?;
                (tenant.ok_or(AppError::UnknownHost)?, HostKind::Canonical)
            }
            None => {
                let domain = portal_domains::find_by_name(&state.db, &host)
                    .await?
                    .filter(|d| d.status == DomainStatus::Active)
                    .ok_or(AppError::UnknownHost)?;
                let tenant = tenants::get(&state.db, domain.tenant_id).await?;
                (tenant, HostKind::CustomDomain)
            }
        };
        Ok(Site {
            tenant,
            host,
            kind,
            transport,
            client_ip,
            user_agent: header(headers, "user-agent").map(|ua| ua.chars().take(512).collect()),
        })
    }
}

impl Site {
    pub fn is_custom_domain(&self) -> bool {
        matches!(self.kind, HostKind::CustomDomain)
    }

    /// The tenant's canonical host.
    pub fn canonical_host(&self, config: &Config) -> HostName {
        HostName::tenant_host(&self.tenant.slug, &config.canonical_base)
    }

    /// `https://<canonical host>[:port]` (or http in plain-HTTP development).
    pub fn canonical_origin(&self, config: &Config) -> String {
        config.public_origin(&self.canonical_host(config))
    }
}
