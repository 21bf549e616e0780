//! Faults injected into the real `porta` binary, on PostgreSQL unless a
//! fault is SQLite's own (a full or read-only disk): what a trusted edge
//! promises — keep serving through a database or upstream outage, drain on
//! restart, lose nothing acknowledged — shown by making it happen.
//!
//! The CA being down during a due renewal is `tests/domains.rs`'s
//! `ca_outage_keeps_the_old_certificate_and_backs_off` (it needs the
//! pebble world that file builds).

#[path = "../common/mod.rs"]
mod common;
mod database;
mod disk;
mod kill;
mod restart;
mod upstream;
