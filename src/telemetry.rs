//! Logging: `tracing` to stderr, human-readable or JSON. `RUST_LOG`
//! overrides the default filter. stdout is kept for command output.

use porta_core::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// The default filter. Pingora logs every refused TLS connection (an
/// unknown SNI name, say) as an error; the edge counts those in its metrics,
/// so they are kept out of the log unless asked for.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn,pingora_core::services::listening=off";

pub fn init(format: LogFormat) {
    // Pingora logs through `log`; tracing-subscriber's default `tracing-log`
    // feature routes those records here too (on `try_init`).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
