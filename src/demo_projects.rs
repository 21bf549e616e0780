//! The demo tenant's projects: several states, phases with tasks in every
//! column, dependencies with lead and lag, documents on the project and on
//! tasks, and visibility configs from "almost everything" to the default.

use porta_core::clock::UnixMillis;
use porta_core::db::projects::{self, NewDependency, ProjectFacts, TaskFacts};
use porta_core::db::Db;
use porta_core::ids::{ProjectTaskId, TenantId};
use porta_core::project::{DependencyKind, ProjectStatus, TaskField, TaskPriority, TaskStatus, Visibility};
use porta_portal::attachments::documents::Owner as DocumentOwner;
use porta_portal::attachments::AttachmentStore;

use crate::demo_data::{attach, Cast, Owner};

const PLAN: &[u8] = b"Migration plan\n\n1. Inventory mailboxes\n2. Pilot group\n3. Cut-over weekend\n";

/// A task: phase index, name, status, priority, assignee, due in days,
/// estimate and actual hours, checklist (done, total), services.
type DemoTask = (
    usize,
    &'static str,
    TaskStatus,
    TaskPriority,
    Option<&'static str>,
    Option<i64>,
    Option<i64>,
    i64,
    (i32, i32),
    &'static str,
);

fn date_in(days: i64) -> String {
    let today = jiff::Zoned::now().date();
    today
        .checked_add(jiff::Span::new().days(days))
        .unwrap_or(today)
        .to_string()
}

fn everything() -> Visibility {
    Visibility {
        show_phases: true,
        show_phase_completion: true,
        show_tasks: true,
        show_budget_hours: true,
        show_billing: true,
        visible_task_fields: TaskField::ALL.to_vec(),
    }
}

pub async fn seed(db: &Db, files: &AttachmentStore, tenant: TenantId, cast: &Cast) -> anyhow::Result<usize> {
    let now = UnixMillis::now();
    let alex = cast.person("alex")?;
    let tina = cast.person("tina")?;
    let globex = cast.company("globex")?;
    let initech = cast.company("initech")?;
    let staff = |key: Option<&str>| key.map(|k| if k == "alex" { alex } else { tina });

    // Globex: a migration in progress, shown to the client in full.
    let start = date_in(-30);
    let end = date_in(45);
    let (migration, _) = projects::create(
        db,
        tenant,
        globex,
        &ProjectFacts {
            name: "Microsoft 365 migration",
            description:
                "Move mail, calendars and files from the on-premises Exchange server to Microsoft 365.",
            status: ProjectStatus::InProgress,
            start_date: Some(&start),
            end_date: Some(&end),
            budget_minutes: Some(120 * 60),
            manager: Some(alex),
        },
        now,
    )
    .await?;
    projects::set_visibility(db, tenant, migration, Some(&everything()), now).await?;
    let phases = [
        ("Assessment", -30, -20),
        ("Pilot", -19, 0),
        ("Cut-over", 1, 30),
        ("Hypercare", 31, 45),
    ];
    let mut phase_ids = Vec::new();
    for (name, from, to) in phases {
        let (from, to) = (date_in(from), date_in(to));
        phase_ids
            .push(projects::add_phase(db, tenant, migration, name, "", (Some(&from), Some(&to)), now).await?);
    }
    let tasks: &[DemoTask] = &[
        (
            0,
            "Inventory mailboxes and shared calendars",
            TaskStatus::Done,
            TaskPriority::High,
            Some("tina"),
            Some(-25),
            Some(8),
            9,
            (12, 12),
            "Assessment",
        ),
        (
            0,
            "Check licences",
            TaskStatus::Done,
            TaskPriority::Medium,
            Some("alex"),
            Some(-22),
            Some(2),
            2,
            (3, 3),
            "Licensing",
        ),
        (
            1,
            "Migrate the pilot group (5 users)",
            TaskStatus::Done,
            TaskPriority::High,
            Some("tina"),
            Some(-5),
            Some(10),
            12,
            (5, 5),
            "Migration",
        ),
        (
            1,
            "Pilot feedback session",
            TaskStatus::Review,
            TaskPriority::Medium,
            Some("alex"),
            Some(1),
            Some(2),
            1,
            (1, 2),
            "Training",
        ),
        (
            2,
            "Migrate all mailboxes",
            TaskStatus::InProgress,
            TaskPriority::Critical,
            Some("tina"),
            Some(10),
            Some(40),
            14,
            (18, 45),
            "Migration",
        ),
        (
            2,
            "Switch MX records",
            TaskStatus::Todo,
            TaskPriority::Critical,
            Some("tina"),
            Some(12),
            Some(1),
            0,
            (0, 4),
            "Migration",
        ),
        (
            2,
            "Decommission the old Exchange server",
            TaskStatus::Blocked,
            TaskPriority::Medium,
            Some("alex"),
            Some(25),
            Some(6),
            0,
            (0, 6),
            "Infrastructure",
        ),
        (
            3,
            "Office hours for questions",
            TaskStatus::Todo,
            TaskPriority::Low,
            None,
            Some(40),
            Some(8),
            0,
            (0, 0),
            "Training",
        ),
    ];
    let mut task_ids: Vec<ProjectTaskId> = Vec::new();
    for (phase, name, status, priority, who, due, estimate, actual, checklist, services) in tasks {
        let due = due.map(date_in);
        task_ids.push(
            projects::add_task(
                db,
                tenant,
                migration,
                &TaskFacts {
                    phase: phase_ids[*phase],
                    name,
                    description: "",
                    status: *status,
                    priority: *priority,
                    assigned_to: staff(*who),
                    due_date: due.as_deref(),
                    estimated_minutes: estimate.map(|h| h * 60),
                    actual_minutes: actual * 60,
                    checklist: *checklist,
                    services,
                },
                now,
            )
            .await?,
        );
    }
    for (before, after, kind, days, notes) in [
        (0, 2, DependencyKind::Blocks, 0, ""),
        (2, 4, DependencyKind::Blocks, 2, "Wait two days of pilot use"),
        (
            4,
            5,
            DependencyKind::Blocks,
            0,
            "MX switch after the last mailbox",
        ),
        (5, 6, DependencyKind::Blocks, 14, "Keep the old server two weeks"),
        (3, 7, DependencyKind::RelatedTo, -3, ""),
    ] {
        projects::add_dependency(
            db,
            tenant,
            migration,
            &NewDependency {
                predecessor: task_ids[before],
                successor: task_ids[after],
                kind,
                lead_lag_days: days,
                notes,
            },
            now,
        )
        .await?;
    }
    let owner = |task| Owner {
        tenant,
        client: globex,
        on: DocumentOwner::Project {
            project: migration,
            task,
        },
        by: alex,
    };
    attach(db, files, &owner(None), ("migration-plan.txt", PLAN), now).await?;
    attach(
        db,
        files,
        &owner(Some(task_ids[2])),
        ("pilot-users.txt", b"ada\nbob\ncarla\ndan\neve\n"),
        now,
    )
    .await?;

    // Globex: a planned refresh with the tenant's default visibility, and a
    // finished one.
    let later = date_in(60);
    let (refresh, _) = projects::create(
        db,
        tenant,
        globex,
        &ProjectFacts {
            name: "Network refresh",
            description: "Replace the office switches and Wi-Fi access points.",
            status: ProjectStatus::Planning,
            start_date: Some(&later),
            end_date: None,
            budget_minutes: Some(40 * 60),
            manager: Some(tina),
        },
        now,
    )
    .await?;
    let phase = projects::add_phase(db, tenant, refresh, "Survey", "", (None, None), now).await?;
    projects::add_task(
        db,
        tenant,
        refresh,
        &TaskFacts {
            phase,
            name: "Site survey",
            description: "Measure coverage on both floors.",
            status: TaskStatus::Todo,
            priority: TaskPriority::Medium,
            assigned_to: Some(tina),
            due_date: Some(&later),
            estimated_minutes: Some(4 * 60),
            actual_minutes: 0,
            checklist: (0, 0),
            services: "Networking",
        },
        now,
    )
    .await?;
    let (past_start, past_end) = (date_in(-120), date_in(-90));
    for (client, name, description, status) in [
        (
            globex,
            "Backup rollout",
            "Nightly backups of every laptop to the cloud.",
            ProjectStatus::Completed,
        ),
        (
            initech,
            "TPS report automation",
            "Generate the TPS reports from the ticketing data.",
            ProjectStatus::OnHold,
        ),
        (
            initech,
            "Printer fleet replacement",
            "Replace the printers of the second floor.",
            ProjectStatus::Cancelled,
        ),
    ] {
        let (id, _) = projects::create(
            db,
            tenant,
            client,
            &ProjectFacts {
                name,
                description,
                status,
                start_date: Some(&past_start),
                end_date: Some(&past_end),
                budget_minutes: None,
                manager: Some(alex),
            },
            now,
        )
        .await?;
        let phase = projects::add_phase(db, tenant, id, "Delivery", "", (None, None), now).await?;
        projects::add_task(
            db,
            tenant,
            id,
            &TaskFacts {
                phase,
                name: "Deliver",
                description: "",
                status: if status == ProjectStatus::Completed {
                    TaskStatus::Done
                } else {
                    TaskStatus::Todo
                },
                priority: TaskPriority::Medium,
                assigned_to: Some(tina),
                due_date: None,
                estimated_minutes: None,
                actual_minutes: 0,
                checklist: (0, 0),
                services: "",
            },
            now,
        )
        .await?;
    }
    Ok(5)
}
