//! Fixtures shared by the storage tests: tenants, client users, domains,
//! canonical sessions and one-time tokens on either backend.
#![allow(dead_code)] // each test binary uses some of them

use porta_core::clock::UnixMillis;
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::{clients, otts, sessions, tenants, users, Db};
use porta_core::domain_status::DomainStatus;
use porta_core::email::EmailAddress;
use porta_core::host::HostName;
use porta_core::ids::{PortalDomainId, TenantId, UserId};
use porta_core::issuer::Issuer;
use porta_core::next_path::NextPath;
use porta_core::ott::{BindingHash, HandoffNonce, OttToken, SessionSnapshot};
use porta_core::slug::TenantSlug;
use porta_core::user_type::UserType;

pub fn slug(s: &str) -> TenantSlug {
    TenantSlug::parse(s).unwrap()
}

pub fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

pub async fn client_user(db: &Db, tenant: TenantId, company: &str, address: &str) -> UserId {
    let client = match clients::find_by_name(db, tenant, company).await.unwrap() {
        Some(c) => c,
        None => clients::create(db, tenant, company).await.unwrap(),
    };
    users::create(
        db,
        &users::NewUser {
            tenant,
            user_type: UserType::Client,
            email: email(address),
            display_name: "Jane Doe".into(),
            client: Some(client.id),
            password_hash: "$argon2id$fake".into(),
        },
    )
    .await
    .unwrap()
}

pub async fn domain(
    db: &Db,
    tenant: TenantId,
    name: &str,
    status: DomainStatus,
) -> portal_domains::PortalDomain {
    portal_domains::create(
        db,
        &NewPortalDomain {
            tenant,
            domain: &HostName::parse(name).unwrap(),
            status,
            status_message: "",
            expected_cname: &HostName::parse("acme.portal.localhost").unwrap(),
            issuer: Issuer::Internal,
            trust_dns: false,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap()
}

pub fn snapshot() -> SessionSnapshot {
    SessionSnapshot {
        user_type: UserType::Client,
        email: "jane@globex.example".into(),
        display_name: "Jane".into(),
        client_id: None,
        roles: vec!["User".into()],
        canonical_session_id: None,
    }
}

/// What one-time-token tests need: a tenant's client user with a live
/// canonical session, an active domain, and the derivation key.
pub struct OttFixture {
    pub tenant: TenantId,
    pub user: UserId,
    pub session: sessions::Session,
    pub domain: PortalDomainId,
    pub key: porta_core::session_token::DerivedKeys,
}

pub async fn ott_fixture(db: &Db, slug_text: &str, domain_name: &str) -> OttFixture {
    let tenant = tenants::create(db, &slug(slug_text), "MSP").await.unwrap();
    let user = client_user(db, tenant.id, "Globex", &format!("jane@{slug_text}.example")).await;
    let session = canonical_session(db, tenant.id, user).await;
    let d = domain(db, tenant.id, domain_name, DomainStatus::Active).await;
    let keys = porta_core::session_token::SessionKeys::new(vec![porta_core::session_token::SessionKey::new(
        "k1",
        porta_core::secret::Secret::new("s".repeat(32)),
    )
    .unwrap()])
    .unwrap();
    OttFixture {
        tenant: tenant.id,
        user,
        session,
        domain: d.id,
        key: keys.derive("ott"),
    }
}

pub async fn canonical_session(db: &Db, tenant: TenantId, user: UserId) -> sessions::Session {
    let now = UnixMillis::now();
    sessions::create(
        db,
        &sessions::NewSession {
            tenant,
            user,
            host: "acme.portal.localhost",
            expires_at: now.plus_seconds(86_400),
            ip: None,
            user_agent: None,
            login_method: "password",
            parent: None,
        },
        now,
    )
    .await
    .unwrap()
}

/// Issues a token for `binding` (and `next`), valid `expires_in` seconds.
pub async fn issue_bound(
    db: &Db,
    f: &OttFixture,
    binding: &BindingHash,
    next: &str,
    expires_in: i64,
    now: UnixMillis,
) -> OttToken {
    issue_with(db, f, binding, &snapshot(), next, expires_in, now).await
}

/// [`issue_bound`] with the session snapshot given.
pub async fn issue_with(
    db: &Db,
    f: &OttFixture,
    binding: &BindingHash,
    snap: &SessionSnapshot,
    next: &str,
    expires_in: i64,
    now: UnixMillis,
) -> OttToken {
    let next = NextPath::parse(next, porta_core::next_path::PortalArea::ClientPortal).unwrap();
    otts::issue(
        db,
        f.key.signing().1,
        &otts::NewOtt {
            tenant: f.tenant,
            user: f.user,
            domain: f.domain,
            session: f.session.id,
            binding,
            snapshot: snap,
            next: &next,
            expires_at: now.plus_seconds(expires_in),
        },
        now,
    )
    .await
    .unwrap()
}

/// A token for a browser of its own; returns the token and that browser's binding.
pub async fn issue_ott(db: &Db, f: &OttFixture, expires_in: i64, now: UnixMillis) -> (OttToken, BindingHash) {
    let binding = HandoffNonce::generate().binding();
    (
        issue_bound(db, f, &binding, "/client-portal/tickets", expires_in, now).await,
        binding,
    )
}

pub async fn ott_rows(db: &Db) -> i64 {
    porta_core::on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM portal_domain_otts"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}
