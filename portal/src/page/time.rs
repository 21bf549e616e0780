//! Times as a reader sees them: in their own time zone (from their
//! profile), with the zone's abbreviation.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use porta_core::locale::Locale;

use crate::i18n::format;

/// A user's time zone, `UTC` when unset or unknown.
#[derive(Debug, Clone)]
pub struct Zone(TimeZone);

impl Zone {
    /// The zone named `name` (IANA, e.g. `Europe/Paris`), else UTC.
    pub fn named(name: &str) -> Zone {
        Zone(TimeZone::get(name).unwrap_or(TimeZone::UTC))
    }

    pub fn utc() -> Zone {
        Zone(TimeZone::UTC)
    }

    fn zoned(&self, millis: i64) -> Option<jiff::Zoned> {
        Timestamp::from_millisecond(millis)
            .ok()
            .map(|t| t.to_zoned(self.0.clone()))
    }

    /// `Nov 29, 2026, 3:05 PM CET` (in `locale`'s way, with the zone's
    /// abbreviation).
    pub fn time(&self, locale: Locale, millis: i64) -> String {
        self.zoned(millis)
            .map(|z| format!("{} {}", format::date_time(locale, z.datetime()), z.strftime("%Z")))
            .unwrap_or_default()
    }

    /// `Nov 29, 2026` (in `locale`'s way).
    pub fn date(&self, locale: Locale, millis: i64) -> String {
        self.zoned(millis)
            .map(|z| format::date(locale, z.date()))
            .unwrap_or_default()
    }
}

impl Zone {
    /// The first instant of `date` (`2026-11-29`) in this zone, in
    /// milliseconds; `None` when it is not a date.
    pub fn start_of_day(&self, date: &str) -> Option<i64> {
        let date: jiff::civil::Date = date.trim().parse().ok()?;
        let zoned = date.to_zoned(self.0.clone()).ok()?;
        Some(zoned.timestamp().as_millisecond())
    }

    /// The first instant of the day after `date`.
    pub fn end_of_day(&self, date: &str) -> Option<i64> {
        let date: jiff::civil::Date = date.trim().parse().ok()?;
        let next = date.tomorrow().ok()?;
        Some(next.to_zoned(self.0.clone()).ok()?.timestamp().as_millisecond())
    }
}

/// Whether `name` is a time zone Porta knows.
pub fn is_known_zone(name: &str) -> bool {
    name == "UTC" || TimeZone::get(name).is_ok()
}

/// Every time zone name, sorted (for the profile's choice).
pub fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_readers_zone() {
        let at = 1_764_428_700_000; // 2025-11-29 15:05 UTC
        let plain = |s: String| s.replace(['\u{202f}', '\u{a0}'], " ");
        assert_eq!(
            plain(Zone::utc().time(Locale::En, at)),
            "Nov 29, 2025, 3:05 PM UTC"
        );
        assert_eq!(
            plain(Zone::named("Europe/Paris").time(Locale::Fr, at)),
            "29 nov. 2025, 16:05 CET"
        );
        assert_eq!(
            plain(Zone::named("Not/AZone").time(Locale::De, at)),
            "29.11.2025, 15:05 UTC"
        );
        assert_eq!(
            Zone::named("America/New_York").date(Locale::En, at),
            "Nov 29, 2025"
        );
        assert!(is_known_zone("Asia/Tokyo") && !is_known_zone("Mars/Olympus"));
        assert!(zone_names().iter().any(|n| n == "Europe/Berlin"));
        let paris = Zone::named("Europe/Paris");
        assert_eq!(paris.start_of_day("2025-11-29"), Some(1_764_370_800_000));
        assert_eq!(paris.end_of_day("2025-11-29"), Some(1_764_457_200_000));
        assert_eq!(paris.start_of_day("29/11/2025"), None);
    }
}
