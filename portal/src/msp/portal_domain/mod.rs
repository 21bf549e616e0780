//! The tenant's custom domain, as MSP staff manage it: the page at
//! [`PAGE`] and the JSON API at [`API`], both on [`service`].

pub mod api;
pub mod page;
mod service;

pub const PAGE: &str = "/msp/settings/portal-domain";
pub const API: &str = "/api/msp/portal-domain";
