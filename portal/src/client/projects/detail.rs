//! `/client-portal/projects/{number}`: the facts and completion, phases,
//! tasks as a kanban board or a list (remembered per user), dependencies,
//! documents, and task uploads where the config allows them.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::db::comments::Visibility;
use porta_core::db::documents;
use porta_core::db::projects::{self, Project};
use porta_core::ids::{DocumentId, ProjectTaskId};
use porta_core::project::{ProjectNumber, TaskStatus};
use serde::Deserialize;

use super::visible::{self, ProjectView, TaskView};
use crate::attachments::documents::{self as stored, serve_document, Owner};
use crate::attachments::upload;
use crate::client::tickets::reach;
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "client/projects/detail.html")]
struct DetailPage {
    ctx: PageContext,
    project: Project,
    view: ProjectView,
    list_view: bool,
    /// Whether the board may be offered (statuses are shown).
    can_choose: bool,
    statuses: &'static [TaskStatus],
    base: String,
    upload_error: Option<String>,
}

impl DetailPage {
    pub fn in_column(&self, status: &TaskStatus) -> Vec<&TaskView> {
        self.view
            .tasks
            .iter()
            .flatten()
            .filter(|t| t.column() == *status)
            .collect()
    }
}

async fn find(state: &AppState, who: &SignedIn, raw: &str) -> Result<Project, AppError> {
    let number: ProjectNumber = raw.parse().map_err(|_| AppError::NotFound)?;
    projects::find(&state.db, reach(who)?, number)
        .await?
        .ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    project: Project,
    upload_error: Option<String>,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    let phases = projects::phases(&state.db, tenant, project.id).await?;
    let tasks = projects::tasks(&state.db, tenant, project.id).await?;
    let dependencies = projects::dependencies(&state.db, tenant, project.id).await?;
    let docs = documents::for_project(&state.db, tenant, project.id, Visibility::Public).await?;
    let view = visible::build(
        &project,
        &phases,
        &tasks,
        &dependencies,
        docs,
        state.config.attachments.max_files > 0,
    );
    // A board's columns are the statuses: without the status field there
    // is only the list.
    let list_view = projects::task_view(&state.db, tenant, who.user.id).await? == "list"
        || !view.columns.contains(&porta_core::project::TaskField::Status);
    let can_choose = view.columns.contains(&porta_core::project::TaskField::Status);
    render(&DetailPage {
        ctx,
        base: format!("/client-portal/projects/{}", project.display_number()),
        project,
        view,
        list_view,
        can_choose,
        statuses: TaskStatus::ALL,
        upload_error,
    })
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Path(number): Path<String>,
) -> Result<Html<String>, AppError> {
    let project = find(&state, &who, &number).await?;
    page(&state, ctx, &who, project, None).await
}

#[derive(Deserialize)]
pub struct ViewForm {
    #[serde(default)]
    view: String,
}

/// Remembers kanban or list for this user.
pub async fn choose_view(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<ViewForm>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    projects::set_task_view(&state.db, who.user.tenant_id, who.user.id, form.view == "list").await?;
    Ok(Redirect::to(&format!(
        "/client-portal/projects/{}#tasks",
        project.display_number()
    ))
    .into_response())
}

pub async fn document(
    State(state): State<AppState>,
    who: SignedIn,
    Path((number, document)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let id: DocumentId = document.parse().map_err(|_| AppError::NotFound)?;
    let document =
        documents::find_for_project(&state.db, who.user.tenant_id, project.id, id, Visibility::Public)
            .await?
            .filter(|d| visible::may_download(&project, d))
            .ok_or(AppError::NotFound)?;
    serve_document(&state, &document).await
}

/// A client's files for a task, where the config allows uploads.
pub async fn upload(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path((number, task)): Path<(String, String)>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let project = find(&state, &who, &number).await?;
    let task: ProjectTaskId = task.parse().map_err(|_| AppError::NotFound)?;
    if !project.effective_visibility().allows_task_uploads() {
        return Err(AppError::NotFound);
    }
    let tasks = projects::tasks(&state.db, who.user.tenant_id, project.id).await?;
    if !tasks.iter().any(|t| t.id == task) {
        return Err(AppError::NotFound);
    }
    let form = match upload::read_form(multipart, &state.config.attachments).await {
        Ok(form) => form,
        Err(e) => {
            let html = page(&state, ctx, &who, project, Some(e.to_string())).await?;
            return Ok((axum::http::StatusCode::BAD_REQUEST, html).into_response());
        }
    };
    if let Some(refusal) = form.refusal() {
        let message = refusal.to_string();
        let html = page(&state, ctx, &who, project, Some(message)).await?;
        return Ok((axum::http::StatusCode::BAD_REQUEST, html).into_response());
    }
    if form.files.is_empty() {
        let html = page(
            &state,
            ctx,
            &who,
            project,
            Some("Choose a file to upload.".to_owned()),
        )
        .await?;
        return Ok((axum::http::StatusCode::BAD_REQUEST, html).into_response());
    }
    stored::store(
        &state,
        &site,
        &who,
        project.client_id,
        Owner::Project {
            project: project.id,
            task: Some(task),
        },
        false,
        form.files,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/client-portal/projects/{}?notice=files_uploaded#task-{task}",
        project.display_number()
    ))
    .into_response())
}
