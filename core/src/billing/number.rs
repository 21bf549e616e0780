//! An invoice's human number, assigned when it is finalized: one sequence
//! per tenant, shown as `INV-1001`, or `CN-1002` for a credit note.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InvoiceNumber {
    pub number: i64,
    pub credit_note: bool,
}

impl InvoiceNumber {
    pub const FIRST: i64 = 1001;

    pub fn prefix(&self) -> &'static str {
        if self.credit_note {
            "CN"
        } else {
            "INV"
        }
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.prefix(), self.number)
    }
}
