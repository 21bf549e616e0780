//! One project, staff side: every fact editable, phases, tasks and
//! dependencies added and removed, documents, and the visibility config.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::comments::Visibility as DocumentVisibility;
use porta_core::db::documents::{self, Document};
use porta_core::db::projects::{self, Dependency, NewDependency, Phase, Project, Task};
use porta_core::db::tickets::Reach;
use porta_core::db::users::{self, UserProfile};
use porta_core::db::DbError;
use porta_core::ids::{DependencyId, DocumentId, PhaseId, ProjectTaskId};
use porta_core::project::{
    hours_label, DependencyKind, ProjectNumber, ProjectStatus, TaskField, TaskPriority, TaskStatus,
    Visibility,
};

use super::fields::{self, Fields};
use crate::attachments::documents::{self as stored, serve_document, Owner};
use crate::attachments::upload;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "msp/projects/detail.html")]
struct DetailPage {
    ctx: PageContext,
    project: Project,
    phases: Vec<Phase>,
    tasks: Vec<Task>,
    dependencies: Vec<Dependency>,
    documents: Vec<Document>,
    staff: Vec<UserProfile>,
    visibility: Visibility,
    uses_default: bool,
    statuses: &'static [ProjectStatus],
    task_statuses: &'static [TaskStatus],
    priorities: &'static [TaskPriority],
    fields: &'static [TaskField],
    base: String,
    can_update: bool,
    error: Option<String>,
}

impl DetailPage {
    /// Minutes as the hours a form field shows (`1.5`).
    pub fn hours(&self, minutes: Option<&i64>) -> String {
        minutes
            .map(|m| {
                let hundredths = m * 100 / 60;
                match hundredths % 100 {
                    0 => format!("{}", hundredths / 100),
                    r if r % 10 == 0 => format!("{}.{}", hundredths / 100, r / 10),
                    r => format!("{}.{r:02}", hundredths / 100),
                }
            })
            .unwrap_or_default()
    }

    pub fn same_user(&self, a: &Option<porta_core::ids::UserId>, b: &porta_core::ids::UserId) -> bool {
        a.as_ref() == Some(b)
    }

    pub fn no_task(&self) -> Option<&Task> {
        None
    }

    pub fn hours_label(&self, minutes: &i64) -> String {
        hours_label(*minutes)
    }

    pub fn phase_name(&self, id: &PhaseId) -> String {
        self.phases
            .iter()
            .find(|p| p.id == *id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    pub fn task_name(&self, id: &Option<ProjectTaskId>) -> String {
        id.and_then(|id| self.tasks.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }
}

async fn find(state: &AppState, who: &SignedIn, raw: &str) -> Result<Project, AppError> {
    let number: ProjectNumber = raw.parse().map_err(|_| AppError::NotFound)?;
    projects::find(
        &state.db,
        Reach::Staff {
            tenant: who.user.tenant_id,
        },
        number,
    )
    .await?
    .ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    project: Project,
    error: Option<String>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(&DetailPage {
        ctx,
        phases: projects::phases(&state.db, tenant, project.id).await?,
        tasks: projects::tasks(&state.db, tenant, project.id).await?,
        dependencies: projects::dependencies(&state.db, tenant, project.id).await?,
        documents: documents::for_project(&state.db, tenant, project.id, DocumentVisibility::All).await?,
        staff: users::staff(&state.db, tenant).await?,
        visibility: project.effective_visibility(),
        uses_default: project.visibility.is_none(),
        statuses: ProjectStatus::ALL,
        task_statuses: TaskStatus::ALL,
        priorities: TaskPriority::ALL,
        fields: TaskField::ALL,
        base: format!("/msp/projects/{}", project.display_number()),
        can_update: who.can(porta_core::permission::perm::PROJECT_UPDATE),
        project,
        error,
    })?;
    Ok((status, html).into_response())
}

fn back(project: &Project, anchor: &str) -> Response {
    Redirect::to(&format!(
        "/msp/projects/{}?notice={}#{anchor}",
        project.display_number(),
        Message::ProjectSaved.code()
    ))
    .into_response()
}

/// A refusal from the db layer as the page's message.
async fn outcome<T>(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    project: Project,
    result: Result<T, DbError>,
    anchor: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(back(&project, anchor)),
        Err(DbError::Invalid(message)) => {
            page(state, ctx, who, project, Some(format!("Not saved: {message}."))).await
        }
        Err(DbError::NotFound(what)) => {
            page(
                state,
                ctx,
                who,
                project,
                Some(format!("Not saved: no such {what} in this project.")),
            )
            .await
        }
        Err(DbError::Conflict(what)) => {
            page(
                state,
                ctx,
                who,
                project,
                Some(format!("Not saved: that {what} exists already.")),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    page(&state, ctx, &who, project, None).await
}

pub async fn save_facts(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let facts = match fields::project_facts(&form) {
        Ok(facts) => facts,
        Err(message) => return page(&state, ctx, &who, project, Some(message)).await,
    };
    let result = projects::update(
        &state.db,
        who.user.tenant_id,
        project.id,
        &facts,
        UnixMillis::now(),
    )
    .await;
    outcome(&state, ctx, &who, project, result, "facts").await
}

pub async fn save_visibility(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let own = (!fields::ticked(&form, "use_default")).then(|| fields::visibility(&form));
    projects::set_visibility(
        &state.db,
        who.user.tenant_id,
        project.id,
        own.as_ref(),
        UnixMillis::now(),
    )
    .await?;
    Ok(back(&project, "visibility"))
}

pub async fn add_phase(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let dates = match (
        fields::date(&form, "start_date", "Start"),
        fields::date(&form, "end_date", "End"),
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(m), _) | (_, Err(m)) => return page(&state, ctx, &who, project, Some(m)).await,
    };
    let result = projects::add_phase(
        &state.db,
        who.user.tenant_id,
        project.id,
        fields::text(&form, "name"),
        fields::text(&form, "description"),
        dates,
        UnixMillis::now(),
    )
    .await;
    outcome(&state, ctx, &who, project, result, "phases").await
}

pub async fn delete_phase(
    State(state): State<AppState>,
    who: SignedIn,
    Path((number, phase)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let phase: PhaseId = phase.parse().map_err(|_| AppError::NotFound)?;
    if !projects::delete_phase(
        &state.db,
        who.user.tenant_id,
        project.id,
        phase,
        UnixMillis::now(),
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(back(&project, "phases"))
}

pub async fn add_task(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let facts = match fields::task_facts(&form) {
        Ok(facts) => facts,
        Err(message) => return page(&state, ctx, &who, project, Some(message)).await,
    };
    let result = projects::add_task(
        &state.db,
        who.user.tenant_id,
        project.id,
        &facts,
        UnixMillis::now(),
    )
    .await;
    outcome(&state, ctx, &who, project, result, "tasks").await
}

pub async fn save_task(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path((number, task)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let task: ProjectTaskId = task.parse().map_err(|_| AppError::NotFound)?;
    let facts = match fields::task_facts(&form) {
        Ok(facts) => facts,
        Err(message) => return page(&state, ctx, &who, project, Some(message)).await,
    };
    match projects::update_task(
        &state.db,
        who.user.tenant_id,
        project.id,
        task,
        &facts,
        UnixMillis::now(),
    )
    .await
    {
        Ok(false) => Err(AppError::NotFound),
        other => outcome(&state, ctx, &who, project, other, &format!("task-{task}")).await,
    }
}

pub async fn delete_task(
    State(state): State<AppState>,
    who: SignedIn,
    Path((number, task)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let task: ProjectTaskId = task.parse().map_err(|_| AppError::NotFound)?;
    if !projects::delete_task(&state.db, who.user.tenant_id, project.id, task, UnixMillis::now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(back(&project, "tasks"))
}

pub async fn add_dependency(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let parsed = (
        fields::text(&form, "predecessor").parse::<ProjectTaskId>(),
        fields::text(&form, "successor").parse::<ProjectTaskId>(),
        fields::text(&form, "kind").parse::<DependencyKind>(),
        match fields::text(&form, "lead_lag_days") {
            "" => Ok(0),
            raw => raw.parse::<i32>(),
        },
    );
    let (Ok(predecessor), Ok(successor), Ok(kind), Ok(lead_lag_days)) = parsed else {
        return page(
            &state,
            ctx,
            &who,
            project,
            Some("Choose both tasks and the kind; lead or lag is a whole number of days.".to_owned()),
        )
        .await;
    };
    let new = NewDependency {
        predecessor,
        successor,
        kind,
        lead_lag_days,
        notes: fields::text(&form, "notes"),
    };
    let result =
        projects::add_dependency(&state.db, who.user.tenant_id, project.id, &new, UnixMillis::now()).await;
    outcome(&state, ctx, &who, project, result, "dependencies").await
}

pub async fn delete_dependency(
    State(state): State<AppState>,
    who: SignedIn,
    Path((number, dependency)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let id: DependencyId = dependency.parse().map_err(|_| AppError::NotFound)?;
    if !projects::delete_dependency(&state.db, who.user.tenant_id, project.id, id, UnixMillis::now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(back(&project, "dependencies"))
}

/// Staff attach files to the project or one of its tasks (field `task`).
pub async fn upload(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let form = match upload::read_form(multipart, &state.config.attachments).await {
        Ok(form) => form,
        Err(e) => return page(&state, ctx, &who, project, Some(e.to_string())).await,
    };
    if let Some(refusal) = form.refusal() {
        let message = refusal.to_string();
        return page(&state, ctx, &who, project, Some(message)).await;
    }
    let task = match form.field("task").unwrap_or_default() {
        "" => None,
        raw => {
            let id: ProjectTaskId = raw.parse().map_err(|_| AppError::NotFound)?;
            let tasks = projects::tasks(&state.db, who.user.tenant_id, project.id).await?;
            if !tasks.iter().any(|t| t.id == id) {
                return Err(AppError::NotFound);
            }
            Some(id)
        }
    };
    let internal = form.field("internal").is_some();
    if form.files.is_empty() {
        return page(
            &state,
            ctx,
            &who,
            project,
            Some("Choose a file to upload.".to_owned()),
        )
        .await;
    }
    stored::store(
        &state,
        &site,
        &who,
        project.client_id,
        Owner::Project {
            project: project.id,
            task,
        },
        internal,
        form.files,
    )
    .await?;
    Ok(back(&project, "documents"))
}

pub async fn document(
    State(state): State<AppState>,
    who: SignedIn,
    Path((number, document)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let id: DocumentId = document.parse().map_err(|_| AppError::NotFound)?;
    let document = documents::find_for_project(
        &state.db,
        who.user.tenant_id,
        project.id,
        id,
        DocumentVisibility::All,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    serve_document(&state, &document).await
}
