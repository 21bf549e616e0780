//! The HTTP/2 limits of the edge's client connections, set explicitly
//! rather than left to the defaults of whichever Pingora and `h2` versions
//! are built in (Pingora 0.9's `default_h2_options`, h2 0.4's `Builder`).
//!
//! What bounds a flood on one connection:
//! - streams open at once: `edge.h2_max_concurrent_streams` (advertised
//!   in SETTINGS; a stream beyond it gets RST_STREAM `REFUSED_STREAM`);
//! - streams reset by the client before the edge took them up (the "rapid
//!   reset" attack): `edge.h2_max_pending_reset_streams`, then GOAWAY
//!   `ENHANCE_YOUR_CALM`;
//! - resets the edge had to send for the client's protocol errors
//!   ([`LOCAL_ERROR_RESETS`]), then GOAWAY `ENHANCE_YOUR_CALM`;
//! - state kept for streams the edge reset ([`RESET_STREAMS_KEPT`]);
//! - a decoded header list ([`MAX_HEADER_LIST_BYTES`]; over it the stream
//!   is answered 431 by `h2`);
//! - bytes queued to send per stream ([`SEND_BUFFER_BYTES`]).
//!
//! `docs/security.md` ("Request limits") lists them with the other limits.

use pingora::protocols::http::v2::server::H2Options;
use porta_core::config::EdgeConfig;

/// Decoded request header list, in bytes (Pingora's default).
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;
/// Locally reset streams whose state is kept (h2's default).
pub const RESET_STREAMS_KEPT: usize = 50;
/// Resets for the client's protocol errors before GOAWAY (h2's default).
pub const LOCAL_ERROR_RESETS: usize = 1024;
/// Bytes buffered for sending per stream (h2's default).
pub const SEND_BUFFER_BYTES: usize = 400 * 1024;

/// The options every HTTP/2 client connection of the edge is accepted with.
pub fn h2_options(edge: &EdgeConfig) -> H2Options {
    let mut options = H2Options::default();
    options
        .max_concurrent_streams(edge.h2_max_concurrent_streams)
        .max_pending_accept_reset_streams(edge.h2_max_pending_reset_streams as usize)
        .max_local_error_reset_streams(Some(LOCAL_ERROR_RESETS))
        .max_concurrent_reset_streams(RESET_STREAMS_KEPT)
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .max_send_buffer_size(SEND_BUFFER_BYTES);
    options
}
