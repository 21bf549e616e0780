//! Where links in mail lead: a client user's tenant's custom domain when it
//! is active, else the canonical host (staff always the canonical host).

use porta_core::config::Config;
use porta_core::db::tenants::Tenant;
use porta_core::host::HostName;
use porta_core::user_type::UserType;

use crate::error::AppError;
use crate::state::AppState;

/// `https://portal.acme-it.com` (or the canonical origin) for a link to
/// `user_type` of `tenant`.
pub async fn origin(state: &AppState, tenant: &Tenant, user_type: UserType) -> Result<String, AppError> {
    if user_type == UserType::Client {
        if let Some(domain) = state.hosts.custom_domain(tenant.id).await? {
            return Ok(Config::https_origin(&domain.name, state.config.public_https_port));
        }
    }
    let canonical = HostName::tenant_host(&tenant.slug, &state.config.canonical_base);
    Ok(state.config.public_origin(&canonical))
}
