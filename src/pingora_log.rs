//! Pingora (and rustls) log through the `log` crate; this bridge hands
//! their records to `tracing`, re-levelling the ones that report what a
//! client did: Pingora logs those as errors, and an ERROR line should mean
//! something is wrong with us. Such records become DEBUG (the edge counts
//! them in its metrics): a failed TLS handshake (unknown or missing SNI,
//! a malformed ClientHello, a client that gives up), a downstream read or
//! write that failed (a peer that hangs up, with or without
//! `close_notify`, a client cut off at a read deadline), an HTTP/2
//! handshake that was not one. Everything else keeps its level, except
//! the DEBUG and TRACE records of Pingora's HTTP modules, which are
//! dropped: they print whole request and response heads, with session
//! cookies and the `Location` that carries a one-time token.

use log::{Level, Log, Metadata, Record};
use tracing_log::LogTracer;

/// A `log` logger forwarding to `tracing` with client mistakes lowered.
pub struct PingoraLog {
    tracer: LogTracer,
}

impl PingoraLog {
    pub fn new() -> Self {
        PingoraLog {
            tracer: LogTracer::new(),
        }
    }
}

/// Pingora's modules that print whole HTTP heads at DEBUG and TRACE.
const HEAD_PRINTING: [&str; 2] = ["pingora_core::protocols::http", "pingora_proxy"];

/// Whether a record of `target` at `level` may print a whole HTTP head (and
/// so a cookie or a token): never logged, whatever `RUST_LOG` says.
pub fn may_print_heads(target: &str, level: Level) -> bool {
    level >= Level::Debug && HEAD_PRINTING.iter().any(|prefix| target.starts_with(prefix))
}

/// Whether an error record of `target` saying `message` is about the
/// client, not about us.
pub fn is_client_mistake(target: &str, message: &str) -> bool {
    if !target.starts_with("pingora") {
        return false;
    }
    // Pingora's errors print their source first: `Downstream ReadError ...`
    // is the client's side, `Upstream ...` and `Internal ...` are ours.
    message.starts_with("Downstream handshake")
        || message.starts_with("H2 handshake error")
        || message.starts_with("Fail to proxy: Downstream")
        || message.starts_with("Downstream ")
}

impl Log for PingoraLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        if may_print_heads(metadata.target(), metadata.level()) {
            return false;
        }
        // Possibly lowered later: ask with the level it may end up with.
        self.tracer.enabled(metadata) || metadata.level() == Level::Error
    }

    fn log(&self, record: &Record<'_>) {
        if may_print_heads(record.target(), record.level()) {
            return;
        }
        if record.level() != Level::Error {
            return self.tracer.log(record);
        }
        let message = record.args().to_string();
        if !is_client_mistake(record.target(), &message) {
            return self.tracer.log(record);
        }
        self.tracer.log(
            &Record::builder()
                .level(Level::Debug)
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .args(format_args!("{message}"))
                .build(),
        );
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_of_pingora_http_modules_are_never_logged() {
        for target in [
            "pingora_core::protocols::http::v1::client",
            "pingora_core::protocols::http::v1::server",
            "pingora_core::protocols::http::v2::server",
            "pingora_proxy::proxy_h1",
        ] {
            assert!(may_print_heads(target, Level::Debug), "{target}");
            assert!(may_print_heads(target, Level::Trace), "{target}");
            assert!(!may_print_heads(target, Level::Info), "{target}");
            assert!(!may_print_heads(target, Level::Error), "{target}");
        }
        assert!(!may_print_heads(
            "pingora_core::services::listening",
            Level::Debug
        ));
        assert!(!may_print_heads("porta_edge::proxy", Level::Trace));
    }

    #[test]
    fn client_mistakes_are_told_from_our_faults() {
        for (target, message) in [
            (
                "pingora_core::services::listening",
                "Downstream handshake error from 127.0.0.1:5000:  HandshakeError context: no certificate for this server name",
            ),
            ("pingora_core::services::listening", "Downstream handshake timeout"),
            (
                "pingora_proxy",
                "Fail to proxy: Downstream ReadError context: while reading request headers cause: Connection reset by peer (os error 104), downstream session type: h1",
            ),
            ("pingora_core::apps", "H2 handshake error invalid preface"),
        ] {
            assert!(is_client_mistake(target, message), "{message}");
        }
        for (target, message) in [
            (
                "pingora_core::services::listening",
                "Accept() failed Too many open files",
            ),
            (
                "pingora_proxy",
                "Fail to proxy: Upstream ConnectRefused context: ...",
            ),
            (
                "pingora_proxy",
                "Fail to proxy: Internal InternalError context: host lookup",
            ),
            ("porta_edge", "Downstream handshake error"),
        ] {
            assert!(!is_client_mistake(target, message), "{message}");
        }
    }
}
