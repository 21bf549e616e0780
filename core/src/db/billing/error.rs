//! Why a billing change was refused.

use crate::db::DbError;
use crate::money::Money;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The invoice is finalized or cancelled: it cannot change.
    #[error("this invoice is {0}: it can no longer be changed")]
    NotDraft(&'static str),
    #[error("only a finalized invoice can be {0}")]
    NotFinalized(&'static str),
    #[error("an invoice needs at least one line before it is finalized")]
    NoLines,
    #[error("the credits ({credits}) are more than the lines and tax ({charges})")]
    CreditsExceedCharges { credits: Money, charges: Money },
    #[error("the amount is more than what is due ({0})")]
    MoreThanDue(Money),
    #[error("a credit note is not paid: it is owed to the client")]
    CreditNotePayment,
    #[error("the invoice has payments: it cannot be cancelled")]
    HasPayments,
    #[error("the invoice's figures are too large")]
    Overflow,
    /// Bad input, in words for people (`a description of 1 to 500 characters`).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for BillingError {
    fn from(e: sqlx::Error) -> Self {
        BillingError::Db(DbError::Sqlx(e))
    }
}

/// A trimmed text of 1 to `max` characters, or the reason.
pub(crate) fn required_text(raw: &str, what: &str, max: usize) -> Result<String, BillingError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(BillingError::Invalid(format!("{what} of 1 to {max} characters")));
    }
    Ok(text.to_owned())
}

/// A trimmed text of at most `max` characters, or the reason.
pub(crate) fn optional_text(raw: &str, what: &str, max: usize) -> Result<String, BillingError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(BillingError::Invalid(format!(
            "{what} of at most {max} characters"
        )));
    }
    Ok(text.to_owned())
}
