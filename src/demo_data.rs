//! The support history of the demo tenant: a second board, categories,
//! about thirty tickets of both client companies in every state, with
//! public replies, internal notes, attachments and the notifications they
//! caused. The same every time (titles, numbers, order, who said what);
//! only the times follow the moment `porta up` seeded it.

use std::collections::HashMap;

use anyhow::Context;
use porta_core::clock::UnixMillis;
use porta_core::db::catalog::{self, Catalog};
use porta_core::db::comments;
use porta_core::db::documents::{self, NewDocument};
use porta_core::db::notifications;
use porta_core::db::tickets::{self, NewTicket};
use porta_core::db::{clients, Db};
use porta_core::ids::{CategoryId, ClientId, DocumentId, TenantId, UserId};
use porta_core::ticket::{NotificationKind, ResponseState, TicketOrigin};
use porta_portal::attachments::documents::Owner as DocumentOwner;
use porta_portal::attachments::{upload, AttachmentStore};

/// Who is who, by a short key.
pub struct Cast {
    pub people: HashMap<&'static str, UserId>,
    pub companies: HashMap<&'static str, ClientId>,
}

impl Cast {
    pub(crate) fn person(&self, key: &str) -> anyhow::Result<UserId> {
        self.people
            .get(key)
            .copied()
            .with_context(|| format!("demo person {key}"))
    }

    pub(crate) fn company(&self, key: &str) -> anyhow::Result<ClientId> {
        self.companies
            .get(key)
            .copied()
            .with_context(|| format!("demo company {key}"))
    }
}

/// A reply in a demo ticket: who, what, internal, hours after opening.
type Reply = (&'static str, &'static str, bool, i64);

struct DemoTicket {
    company: &'static str,
    by: &'static str,
    title: &'static str,
    description: &'static str,
    /// `support` or `changes`.
    board: &'static str,
    category: Option<&'static str>,
    /// 0 Low .. 3 Critical.
    priority: usize,
    status: &'static str,
    assignee: Option<&'static str>,
    /// How long ago it was opened.
    age_hours: i64,
    replies: &'static [Reply],
    /// A file attached when it was opened.
    attachment: Option<(&'static str, &'static [u8])>,
}

const SCREENSHOT: &[u8] = include_bytes!("demo_screenshot.png");
const LOG: &[u8] = b"2026-11-28 08:14:02 VPN client: connecting to vpn.globex.example\n2026-11-28 08:14:07 VPN client: TLS handshake timed out\n";
const CSV: &[u8] = b"name,email,start date\nRiya Patel,riya.patel@globex.example,2026-12-07\n";

#[rustfmt::skip]
const TICKETS: &[DemoTicket] = &[
    DemoTicket { company: "globex", by: "jane", title: "VPN disconnects every few minutes", description: "Since Monday the VPN drops every five to ten minutes for the whole sales team. The log of my laptop is attached.", board: "support", category: Some("Network/VPN"), priority: 2, status: "In progress", assignee: Some("tina"), age_hours: 50, replies: &[("tina", "Thanks Jane. We see the drops on our side too and are looking at the concentrator.", false, 2), ("tina", "Concentrator firmware 9.1 has a known keep-alive bug; upgrade planned tonight.", true, 3), ("jane", "Still dropping this morning, any news?", false, 26)], attachment: Some(("vpn-client.log", LOG)) },
    DemoTicket { company: "globex", by: "uma", title: "Printer on floor 2 prints blank pages", description: "The HP printer next to the kitchen prints only blank pages since the toner was replaced.", board: "support", category: Some("Hardware/Printer"), priority: 1, status: "Waiting on client", assignee: Some("tina"), age_hours: 30, replies: &[("tina", "Could you check that the protective tape was removed from the new toner cartridge? A photo would help.", false, 4)], attachment: None },
    DemoTicket { company: "globex", by: "frank", title: "Invoice emails go to spam", description: "Our customers tell us our invoice emails land in their spam folder.", board: "support", category: Some("Software/Email"), priority: 2, status: "New", assignee: None, age_hours: 5, replies: &[], attachment: None },
    DemoTicket { company: "globex", by: "jane", title: "New starter: Riya Patel on 7 December", description: "Please set up an account, a laptop and Office for Riya, who joins sales. Details in the attached sheet.", board: "support", category: Some("Accounts/New user"), priority: 1, status: "In progress", assignee: Some("alex"), age_hours: 72, replies: &[("alex", "Laptop ordered, arrives on the 4th. Account will be ready on the 6th.", false, 6), ("alex", "Asset tag 2217 reserved for Riya.", true, 7)], attachment: Some(("new-starter.csv", CSV)) },
    DemoTicket { company: "globex", by: "uma", title: "Password reset for the shared reception account", description: "Nobody remembers the password of reception@globex.example.", board: "support", category: Some("Accounts/Password reset"), priority: 1, status: "Resolved", assignee: Some("tina"), age_hours: 120, replies: &[("tina", "Reset done; the new password is in your password manager vault.", false, 1), ("uma", "Works, thank you!", false, 3)], attachment: None },
    DemoTicket { company: "globex", by: "jane", title: "Outlook crashes when opening calendar", description: "Outlook closes as soon as I click on the calendar. Screenshot attached.", board: "support", category: Some("Software/Office"), priority: 2, status: "Closed", assignee: Some("tina"), age_hours: 240, replies: &[("tina", "We repaired your Office installation remotely. Please try again.", false, 5), ("jane", "Fixed, thanks.", false, 20)], attachment: Some(("outlook-crash.png", SCREENSHOT)) },
    DemoTicket { company: "globex", by: "frank", title: "Accounting software licence renewal", description: "Our accounting licence expires at the end of the month. Can you renew it?", board: "changes", category: Some("Change request/Standard"), priority: 1, status: "Scheduled", assignee: Some("alex"), age_hours: 96, replies: &[("alex", "Renewal scheduled for the 28th, no downtime expected.", false, 8)], attachment: None },
    DemoTicket { company: "globex", by: "jane", title: "Wi-Fi slow in the meeting room", description: "Video calls freeze in the big meeting room.", board: "support", category: Some("Network/Wi-Fi"), priority: 1, status: "New", assignee: None, age_hours: 2, replies: &[], attachment: None },
    DemoTicket { company: "globex", by: "uma", title: "Laptop battery swelling", description: "The battery of my laptop makes the case bulge. Is it safe to use?", board: "support", category: Some("Hardware/Laptop"), priority: 3, status: "In progress", assignee: Some("tina"), age_hours: 20, replies: &[("tina", "Please stop using it and unplug it. We bring a replacement today.", false, 1), ("tina", "Replacement from stock, asset 2301.", true, 1)], attachment: None },
    DemoTicket { company: "globex", by: "jane", title: "Add the new warehouse to the network", description: "The new warehouse opens in January and needs network access and two printers.", board: "changes", category: Some("Change request/Standard"), priority: 1, status: "Requested", assignee: None, age_hours: 12, replies: &[], attachment: None },
    DemoTicket { company: "globex", by: "frank", title: "Excel macros blocked", description: "Since the last update our invoicing macros do not run.", board: "support", category: Some("Software/Office"), priority: 2, status: "Resolved", assignee: Some("alex"), age_hours: 160, replies: &[("alex", "We signed the macros with your company certificate; they run again.", false, 30)], attachment: None },
    DemoTicket { company: "globex", by: "uma", title: "Second monitor not detected", description: "My second screen stays black when I dock the laptop.", board: "support", category: Some("Hardware/Laptop"), priority: 0, status: "Closed", assignee: Some("tina"), age_hours: 400, replies: &[("tina", "A new dock is on your desk.", false, 24)], attachment: None },
    DemoTicket { company: "globex", by: "jane", title: "Shared drive almost full", description: "We got a warning that the S: drive is 95% full.", board: "support", category: Some("Hardware"), priority: 2, status: "Waiting on client", assignee: Some("alex"), age_hours: 40, replies: &[("alex", "The old project archive takes 40%. May we move it to cold storage?", false, 3)], attachment: None },
    DemoTicket { company: "globex", by: "frank", title: "Emergency: payment portal certificate expired", description: "Customers see a certificate warning on pay.globex.example.", board: "changes", category: Some("Change request/Emergency"), priority: 3, status: "Done", assignee: Some("alex"), age_hours: 300, replies: &[("alex", "New certificate installed, auto-renewal set up.", false, 1)], attachment: None },
    DemoTicket { company: "globex", by: "uma", title: "Request a headset", description: "Could I get a headset for calls?", board: "support", category: Some("Hardware"), priority: 0, status: "New", assignee: None, age_hours: 1, replies: &[], attachment: None },
    DemoTicket { company: "globex", by: "jane", title: "Teams phone numbers for sales", description: "Sales wants direct numbers in Teams.", board: "changes", category: Some("Change request/Standard"), priority: 1, status: "Rejected", assignee: Some("alex"), age_hours: 500, replies: &[("alex", "Not possible with your current licences; we sent an offer by email.", false, 48)], attachment: None },
    DemoTicket { company: "globex", by: "frank", title: "Scanner saves to the wrong folder", description: "Scans go to my colleague's folder instead of mine.", board: "support", category: Some("Hardware/Printer"), priority: 0, status: "In progress", assignee: Some("tina"), age_hours: 8, replies: &[("frank", "It happens with the scanner on floor 1 only.", false, 2)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "TPS report template missing", description: "The new TPS report cover sheet template disappeared from SharePoint.", board: "support", category: Some("Software/Office"), priority: 1, status: "In progress", assignee: Some("tina"), age_hours: 30, replies: &[("tina", "Restored from the recycle bin; please check.", false, 5)], attachment: None },
    DemoTicket { company: "initech", by: "milton", title: "Stapler ticket system access", description: "I cannot open the red stapler inventory system.", board: "support", category: Some("Accounts"), priority: 0, status: "Waiting on client", assignee: Some("alex"), age_hours: 200, replies: &[("alex", "Which account do you use to sign in?", false, 10)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "Server room too warm", description: "The server room thermometer shows 31°C.", board: "support", category: Some("Hardware"), priority: 3, status: "Resolved", assignee: Some("alex"), age_hours: 90, replies: &[("alex", "Air conditioning serviced; 21°C now.", false, 6)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "Migrate file server to the cloud", description: "Plan the move of the file server to SharePoint.", board: "changes", category: Some("Change request/Standard"), priority: 1, status: "Scheduled", assignee: Some("alex"), age_hours: 150, replies: &[("alex", "Migration window: the weekend of the 13th.", false, 24), ("alex", "Check the 2 TB archive share first.", true, 24)], attachment: None },
    DemoTicket { company: "initech", by: "milton", title: "Email signature wrong", description: "My email signature shows the old address.", board: "support", category: Some("Software/Email"), priority: 0, status: "Closed", assignee: Some("tina"), age_hours: 600, replies: &[("tina", "Updated centrally for everyone.", false, 4)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "VPN for the new contractor", description: "A contractor starts on Monday and needs VPN access only.", board: "support", category: Some("Network/VPN"), priority: 1, status: "New", assignee: None, age_hours: 3, replies: &[], attachment: None },
    DemoTicket { company: "initech", by: "milton", title: "Desk phone shows no dial tone", description: "My desk phone is silent.", board: "support", category: Some("Hardware"), priority: 1, status: "In progress", assignee: Some("tina"), age_hours: 26, replies: &[("milton", "I was told I could keep my phone.", false, 2)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "Laptop refresh for the dev team", description: "Six developer laptops are due for replacement.", board: "changes", category: Some("Change request/Standard"), priority: 1, status: "Requested", assignee: None, age_hours: 48, replies: &[], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "Backup job failed twice", description: "The nightly backup report shows two failures this week.", board: "support", category: Some("Software"), priority: 2, status: "Waiting on client", assignee: Some("alex"), age_hours: 60, replies: &[("alex", "The backup disk was unplugged on Tuesday. Can someone check the cable?", false, 5), ("alex", "Offsite copy is fine; no data at risk.", true, 5)], attachment: None },
    DemoTicket { company: "initech", by: "milton", title: "Mouse double-clicks", description: "My mouse clicks twice.", board: "support", category: Some("Hardware"), priority: 0, status: "Resolved", assignee: Some("tina"), age_hours: 110, replies: &[("tina", "New mouse delivered.", false, 20)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "Phishing email reported", description: "Several people got an email asking them to confirm their password.", board: "support", category: Some("Software/Email"), priority: 3, status: "Closed", assignee: Some("alex"), age_hours: 700, replies: &[("alex", "Blocked the sender and removed the message from all mailboxes.", false, 2)], attachment: None },
    DemoTicket { company: "initech", by: "peter", title: "Wi-Fi guest network password", description: "What is the guest Wi-Fi password this month?", board: "support", category: Some("Network/Wi-Fi"), priority: 0, status: "Resolved", assignee: Some("tina"), age_hours: 16, replies: &[("tina", "It is on the card at reception, changed monthly.", false, 1)], attachment: None },
    DemoTicket { company: "initech", by: "milton", title: "Move my desk to the basement", description: "I was asked to move to storage room B.", board: "changes", category: Some("Change request/Standard"), priority: 0, status: "Requested", assignee: None, age_hours: 6, replies: &[], attachment: None },
];

/// The demo's second board and its statuses, and both boards' categories.
async fn catalog_of(db: &Db, tenant: TenantId) -> anyhow::Result<(Catalog, HashMap<String, CategoryId>)> {
    let changes = catalog::create_board(
        db,
        tenant,
        "Projects & changes",
        "Planned work and change requests",
        2,
    )
    .await?;
    for (order, (name, closed, default)) in [
        ("Requested", false, true),
        ("Scheduled", false, false),
        ("In progress", false, false),
        ("Done", true, false),
        ("Rejected", true, false),
    ]
    .into_iter()
    .enumerate()
    {
        catalog::create_status(db, tenant, changes, name, closed, default, order as i32 + 1).await?;
    }
    let support = catalog::load(db, tenant)
        .await?
        .default_board()
        .map(|b| b.id)
        .context("the tenant's default board")?;
    let tree: [(_, &str, &[&str]); 5] = [
        (support, "Hardware", &["Laptop", "Printer"]),
        (support, "Software", &["Email", "Office"]),
        (support, "Network", &["VPN", "Wi-Fi"]),
        (support, "Accounts", &["Password reset", "New user"]),
        (changes, "Change request", &["Standard", "Emergency"]),
    ];
    let mut categories = HashMap::new();
    for (order, (board, name, subs)) in tree.into_iter().enumerate() {
        let id = catalog::create_category(db, tenant, board, None, name, order as i32).await?;
        categories.insert(name.to_owned(), id);
        for (sub_order, sub) in subs.iter().enumerate() {
            let sub_id = catalog::create_category(db, tenant, board, Some(id), sub, sub_order as i32).await?;
            categories.insert(format!("{name}/{sub}"), sub_id);
        }
    }
    Ok((catalog::load(db, tenant).await?, categories))
}

/// Whose a demo document is.
/// Whose a demo file is.
pub(crate) struct Owner {
    pub tenant: TenantId,
    pub client: ClientId,
    pub on: DocumentOwner,
    pub by: UserId,
}

pub(crate) async fn attach(
    db: &Db,
    files: &AttachmentStore,
    owner: &Owner,
    (name, bytes): (&str, &'static [u8]),
    at: UnixMillis,
) -> anyhow::Result<()> {
    let checked = upload::accept(
        &porta_core::config::AttachmentsConfig {
            store: porta_core::config::AttachmentStore::Local(Default::default()),
            max_file_bytes: u64::MAX,
            max_files: 1,
            allowed_types: porta_core::config::DEFAULT_ALLOWED_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        },
        name,
        bytes::Bytes::from_static(bytes),
    )?;
    let id = DocumentId::generate();
    let key = AttachmentStore::key(owner.tenant, id);
    files.put(&key, checked.bytes.clone()).await?;
    documents::insert(
        db,
        &NewDocument {
            id,
            tenant: owner.tenant,
            client: owner.client,
            ticket: match owner.on {
                DocumentOwner::Ticket { ticket, .. } => Some(ticket),
                DocumentOwner::Project { .. } => None,
            },
            comment: None,
            project: match owner.on {
                DocumentOwner::Project { project, .. } => Some(project),
                DocumentOwner::Ticket { .. } => None,
            },
            task: match owner.on {
                DocumentOwner::Project { task, .. } => task,
                DocumentOwner::Ticket { .. } => None,
            },
            file_name: &checked.file_name,
            content_type: &checked.content_type,
            size_bytes: checked.bytes.len() as i64,
            sha256: &checked.sha256,
            storage_key: &key,
            is_internal: false,
            uploaded_by: owner.by,
        },
        at,
    )
    .await?;
    Ok(())
}

/// Seeds the support history; `cast` names the demo's people and companies.
pub async fn seed(db: &Db, files: &AttachmentStore, tenant: TenantId, cast: &Cast) -> anyhow::Result<usize> {
    let (catalog, categories) = catalog_of(db, tenant).await?;
    let support = catalog.default_board().context("support board")?.id;
    let changes = catalog
        .boards
        .iter()
        .find(|b| b.id != support)
        .context("changes board")?
        .id;
    for (company, industry, phone, website) in [
        (
            "globex",
            "Manufacturing",
            "+1 555 0100",
            "https://globex.example/",
        ),
        ("initech", "Software", "+1 555 0199", "https://initech.example/"),
    ] {
        let id = cast.company(company)?;
        let profile = clients::profile(db, tenant, id).await?.context("demo company")?;
        clients::update_profile(
            db,
            tenant,
            id,
            &clients::ProfileUpdate {
                name: &profile.name,
                address: "1 Main Street\nSpringfield",
                phone,
                website,
                industry,
            },
        )
        .await?;
    }
    let now = UnixMillis::now();
    let mut created = 0;
    // Oldest first, so numbers grow with age.
    let mut ordered: Vec<&DemoTicket> = TICKETS.iter().collect();
    ordered.sort_by_key(|t| std::cmp::Reverse(t.age_hours));
    for t in ordered {
        let board = if t.board == "changes" { changes } else { support };
        let client = cast.company(t.company)?;
        let by = cast.person(t.by)?;
        let opened = now.plus_seconds(-t.age_hours * 3600);
        let status = catalog
            .statuses
            .iter()
            .find(|s| s.board_id == board && s.name == t.status)
            .with_context(|| format!("status {}", t.status))?;
        let category = t.category.and_then(|c| categories.get(c)).copied();
        let (category, subcategory) = match category.and_then(|c| catalog.category(c)) {
            Some(c) if c.parent_id.is_some() => (c.parent_id, Some(c.id)),
            Some(c) => (Some(c.id), None),
            None => (None, None),
        };
        let assignee = t.assignee.map(|a| cast.person(a)).transpose()?;
        let (id, number) = tickets::create(
            db,
            &NewTicket {
                tenant,
                client,
                board,
                status: catalog.default_status(board).context("default status")?.id,
                priority: catalog.priorities[t.priority.min(catalog.priorities.len() - 1)].id,
                category,
                subcategory,
                title: t.title,
                description: t.description,
                entered_by: by,
                assigned_to: assignee,
                origin: TicketOrigin::ClientPortal,
                response_state: Some(ResponseState::AwaitingInternal),
                // Urgent open work has a deadline: a day for Critical, two for High.
                due_at: (t.priority >= 2 && !matches!(t.status, "Resolved" | "Closed" | "Done" | "Rejected"))
                    .then(|| opened.plus_seconds((4 - t.priority as i64) * 24 * 3600).0),
            },
            opened,
        )
        .await?;
        if let Some(file) = t.attachment {
            let owner = Owner {
                tenant,
                client,
                on: DocumentOwner::Ticket {
                    ticket: id,
                    comment: None,
                },
                by,
            };
            attach(db, files, &owner, file, opened).await?;
        }
        notify_in_app(
            db,
            tenant,
            id,
            NotificationKind::TicketCreated,
            by,
            &format!(
                "{} opened {}: {}",
                name_of(db, tenant, by).await?,
                number.display(porta_core::ticket::DEFAULT_PREFIX),
                t.title
            ),
            opened,
        )
        .await?;
        let mut last = opened;
        let mut state = Some(ResponseState::AwaitingInternal);
        for (who, body, internal, hours) in t.replies {
            let author = cast.person(who)?;
            let at = opened.plus_seconds(hours * 3600);
            comments::add(db, tenant, id, author, body, *internal, at).await?;
            if !internal {
                let staff = matches!(*who, "alex" | "tina");
                state = Some(if staff {
                    ResponseState::AwaitingClient
                } else {
                    ResponseState::AwaitingInternal
                });
                notify_in_app(
                    db,
                    tenant,
                    id,
                    NotificationKind::CommentAdded,
                    author,
                    &format!(
                        "{} replied on {}: {}",
                        name_of(db, tenant, author).await?,
                        number.display(porta_core::ticket::DEFAULT_PREFIX),
                        t.title
                    ),
                    at,
                )
                .await?;
                last = at;
            }
        }
        tickets::set_response_state(db, tenant, id, state, last).await?;
        if status.id != catalog.default_status(board).map(|s| s.id).unwrap_or(status.id) {
            let actor = assignee.unwrap_or(by);
            tickets::set_status(db, tenant, id, status.id, actor, last.plus_seconds(60)).await?;
            notify_in_app(
                db,
                tenant,
                id,
                NotificationKind::TicketStatusChanged,
                actor,
                &format!(
                    "{} set {} to {}: {}",
                    name_of(db, tenant, actor).await?,
                    number.display(porta_core::ticket::DEFAULT_PREFIX),
                    t.status,
                    t.title
                ),
                last.plus_seconds(60),
            )
            .await?;
        }
        created += 1;
    }
    Ok(created)
}

/// The demo's history in the bell, without mailing anyone about it.
async fn notify_in_app(
    db: &Db,
    tenant: TenantId,
    ticket: porta_core::ids::TicketId,
    kind: NotificationKind,
    actor: UserId,
    summary: &str,
    at: UnixMillis,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    notifications::notify(db, &mut tx, tenant, ticket, kind, actor, summary, at).await?;
    tx.commit().await?;
    Ok(())
}

/// A demo person's display name (as live notifications name the actor).
async fn name_of(db: &Db, tenant: TenantId, user: UserId) -> anyhow::Result<String> {
    Ok(porta_core::db::users::profile(db, tenant, user)
        .await?
        .map(|p| p.display_name)
        .unwrap_or_default())
}
