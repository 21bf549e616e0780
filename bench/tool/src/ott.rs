//! The handoff benchmark: one-time tokens issued in bulk beforehand (a
//! tenant, a staff user, an active custom domain with its certificate, and
//! per token a canonical session and a browser nonce, written straight to
//! the store), then exchanged, each once, by `POST
//! /api/client-portal/domain-session` as the handoff page does: each on a
//! new TLS connection, or with `--keepalive` one after another on
//! kept-alive connections, as a browser sends it on the connection that
//! loaded the handoff page.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use porta_certs::master_key::MasterKey;
use porta_certs::store::{self, NewCertificate};
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::otts::{self, NewOtt};
use porta_core::db::portal_domains::{self, NewPortalDomain};
use porta_core::db::sessions::{self, NewSession};
use porta_core::db::{tenants, users};
use porta_core::domain_status::DomainStatus;
use porta_core::email::EmailAddress;
use porta_core::host::HostName;
use porta_core::issuer::{CertificateSource, Issuer};
use porta_core::key_file;
use porta_core::next_path::{NextPath, PortalArea};
use porta_core::ott::{HandoffNonce, SessionSnapshot, NONCE_COOKIE};
use porta_core::slug::TenantSlug;
use porta_core::user_type::UserType;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};

use crate::load::{self, percentile};

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// The edge's configuration (database, master key, session keys).
    #[arg(long)]
    config: PathBuf,
    /// The custom domain (a tenant `handoff` is created for it).
    #[arg(long)]
    domain: String,
    #[arg(long)]
    count: usize,
    /// Where the tokens go: `token nonce` a line.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ExchangeArgs {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long)]
    domain: String,
    /// The seeded tokens; each line is used once.
    #[arg(long)]
    tokens: PathBuf,
    /// Skip this many lines (used by earlier rounds).
    #[arg(long, default_value_t = 0)]
    skip: usize,
    #[arg(long, default_value_t = 32)]
    conns: usize,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Exchange on kept-alive connections, as a browser does after loading
    /// the handoff page, instead of a new TLS connection per exchange.
    #[arg(long)]
    keepalive: bool,
}

pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let config = Config::load(Some(&args.config), &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = crate::seed::open(&config).await?;
    let master = MasterKey::from_config(&config)?;
    let keys = key_file::session_keys(&config)?;
    let ott_key = keys.derive("ott");
    let domain = HostName::parse(&args.domain).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let started = Instant::now();

    let tenant = tenants::create(
        &db,
        &TenantSlug::parse("handoff").map_err(|e| anyhow::anyhow!("{e:?}"))?,
        "Handoff",
    )
    .await?;
    let canonical = HostName::parse(&format!("handoff.{}", config.canonical_base))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let email = EmailAddress::parse("staff@handoff.example").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let user = users::create(
        &db,
        &users::NewUser {
            tenant: tenant.id,
            user_type: UserType::Internal,
            email: email.clone(),
            display_name: "Staff".to_owned(),
            client: None,
            // Never signed in with: the tokens are issued directly.
            password_hash: "!".to_owned(),
        },
    )
    .await?;
    let now = UnixMillis::now();
    let registered = portal_domains::create(
        &db,
        &NewPortalDomain {
            tenant: tenant.id,
            domain: &domain,
            status: DomainStatus::Active,
            status_message: "benchmark",
            expected_cname: &canonical,
            issuer: Issuer::Internal,
            trust_dns: true,
        },
        now,
    )
    .await?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let chain = CertificateParams::new(vec![domain.to_string()])?
        .self_signed(&key)?
        .pem();
    store::insert(
        &db,
        &master,
        &NewCertificate {
            tenant: Some(tenant.id),
            domain: domain.as_str(),
            issuer: CertificateSource::Imported,
            chain_pem: &chain,
            key_pem: &key.serialize_pem(),
        },
        now,
    )
    .await?;

    // Eight writers on PostgreSQL, whose round trips bound this; one on
    // SQLite, which takes one writer at a time anyway (eight failed with
    // "database is locked" here).
    let workers = match db {
        porta_core::db::Db::Sqlite(_) => 1,
        porta_core::db::Db::Postgres(_) => 8,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let count = args.count / workers + usize::from(w < args.count % workers);
        let (db, key, email, canonical) = (
            db.clone(),
            ott_key.signing().1.clone(),
            email.clone(),
            canonical.clone(),
        );
        let (tenant, domain) = (tenant.id, registered.id);
        tasks.spawn(async move {
            let next = NextPath::or_landing(None, PortalArea::Msp);
            let mut lines = Vec::with_capacity(count);
            for _ in 0..count {
                let session = sessions::create(
                    &db,
                    &NewSession {
                        tenant,
                        user,
                        host: canonical.as_str(),
                        expires_at: now.plus_seconds(86_400),
                        ip: None,
                        user_agent: None,
                        login_method: "password",
                        parent: None,
                    },
                    now,
                )
                .await?;
                let nonce = HandoffNonce::generate();
                let snapshot = SessionSnapshot {
                    user_type: UserType::Internal,
                    email: email.to_string(),
                    display_name: "Staff".to_owned(),
                    client_id: None,
                    roles: vec![],
                    canonical_session_id: Some(session.id),
                };
                let token = otts::issue(
                    &db,
                    &key,
                    &NewOtt {
                        tenant,
                        user,
                        domain,
                        session: session.id,
                        binding: &nonce.binding(),
                        snapshot: &snapshot,
                        next: &next,
                        expires_at: now.plus_seconds(86_400),
                    },
                    now,
                )
                .await?;
                lines.push(format!("{} {}", token.expose(), nonce.expose()));
            }
            anyhow::Ok(lines)
        });
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.out)?);
    while let Some(lines) = tasks.join_next().await {
        for line in lines?? {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    println!(
        "{}",
        serde_json::json!({ "tokens": args.count, "seconds": started.elapsed().as_secs_f64() })
    );
    Ok(())
}

pub async fn exchange(args: ExchangeArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.tokens)?;
    let tokens: Arc<Vec<(String, String)>> = Arc::new(
        text.lines()
            .skip(args.skip)
            .filter_map(|l| l.split_once(' '))
            .map(|(t, n)| (t.to_owned(), n.to_owned()))
            .collect(),
    );
    let origin = format!("https://{}:{}", args.domain, args.addr.port());
    let connector = load::connector();
    let cursor = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.conns {
        let (tokens, connector, cursor) = (tokens.clone(), connector.clone(), cursor.clone());
        let (domain, origin, addr, keepalive) =
            (args.domain.clone(), origin.clone(), args.addr, args.keepalive);
        tasks.push(tokio::spawn(async move {
            let mut tally = (0u64, 0u64, Vec::new());
            let mut kept: Option<load::KeptAlive> = None;
            while Instant::now() < deadline {
                let Some((token, nonce)) = tokens.get(cursor.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let body = format!(r#"{{"ott":"{token}"}}"#);
                let request = format!(
                    "POST /api/client-portal/domain-session HTTP/1.1\r\nHost: {domain}:{port}\r\n\
                     Origin: {origin}\r\nContent-Type: application/json\r\nCookie: {NONCE_COOKIE}={nonce}\r\n\
                     Content-Length: {}\r\n{close}\r\n{body}",
                    body.len(),
                    port = addr.port(),
                    close = if keepalive { "" } else { "Connection: close\r\n" },
                );
                let t = Instant::now();
                let status = if keepalive {
                    exchange_kept_alive(&mut kept, &connector, addr, &domain, request.as_bytes()).await
                } else {
                    load::exchange_once(&connector, addr, &domain, request.as_bytes()).await
                };
                match status {
                    Ok(200) => {
                        tally.0 += 1;
                        tally
                            .2
                            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    _ => tally.1 += 1,
                }
            }
            tally
        }));
    }
    let (mut ok, mut errors, mut micros) = (0u64, 0u64, Vec::new());
    for task in tasks {
        let (o, e, m) = task.await.context("exchange task")?;
        ok += o;
        errors += e;
        micros.extend(m);
    }
    let seconds = started.elapsed().as_secs_f64();
    micros.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "requests": ok,
            "errors": errors,
            "used": ok + errors,
            "seconds": seconds,
            "rps": ok as f64 / seconds,
            "p50_ms": percentile(&micros, 0.5),
            "p99_ms": percentile(&micros, 0.99),
        })
    );
    Ok(())
}

/// One exchange on the kept-alive connection `kept` (opened first when
/// there is none, dropped when the edge closes it or it fails).
async fn exchange_kept_alive(
    kept: &mut Option<load::KeptAlive>,
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    domain: &str,
    request: &[u8],
) -> anyhow::Result<u16> {
    let mut connection = match kept.take() {
        Some(c) => c,
        None => load::KeptAlive::connect(connector, addr, domain).await?,
    };
    let (status, keep) = connection.send(request).await?;
    if keep {
        *kept = Some(connection);
    }
    Ok(status)
}
