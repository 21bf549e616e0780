//! The portal benchmark's data: N tickets for a client company of a tenant
//! (created beforehand with the `porta` CLI), written through
//! `porta_core::db::tickets::create`, and a signed-in session for the
//! company's user, printed as a `Cookie` header value.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use porta_core::clock::UnixMillis;
use porta_core::config::Config;
use porta_core::db::tickets::{self, NewTicket};
use porta_core::db::{catalog, clients, tenants, users};
use porta_core::host::HostName;
use porta_core::key_file;
use porta_core::session_cookie::Transport;
use porta_core::session_issue::{self, SessionRequest};
use porta_core::slug::TenantSlug;
use porta_core::ticket::{ResponseState, TicketOrigin};

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// The portal's configuration.
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    tenant: String,
    /// The client company, by name.
    #[arg(long)]
    client: String,
    /// The company's user the tickets are entered by, and signed in.
    #[arg(long)]
    email: String,
    #[arg(long)]
    count: usize,
}

pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let config = Config::load(Some(&args.config), &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = crate::seed::open(&config).await?;
    let keys = key_file::session_keys(&config)?;
    let slug = TenantSlug::parse(&args.tenant).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let tenant = tenants::find_by_slug(&db, &slug)
        .await?
        .context("no such tenant")?;
    let client = clients::find_by_name(&db, tenant.id, &args.client)
        .await?
        .context("no such client company")?;
    let user = users::list(&db, tenant.id)
        .await?
        .into_iter()
        .find(|u| u.email.to_string() == args.email)
        .context("no such user")?;
    let catalog = catalog::load(&db, tenant.id).await?;
    let board = catalog.default_board().context("the tenant's default board")?.id;
    let status = catalog.default_status(board).context("default status")?.id;
    let started = Instant::now();
    let now = UnixMillis::now();
    for i in 0..args.count {
        let title = format!("Benchmark ticket {i}: the printer on floor {} jams", i % 7);
        tickets::create(
            &db,
            &NewTicket {
                tenant: tenant.id,
                client: client.id,
                board,
                status,
                priority: catalog.priorities[i % catalog.priorities.len()].id,
                category: None,
                subcategory: None,
                title: &title,
                description: "It jams on every second page since the toner was replaced.",
                entered_by: user.id,
                assigned_to: None,
                origin: TicketOrigin::ClientPortal,
                response_state: Some(ResponseState::AwaitingInternal),
                due_at: None,
            },
            // Spread over the last weeks, newest last.
            now.plus_seconds(i as i64 - args.count as i64),
        )
        .await?;
    }
    let host = HostName::parse(&format!("{}.{}", tenant.slug, config.canonical_base))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let issued = session_issue::issue(
        &db,
        &keys,
        &SessionRequest {
            tenant: tenant.id,
            user: user.id,
            user_type: user.user_type,
            host: &host,
            transport: Transport::PlainHttp,
            ttl_seconds: 86_400,
            ip: None,
            user_agent: None,
            login_method: "password",
            parent: None,
        },
    )
    .await?;
    println!(
        "{}",
        serde_json::json!({
            "tickets": args.count,
            "seconds": started.elapsed().as_secs_f64(),
            "host": host.to_string(),
            "cookie": format!("{}={}", issued.cookie.name(), issued.cookie.value()),
        })
    );
    Ok(())
}
