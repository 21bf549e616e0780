//! Porta's shared model.
//!
//! This crate owns what every other part of Porta agrees on:
//! - validated values ([`ids`], [`slug::TenantSlug`], [`email::EmailAddress`],
//!   [`host::HostName`], [`next_path::NextPath`], [`user_type::UserType`]),
//!   each a newtype that can only be built through `parse`, and the closed
//!   sets of the certificate side ([`issuer::Issuer`],
//!   [`challenge_kind::ChallengeKind`]), parsed once at the boundary;
//! - configuration ([`config`]): TOML files, environment overrides and
//!   validation that reports every bad key;
//! - storage ([`db`]): one sqlx layer over SQLite and PostgreSQL where every
//!   query on tenant data takes a [`ids::TenantId`];
//! - sessions ([`session_token`]: signed JWT claims with rotating keys,
//!   [`session_cookie`]: the cookie that carries them), passwords
//!   ([`password`]) and the key that seals secrets at rest ([`master_key`]);
//! - permissions ([`permission`]), the request context the edge hands the
//!   portal ([`request_context`]) and the paths both serve ([`paths`]).
//!
//! It depends on no other Porta crate.

pub mod billing;
pub mod branding;
pub mod challenge_kind;
pub mod change_feed;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain_name;
pub mod domain_status;
pub mod email;
pub mod fuzz_targets;
pub mod host;
pub mod host_cache;
pub mod ids;
pub mod issuer;
pub mod key_file;
pub mod locale;
pub mod master_key;
pub mod money;
pub mod next_path;
pub mod oidc;
pub mod ott;
pub mod password;
pub mod paths;
pub mod permission;
pub mod private_file;
pub mod project;
pub mod rate_limit;
pub mod request_context;
pub mod secret;
pub mod session_cookie;
pub mod session_issue;
pub mod session_token;
pub mod signin_form;
pub mod slug;
pub mod stale_cache;
pub mod ticket;
pub mod token;
pub mod totp;
pub mod user_type;
