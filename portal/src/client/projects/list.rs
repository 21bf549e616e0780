//! The list: search over name and description, a status filter, 10 a page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use porta_core::db::projects::{self, Project, ProjectFilter, ProjectState};
use porta_core::project::ProjectStatus;
use serde::Deserialize;

use super::LIST;
use crate::client::tickets::reach;
use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;
use crate::tickets::filters::Pager;

const PAGE_SIZE: i64 = 10;

#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub state: String,
    /// Staff only: one company.
    #[serde(default)]
    pub client: String,
    pub page: Option<u32>,
}

impl ProjectQuery {
    pub fn filter(&self) -> ProjectFilter {
        let state = match self.state.as_str() {
            "open" => ProjectState::Open,
            "closed" => ProjectState::Closed,
            other => other
                .parse::<ProjectStatus>()
                .map(ProjectState::One)
                .unwrap_or_default(),
        };
        ProjectFilter {
            state,
            text: Some(self.q.trim().chars().take(200).collect::<String>()).filter(|t| !t.is_empty()),
            client: self.client.parse().ok(),
        }
    }

    /// The query string without the page.
    pub fn base(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.trim().is_empty() {
            q.append_pair("q", self.q.trim());
        }
        if !self.state.is_empty() {
            q.append_pair("state", &self.state);
        }
        if !self.client.is_empty() {
            q.append_pair("client", &self.client);
        }
        q.finish()
    }

    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).clamp(1, 100_000)
    }
}

/// The pager of a project list at `path`.
pub fn pager(path: &str, query: &ProjectQuery, total: i64) -> Pager {
    let base = query.base();
    Pager::of(query.page(), total, PAGE_SIZE, "No projects", |p| {
        if base.is_empty() {
            format!("{path}?page={p}")
        } else {
            format!("{path}?{base}&page={p}")
        }
    })
}

pub fn offset(query: &ProjectQuery) -> i64 {
    i64::from(query.page() - 1) * PAGE_SIZE
}

#[derive(Template)]
#[template(path = "client/projects/list.html")]
struct ListPage {
    ctx: PageContext,
    projects: Vec<Project>,
    query: ProjectQuery,
    pager: Pager,
    statuses: &'static [ProjectStatus],
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<ProjectQuery>,
) -> Result<Html<String>, AppError> {
    let (rows, total) = projects::list(
        &state.db,
        reach(&who)?,
        &query.filter(),
        PAGE_SIZE,
        offset(&query),
    )
    .await?;
    render(&ListPage {
        ctx,
        projects: rows,
        pager: pager(LIST, &query, total),
        query,
        statuses: ProjectStatus::ALL,
    })
}
