//! The names of closed sets (statuses, priorities, kinds) in the reader's
//! language: each value's text is the catalogue's `{set}-{value}` message
//! (`project-status-in_progress`), listed in `common.ftl`.

use porta_core::billing::{ClientStatus, Frequency, PaymentMethod};
use porta_core::oidc::OidcPreset;
use porta_core::project::{DependencyKind, ProjectStatus, TaskField, TaskPriority, TaskStatus};
use porta_core::ticket::{NotificationKind, ResponseState, TicketOrigin};

/// A value whose name is a catalogue message.
pub trait Labelled {
    fn message_id(&self) -> String;
}

impl<T: Labelled + ?Sized> Labelled for &T {
    fn message_id(&self) -> String {
        (**self).message_id()
    }
}

macro_rules! labelled {
    ($($ty:ty => $set:literal),+ $(,)?) => {$(
        impl Labelled for $ty {
            fn message_id(&self) -> String {
                format!(concat!($set, "-{}"), self.as_str())
            }
        }
    )+};
}

labelled!(
    ProjectStatus => "project-status",
    TaskStatus => "task-status",
    TaskPriority => "task-priority",
    TaskField => "task-field",
    DependencyKind => "dependency-kind",
    NotificationKind => "notification-kind",
    ResponseState => "response-state",
    TicketOrigin => "ticket-origin",
    ClientStatus => "invoice-status",
    Frequency => "billing-frequency",
    PaymentMethod => "payment-method",
    OidcPreset => "oidc-preset",
);

/// How staff read whose turn it is (`response-state-staff-…`).
pub fn staff_response_state(state: &ResponseState) -> String {
    format!("response-state-staff-{}", state.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::messages::has;
    use porta_core::locale::Locale;

    #[test]
    fn every_value_of_every_set_has_a_text() {
        let mut ids: Vec<String> = Vec::new();
        ids.extend(ProjectStatus::ALL.iter().map(Labelled::message_id));
        ids.extend(TaskStatus::ALL.iter().map(Labelled::message_id));
        ids.extend(TaskPriority::ALL.iter().map(Labelled::message_id));
        ids.extend(TaskField::ALL.iter().map(Labelled::message_id));
        ids.extend(DependencyKind::ALL.iter().map(Labelled::message_id));
        ids.extend(NotificationKind::ALL.iter().map(Labelled::message_id));
        ids.extend(ResponseState::ALL.iter().map(Labelled::message_id));
        ids.extend(ResponseState::ALL.iter().map(staff_response_state));
        ids.extend(TicketOrigin::ALL.iter().map(Labelled::message_id));
        ids.extend(OidcPreset::ALL.iter().map(Labelled::message_id));
        ids.extend(ClientStatus::ALL.iter().map(Labelled::message_id));
        ids.extend(Frequency::ALL.iter().map(Labelled::message_id));
        ids.extend(PaymentMethod::ALL.iter().map(Labelled::message_id));
        for locale in Locale::ALL {
            for id in &ids {
                assert!(has(locale, id), "{locale} lacks {id}");
            }
        }
    }
}
