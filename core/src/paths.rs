//! Paths the edge and the portal both know: where sign-in, the handoff and
//! the token exchange live. Defined once so the two programs cannot drift.

/// The client users' sign-in page (canonical host).
pub const CLIENT_SIGNIN: &str = "/auth/client-portal/signin";
/// MSP staff sign-in page (canonical host).
pub const MSP_SIGNIN: &str = "/auth/msp/signin";
/// Sign-out (POST), on either host.
pub const SIGNOUT: &str = "/auth/signout";
/// The handoff page the edge serves on a custom domain.
pub const HANDOFF: &str = "/auth/client-portal/handoff";
/// Where a browser on a custom domain starts a handoff: the edge gives it
/// its nonce cookie and sends it to the canonical host's sign-in.
pub const HANDOFF_START: &str = "/auth/client-portal/handoff/start";
/// The handoff page's script.
pub const HANDOFF_JS: &str = "/auth/client-portal/handoff.js";
/// The one-time-token exchange (POST, JSON), answered by the edge.
pub const EXCHANGE: &str = "/api/client-portal/domain-session";
/// Where ACME HTTP-01 challenges are answered on the plain listener.
pub const ACME_CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";
/// Health check of both programs.
pub const HEALTHZ: &str = "/healthz";
/// Prefix of every JSON API route (errors there are JSON, not pages).
pub const API_PREFIX: &str = "/api/";
