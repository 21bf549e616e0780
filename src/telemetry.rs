//! Logging: `tracing` to stderr, human-readable or JSON. `RUST_LOG`
//! overrides the default filter. stdout is kept for command output.
//! Pingora's `log` records come through [`crate::pingora_log`], which logs
//! what clients do wrong at DEBUG rather than ERROR.

use porta_core::config::LogFormat;
use tracing_subscriber::EnvFilter;

use crate::pingora_log::PingoraLog;

/// The default filter: INFO, with the portal's request lines
/// (`tower_http`), and without the chatter of dependencies (every SQL
/// statement, HTTP/2 frames, DNS, TLS records).
const DEFAULT_FILTER: &str =
    "info,sqlx=warn,hyper=warn,hyper_util=warn,h2=warn,rustls=warn,hickory_proto=warn,hickory_resolver=warn";

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Pretty => tracing::subscriber::set_global_default(builder.finish()),
        LogFormat::Json => tracing::subscriber::set_global_default(builder.json().finish()),
    };
    if installed.is_ok() && log::set_boxed_logger(Box::new(PingoraLog::new())).is_ok() {
        log::set_max_level(tracing_log::AsLog::as_log(
            &tracing::level_filters::LevelFilter::current(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_shows_request_lines_and_hides_dependency_debug() {
        let directives: Vec<&str> = DEFAULT_FILTER.split(',').collect();
        assert_eq!(directives[0], "info");
        assert!(
            !directives.iter().any(|d| d.starts_with("tower_http")),
            "tower_http logs its request lines at INFO: {DEFAULT_FILTER}"
        );
        for noisy in ["sqlx", "hyper", "h2", "rustls"] {
            assert!(directives.contains(&format!("{noisy}=warn").as_str()), "{noisy}");
        }
        assert!(EnvFilter::try_new(DEFAULT_FILTER).is_ok());
    }
}
