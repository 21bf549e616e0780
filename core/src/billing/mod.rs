//! Billing's closed sets and rules: invoice states (stored) and the status
//! a client sees (computed from payments and the due date), invoice
//! arithmetic in minor units, quantities in thousandths, tax rates in basis
//! points, calendar dates and months, contract frequencies and payment
//! methods. Storage is in [`crate::db::billing`].

pub mod arithmetic;
pub mod dates;
pub mod kinds;
pub mod number;
pub mod status;

pub use arithmetic::{line_total, Quantity, TaxRate, TaxShare, Totals};
pub use dates::{CalendarDate, InvalidDate, Month};
pub use kinds::{Frequency, InvoiceState, PaymentMethod};
pub use number::InvoiceNumber;
pub use status::ClientStatus;
