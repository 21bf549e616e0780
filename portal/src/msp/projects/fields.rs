//! Reading the staff project forms: dates, hours, choices and the
//! visibility checkboxes, each refused with a message people understand.

use porta_core::db::projects::{ProjectFacts, TaskFacts};
use porta_core::ids::{PhaseId, UserId};
use porta_core::project::{ProjectStatus, TaskField, TaskPriority, TaskStatus, Visibility};

/// A url-encoded form as name/value pairs.
pub type Fields = Vec<(String, String)>;

pub fn text<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

pub fn ticked(form: &Fields, name: &str) -> bool {
    form.iter().any(|(k, _)| k == name)
}

/// An optional `YYYY-MM-DD`.
pub fn date<'a>(form: &'a Fields, name: &str, label: &str) -> Result<Option<&'a str>, String> {
    match text(form, name) {
        "" => Ok(None),
        raw => raw
            .parse::<jiff::civil::Date>()
            .map(|_| Some(raw))
            .map_err(|_| format!("{label}: a date like 2026-12-31.")),
    }
}

/// Optional hours (`1.5`, `12`) as minutes.
pub fn hours(form: &Fields, name: &str, label: &str) -> Result<Option<i64>, String> {
    let raw = text(form, name);
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{label}: a number of hours like 1.5.");
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 6
        || fraction.len() > 2
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let hundredths: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    Ok(Some(whole * 60 + hundredths * 60 / 100))
}

pub fn user(form: &Fields, name: &str) -> Result<Option<UserId>, String> {
    match text(form, name) {
        "" => Ok(None),
        raw => raw
            .parse()
            .map(Some)
            .map_err(|_| "Choose someone from the list.".to_owned()),
    }
}

pub fn project_facts(form: &Fields) -> Result<ProjectFacts<'_>, String> {
    Ok(ProjectFacts {
        name: text(form, "name"),
        description: text(form, "description"),
        status: text(form, "status")
            .parse::<ProjectStatus>()
            .map_err(|_| "Choose a status.".to_owned())?,
        start_date: date(form, "start_date", "Start")?,
        end_date: date(form, "end_date", "End")?,
        budget_minutes: hours(form, "budget_hours", "Budget")?,
        manager: user(form, "manager")?,
    })
}

fn count(form: &Fields, name: &str) -> Result<i32, String> {
    match text(form, name) {
        "" => Ok(0),
        raw => raw
            .parse::<i32>()
            .ok()
            .filter(|n| (0..=1000).contains(n))
            .ok_or_else(|| "Checklist: whole numbers from 0 to 1000.".to_owned()),
    }
}

pub fn task_facts(form: &Fields) -> Result<TaskFacts<'_>, String> {
    Ok(TaskFacts {
        phase: text(form, "phase")
            .parse::<PhaseId>()
            .map_err(|_| "Choose a phase.".to_owned())?,
        name: text(form, "name"),
        description: text(form, "description"),
        status: text(form, "status")
            .parse::<TaskStatus>()
            .map_err(|_| "Choose a status.".to_owned())?,
        priority: text(form, "priority")
            .parse::<TaskPriority>()
            .map_err(|_| "Choose a priority.".to_owned())?,
        assigned_to: user(form, "assigned_to")?,
        due_date: date(form, "due_date", "Due")?,
        estimated_minutes: hours(form, "estimated_hours", "Estimate")?,
        actual_minutes: hours(form, "actual_hours", "Actual")?.unwrap_or(0),
        checklist: (count(form, "checklist_done")?, count(form, "checklist_total")?),
        services: text(form, "services"),
    })
}

/// The visibility checkboxes.
pub fn visibility(form: &Fields) -> Visibility {
    Visibility {
        show_phases: ticked(form, "show_phases"),
        show_phase_completion: ticked(form, "show_phase_completion"),
        show_tasks: ticked(form, "show_tasks"),
        show_budget_hours: ticked(form, "show_budget_hours"),
        show_billing: ticked(form, "show_billing"),
        visible_task_fields: TaskField::ALL
            .iter()
            .copied()
            .filter(|f| form.iter().any(|(k, v)| k == "field" && v == f.as_str()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn hours_are_exact_minutes() {
        let f = form(&[
            ("h", "1.5"),
            ("x", "12"),
            ("y", ".25"),
            ("bad", "1,5"),
            ("neg", "-1"),
            ("long", "1.234"),
        ]);
        assert_eq!(hours(&f, "h", "H"), Ok(Some(90)));
        assert_eq!(hours(&f, "x", "H"), Ok(Some(720)));
        assert_eq!(hours(&f, "y", "H"), Ok(Some(15)));
        assert_eq!(hours(&f, "missing", "H"), Ok(None));
        for bad in ["bad", "neg", "long"] {
            assert!(hours(&f, bad, "H").is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_and_visibility() {
        let f = form(&[
            ("d", "2026-02-30"),
            ("e", "2026-12-31"),
            ("show_tasks", "on"),
            ("field", "priority"),
            ("field", "nope"),
        ]);
        assert!(date(&f, "d", "D").is_err());
        assert_eq!(date(&f, "e", "D"), Ok(Some("2026-12-31")));
        let v = visibility(&f);
        assert!(v.show_tasks && !v.show_phases);
        assert_eq!(v.visible_task_fields, [TaskField::Priority]);
    }
}
