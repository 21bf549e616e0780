//! The `porta` command line as a library: the binary (`src/main.rs`) only
//! parses arguments and calls [`commands::run`]; tests start exactly what
//! `porta up` starts, in-process and on port 0, through [`launch`].
//!
//! - [`cli`]: the clap definitions;
//! - [`commands`]: one function per command (servers, administration,
//!   operators' domain and certificate commands);
//! - [`launch`]: `porta up`'s servers (the edge and the portal), bound
//!   before they run;
//! - [`demo`]: the demo tenant `porta up` seeds into an empty database;
//! - `telemetry` and `pingora_log`: logging, with Pingora's client-caused
//!   errors lowered to DEBUG.

pub mod cli;
pub mod commands;
pub mod demo;
mod demo_billing;
mod demo_branding;
pub mod demo_data;
mod demo_projects;
pub mod launch;
mod pingora_log;
mod telemetry;
