//! Tickets as both sides work on them: opening one, replying (publicly or,
//! for staff, with an internal note), changing its status, attaching
//! files, and announcing each event to the people it concerns. The pages
//! of the client portal (`client::tickets`) and of the MSP queue
//! (`msp::tickets`) call this; the query parsing they share is [`filters`].

mod announce;
pub mod catalog_cache;
pub mod conversation;
mod files;
pub mod filters;
mod service;

pub use files::download;
pub use service::{change_status, open, reply, NewTicketInput, Replier};
