//! Projects on both backends: staff build one (phases, tasks,
//! dependencies, documents) through their pages; the client sees exactly
//! what the visibility config allows, field by field (present when on,
//! absent from the HTML when off); other companies and tenants see
//! nothing; the kanban/list choice is remembered per user.

mod common;

use common::*;
use porta_core::db::clients;
use porta_core::project::TaskField;
use porta_core::user_type::UserType;
use porta_testkit::{both_backends, TestDb};
use reqwest::StatusCode;

const TASK_NAME: &str = "Migrate the finance mailboxes";
const DESCRIPTION: &str = "FIELD-DESCRIPTION: all twelve of them";
const SERVICES: &str = "FIELD-SERVICES-Migration";
const PROJECT: &str = "Globex mail move";
const TXT: &[u8] = b"plain text notes\n";

struct World {
    app: TestApp,
    host: String,
    staff: String,
    jane: String,
    peter: String,
    number: String,
    base: String,
    tasks: Vec<String>,
}

fn id_after<'a>(page: &'a str, marker: &str) -> Vec<&'a str> {
    page.match_indices(marker)
        .map(|(i, _)| {
            let rest = &page[i + marker.len()..];
            &rest[..36]
        })
        .collect()
}

async fn world(t: TestDb) -> World {
    let app = TestApp::start(t).await;
    let acme = tenant(&app.db, "acme", "Acme IT").await;
    let initech = clients::create(&app.db, acme.tenant, "Initech").await.unwrap();
    user(
        &app.db,
        acme.tenant,
        "jane@globex.example",
        UserType::Client,
        "Jane Doe",
    )
    .await;
    let peter = users_in(&app, acme.tenant, initech.id).await;
    let sam = user(
        &app.db,
        acme.tenant,
        "sam@acme-it.example",
        UserType::Internal,
        "Sam Staff",
    )
    .await;
    with_role(&app.db, acme.tenant, sam, UserType::Internal, "Admin").await;
    let staff = session_pair(
        &app.sign_in_staff(&acme.host, "sam@acme-it.example", PASSWORD)
            .await,
    )
    .unwrap();
    let jane = app.session_cookie(&acme.host, "jane@globex.example").await;
    let peter = app.session_cookie(&acme.host, &peter).await;

    let globex = clients::find_by_name(&app.db, acme.tenant, "Globex Corporation")
        .await
        .unwrap()
        .unwrap();
    let created = app
        .submit(
            &acme.host,
            "/msp/projects",
            &[
                ("client", &globex.id.to_string()),
                ("name", PROJECT),
                ("status", "in_progress"),
                ("start_date", "2026-11-01"),
                ("end_date", "2027-01-31"),
                ("budget_hours", "80"),
                ("description", "Mail to the cloud."),
            ],
            &staff,
            "/msp/projects",
        )
        .await;
    let to = location(&created).expect("created");
    assert!(
        to.starts_with("/msp/projects/PRJ-1001?notice=project_created"),
        "{to}"
    );
    let number = "PRJ-1001".to_owned();
    let base = format!("/msp/projects/{number}");
    for phase in ["Pilot", "Cut-over"] {
        let r = app
            .submit(
                &acme.host,
                &format!("{base}/phases"),
                &[("name", phase)],
                &staff,
                &base,
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let (_, page) = app.page(&acme.host, &base, &staff).await;
    let phases = id_after(&page, "<li id=\"phase-");
    assert_eq!(phases.len(), 2);
    let sam_id = sam.to_string();
    for (phase, name, status) in [
        (phases[0], TASK_NAME, "in_progress"),
        (phases[1], "Switch the MX records", "todo"),
    ] {
        let r = app
            .submit(
                &acme.host,
                &format!("{base}/tasks"),
                &[
                    ("phase", phase),
                    ("name", name),
                    ("description", DESCRIPTION),
                    ("status", status),
                    ("priority", "critical"),
                    ("assigned_to", &sam_id),
                    ("due_date", "2026-12-24"),
                    ("estimated_hours", "7.5"),
                    ("actual_hours", "3.25"),
                    ("checklist_done", "2"),
                    ("checklist_total", "9"),
                    ("services", SERVICES),
                ],
                &staff,
                &base,
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    }
    let (_, page) = app.page(&acme.host, &base, &staff).await;
    let tasks: Vec<String> = id_after(&page, "<details class=\"task-edit\" id=\"task-")
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(tasks.len(), 2);
    let dep = app
        .submit(
            &acme.host,
            &format!("{base}/dependencies"),
            &[
                ("predecessor", &tasks[0]),
                ("successor", &tasks[1]),
                ("kind", "blocks"),
                ("lead_lag_days", "3"),
            ],
            &staff,
            &base,
        )
        .await;
    assert_eq!(dep.status(), StatusCode::SEE_OTHER);
    World {
        app,
        host: acme.host,
        staff,
        jane,
        peter,
        number,
        base,
        tasks,
    }
}

async fn users_in(
    app: &TestApp,
    tenant: porta_core::ids::TenantId,
    client: porta_core::ids::ClientId,
) -> String {
    let email = "peter@initech.example";
    let id = porta_core::db::users::create(
        &app.db,
        &porta_core::db::users::NewUser {
            tenant,
            user_type: UserType::Client,
            email: porta_core::email::EmailAddress::parse(email).unwrap(),
            display_name: "Peter".into(),
            client: Some(client),
            password_hash: porta_core::password::hash(&porta_core::secret::Secret::new(PASSWORD)).unwrap(),
        },
    )
    .await
    .unwrap();
    with_role(&app.db, tenant, id, UserType::Client, "User").await;
    email.to_owned()
}

/// Sets the project's own config: the flags and task fields given.
async fn configure(w: &World, flags: &[&str], fields: &[TaskField]) {
    let mut form: Vec<(&str, &str)> = flags.iter().map(|f| (*f, "on")).collect();
    for f in fields {
        form.push(("field", f.as_str()));
    }
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{}/visibility", w.base),
            &form,
            &w.staff,
            &w.base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn client_page(w: &World) -> String {
    let (status, page) = w
        .app
        .page(&w.host, &format!("/client-portal/projects/{}", w.number), &w.jane)
        .await;
    assert_eq!(status, StatusCode::OK);
    page
}

async fn the_config_decides_what_clients_see(t: TestDb) {
    let w = world(t).await;
    // The built-in default: facts only.
    let page = client_page(&w).await;
    assert!(page.contains(PROJECT));
    for absent in [
        "id=\"phases\"",
        "id=\"tasks\"",
        TASK_NAME,
        "id=\"project-budget\"",
        "id=\"project-billing\"",
    ] {
        assert!(!page.contains(absent), "{absent} shown by default");
    }

    // Each top-level flag on, then off.
    for (flag, marker) in [
        ("show_phases", "id=\"phases\""),
        ("show_tasks", "id=\"tasks\""),
        ("show_budget_hours", "6.5 h of 80 h"),
        ("show_billing", SERVICES),
    ] {
        configure(&w, &[flag], &[]).await;
        assert!(client_page(&w).await.contains(marker), "{flag} on shows {marker}");
        configure(&w, &[], &[]).await;
        assert!(
            !client_page(&w).await.contains(marker),
            "{flag} off hides {marker}"
        );
    }
    configure(&w, &["show_phases", "show_phase_completion"], &[]).await;
    assert!(client_page(&w).await.contains("class=\"phase-completion\""));
    configure(&w, &["show_phases"], &[]).await;
    assert!(!client_page(&w).await.contains("class=\"phase-completion\""));

    // Task fields one at a time, with tasks shown.
    let cases: &[(TaskField, &str)] = &[
        (TaskField::TaskName, TASK_NAME),
        (TaskField::DueDate, "2026-12-24"),
        (TaskField::Status, "id=\"col-in_progress\""),
        (TaskField::Description, DESCRIPTION),
        (TaskField::AssignedTo, "Sam Staff"),
        (TaskField::EstimatedHours, "7.5 h"),
        (TaskField::ActualHours, "3.2 h"),
        (TaskField::Priority, "Critical"),
        (TaskField::ChecklistProgress, "2/9"),
        (TaskField::Services, SERVICES),
        (
            TaskField::Dependencies,
            "Depends on: Migrate the finance mailboxes (lag 3 d)",
        ),
        (TaskField::DocumentUploads, "Add a file"),
    ];
    for (field, marker) in cases {
        // Names stay on for the dependency line to name the task.
        let mut on = vec![*field];
        if *field == TaskField::Dependencies {
            on.push(TaskField::TaskName);
        }
        configure(&w, &["show_tasks"], &on).await;
        let page = client_page(&w).await;
        assert!(page.contains(marker), "{field} on shows {marker:?}");
        let others: Vec<TaskField> = TaskField::ALL
            .iter()
            .copied()
            .filter(|f| f != field && *f != TaskField::TaskName)
            .collect();
        configure(&w, &["show_tasks"], &others).await;
        let page = client_page(&w).await;
        assert!(!page.contains(marker), "{field} off hides {marker:?}");
    }
    // A project with no config of its own follows the tenant's default.
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{}/visibility", w.base),
            &[("use_default", "on")],
            &w.staff,
            &w.base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = w
        .app
        .submit(
            &w.host,
            "/msp/projects/visibility-defaults",
            &[("show_tasks", "on"), ("field", "task_name")],
            &w.staff,
            "/msp/projects",
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = client_page(&w).await;
    assert!(page.contains(TASK_NAME) && !page.contains("2026-12-24"));
}

async fn documents_follow_the_config(t: TestDb) {
    let w = world(t).await;
    configure(
        &w,
        &["show_tasks"],
        &[TaskField::TaskName, TaskField::DocumentUploads],
    )
    .await;
    let client_base = format!("/client-portal/projects/{}", w.number);
    let upload = format!("{client_base}/tasks/{}/documents", w.tasks[0]);
    let r = w
        .app
        .submit_multipart(
            &w.host,
            &upload,
            &[],
            &[("attachments", "notes.txt", TXT.to_vec())],
            &w.jane,
            &client_base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    let page = client_page(&w).await;
    let docs = id_after(&page, "/documents/");
    let doc = docs
        .iter()
        .find(|d| !d.starts_with('{'))
        .expect("the uploaded file is listed")
        .to_string();
    let download = format!("{client_base}/documents/{doc}");
    let got = w.app.get(&w.host, &download, Some(&w.jane)).await;
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), TXT);

    // Off: the file is gone from the page and from downloads; uploads refused.
    configure(&w, &["show_tasks"], &[TaskField::TaskName]).await;
    let page = client_page(&w).await;
    assert!(!page.contains("notes.txt"));
    assert_eq!(
        w.app.get(&w.host, &download, Some(&w.jane)).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = w
        .app
        .submit_multipart(
            &w.host,
            &upload,
            &[],
            &[("attachments", "more.txt", TXT.to_vec())],
            &w.jane,
            &client_base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Staff still see it.
    let staff_download = format!("{}/documents/{doc}", w.base);
    assert_eq!(
        w.app.get(&w.host, &staff_download, Some(&w.staff)).await.status(),
        StatusCode::OK
    );
    // A staff-only file never reaches the client.
    let r = w
        .app
        .submit_multipart(
            &w.host,
            &format!("{}/documents", w.base),
            &[("internal", "on")],
            &[("attachments", "secret-costs.txt", TXT.to_vec())],
            &w.staff,
            &w.base,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!client_page(&w).await.contains("secret-costs.txt"));
}

async fn others_see_nothing(t: TestDb) {
    let w = world(t).await;
    configure(&w, &["show_tasks", "show_phases"], TaskField::ALL).await;
    let path = format!("/client-portal/projects/{}", w.number);
    let (status, page) = w.app.page(&w.host, &path, &w.peter).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains(PROJECT) && !page.contains(TASK_NAME));
    let (_, list) = w.app.page(&w.host, "/client-portal/projects", &w.peter).await;
    assert!(!list.contains(PROJECT));
    let (_, list) = w.app.page(&w.host, "/client-portal/projects", &w.jane).await;
    assert!(list.contains(PROJECT));
    // Another tenant's staff and hosts.
    let beta = tenant(&w.app.db, "beta", "Beta IT").await;
    user(
        &w.app.db,
        beta.tenant,
        "bo@beta.example",
        UserType::Internal,
        "Bo",
    )
    .await;
    let bo = session_pair(&w.app.sign_in_staff(&beta.host, "bo@beta.example", PASSWORD).await).unwrap();
    let (status, page) = w.app.page(&beta.host, &w.base, &bo).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains(PROJECT));
    // Malformed numbers are a plain 404.
    for bad in ["PRJ-x", "0", "PRJ-99999999999999999999", "%00"] {
        let (status, _) = w
            .app
            .page(&w.host, &format!("/client-portal/projects/{bad}"), &w.jane)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    // Clients cannot reach the staff pages.
    let (status, _) = w.app.page(&w.host, &w.base, &w.jane).await;
    assert_ne!(status, StatusCode::OK);
}

async fn board_or_list_and_dependencies(t: TestDb) {
    let w = world(t).await;
    configure(
        &w,
        &["show_tasks"],
        &[TaskField::TaskName, TaskField::Status, TaskField::Dependencies],
    )
    .await;
    let page = client_page(&w).await;
    assert!(page.contains("id=\"kanban\"") && !page.contains("id=\"task-list\""));
    assert!(page.contains("Blocks: Switch the MX records (lag 3 d)"));
    let path = format!("/client-portal/projects/{}", w.number);
    let r = w
        .app
        .submit(
            &w.host,
            &format!("{path}/view"),
            &[("view", "list")],
            &w.jane,
            &path,
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = client_page(&w).await;
    assert!(
        page.contains("id=\"task-list\"") && !page.contains("id=\"kanban\""),
        "remembered"
    );
    // The staff page is unaffected by Jane's choice; a circle is refused.
    let circle = w
        .app
        .submit(
            &w.host,
            &format!("{}/dependencies", w.base),
            &[
                ("predecessor", &w.tasks[1]),
                ("successor", &w.tasks[0]),
                ("kind", "blocks"),
            ],
            &w.staff,
            &w.base,
        )
        .await;
    assert_eq!(circle.status(), StatusCode::BAD_REQUEST);
    assert!(circle.text().await.unwrap().contains("circle of blocking tasks"));
    let bad_hours = w
        .app
        .submit(
            &w.host,
            &format!("{}/tasks", w.base),
            &[
                ("phase", "nope"),
                ("name", "x"),
                ("status", "todo"),
                ("priority", "low"),
            ],
            &w.staff,
            &w.base,
        )
        .await;
    assert_eq!(bad_hours.status(), StatusCode::BAD_REQUEST);
    // The dashboard counts the open project.
    let (_, dashboard) = w.app.page(&w.host, "/client-portal/dashboard", &w.jane).await;
    let card = dashboard.split("id=\"kpi-active-projects\"").nth(1).unwrap();
    assert!(card.contains("<span class=\"kpi-value\">1</span>"), "{card}");
    assert!(dashboard.contains(PROJECT), "the project is in the activity feed");
}

both_backends! {
    the_config_decides_what_clients_see => the_config_decides_what_clients_see;
    documents_follow_the_config => documents_follow_the_config;
    others_see_nothing => others_see_nothing;
    board_or_list_and_dependencies => board_or_list_and_dependencies;
}
