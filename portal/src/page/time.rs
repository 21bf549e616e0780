//! Times as a reader sees them: in their own time zone (from their
//! profile), with the zone's abbreviation.

use jiff::tz::TimeZone;
use jiff::Timestamp;

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

    /// `2026-11-29 15:05 CET`.
    pub fn time(&self, millis: i64) -> String {
        self.zoned(millis)
            .map(|z| z.strftime("%Y-%m-%d %H:%M %Z").to_string())
            .unwrap_or_default()
    }

    /// `2026-11-29`.
    pub fn date(&self, millis: i64) -> String {
        self.zoned(millis)
            .map(|z| z.strftime("%Y-%m-%d").to_string())
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
        assert_eq!(Zone::utc().time(at), "2025-11-29 15:05 UTC");
        assert_eq!(Zone::named("Europe/Paris").time(at), "2025-11-29 16:05 CET");
        assert_eq!(Zone::named("Not/AZone").time(at), "2025-11-29 15:05 UTC");
        assert_eq!(Zone::named("America/New_York").date(at), "2025-11-29");
        assert!(is_known_zone("Asia/Tokyo") && !is_known_zone("Mars/Olympus"));
        assert!(zone_names().iter().any(|n| n == "Europe/Berlin"));
        let paris = Zone::named("Europe/Paris");
        assert_eq!(paris.start_of_day("2025-11-29"), Some(1_764_370_800_000));
        assert_eq!(paris.end_of_day("2025-11-29"), Some(1_764_457_200_000));
        assert_eq!(paris.start_of_day("29/11/2025"), None);
    }
}
