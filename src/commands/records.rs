//! `porta ticket list` and `porta audit list`: a tenant's records for
//! operators and scripts.

use anyhow::anyhow;
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditFilter};
use porta_core::db::tickets::{self, Page, Reach, StateFilter, TicketFilter};
use porta_core::db::{clients, users, Db};
use porta_core::email::EmailAddress;
use porta_core::user_type::UserType;
use serde_json::json;

use super::admin::tenant_by_slug;
use crate::cli::{AuditCommand, TicketCommand, TicketStateArg};

fn iso(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

pub async fn ticket(db: &Db, cmd: TicketCommand) -> anyhow::Result<()> {
    let TicketCommand::List {
        tenant,
        client,
        state,
        limit,
        json,
    } = cmd;
    let tenant = tenant_by_slug(db, &tenant).await?;
    let client = match client {
        Some(name) => Some(
            clients::find_by_name(db, tenant.id, &name)
                .await?
                .ok_or_else(|| anyhow!("tenant {} has no client named {name:?}", tenant.slug))?
                .id,
        ),
        None => None,
    };
    let filter = TicketFilter {
        state: match state {
            TicketStateArg::Open => StateFilter::Open,
            TicketStateArg::Closed => StateFilter::Closed,
            TicketStateArg::All => StateFilter::All,
        },
        client,
        ..TicketFilter::default()
    };
    let (rows, total) = tickets::list(
        db,
        Reach::Staff { tenant: tenant.id },
        &filter,
        Page {
            number: 1,
            size: limit,
        },
    )
    .await?;
    if json {
        let rows: Vec<_> = rows
            .iter()
            .map(|t| {
                json!({
                    "number": format!("{}-{}", t.prefix, t.number),
                    "title": t.title,
                    "client": t.client_name,
                    "status": t.status_name,
                    "closed": t.status_closed,
                    "priority": t.priority_name,
                    "assignee": t.assignee_name,
                    "entered_at": iso(t.entered_at),
                    "updated_at": iso(t.updated_at),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:<10} {:<14} {:<10} {:<22} TITLE",
            "NUMBER", "STATUS", "PRIORITY", "CLIENT"
        );
        for t in &rows {
            let number = format!("{}-{}", t.prefix, t.number);
            println!(
                "{number:<10} {:<14} {:<10} {:<22} {}",
                t.status_name, t.priority_name, t.client_name, t.title
            );
        }
        println!("{} of {total} shown", rows.len());
    }
    Ok(())
}

pub async fn audit(db: &Db, cmd: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List {
        tenant,
        user,
        kind,
        hours,
        limit,
        json,
    } = cmd;
    let tenant = tenant_by_slug(db, &tenant).await?;
    let actor = match user {
        Some(raw) => {
            let email = EmailAddress::parse(&raw).map_err(|e| anyhow!("--user {raw:?}: {e}"))?;
            let mut found = None;
            for user_type in [UserType::Internal, UserType::Client] {
                if let Some(c) = users::find_credentials(db, tenant.id, &email, user_type).await? {
                    found = Some(c.id);
                    break;
                }
            }
            Some(found.ok_or_else(|| anyhow!("tenant {} has no user {email}", tenant.slug))?)
        }
        None => None,
    };
    let filter = AuditFilter {
        actor,
        kind,
        from: hours.map(|h| UnixMillis(UnixMillis::now().0 - i64::from(h) * 3_600_000)),
        until: None,
    };
    let rows = audit::search(db, tenant.id, &filter, i64::from(limit), 0).await?;
    if json {
        let rows: Vec<_> = rows
            .iter()
            .map(|e| {
                json!({
                    "time": iso(e.created_at),
                    "actor": e.actor_email,
                    "action": e.action,
                    "outcome": e.outcome,
                    "subject": e.subject,
                    "ip": e.ip,
                    "detail": e.detail.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:<20} {:<28} {:<12} {:<30} ACTOR",
            "TIME (UTC)", "ACTION", "OUTCOME", "SUBJECT"
        );
        for e in &rows {
            println!(
                "{:<20} {:<28} {:<12} {:<30} {}",
                iso(e.created_at),
                e.action,
                e.outcome,
                e.subject.as_deref().unwrap_or("-"),
                e.actor_email.as_deref().unwrap_or("-"),
            );
        }
    }
    Ok(())
}
