//! The closed sets of billing, stored as words.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ticket::{word_enum, InvalidValue};

word_enum!(
    /// What is stored about an invoice. A draft can change; a finalized
    /// invoice cannot (the database refuses it too), except that it can be
    /// cancelled; a cancelled one is final.
    InvoiceState, "invoice state" {
        Draft => "draft",
        Finalized => "finalized",
        Cancelled => "cancelled",
    }
);

word_enum!(
    /// How often a contract line is billed.
    Frequency, "billing frequency" {
        Weekly => "weekly",
        Monthly => "monthly",
        Quarterly => "quarterly",
        Annually => "annually",
        OneTime => "one_time",
    }
);

impl Frequency {
    pub fn label(self) -> &'static str {
        match self {
            Frequency::Weekly => "Weekly",
            Frequency::Monthly => "Monthly",
            Frequency::Quarterly => "Quarterly",
            Frequency::Annually => "Annually",
            Frequency::OneTime => "One time",
        }
    }
}

word_enum!(
    PaymentMethod, "payment method" {
        BankTransfer => "bank_transfer",
        Card => "card",
        DirectDebit => "direct_debit",
        Cheque => "cheque",
        Cash => "cash",
        Other => "other",
    }
);

impl PaymentMethod {
    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::BankTransfer => "Bank transfer",
            PaymentMethod::Card => "Card",
            PaymentMethod::DirectDebit => "Direct debit",
            PaymentMethod::Cheque => "Cheque",
            PaymentMethod::Cash => "Cash",
            PaymentMethod::Other => "Other",
        }
    }
}
