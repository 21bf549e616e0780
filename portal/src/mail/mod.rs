//! Outgoing mail: letters rendered from templates (plain text and HTML),
//! written to the outbox in the transaction of what they carry
//! ([`porta_core::db::outbox`]), and sent by [`worker`] through SMTP (or
//! into a directory in development) with retries.

pub mod letters;
mod transport;
pub mod worker;

pub use transport::{MailError, Transport};
