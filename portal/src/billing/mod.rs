//! Billing's shared views: an invoice's figures as pages and PDFs show
//! them ([`figures`]), the invoice PDF ([`pdf`]) and the usage chart
//! ([`chart`]). The client pages are in `crate::client::billing`, the
//! staff pages in `crate::msp::billing`.

pub mod chart;
pub mod figures;
pub mod pdf;
