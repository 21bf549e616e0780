//! How commands print: tables and sentences for people, `--json` for
//! scripts (one line), and the certificate facts both show.

use porta_certs::policy;
use porta_certs::store::CertificateInfo;
use porta_core::clock::UnixMillis;
use serde_json::{json, Value};

/// Prints `value` as JSON, or `text` for people.
pub(super) fn output(as_json: bool, value: Value, text: String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

const DAY_MS: f64 = 86_400_000.0;

/// Whole days until `info` expires (negative once expired).
pub(super) fn days_left(info: &CertificateInfo, now: UnixMillis) -> i64 {
    ((info.not_after.0 - now.0) as f64 / DAY_MS).floor() as i64
}

/// When the lifecycle worker renews `info` ([`policy::renewal_at`]), in
/// unix milliseconds.
pub(super) fn next_renewal(info: &CertificateInfo) -> i64 {
    policy::renewal_at(info).0
}

/// A certificate row as `porta cert list|show|import --json` print it.
pub(super) fn cert_json(info: &CertificateInfo, now: UnixMillis) -> Value {
    json!({
        "id": info.id.to_string(),
        "domain": info.domain,
        "issuer": info.issuer,
        "serial": info.serial,
        "not_before": info.not_before.0,
        "not_after": info.not_after.0,
        "days_left": days_left(info, now),
        "next_renewal": next_renewal(info),
        "replaced": info.replaced_at.is_some(),
    })
}

/// A timestamp as RFC 3339 (UTC), or the raw millis if out of range.
pub(super) fn time(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| millis.to_string())
}
