//! Calendar dates (`2026-12-31`) and months (`2026-12`) of billing: due
//! dates, service periods, payment dates, usage months. Stored as TEXT in
//! that form, which also sorts correctly.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDate(&'static str);

/// A day of the calendar, without a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate(Date);

impl CalendarDate {
    /// Today in UTC: billing's calendar (due dates fall due at the end of
    /// the UTC day).
    pub fn today() -> CalendarDate {
        CalendarDate(jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date())
    }

    pub fn from_ymd(year: i16, month: i8, day: i8) -> Option<CalendarDate> {
        Date::new(year, month, day).ok().map(CalendarDate)
    }

    /// `days` later (or earlier), if on the calendar.
    pub fn plus_days(self, days: i64) -> Option<CalendarDate> {
        self.0
            .checked_add(jiff::Span::new().days(days))
            .ok()
            .map(CalendarDate)
    }

    /// The same day `months` later, clamped to the month's end.
    pub fn plus_months(self, months: i64) -> Option<CalendarDate> {
        self.0
            .checked_add(jiff::Span::new().months(months))
            .ok()
            .map(CalendarDate)
    }

    pub fn month(self) -> Month {
        Month {
            year: self.0.year(),
            month: self.0.month(),
        }
    }

    pub fn first_of_month(self) -> CalendarDate {
        CalendarDate(self.0.first_of_month())
    }

    pub fn last_of_month(self) -> CalendarDate {
        CalendarDate(self.0.last_of_month())
    }

    /// Days from `self` to `other` (negative when `other` is earlier).
    pub fn days_until(self, other: CalendarDate) -> i64 {
        self.0
            .until((jiff::Unit::Day, other.0))
            .map(|s| i64::from(s.get_days()))
            .unwrap_or(0)
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

impl FromStr for CalendarDate {
    type Err = InvalidDate;

    /// Exactly `YYYY-MM-DD`, a day that exists.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = InvalidDate("a date like 2026-12-31");
        let s = s.trim();
        if s.len() != 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
            return Err(bad);
        }
        let part = |r: std::ops::Range<usize>| -> Option<i16> {
            let p = s.get(r)?;
            p.bytes().all(|b| b.is_ascii_digit()).then(|| p.parse().ok())?
        };
        let (Some(y), Some(m), Some(d)) = (part(0..4), part(5..7), part(8..10)) else {
            return Err(bad);
        };
        if y < 1900 {
            return Err(bad);
        }
        Date::new(y, m as i8, d as i8).map(CalendarDate).map_err(|_| bad)
    }
}

/// A calendar month (usage is recorded per month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i16,
    month: i8,
}

impl Month {
    pub fn new(year: i16, month: i8) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Month { year, month })
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn number(self) -> i8 {
        self.month
    }

    /// The month `n` months later (negative: earlier).
    pub fn plus(self, n: i32) -> Option<Month> {
        let index = i32::from(self.year) * 12 + i32::from(self.month) - 1 + n;
        Month::new(
            i16::try_from(index.div_euclid(12)).ok()?,
            (index.rem_euclid(12) + 1) as i8,
        )
    }

    /// The twelve months ending with this one, oldest first.
    pub fn last_twelve(self) -> Vec<Month> {
        (-11..=0).filter_map(|n| self.plus(n)).collect()
    }

    /// `Nov 2026`.
    pub fn label(self) -> String {
        const NAMES: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!("{} {}", NAMES[(self.month - 1) as usize], self.year)
    }

    /// `Nov` (chart axes).
    pub fn short_label(self) -> &'static str {
        const NAMES: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        NAMES[(self.month - 1) as usize]
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = InvalidDate;

    /// `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = InvalidDate("a month like 2026-12");
        let s = s.trim();
        let (y, m) = s.split_once('-').ok_or(bad.clone())?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        Month::new(
            y.parse().map_err(|_| bad.clone())?,
            m.parse().map_err(|_| bad.clone())?,
        )
        .ok_or(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_months_parse_strictly() {
        let d: CalendarDate = "2026-02-28".parse().unwrap();
        assert_eq!(d.to_string(), "2026-02-28");
        assert_eq!(d.plus_days(1).unwrap().to_string(), "2026-03-01");
        assert_eq!(d.month().to_string(), "2026-02");
        for bad in [
            "2026-02-30",
            "2026-2-1",
            "26-02-01",
            "2026/02/01",
            "",
            "2026-02-01x",
            "1800-01-01",
        ] {
            assert!(bad.parse::<CalendarDate>().is_err(), "{bad}");
        }
        let m: Month = "2026-01".parse().unwrap();
        assert_eq!(m.plus(-1).unwrap().to_string(), "2025-12");
        assert_eq!(m.plus(11).unwrap().to_string(), "2026-12");
        assert_eq!(m.last_twelve().first().unwrap().to_string(), "2025-02");
        assert_eq!(m.label(), "Jan 2026");
        for bad in ["2026-13", "2026-1", "2026", "abcd-01"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        let a: CalendarDate = "2026-01-01".parse().unwrap();
        assert_eq!(a.days_until("2026-01-31".parse().unwrap()), 30);
    }
}
