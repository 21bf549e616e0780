//! Tickets, comments, documents and notifications in storage, on both
//! backends: numbering under a race, the reach of client users, filters and
//! paging from a known set, what internal notes and documents never show.

use porta_core::clock::UnixMillis;
use porta_core::db::catalog::{self, Catalog};
use porta_core::db::comments::{self, Visibility};
use porta_core::db::documents::{self, NewDocument};
use porta_core::db::notifications::{self, Preference};
use porta_core::db::tickets::{self, NewTicket, Page, Reach, StateFilter, TicketFilter};
use porta_core::db::{activity, clients, tenants, users, Db};
use porta_core::email::EmailAddress;
use porta_core::ids::{ClientId, DocumentId, TenantId, UserId};
use porta_core::on_pool;
use porta_core::slug::TenantSlug;
use porta_core::ticket::{NotificationKind, TicketNumber, TicketOrigin};
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, Backend, TestDb};

struct World {
    tenant: TenantId,
    globex: ClientId,
    initech: ClientId,
    jane: UserId,
    bob: UserId,
    tom: UserId,
    catalog: Catalog,
}

async fn person(db: &Db, tenant: TenantId, email: &str, client: Option<ClientId>) -> UserId {
    users::create(
        db,
        &users::NewUser {
            tenant,
            user_type: if client.is_some() {
                UserType::Client
            } else {
                UserType::Internal
            },
            email: EmailAddress::parse(email).unwrap(),
            display_name: email.split('@').next().unwrap().to_owned(),
            client,
            password_hash: "x".into(),
        },
    )
    .await
    .unwrap()
}

async fn world(db: &Db) -> World {
    let tenant = tenants::create(db, &TenantSlug::parse("acme").unwrap(), "Acme IT")
        .await
        .unwrap()
        .id;
    let globex = clients::create(db, tenant, "Globex").await.unwrap().id;
    let initech = clients::create(db, tenant, "Initech").await.unwrap().id;
    World {
        tenant,
        globex,
        initech,
        jane: person(db, tenant, "jane@globex.example", Some(globex)).await,
        bob: person(db, tenant, "bob@initech.example", Some(initech)).await,
        tom: person(db, tenant, "tom@acme-it.example", None).await,
        catalog: catalog::load(db, tenant).await.unwrap(),
    }
}

async fn ticket(
    db: &Db,
    w: &World,
    client: ClientId,
    by: UserId,
    title: &str,
    priority: usize,
) -> TicketNumber {
    let board = w.catalog.default_board().unwrap().id;
    tickets::create(
        db,
        &NewTicket {
            tenant: w.tenant,
            client,
            board,
            status: w.catalog.default_status(board).unwrap().id,
            priority: w.catalog.priorities[priority].id,
            category: None,
            subcategory: None,
            title,
            description: "",
            entered_by: by,
            assigned_to: None,
            origin: TicketOrigin::ClientPortal,
            response_state: None,
            due_at: None,
        },
        UnixMillis::now(),
    )
    .await
    .unwrap()
    .1
}

async fn numbers_are_per_tenant_and_unique_under_a_race(t: TestDb) {
    let db = &t.db;
    let w = world(db).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = db.clone();
        let (tenant, client, by) = (w.tenant, w.globex, w.jane);
        let catalog = w.catalog.clone();
        tasks.push(tokio::spawn(async move {
            let board = catalog.default_board().unwrap().id;
            tickets::create(
                &db,
                &NewTicket {
                    tenant,
                    client,
                    board,
                    status: catalog.default_status(board).unwrap().id,
                    priority: catalog.priorities[0].id,
                    category: None,
                    subcategory: None,
                    title: &format!("ticket {i}"),
                    description: "",
                    entered_by: by,
                    assigned_to: None,
                    origin: TicketOrigin::ClientPortal,
                    response_state: None,
                    due_at: None,
                },
                UnixMillis::now(),
            )
            .await
            .unwrap()
            .1
             .0
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1001..1021).collect::<Vec<_>>());
    // Another tenant starts at 1001 too.
    let beta = tenants::create(db, &TenantSlug::parse("beta").unwrap(), "Beta")
        .await
        .unwrap()
        .id;
    let client = clients::create(db, beta, "Umbrella").await.unwrap().id;
    let someone = person(db, beta, "u@umbrella.example", Some(client)).await;
    let other = World {
        tenant: beta,
        globex: client,
        initech: client,
        jane: someone,
        bob: someone,
        tom: someone,
        catalog: catalog::load(db, beta).await.unwrap(),
    };
    assert_eq!(
        ticket(db, &other, client, someone, "first", 0).await,
        TicketNumber(1001)
    );
}

async fn clients_reach_only_their_company(t: TestDb) {
    let db = &t.db;
    let w = world(db).await;
    let mine = ticket(db, &w, w.globex, w.jane, "Printer jams", 1).await;
    let theirs = ticket(db, &w, w.initech, w.bob, "TPS report cover sheet", 1).await;
    let jane = Reach::Client {
        tenant: w.tenant,
        client: w.globex,
    };
    assert!(tickets::find(db, jane, mine).await.unwrap().is_some());
    assert!(tickets::find(db, jane, theirs).await.unwrap().is_none());
    let (listed, total) = tickets::list(db, jane, &TicketFilter::default(), Page { number: 1, size: 10 })
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(listed[0].title, "Printer jams");
    let staff = Reach::Staff { tenant: w.tenant };
    let (_, total) = tickets::list(db, staff, &TicketFilter::default(), Page { number: 1, size: 10 })
        .await
        .unwrap();
    assert_eq!(total, 2);
    // Another tenant's staff reach nothing of it.
    let beta = tenants::create(db, &TenantSlug::parse("beta").unwrap(), "Beta")
        .await
        .unwrap()
        .id;
    assert!(tickets::find(db, Reach::Staff { tenant: beta }, mine)
        .await
        .unwrap()
        .is_none());
}

async fn filters_and_paging_return_exactly_the_expected_tickets(t: TestDb) {
    let db = &t.db;
    let w = world(db).await;
    let reach = Reach::Client {
        tenant: w.tenant,
        client: w.globex,
    };
    let mut numbers = Vec::new();
    for i in 0..25 {
        // Priorities cycle through Low, Medium, High, Critical.
        numbers.push(ticket(db, &w, w.globex, w.jane, &format!("Laptop {i:02}"), i % 4).await);
    }
    ticket(db, &w, w.globex, w.jane, "50% off_special", 0).await;
    let board = w.catalog.default_board().unwrap().id;
    let closed = w.catalog.closing_status(board).unwrap().id;
    for n in &numbers[..5] {
        let t = tickets::find(db, reach, *n).await.unwrap().unwrap();
        tickets::set_status(db, w.tenant, t.id, closed, w.jane, UnixMillis::now())
            .await
            .unwrap();
    }
    let page = |n| Page { number: n, size: 10 };
    let total = |f: TicketFilter| async move { tickets::list(db, reach, &f, page(1)).await.unwrap().1 };
    assert_eq!(total(TicketFilter::default()).await, 26);
    let open = TicketFilter {
        state: StateFilter::Open,
        ..TicketFilter::default()
    };
    assert_eq!(total(open.clone()).await, 21);
    assert_eq!(
        total(TicketFilter {
            state: StateFilter::Closed,
            ..TicketFilter::default()
        })
        .await,
        5
    );
    assert_eq!(
        total(TicketFilter {
            state: StateFilter::Status(closed),
            ..TicketFilter::default()
        })
        .await,
        5
    );
    let critical = w.catalog.priorities[3].id;
    assert_eq!(
        total(TicketFilter {
            priority: Some(critical),
            ..TicketFilter::default()
        })
        .await,
        6
    );
    // Text: words of the title (wildcards are literal), or the number.
    let by_text = |text: &str| TicketFilter {
        text: Some(text.to_owned()),
        ..TicketFilter::default()
    };
    assert_eq!(total(by_text("laptop 1")).await, 10);
    assert_eq!(total(by_text("50%")).await, 1);
    assert_eq!(
        total(by_text("%")).await,
        1,
        "a % is a percent sign, not a wildcard"
    );
    assert_eq!(total(by_text("_")).await, 1);
    assert_eq!(total(by_text("TIC-1003")).await, 1);
    assert_eq!(total(by_text("1003")).await, 1);
    // Paging: 10, 10, 1 of the open ones, newest first, no overlap.
    let mut seen = Vec::new();
    for n in 1..=3 {
        let (rows, total) = tickets::list(db, reach, &open, page(n)).await.unwrap();
        assert_eq!(total, 21);
        assert_eq!(rows.len(), [10, 10, 1][n as usize - 1]);
        seen.extend(rows.into_iter().map(|r| r.number));
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 21);
    let (rows, _) = tickets::list(db, reach, &open, page(4)).await.unwrap();
    assert!(rows.is_empty());
}

async fn internal_notes_and_documents_never_reach_clients(t: TestDb) {
    let db = &t.db;
    let w = world(db).await;
    let number = ticket(db, &w, w.globex, w.jane, "VPN down", 2).await;
    let reach = Reach::Client {
        tenant: w.tenant,
        client: w.globex,
    };
    let t = tickets::find(db, reach, number).await.unwrap().unwrap();
    let now = UnixMillis::now();
    comments::add(db, w.tenant, t.id, w.jane, "It is still down.", false, now)
        .await
        .unwrap();
    let note = comments::add(
        db,
        w.tenant,
        t.id,
        w.tom,
        "Firewall rule 12 is the cause.",
        true,
        now,
    )
    .await
    .unwrap();
    for (internal, name) in [(false, "screenshot.png"), (true, "firewall-export.txt")] {
        documents::insert(
            db,
            &NewDocument {
                id: DocumentId::generate(),
                tenant: w.tenant,
                client: w.globex,
                ticket: Some(t.id),
                comment: internal.then_some(note),
                project: None,
                task: None,
                file_name: name,
                content_type: "text/plain",
                size_bytes: 3,
                sha256: "abc",
                storage_key: &format!("k/{name}"),
                is_internal: internal,
                uploaded_by: w.tom,
            },
            now,
        )
        .await
        .unwrap();
    }
    let public = comments::for_ticket(db, w.tenant, t.id, Visibility::Public)
        .await
        .unwrap();
    assert_eq!(public.len(), 1);
    assert!(public.iter().all(|c| !c.body.contains("Firewall")));
    assert_eq!(
        comments::for_ticket(db, w.tenant, t.id, Visibility::All)
            .await
            .unwrap()
            .len(),
        2
    );
    let docs = documents::for_ticket(db, w.tenant, t.id, Visibility::Public)
        .await
        .unwrap();
    assert_eq!(
        docs.iter().map(|d| d.file_name.as_str()).collect::<Vec<_>>(),
        ["screenshot.png"]
    );
    let internal_doc = documents::for_ticket(db, w.tenant, t.id, Visibility::All)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.is_internal)
        .unwrap();
    assert!(
        documents::find_for_ticket(db, w.tenant, t.id, internal_doc.id, Visibility::Public)
            .await
            .unwrap()
            .is_none()
    );
    let feed = activity::for_client(db, w.tenant, w.globex, 10).await.unwrap();
    assert_eq!(feed.len(), 2, "the ticket and the public comment: {feed:?}");
    assert!(feed
        .iter()
        .all(|a| !a.detail.contains("tom") || a.kind != activity::ActivityKind::PublicComment));
}

async fn notifications_follow_company_assignee_and_preferences(t: TestDb) {
    let db = &t.db;
    let w = world(db).await;
    let colleague = person(db, w.tenant, "ann@globex.example", Some(w.globex)).await;
    let number = ticket(db, &w, w.globex, w.jane, "Email bounces", 1).await;
    let reach = Reach::Staff { tenant: w.tenant };
    let t = tickets::find(db, reach, number).await.unwrap().unwrap();
    tickets::set_triage(db, w.tenant, t.id, t.priority_id, Some(w.tom), UnixMillis::now())
        .await
        .unwrap();
    let now = UnixMillis::now();
    let mut tx = db.begin().await.unwrap();
    let heard = notifications::notify(
        db,
        &mut tx,
        w.tenant,
        t.id,
        NotificationKind::CommentAdded,
        w.jane,
        "Jane replied",
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut ids: Vec<UserId> = heard.iter().map(|r| r.user_id).collect();
    ids.sort();
    let mut expected = vec![colleague, w.tom];
    expected.sort();
    assert_eq!(
        ids, expected,
        "the company's other users and the assignee, never Initech's bob"
    );
    assert!(!ids.contains(&w.bob) && !ids.contains(&w.jane));
    assert_eq!(
        notifications::unread_count(db, w.tenant, colleague)
            .await
            .unwrap(),
        1
    );
    // Ann switches comment notifications off in the app.
    notifications::set_preferences(
        db,
        w.tenant,
        colleague,
        &[Preference {
            kind: NotificationKind::CommentAdded,
            in_app: false,
            email: true,
        }],
    )
    .await
    .unwrap();
    let mut tx = db.begin().await.unwrap();
    let heard = notifications::notify(
        db,
        &mut tx,
        w.tenant,
        t.id,
        NotificationKind::CommentAdded,
        w.tom,
        "Tom replied",
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ann = heard
        .iter()
        .find(|r| r.user_id == colleague)
        .expect("Ann still hears of it");
    assert!(!ann.in_app && ann.email, "by mail only, as she asked");
    assert_eq!(ann.address.as_str(), "ann@globex.example");
    assert_eq!(
        notifications::unread_count(db, w.tenant, colleague)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        notifications::unread_count(db, w.tenant, w.jane).await.unwrap(),
        1
    );
    let (list, total) = notifications::list(db, w.tenant, w.jane, 10, 0).await.unwrap();
    assert_eq!((list.len(), total), (1, 1));
    assert_eq!(list[0].ticket_number, Some(number.0));
    // Marking another user's notification does nothing.
    assert!(
        !notifications::mark_read(db, w.tenant, colleague, list[0].id, now)
            .await
            .unwrap()
    );
    assert!(notifications::mark_read(db, w.tenant, w.jane, list[0].id, now)
        .await
        .unwrap());
    assert_eq!(
        notifications::unread_count(db, w.tenant, w.jane).await.unwrap(),
        0
    );
}

/// The non-zero per-status tallies the triggers keep, and the tickets
/// grouped the same way: they must always be the same rows.
type Groups = Vec<(String, String, String, i64)>;

async fn tallies_and_groups(db: &Db) -> (Groups, Groups) {
    let tallies = "SELECT tenant_id, client_id, status_id, tickets FROM ticket_counts WHERE tickets > 0 \
                   ORDER BY tenant_id, client_id, status_id";
    let groups = "SELECT tenant_id, client_id, status_id, COUNT(*) FROM tickets \
                  GROUP BY tenant_id, client_id, status_id ORDER BY tenant_id, client_id, status_id";
    on_pool!(db, |pool| {
        let t = sqlx::query_as(tallies).fetch_all(pool).await.unwrap();
        let g = sqlx::query_as(groups).fetch_all(pool).await.unwrap();
        (t, g)
    })
}

async fn exec(db: &Db, sql: &str, args: &[String]) {
    on_pool!(db, |pool| {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(a);
        }
        q.execute(pool).await.map(|_| ()).expect(sql)
    })
}

/// Open, closed and all of `reach`'s tickets as `list` counts them.
async fn totals(db: &Db, reach: Reach, client: Option<ClientId>) -> [i64; 3] {
    let mut out = [0; 3];
    for (i, state) in [StateFilter::Open, StateFilter::Closed, StateFilter::All]
        .into_iter()
        .enumerate()
    {
        let filter = TicketFilter {
            state,
            client,
            ..TicketFilter::default()
        };
        out[i] = tickets::list(db, reach, &filter, Page { number: 1, size: 5 })
            .await
            .unwrap()
            .1;
    }
    out
}

// The tallies behind the ticket counts follow every write that adds, moves
// or removes a ticket, through the API or straight SQL, and the counts of
// the list (client and staff, by state) come out exact.
async fn ticket_tallies_follow_every_write(t: TestDb) {
    let db = &t.db;
    let w = world(db).await;
    let globex = Reach::Client {
        tenant: w.tenant,
        client: w.globex,
    };
    let initech = Reach::Client {
        tenant: w.tenant,
        client: w.initech,
    };
    let staff = Reach::Staff { tenant: w.tenant };
    let mut mine = Vec::new();
    for i in 0..6 {
        mine.push(ticket(db, &w, w.globex, w.jane, &format!("Printer {i}"), 1).await);
    }
    let mut theirs = Vec::new();
    for i in 0..3 {
        theirs.push(ticket(db, &w, w.initech, w.bob, &format!("VPN {i}"), 2).await);
    }
    let board = w.catalog.default_board().unwrap().id;
    let closed = w.catalog.closing_status(board).unwrap().id;
    for n in &mine[..2] {
        let t = tickets::find(db, globex, *n).await.unwrap().unwrap();
        tickets::set_status(db, w.tenant, t.id, closed, w.tom, UnixMillis::now())
            .await
            .unwrap();
    }
    let (tallies, groups) = tallies_and_groups(db).await;
    assert_eq!(tallies, groups);
    assert_eq!(totals(db, globex, None).await, [4, 2, 6]);
    assert_eq!(totals(db, initech, None).await, [3, 0, 3]);
    assert_eq!(totals(db, staff, None).await, [7, 2, 9]);

    // Reopened through the API, moved to the other company and deleted in
    // straight SQL: the triggers, not the application, keep the tallies.
    let reopened = tickets::find(db, globex, mine[0]).await.unwrap().unwrap();
    let open = w.catalog.default_status(board).unwrap().id;
    tickets::set_status(db, w.tenant, reopened.id, open, w.tom, UnixMillis::now())
        .await
        .unwrap();
    let moved = tickets::find(db, globex, mine[5]).await.unwrap().unwrap();
    exec(
        db,
        "UPDATE tickets SET client_id = $1 WHERE id = $2",
        &[w.initech.to_string(), moved.id.to_string()],
    )
    .await;
    let gone = tickets::find(db, initech, theirs[2]).await.unwrap().unwrap();
    exec(db, "DELETE FROM tickets WHERE id = $1", &[gone.id.to_string()]).await;
    exec(
        db,
        "UPDATE tickets SET title = 'Renamed' WHERE client_id = $1",
        &[w.globex.to_string()],
    )
    .await;

    let (tallies, groups) = tallies_and_groups(db).await;
    assert_eq!(tallies, groups);
    assert_eq!(totals(db, globex, None).await, [4, 1, 5]);
    assert_eq!(totals(db, initech, None).await, [3, 0, 3]);
    assert_eq!(totals(db, staff, None).await, [7, 1, 8]);
    assert_eq!(totals(db, staff, Some(w.initech)).await, [3, 0, 3]);
    assert_eq!(
        totals(db, globex, Some(w.initech)).await,
        [4, 1, 5],
        "a client's own company bounds the count whatever the filter names"
    );
    // A filter the tallies do not hold still counts the tickets.
    let high = TicketFilter {
        priority: Some(w.catalog.priorities[2].id),
        ..TicketFilter::default()
    };
    assert_eq!(
        tickets::list(db, staff, &high, Page { number: 1, size: 5 })
            .await
            .unwrap()
            .1,
        2
    );
    assert_eq!(tickets::open_count(db, w.tenant, w.globex).await.unwrap(), 4);
}

// A database whose tickets were written before the tallies existed gets
// them counted by the migration that adds them.
async fn the_tally_migration_counts_the_tickets_already_there(t: TestDb) {
    t.migrate_to(20261201000080).await;
    let db = &t.db;
    let w = world(db).await;
    let mut numbers = Vec::new();
    for i in 0..4 {
        numbers.push(ticket(db, &w, w.globex, w.jane, &format!("Old {i}"), 0).await);
    }
    let reach = Reach::Client {
        tenant: w.tenant,
        client: w.globex,
    };
    let board = w.catalog.default_board().unwrap().id;
    let closed = w.catalog.closing_status(board).unwrap().id;
    let t1 = tickets::find(db, reach, numbers[0]).await.unwrap().unwrap();
    tickets::set_status(db, w.tenant, t1.id, closed, w.jane, UnixMillis::now())
        .await
        .unwrap();
    t.db.migrate().await.unwrap();
    let (tallies, groups) = tallies_and_groups(db).await;
    assert_eq!(tallies.len(), 2);
    assert_eq!(tallies, groups);
    assert_eq!(totals(db, reach, None).await, [3, 1, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tally_migration_sqlite() {
    the_tally_migration_counts_the_tickets_already_there(TestDb::unmigrated(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tally_migration_postgres() {
    the_tally_migration_counts_the_tickets_already_there(TestDb::unmigrated(Backend::Postgres).await).await;
}

both_backends! {
    tallies => ticket_tallies_follow_every_write;
    numbering => numbers_are_per_tenant_and_unique_under_a_race;
    reach => clients_reach_only_their_company;
    filters => filters_and_paging_return_exactly_the_expected_tickets;
    internal => internal_notes_and_documents_never_reach_clients;
    notify => notifications_follow_company_assignee_and_preferences;
}
