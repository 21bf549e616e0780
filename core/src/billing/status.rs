//! The status a client sees, computed from what is stored (draft,
//! finalized, cancelled), the payments and the due date; never stored, so
//! it cannot go stale.

use super::dates::CalendarDate;
use super::kinds::InvoiceState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientStatus {
    /// Finalized, nothing paid, not yet due.
    Sent,
    PartiallyPaid,
    Paid,
    /// Past its due date with an amount still due.
    Overdue,
    Cancelled,
}

impl ClientStatus {
    pub const ALL: [ClientStatus; 5] = [
        ClientStatus::Sent,
        ClientStatus::PartiallyPaid,
        ClientStatus::Paid,
        ClientStatus::Overdue,
        ClientStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Sent => "sent",
            ClientStatus::PartiallyPaid => "partially_paid",
            ClientStatus::Paid => "paid",
            ClientStatus::Overdue => "overdue",
            ClientStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ClientStatus::Sent => "Sent",
            ClientStatus::PartiallyPaid => "Partially paid",
            ClientStatus::Paid => "Paid",
            ClientStatus::Overdue => "Overdue",
            ClientStatus::Cancelled => "Cancelled",
        }
    }

    /// The status of a finalized or cancelled invoice of `total` with
    /// `paid` received, due on `due`, seen on `today`. A credit note is
    /// owed to the client, never by them: it is `Sent` until cancelled.
    /// `None` for a draft (clients never see one).
    pub fn of(
        state: InvoiceState,
        credit_note: bool,
        total: i64,
        paid: i64,
        due: CalendarDate,
        today: CalendarDate,
    ) -> Option<ClientStatus> {
        Some(match state {
            InvoiceState::Draft => return None,
            InvoiceState::Cancelled => ClientStatus::Cancelled,
            InvoiceState::Finalized if credit_note => ClientStatus::Sent,
            InvoiceState::Finalized if paid >= total => ClientStatus::Paid,
            InvoiceState::Finalized if today > due => ClientStatus::Overdue,
            InvoiceState::Finalized if paid > 0 => ClientStatus::PartiallyPaid,
            InvoiceState::Finalized => ClientStatus::Sent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_payments_and_the_due_date() {
        let due: CalendarDate = "2026-12-15".parse().unwrap();
        let before: CalendarDate = "2026-12-15".parse().unwrap();
        let after: CalendarDate = "2026-12-16".parse().unwrap();
        let f = InvoiceState::Finalized;
        assert_eq!(
            ClientStatus::of(f, false, 100, 0, due, before),
            Some(ClientStatus::Sent)
        );
        assert_eq!(
            ClientStatus::of(f, false, 100, 40, due, before),
            Some(ClientStatus::PartiallyPaid)
        );
        assert_eq!(
            ClientStatus::of(f, false, 100, 100, due, before),
            Some(ClientStatus::Paid)
        );
        assert_eq!(
            ClientStatus::of(f, false, 100, 0, due, after),
            Some(ClientStatus::Overdue)
        );
        assert_eq!(
            ClientStatus::of(f, false, 100, 40, due, after),
            Some(ClientStatus::Overdue)
        );
        assert_eq!(
            ClientStatus::of(f, false, 100, 100, due, after),
            Some(ClientStatus::Paid)
        );
        assert_eq!(
            ClientStatus::of(f, false, 0, 0, due, after),
            Some(ClientStatus::Paid)
        );
        assert_eq!(
            ClientStatus::of(f, true, 100, 0, due, after),
            Some(ClientStatus::Sent)
        );
        assert_eq!(
            ClientStatus::of(InvoiceState::Cancelled, false, 100, 0, due, after),
            Some(ClientStatus::Cancelled)
        );
        assert_eq!(
            ClientStatus::of(InvoiceState::Draft, false, 100, 0, due, after),
            None
        );
    }
}
