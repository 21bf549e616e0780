//! Projects of client companies: the list and detail a client sees (only
//! their company's, through [`Reach`]), phases and tasks with their
//! completion, dependencies between tasks, the per-project visibility
//! config (defaulted from the tenant's), and what staff change.

use sqlx::FromRow;

use super::args::{bind_query_as, bind_scalar, contains_pattern, Arg, Conditions};
use super::tickets::Reach;
use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::ids::{ClientId, DependencyId, PhaseId, ProjectId, ProjectTaskId, TenantId, UserId};
use crate::project::{DependencyKind, ProjectNumber, ProjectStatus, TaskPriority, TaskStatus, Visibility};
use crate::{on_pool, on_tx};

/// A project with what its pages show at the top.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Project {
    pub id: ProjectId,
    pub client_id: ClientId,
    pub client_name: String,
    pub number: i64,
    pub name: String,
    pub description: String,
    pub status: ProjectStatus,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub budget_minutes: Option<i64>,
    pub manager_id: Option<UserId>,
    pub manager_name: Option<String>,
    /// The project's own config (JSON), if staff set one.
    pub visibility: Option<String>,
    pub tenant_visibility: Option<String>,
    pub tasks_total: i64,
    pub tasks_done: i64,
    pub actual_minutes: i64,
    pub updated_at: i64,
}

impl Project {
    pub fn display_number(&self) -> String {
        ProjectNumber(self.number).to_string()
    }

    /// What clients see of it: its own config, else the tenant's, else
    /// the built-in default.
    pub fn effective_visibility(&self) -> Visibility {
        self.visibility
            .as_deref()
            .and_then(Visibility::from_json)
            .or_else(|| self.tenant_visibility.as_deref().and_then(Visibility::from_json))
            .unwrap_or_default()
    }

    pub fn completion(&self) -> i64 {
        crate::project::percent(self.tasks_done, self.tasks_total)
    }
}

const SELECT: &str = "SELECT p.id, p.client_id, c.name AS client_name, p.number, p.name, p.description, p.status, \
    p.start_date, p.end_date, p.budget_minutes, p.manager_id, m.display_name AS manager_name, p.visibility, \
    tn.project_visibility AS tenant_visibility, \
    (SELECT COUNT(*) FROM project_tasks x WHERE x.tenant_id = p.tenant_id AND x.project_id = p.id) AS tasks_total, \
    (SELECT COUNT(*) FROM project_tasks x WHERE x.tenant_id = p.tenant_id AND x.project_id = p.id AND x.status = 'done') AS tasks_done, \
    (SELECT CAST(COALESCE(SUM(x.actual_minutes), 0) AS BIGINT) FROM project_tasks x WHERE x.tenant_id = p.tenant_id AND x.project_id = p.id) AS actual_minutes, \
    p.updated_at \
    FROM projects p JOIN clients c ON c.tenant_id = p.tenant_id AND c.id = p.client_id \
    JOIN tenants tn ON tn.id = p.tenant_id \
    LEFT JOIN users m ON m.tenant_id = p.tenant_id AND m.id = p.manager_id";

fn reach_conditions(reach: Reach) -> Conditions {
    let mut c = Conditions::new();
    c.add(Arg::Text(reach.tenant().to_string()), |p| {
        format!("p.tenant_id = {p}")
    });
    if let Reach::Client { client, .. } = reach {
        c.add(Arg::Text(client.to_string()), |p| format!("p.client_id = {p}"));
    }
    c
}

/// Which projects by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectState {
    #[default]
    All,
    /// Planning, in progress or on hold.
    Open,
    /// Completed or cancelled.
    Closed,
    One(ProjectStatus),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    pub state: ProjectState,
    /// Words of the name or description, or the number.
    pub text: Option<String>,
    /// Staff only: one company.
    pub client: Option<ClientId>,
}

/// A page of the projects `reach` sees, most recently updated first, and
/// how many match in all.
pub async fn list(
    db: &Db,
    reach: Reach,
    filter: &ProjectFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Project>, i64), DbError> {
    let mut c = reach_conditions(reach);
    match filter.state {
        ProjectState::All => {}
        ProjectState::Open => {
            c.raw("p.status IN ('planning', 'in_progress', 'on_hold')");
        }
        ProjectState::Closed => {
            c.raw("p.status IN ('completed', 'cancelled')");
        }
        ProjectState::One(status) => {
            c.add(Arg::Text(status.as_str().to_owned()), |p| {
                format!("p.status = {p}")
            });
        }
    }
    if let Some(client) = filter.client {
        c.add(Arg::Text(client.to_string()), |p| format!("p.client_id = {p}"));
    }
    if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let like = c.value(Arg::Text(contains_pattern(text)));
        match text.parse::<ProjectNumber>() {
            Ok(n) => {
                let number = c.value(Arg::Int(n.0));
                c.raw(&format!(
                    "(lower(p.name) LIKE {like} ESCAPE '\\' OR lower(p.description) LIKE {like} ESCAPE '\\' OR p.number = {number})"
                ));
            }
            Err(_) => {
                c.raw(&format!(
                    "(lower(p.name) LIKE {like} ESCAPE '\\' OR lower(p.description) LIKE {like} ESCAPE '\\')"
                ));
            }
        }
    }
    let count_sql = format!("SELECT COUNT(*) FROM projects p WHERE {}", c.sql());
    let total: i64 = on_pool!(db, |pool| bind_scalar(sqlx::query_scalar(&count_sql), c.args())
        .fetch_one(pool)
        .await)?;
    let limit = c.value(Arg::Int(limit));
    let offset = c.value(Arg::Int(offset));
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY p.updated_at DESC, p.number DESC LIMIT {limit} OFFSET {offset}",
        c.sql()
    );
    let rows = on_pool!(db, |pool| bind_query_as(sqlx::query_as(&sql), c.args())
        .fetch_all(pool)
        .await)?;
    Ok((rows, total))
}

/// The project with `number`, if `reach` sees it.
pub async fn find(db: &Db, reach: Reach, number: ProjectNumber) -> Result<Option<Project>, DbError> {
    let mut c = reach_conditions(reach);
    c.add(Arg::Int(number.0), |p| format!("p.number = {p}"));
    let sql = format!("{SELECT} WHERE {}", c.sql());
    Ok(on_pool!(db, |pool| bind_query_as(
        sqlx::query_as(&sql),
        c.args()
    )
    .fetch_optional(pool)
    .await)?)
}

/// Open projects of the company (the dashboard's card).
pub async fn open_count(db: &Db, tenant: TenantId, client: ClientId) -> Result<i64, DbError> {
    let sql = "SELECT COUNT(*) FROM projects WHERE tenant_id = $1 AND client_id = $2 \
               AND status IN ('planning', 'in_progress', 'on_hold')";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(tenant)
        .bind(client)
        .fetch_one(pool)
        .await)?)
}

/// The company's most recently changed projects (the activity feed).
pub async fn recently_updated(
    db: &Db,
    tenant: TenantId,
    client: ClientId,
    limit: i64,
) -> Result<Vec<Project>, DbError> {
    let sql =
        format!("{SELECT} WHERE p.tenant_id = $1 AND p.client_id = $2 ORDER BY p.updated_at DESC LIMIT $3");
    Ok(on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(tenant)
        .bind(client)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Phase {
    pub id: PhaseId,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub tasks_total: i64,
    pub tasks_done: i64,
}

impl Phase {
    pub fn completion(&self) -> i64 {
        crate::project::percent(self.tasks_done, self.tasks_total)
    }
}

pub async fn phases(db: &Db, tenant: TenantId, project: ProjectId) -> Result<Vec<Phase>, DbError> {
    let sql = "SELECT ph.id, ph.name, ph.description, ph.position, ph.start_date, ph.end_date, \
               (SELECT COUNT(*) FROM project_tasks x WHERE x.tenant_id = ph.tenant_id AND x.phase_id = ph.id) AS tasks_total, \
               (SELECT COUNT(*) FROM project_tasks x WHERE x.tenant_id = ph.tenant_id AND x.phase_id = ph.id AND x.status = 'done') AS tasks_done \
               FROM project_phases ph WHERE ph.tenant_id = $1 AND ph.project_id = $2 ORDER BY ph.position, ph.name";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(project)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Task {
    pub id: ProjectTaskId,
    pub phase_id: PhaseId,
    pub name: String,
    pub description: String,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    pub assigned_to: Option<UserId>,
    pub assignee_name: Option<String>,
    pub due_date: Option<String>,
    pub estimated_minutes: Option<i64>,
    pub actual_minutes: i64,
    pub checklist_total: i32,
    pub checklist_done: i32,
    pub services: String,
    pub position: i32,
}

pub async fn tasks(db: &Db, tenant: TenantId, project: ProjectId) -> Result<Vec<Task>, DbError> {
    let sql = "SELECT t.id, t.phase_id, t.name, t.description, t.status, t.priority, t.assigned_to, \
               u.display_name AS assignee_name, t.due_date, t.estimated_minutes, t.actual_minutes, \
               t.checklist_total, t.checklist_done, t.services, t.position \
               FROM project_tasks t JOIN project_phases ph ON ph.tenant_id = t.tenant_id AND ph.id = t.phase_id \
               LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.assigned_to \
               WHERE t.tenant_id = $1 AND t.project_id = $2 ORDER BY ph.position, t.position, t.name";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(project)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Dependency {
    pub id: DependencyId,
    pub predecessor_id: ProjectTaskId,
    pub predecessor_name: String,
    pub successor_id: ProjectTaskId,
    pub successor_name: String,
    pub kind: DependencyKind,
    pub lead_lag_days: i32,
    pub notes: String,
}

pub async fn dependencies(db: &Db, tenant: TenantId, project: ProjectId) -> Result<Vec<Dependency>, DbError> {
    let sql = "SELECT d.id, d.predecessor_id, a.name AS predecessor_name, d.successor_id, b.name AS successor_name, \
               d.kind, d.lead_lag_days, d.notes FROM task_dependencies d \
               JOIN project_tasks a ON a.tenant_id = d.tenant_id AND a.id = d.predecessor_id \
               JOIN project_tasks b ON b.tenant_id = d.tenant_id AND b.id = d.successor_id \
               WHERE d.tenant_id = $1 AND d.project_id = $2 ORDER BY a.name, b.name";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(tenant)
        .bind(project)
        .fetch_all(pool)
        .await)?)
}

/// The facts staff set on a project.
#[derive(Debug, Clone)]
pub struct ProjectFacts<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub status: ProjectStatus,
    pub start_date: Option<&'a str>,
    pub end_date: Option<&'a str>,
    pub budget_minutes: Option<i64>,
    pub manager: Option<UserId>,
}

fn checked_name(name: &str) -> Result<String, DbError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DbError::Invalid("a name of 1 to 200 characters".to_owned()));
    }
    Ok(name.to_owned())
}

/// Creates a project for `client`; returns its id and number.
pub async fn create(
    db: &Db,
    tenant: TenantId,
    client: ClientId,
    facts: &ProjectFacts<'_>,
    now: UnixMillis,
) -> Result<(ProjectId, ProjectNumber), DbError> {
    let name = checked_name(facts.name)?;
    let id = ProjectId::generate();
    let mut tx = db.begin().await?;
    let number: i64 = on_tx!(&mut tx, |t| sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 1000) + 1 FROM projects WHERE tenant_id = $1"
    )
    .bind(tenant)
    .fetch_one(&mut **t)
    .await)?;
    let sql =
        "INSERT INTO projects (id, tenant_id, client_id, number, name, description, status, start_date, \
               end_date, budget_minutes, manager_id, visibility, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $12)";
    on_tx!(&mut tx, |t| sqlx::query(sql)
        .bind(id)
        .bind(tenant)
        .bind(client)
        .bind(number)
        .bind(&name)
        .bind(facts.description)
        .bind(facts.status)
        .bind(facts.start_date)
        .bind(facts.end_date)
        .bind(facts.budget_minutes)
        .bind(facts.manager)
        .bind(now.0)
        .execute(&mut **t)
        .await
        .map(|_| ()))
    .map_err(DbError::conflict_as("project number"))?;
    tx.commit().await?;
    Ok((id, ProjectNumber(number)))
}

pub async fn update(
    db: &Db,
    tenant: TenantId,
    id: ProjectId,
    facts: &ProjectFacts<'_>,
    now: UnixMillis,
) -> Result<(), DbError> {
    let name = checked_name(facts.name)?;
    let sql =
        "UPDATE projects SET name = $3, description = $4, status = $5, start_date = $6, end_date = $7, \
               budget_minutes = $8, manager_id = $9, updated_at = $10 WHERE tenant_id = $1 AND id = $2";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(id)
        .bind(&name)
        .bind(facts.description)
        .bind(facts.status)
        .bind(facts.start_date)
        .bind(facts.end_date)
        .bind(facts.budget_minutes)
        .bind(facts.manager)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Sets the project's own visibility config (`None`: the tenant's).
pub async fn set_visibility(
    db: &Db,
    tenant: TenantId,
    id: ProjectId,
    visibility: Option<&Visibility>,
    now: UnixMillis,
) -> Result<(), DbError> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE projects SET visibility = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(id)
    .bind(visibility.map(Visibility::to_json))
    .bind(now.0)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The tenant's default config for projects without their own.
pub async fn tenant_visibility(db: &Db, tenant: TenantId) -> Result<Visibility, DbError> {
    let raw: Option<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT project_visibility FROM tenants WHERE id = $1"
    )
    .bind(tenant)
    .fetch_one(pool)
    .await)?;
    Ok(raw.as_deref().and_then(Visibility::from_json).unwrap_or_default())
}

pub async fn set_tenant_visibility(
    db: &Db,
    tenant: TenantId,
    visibility: &Visibility,
) -> Result<(), DbError> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE tenants SET project_visibility = $2 WHERE id = $1"
    )
    .bind(tenant)
    .bind(visibility.to_json())
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

async fn touch(db: &Db, tenant: TenantId, project: ProjectId, now: UnixMillis) -> Result<(), DbError> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE projects SET updated_at = $3 WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(project)
    .bind(now.0)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Adds a phase at the end of the project's phases.
pub async fn add_phase(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    name: &str,
    description: &str,
    dates: (Option<&str>, Option<&str>),
    now: UnixMillis,
) -> Result<PhaseId, DbError> {
    let name = checked_name(name)?;
    let id = PhaseId::generate();
    let position: i32 = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS INTEGER) FROM project_phases WHERE tenant_id = $1 AND project_id = $2"
    )
    .bind(tenant)
    .bind(project)
    .fetch_one(pool)
    .await
    })?;
    let sql = "INSERT INTO project_phases (id, tenant_id, project_id, name, description, position, start_date, end_date) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(tenant)
        .bind(project)
        .bind(&name)
        .bind(description)
        .bind(position)
        .bind(dates.0)
        .bind(dates.1)
        .execute(pool)
        .await
        .map(|_| ()))?;
    touch(db, tenant, project, now).await?;
    Ok(id)
}

/// Removes a phase of the project (and its tasks).
pub async fn delete_phase(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    phase: PhaseId,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let changed = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM project_phases WHERE tenant_id = $1 AND project_id = $2 AND id = $3"
    )
    .bind(tenant)
    .bind(project)
    .bind(phase)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    touch(db, tenant, project, now).await?;
    Ok(changed == 1)
}

/// What staff set on a task.
#[derive(Debug, Clone)]
pub struct TaskFacts<'a> {
    pub phase: PhaseId,
    pub name: &'a str,
    pub description: &'a str,
    pub status: TaskStatus,
    pub priority: TaskPriority,
    pub assigned_to: Option<UserId>,
    pub due_date: Option<&'a str>,
    pub estimated_minutes: Option<i64>,
    pub actual_minutes: i64,
    pub checklist: (i32, i32),
    pub services: &'a str,
}

fn checked_task(facts: &TaskFacts<'_>) -> Result<String, DbError> {
    let (done, total) = facts.checklist;
    if done < 0 || total < 0 || done > total || total > 1000 {
        return Err(DbError::Invalid(
            "checklist progress: done between 0 and the total".to_owned(),
        ));
    }
    if facts.actual_minutes < 0 || facts.estimated_minutes.is_some_and(|m| m < 0) {
        return Err(DbError::Invalid("hours cannot be negative".to_owned()));
    }
    checked_name(facts.name)
}

/// The phase, if it is the project's (so a task cannot be put in another
/// project's phase).
async fn phase_of(db: &Db, tenant: TenantId, project: ProjectId, phase: PhaseId) -> Result<bool, DbError> {
    let n: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM project_phases WHERE tenant_id = $1 AND project_id = $2 AND id = $3"
    )
    .bind(tenant)
    .bind(project)
    .bind(phase)
    .fetch_one(pool)
    .await)?;
    Ok(n == 1)
}

pub async fn add_task(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    facts: &TaskFacts<'_>,
    now: UnixMillis,
) -> Result<ProjectTaskId, DbError> {
    let name = checked_task(facts)?;
    if !phase_of(db, tenant, project, facts.phase).await? {
        return Err(DbError::NotFound("phase"));
    }
    let id = ProjectTaskId::generate();
    let position: i32 = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS INTEGER) FROM project_tasks WHERE tenant_id = $1 AND phase_id = $2"
    )
    .bind(tenant)
    .bind(facts.phase)
    .fetch_one(pool)
    .await
    })?;
    let sql = "INSERT INTO project_tasks (id, tenant_id, project_id, phase_id, name, description, status, priority, \
               assigned_to, due_date, estimated_minutes, actual_minutes, checklist_total, checklist_done, services, \
               position, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(tenant)
        .bind(project)
        .bind(facts.phase)
        .bind(&name)
        .bind(facts.description)
        .bind(facts.status)
        .bind(facts.priority)
        .bind(facts.assigned_to)
        .bind(facts.due_date)
        .bind(facts.estimated_minutes)
        .bind(facts.actual_minutes)
        .bind(facts.checklist.1)
        .bind(facts.checklist.0)
        .bind(facts.services)
        .bind(position)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|_| ()))?;
    touch(db, tenant, project, now).await?;
    Ok(id)
}

pub async fn update_task(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    task: ProjectTaskId,
    facts: &TaskFacts<'_>,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let name = checked_task(facts)?;
    if !phase_of(db, tenant, project, facts.phase).await? {
        return Err(DbError::NotFound("phase"));
    }
    let sql = "UPDATE project_tasks SET phase_id = $4, name = $5, description = $6, status = $7, priority = $8, \
               assigned_to = $9, due_date = $10, estimated_minutes = $11, actual_minutes = $12, checklist_total = $13, \
               checklist_done = $14, services = $15, updated_at = $16 \
               WHERE tenant_id = $1 AND project_id = $2 AND id = $3";
    let changed = on_pool!(db, |pool| sqlx::query(sql)
        .bind(tenant)
        .bind(project)
        .bind(task)
        .bind(facts.phase)
        .bind(&name)
        .bind(facts.description)
        .bind(facts.status)
        .bind(facts.priority)
        .bind(facts.assigned_to)
        .bind(facts.due_date)
        .bind(facts.estimated_minutes)
        .bind(facts.actual_minutes)
        .bind(facts.checklist.1)
        .bind(facts.checklist.0)
        .bind(facts.services)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    touch(db, tenant, project, now).await?;
    Ok(changed == 1)
}

pub async fn delete_task(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    task: ProjectTaskId,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let changed = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM project_tasks WHERE tenant_id = $1 AND project_id = $2 AND id = $3"
    )
    .bind(tenant)
    .bind(project)
    .bind(task)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    touch(db, tenant, project, now).await?;
    Ok(changed == 1)
}

/// What a new dependency says.
#[derive(Debug, Clone)]
pub struct NewDependency<'a> {
    pub predecessor: ProjectTaskId,
    pub successor: ProjectTaskId,
    pub kind: DependencyKind,
    pub lead_lag_days: i32,
    pub notes: &'a str,
}

/// Adds a dependency between two tasks of the project. Refused: a task on
/// itself, a task of another project, a pair already linked, and a
/// `blocks` chain that would come back to where it started.
pub async fn add_dependency(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    new: &NewDependency<'_>,
    now: UnixMillis,
) -> Result<DependencyId, DbError> {
    if new.predecessor == new.successor {
        return Err(DbError::Invalid("a task cannot depend on itself".to_owned()));
    }
    if !(-365..=365).contains(&new.lead_lag_days) {
        return Err(DbError::Invalid("lead or lag of at most 365 days".to_owned()));
    }
    let ids: Vec<ProjectTaskId> = tasks(db, tenant, project)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if !ids.contains(&new.predecessor) || !ids.contains(&new.successor) {
        return Err(DbError::NotFound("task"));
    }
    if new.kind == DependencyKind::Blocks {
        let existing = dependencies(db, tenant, project).await?;
        let edges: Vec<(ProjectTaskId, ProjectTaskId)> = existing
            .iter()
            .filter(|d| d.kind == DependencyKind::Blocks)
            .map(|d| (d.predecessor_id, d.successor_id))
            .collect();
        if reaches(&edges, new.successor, new.predecessor) {
            return Err(DbError::Invalid(
                "that would make a circle of blocking tasks".to_owned(),
            ));
        }
    }
    let id = DependencyId::generate();
    let sql = "INSERT INTO task_dependencies (id, tenant_id, project_id, predecessor_id, successor_id, kind, lead_lag_days, notes) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(id)
        .bind(tenant)
        .bind(project)
        .bind(new.predecessor)
        .bind(new.successor)
        .bind(new.kind)
        .bind(new.lead_lag_days)
        .bind(new.notes)
        .execute(pool)
        .await
        .map(|_| ()))
    .map_err(DbError::conflict_as("dependency between these tasks"))?;
    touch(db, tenant, project, now).await?;
    Ok(id)
}

/// Whether `to` can be reached from `from` along `edges`.
fn reaches(edges: &[(ProjectTaskId, ProjectTaskId)], from: ProjectTaskId, to: ProjectTaskId) -> bool {
    let mut seen = vec![from];
    let mut frontier = vec![from];
    while let Some(at) = frontier.pop() {
        if at == to {
            return true;
        }
        for (a, b) in edges {
            if *a == at && !seen.contains(b) {
                seen.push(*b);
                frontier.push(*b);
            }
        }
    }
    false
}

pub async fn delete_dependency(
    db: &Db,
    tenant: TenantId,
    project: ProjectId,
    id: DependencyId,
    now: UnixMillis,
) -> Result<bool, DbError> {
    let changed = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM task_dependencies WHERE tenant_id = $1 AND project_id = $2 AND id = $3"
    )
    .bind(tenant)
    .bind(project)
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    touch(db, tenant, project, now).await?;
    Ok(changed == 1)
}

/// The user's task view on project pages (`kanban` or `list`).
pub async fn task_view(db: &Db, tenant: TenantId, user: UserId) -> Result<String, DbError> {
    let view: Option<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT task_view FROM users WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(user)
    .fetch_optional(pool)
    .await)?;
    Ok(view.unwrap_or_else(|| "kanban".to_owned()))
}

pub async fn set_task_view(db: &Db, tenant: TenantId, user: UserId, list: bool) -> Result<(), DbError> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE users SET task_view = $3 WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant)
    .bind(user)
    .bind(if list { "list" } else { "kanban" })
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circles_are_found() {
        let [a, b, c, d] = [(); 4].map(|_| ProjectTaskId::generate());
        let edges = [(a, b), (b, c)];
        assert!(reaches(&edges, a, c));
        assert!(!reaches(&edges, c, a));
        assert!(!reaches(&edges, a, d));
        assert!(reaches(&edges, b, b));
    }
}
