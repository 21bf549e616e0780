//! The staff list of projects (every client's), creating one, and the
//! tenant's default visibility config.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::clock::UnixMillis;
use porta_core::db::clients::{self, Client};
use porta_core::db::projects::{self, Project};
use porta_core::db::tickets::Reach;
use porta_core::db::users::{self, UserProfile};
use porta_core::ids::ClientId;
use porta_core::project::{ProjectStatus, TaskField, Visibility};

use super::fields::{self, Fields};
use super::LIST;
use crate::client::projects::list::{offset, pager, ProjectQuery};
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;
use crate::tickets::filters::Pager;

#[derive(Template)]
#[template(path = "msp/projects/list.html")]
struct ListPage {
    ctx: PageContext,
    projects: Vec<Project>,
    query: ProjectQuery,
    pager: Pager,
    statuses: &'static [ProjectStatus],
    companies: Vec<Client>,
    staff: Vec<UserProfile>,
    defaults: Visibility,
    fields: &'static [TaskField],
    error: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    who: &SignedIn,
    query: ProjectQuery,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    let (rows, total) = projects::list(
        &state.db,
        Reach::Staff { tenant },
        &query.filter(),
        10,
        offset(&query),
    )
    .await?;
    render(&ListPage {
        ctx,
        projects: rows,
        pager: pager(LIST, &query, total),
        query,
        statuses: ProjectStatus::ALL,
        companies: clients::list(&state.db, tenant).await?,
        staff: users::staff(&state.db, tenant).await?,
        defaults: projects::tenant_visibility(&state.db, tenant).await?,
        fields: TaskField::ALL,
        error,
    })
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<ProjectQuery>,
) -> Result<Html<String>, AppError> {
    page(&state, ctx, &who, query, None).await
}

pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let refuse = |message: String| async {
        let html = page(&state, ctx, &who, ProjectQuery::default(), Some(message)).await?;
        Ok::<Response, AppError>((StatusCode::BAD_REQUEST, html).into_response())
    };
    let client: Option<ClientId> = fields::text(&form, "client").parse().ok();
    let Some(client) = client else {
        return refuse("Choose the client company.".to_owned()).await;
    };
    if clients::profile(&state.db, tenant, client).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let facts = match fields::project_facts(&form) {
        Ok(facts) => facts,
        Err(message) => return refuse(message).await,
    };
    match projects::create(&state.db, tenant, client, &facts, UnixMillis::now()).await {
        Ok((_, number)) => Ok(Redirect::to(&format!(
            "/msp/projects/{number}?notice={}",
            Message::ProjectCreated.code()
        ))
        .into_response()),
        Err(porta_core::db::DbError::Invalid(message)) => {
            refuse(format!("The project needs {message}.")).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn save_defaults(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    projects::set_tenant_visibility(&state.db, who.user.tenant_id, &fields::visibility(&form)).await?;
    Ok(Redirect::to(&format!("{LIST}?notice={}", Message::SettingsSaved.code())).into_response())
}
