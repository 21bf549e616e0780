//! What a client may see of a project, built field by field from its
//! visibility config: a part the config turns off is `None` here, so the
//! page cannot show it (absent from the HTML, not hidden by CSS), and its
//! documents are not served.

use porta_core::db::documents::Document;
use porta_core::db::projects::{Dependency, Phase, Project, Task};
use porta_core::ids::{PhaseId, ProjectTaskId};
use porta_core::project::{hours_label, DependencyKind, TaskField, TaskPriority, TaskStatus, Visibility};

/// A task as the config lets the client see it.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub id: ProjectTaskId,
    /// The task's phase, where phases are shown.
    pub phase: Option<String>,
    /// The name, or "Task N" when names are not shown.
    pub name: String,
    pub status: Option<TaskStatus>,
    pub due_date: Option<String>,
    pub description: Option<String>,
    pub assignee: Option<String>,
    pub estimated: Option<String>,
    pub actual: Option<String>,
    pub priority: Option<TaskPriority>,
    /// `done / total`.
    pub checklist: Option<(i32, i32)>,
    pub services: Option<String>,
    /// "Depends on" and "Blocks" lines, with lead or lag.
    pub depends_on: Option<Vec<String>>,
    pub blocks: Option<Vec<String>>,
    pub documents: Option<Vec<Document>>,
    pub can_upload: bool,
    /// The task's status even when not shown, for the kanban columns.
    column: TaskStatus,
}

impl TaskView {
    pub fn column(&self) -> TaskStatus {
        self.column
    }
}

#[derive(Debug, Clone)]
pub struct PhaseView {
    pub id: PhaseId,
    pub name: String,
    pub dates: Option<(Option<String>, Option<String>)>,
    pub completion: Option<i64>,
}

/// The whole client view.
#[derive(Debug, Clone)]
pub struct ProjectView {
    pub completion: i64,
    pub budget: Option<(String, String)>,
    pub billing: Option<Vec<String>>,
    pub phases: Option<Vec<PhaseView>>,
    pub tasks: Option<Vec<TaskView>>,
    /// Field labels of the task table, in order.
    pub columns: Vec<TaskField>,
    /// The project's own documents (not its tasks').
    pub documents: Vec<Document>,
}

fn lead_lag(days: i32) -> String {
    match days {
        0 => String::new(),
        d if d > 0 => format!(" (lag {d} d)"),
        d => format!(" (lead {} d)", -d),
    }
}

/// Builds the view of `project` under its effective config.
pub fn build(
    project: &Project,
    phases: &[Phase],
    tasks: &[Task],
    dependencies: &[Dependency],
    documents: Vec<Document>,
    uploads_allowed: bool,
) -> ProjectView {
    let config: Visibility = project.effective_visibility();
    let (own, of_tasks): (Vec<Document>, Vec<Document>) =
        documents.into_iter().partition(|d| d.task_id.is_none());
    let phases_view = config.show_phases.then(|| {
        phases
            .iter()
            .map(|p| PhaseView {
                id: p.id,
                name: p.name.clone(),
                dates: Some((p.start_date.clone(), p.end_date.clone())),
                completion: config.show_phase_completion.then(|| p.completion()),
            })
            .collect()
    });
    // What each task is called on the page; dependency lines use the same
    // names, so a hidden name does not come back through them.
    let shown_name = |i: usize, t: &Task| {
        if config.shows(TaskField::TaskName) {
            t.name.clone()
        } else {
            format!("Task {}", i + 1)
        }
    };
    let name_of = |id: ProjectTaskId| {
        tasks
            .iter()
            .enumerate()
            .find(|(_, t)| t.id == id)
            .map(|(i, t)| shown_name(i, t))
            .unwrap_or_default()
    };
    let tasks_view = config.show_tasks.then(|| {
        tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let shows = |f| config.shows(f);
                let line = |d: &Dependency, other: ProjectTaskId| {
                    format!("{}{}", name_of(other), lead_lag(d.lead_lag_days))
                };
                TaskView {
                    id: t.id,
                    phase: config
                        .show_phases
                        .then(|| phases.iter().find(|p| p.id == t.phase_id).map(|p| p.name.clone()))
                        .flatten(),
                    name: shown_name(i, t),
                    status: shows(TaskField::Status).then_some(t.status),
                    due_date: shows(TaskField::DueDate).then(|| t.due_date.clone()).flatten(),
                    description: shows(TaskField::Description)
                        .then(|| t.description.clone())
                        .filter(|d| !d.is_empty()),
                    assignee: shows(TaskField::AssignedTo)
                        .then(|| t.assignee_name.clone())
                        .flatten(),
                    estimated: shows(TaskField::EstimatedHours)
                        .then(|| t.estimated_minutes.map(hours_label))
                        .flatten(),
                    actual: shows(TaskField::ActualHours).then(|| hours_label(t.actual_minutes)),
                    priority: shows(TaskField::Priority).then_some(t.priority),
                    checklist: (shows(TaskField::ChecklistProgress) && t.checklist_total > 0)
                        .then_some((t.checklist_done, t.checklist_total)),
                    services: shows(TaskField::Services)
                        .then(|| t.services.clone())
                        .filter(|s| !s.is_empty()),
                    depends_on: shows(TaskField::Dependencies).then(|| {
                        dependencies
                            .iter()
                            .filter(|d| d.successor_id == t.id && d.kind == DependencyKind::Blocks)
                            .map(|d| line(d, d.predecessor_id))
                            .collect()
                    }),
                    blocks: shows(TaskField::Dependencies).then(|| {
                        dependencies
                            .iter()
                            .filter(|d| d.predecessor_id == t.id && d.kind == DependencyKind::Blocks)
                            .map(|d| line(d, d.successor_id))
                            .collect()
                    }),
                    documents: shows(TaskField::DocumentUploads).then(|| {
                        of_tasks
                            .iter()
                            .filter(|d| d.task_id == Some(t.id))
                            .cloned()
                            .collect()
                    }),
                    can_upload: uploads_allowed && config.allows_task_uploads(),
                    column: t.status,
                }
            })
            .collect()
    });
    let columns = [
        TaskField::Status,
        TaskField::DueDate,
        TaskField::Priority,
        TaskField::AssignedTo,
        TaskField::EstimatedHours,
        TaskField::ActualHours,
        TaskField::ChecklistProgress,
    ]
    .into_iter()
    .filter(|f| config.shows(*f))
    .collect();
    ProjectView {
        completion: project.completion(),
        budget: config.show_budget_hours.then(|| {
            (
                project
                    .budget_minutes
                    .map(hours_label)
                    .unwrap_or_else(|| "—".to_owned()),
                hours_label(project.actual_minutes),
            )
        }),
        billing: config.show_billing.then(|| {
            let mut services: Vec<String> = tasks
                .iter()
                .flat_map(|t| {
                    t.services
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                })
                .collect();
            services.sort();
            services.dedup();
            services
        }),
        phases: phases_view,
        tasks: tasks_view,
        columns,
        documents: own,
    }
}

/// Whether the client may download `document` of the project under its
/// config: the project's own always, a task's only where task documents
/// are shown.
pub fn may_download(project: &Project, document: &Document) -> bool {
    document.task_id.is_none() || project.effective_visibility().shows(TaskField::DocumentUploads)
}
