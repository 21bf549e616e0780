//! Host -> route: which tenant a request's host belongs to. A host is a
//! tenant's canonical host `<slug>.<canonical_base>` or an `active` custom
//! domain (the registration that holds the name: others that have it
//! pending lead nowhere); anything else leads nowhere. The edge and the portal both cache
//! the answer (see [`crate::host_cache`]).

use sqlx::FromRow;

use super::{Db, DbError};
use crate::host::HostName;
use crate::ids::{PortalDomainId, TenantId};
use crate::on_pool;
use crate::request_context::{HostKind, Route};

#[derive(FromRow)]
struct DomainRoute {
    id: PortalDomainId,
    tenant_id: TenantId,
}

/// The route for `host`, or `None` for a host no tenant serves. One query.
pub async fn resolve(db: &Db, canonical_base: &HostName, host: &HostName) -> Result<Option<Route>, DbError> {
    if let Some(slug) = host.tenant_slug_under(canonical_base) {
        let sql = "SELECT id FROM tenants WHERE slug = $1";
        let tenant: Option<TenantId> = on_pool!(db, |pool| sqlx::query_scalar(sql)
            .bind(&slug)
            .fetch_optional(pool)
            .await)?;
        return Ok(tenant.map(|tenant| Route {
            tenant,
            kind: HostKind::Canonical,
            domain: None,
        }));
    }
    // Of the registrations of a name only the one that holds it (proved
    // control) can be active; the condition says so for the reader too.
    let sql = "SELECT id, tenant_id FROM portal_domains \
               WHERE domain = $1 AND status = 'active' AND verified_at IS NOT NULL";
    let domain: Option<DomainRoute> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(host)
        .fetch_optional(pool)
        .await)?;
    Ok(domain.map(|d| Route {
        tenant: d.tenant_id,
        kind: HostKind::Custom,
        domain: Some(d.id),
    }))
}
