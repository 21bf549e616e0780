//! The closed sets of projects (statuses of projects and tasks, task
//! priorities, dependency kinds, the task fields a client may see) and the
//! per-project visibility config: what clients see of a project, defaulted
//! from the tenant's config, itself defaulted as in the portal Porta
//! replaces (phases, tasks, budget and billing hidden; tasks show name,
//! due date and status).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ticket::{word_enum, InvalidValue};

word_enum!(
    /// Where a project stands. The first three are "open".
    ProjectStatus, "project status" {
        Planning => "planning",
        InProgress => "in_progress",
        OnHold => "on_hold",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

impl ProjectStatus {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ProjectStatus::Planning | ProjectStatus::InProgress | ProjectStatus::OnHold
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            ProjectStatus::Planning => "Planning",
            ProjectStatus::InProgress => "In progress",
            ProjectStatus::OnHold => "On hold",
            ProjectStatus::Completed => "Completed",
            ProjectStatus::Cancelled => "Cancelled",
        }
    }
}

word_enum!(
    /// A task's column on the kanban board.
    TaskStatus, "task status" {
        Todo => "todo",
        InProgress => "in_progress",
        Blocked => "blocked",
        Review => "review",
        Done => "done",
    }
);

impl TaskStatus {
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Todo => "To do",
            TaskStatus::InProgress => "In progress",
            TaskStatus::Blocked => "Blocked",
            TaskStatus::Review => "In review",
            TaskStatus::Done => "Done",
        }
    }
}

word_enum!(
    TaskPriority, "task priority" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl TaskPriority {
    pub fn label(self) -> &'static str {
        match self {
            TaskPriority::Low => "Low",
            TaskPriority::Medium => "Medium",
            TaskPriority::High => "High",
            TaskPriority::Critical => "Critical",
        }
    }
}

word_enum!(
    /// How a predecessor relates to its successor.
    DependencyKind, "dependency kind" {
        Blocks => "blocks",
        RelatedTo => "related_to",
    }
);

word_enum!(
    /// A field of a task that the visibility config can show to clients
    /// (the name, due date and status are the defaults).
    TaskField, "task field" {
        TaskName => "task_name",
        DueDate => "due_date",
        Status => "status",
        Description => "description",
        AssignedTo => "assigned_to",
        EstimatedHours => "estimated_hours",
        ActualHours => "actual_hours",
        Priority => "priority",
        ChecklistProgress => "checklist_progress",
        Services => "services",
        Dependencies => "dependencies",
        DocumentUploads => "document_uploads",
    }
);

impl TaskField {
    pub fn label(self) -> &'static str {
        match self {
            TaskField::TaskName => "Task name",
            TaskField::DueDate => "Due date",
            TaskField::Status => "Status",
            TaskField::Description => "Description",
            TaskField::AssignedTo => "Assigned to",
            TaskField::EstimatedHours => "Estimated hours",
            TaskField::ActualHours => "Actual hours",
            TaskField::Priority => "Priority",
            TaskField::ChecklistProgress => "Checklist progress",
            TaskField::Services => "Services",
            TaskField::Dependencies => "Dependencies",
            TaskField::DocumentUploads => "Document uploads",
        }
    }
}

/// What clients see of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Visibility {
    pub show_phases: bool,
    pub show_phase_completion: bool,
    pub show_tasks: bool,
    pub show_budget_hours: bool,
    pub show_billing: bool,
    pub visible_task_fields: Vec<TaskField>,
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility {
            show_phases: false,
            show_phase_completion: false,
            show_tasks: false,
            show_budget_hours: false,
            show_billing: false,
            visible_task_fields: vec![TaskField::TaskName, TaskField::DueDate, TaskField::Status],
        }
    }
}

impl Visibility {
    pub fn shows(&self, field: TaskField) -> bool {
        self.show_tasks && self.visible_task_fields.contains(&field)
    }

    /// Clients may upload documents to tasks.
    pub fn allows_task_uploads(&self) -> bool {
        self.shows(TaskField::DocumentUploads)
    }

    /// The stored form; `None` for bad JSON (the default applies).
    pub fn from_json(text: &str) -> Option<Visibility> {
        serde_json::from_str(text).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// A project's human number, `PRJ-1001`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectNumber(pub i64);

impl ProjectNumber {
    pub const PREFIX: &'static str = "PRJ";
}

impl fmt::Display for ProjectNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", Self::PREFIX, self.0)
    }
}

impl FromStr for ProjectNumber {
    type Err = InvalidValue;

    /// `PRJ-1001` (any case) or `1001`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("PRJ-"))
            .map_or(s, |_| &s[4..]);
        match digits.parse::<i64>() {
            Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(ProjectNumber(n)),
            _ => Err(InvalidValue(s.chars().take(64).collect(), "project number")),
        }
    }
}

/// Minutes as hours for people: `12.5 h`, `3 h`.
pub fn hours_label(minutes: i64) -> String {
    let hours = minutes / 60;
    let rest = minutes % 60;
    if rest == 0 {
        format!("{hours} h")
    } else {
        // Tenths, truncated: 90 minutes is 1.5 h.
        format!("{hours}.{} h", rest * 10 / 60)
    }
}

/// `done` of `total` as a whole percentage (0 when there is nothing).
pub fn percent(done: i64, total: i64) -> i64 {
    if total <= 0 {
        0
    } else {
        done.clamp(0, total) * 100 / total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_the_originals() {
        let v = Visibility::default();
        assert!(!v.show_phases && !v.show_tasks && !v.show_budget_hours && !v.show_billing);
        assert_eq!(
            v.visible_task_fields,
            [TaskField::TaskName, TaskField::DueDate, TaskField::Status]
        );
        assert!(
            !v.shows(TaskField::TaskName),
            "no tasks shown while show_tasks is off"
        );
        let round = Visibility::from_json(&v.to_json()).unwrap();
        assert_eq!(round, v);
        assert_eq!(
            Visibility::from_json("{\"show_tasks\":true}")
                .unwrap()
                .visible_task_fields
                .len(),
            3
        );
        assert!(Visibility::from_json("{\"visible_task_fields\":[\"nope\"]}").is_none());
    }

    #[test]
    fn numbers_and_figures() {
        assert_eq!("PRJ-1001".parse::<ProjectNumber>(), Ok(ProjectNumber(1001)));
        assert_eq!("prj-7".parse::<ProjectNumber>(), Ok(ProjectNumber(7)));
        assert_eq!("1001".parse::<ProjectNumber>(), Ok(ProjectNumber(1001)));
        for bad in ["", "PRJ-", "PRJ--1", "0", "12a", "PRJ-+5"] {
            assert!(bad.parse::<ProjectNumber>().is_err(), "{bad}");
        }
        assert_eq!(ProjectNumber(1001).to_string(), "PRJ-1001");
        assert_eq!(hours_label(90), "1.5 h");
        assert_eq!(hours_label(120), "2 h");
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(5, 3), 100);
        assert!(ProjectStatus::OnHold.is_open() && !ProjectStatus::Completed.is_open());
    }
}
