//! Dates, numbers and money as a reader of a language writes them, by
//! ICU4X with its compiled CLDR data: `29 nov. 2026`, `1 234,5`,
//! `1 234,50 €`. One set of formatters per [`Locale`], made once.

use std::sync::LazyLock;

use fixed_decimal::Decimal;
use icu_calendar::{Date, Gregorian};
use icu_datetime::fieldsets::{M, YM, YMD, YMDT};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_decimal::DecimalFormatter;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::dimension::currency::CurrencyType;
use icu_locale_core::extensions::unicode::Value;
use icu_time::{DateTime, Time};
use porta_core::locale::Locale;

struct Formatters {
    locale: Locale,
    date: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    year_month: FixedCalendarDateTimeFormatter<Gregorian, YM>,
    month: FixedCalendarDateTimeFormatter<Gregorian, M>,
    date_time: FixedCalendarDateTimeFormatter<Gregorian, YMDT>,
    decimal: DecimalFormatter,
}

fn icu_locale(locale: Locale) -> icu_locale_core::Locale {
    locale.tag().parse().expect("our tags are valid locales")
}

impl Formatters {
    fn new(locale: Locale) -> Formatters {
        let prefs = icu_locale(locale);
        Formatters {
            locale,
            date: FixedCalendarDateTimeFormatter::try_new((&prefs).into(), YMD::medium())
                .expect("compiled data has dates for our locales"),
            month: FixedCalendarDateTimeFormatter::try_new((&prefs).into(), M::medium())
                .expect("compiled data has month names for our locales"),
            year_month: FixedCalendarDateTimeFormatter::try_new((&prefs).into(), YM::medium())
                .expect("compiled data has months for our locales"),
            date_time: FixedCalendarDateTimeFormatter::try_new((&prefs).into(), YMD::medium().with_time_hm())
                .expect("compiled data has times for our locales"),
            decimal: DecimalFormatter::try_new((&prefs).into(), Default::default())
                .expect("compiled data has numbers for our locales"),
        }
    }
}

static FORMATTERS: LazyLock<Vec<Formatters>> =
    LazyLock::new(|| Locale::ALL.into_iter().map(Formatters::new).collect());

fn formatters(locale: Locale) -> &'static Formatters {
    FORMATTERS
        .iter()
        .find(|f| f.locale == locale)
        .expect("every locale has formatters")
}

fn gregorian(date: jiff::civil::Date) -> Option<Date<Gregorian>> {
    Date::try_new_gregorian(i32::from(date.year()), date.month() as u8, date.day() as u8).ok()
}

/// A calendar date (`Nov 29, 2026`, `29 nov. 2026`, `29.11.2026`).
pub fn date(locale: Locale, date: jiff::civil::Date) -> String {
    match gregorian(date) {
        Some(d) => formatters(locale).date.format(&d).to_string(),
        None => date.to_string(),
    }
}

/// A month of a year (`Nov 2026`, `nov. 2026`, `Nov. 2026`).
pub fn year_month(locale: Locale, year: i32, month: i8) -> String {
    match Date::try_new_gregorian(year, month.clamp(1, 12) as u8, 1) {
        Ok(d) => formatters(locale).year_month.format(&d).to_string(),
        Err(_) => format!("{year}-{month:02}"),
    }
}

/// A month's short name (`Nov`, `nov.`), for chart axes.
pub fn month_name(locale: Locale, month: i8) -> String {
    match Date::try_new_gregorian(2000, month.clamp(1, 12) as u8, 1) {
        Ok(d) => formatters(locale).month.format(&d).to_string(),
        Err(_) => month.to_string(),
    }
}

/// A date and a time of day to the minute, without a zone.
pub fn date_time(locale: Locale, at: jiff::civil::DateTime) -> String {
    let Some(date) = gregorian(at.date()) else {
        return at.to_string();
    };
    let Ok(time) = Time::try_new(at.hour() as u8, at.minute() as u8, 0, 0) else {
        return at.to_string();
    };
    formatters(locale)
        .date_time
        .format(&DateTime { date, time })
        .to_string()
}

/// A whole number with the locale's grouping (`12,345`, `12 345`).
pub fn integer(locale: Locale, n: i64) -> String {
    formatters(locale).decimal.format(&Decimal::from(n)).to_string()
}

/// `units` thousandths as a decimal with up to three fraction digits
/// (`1.5`, `1,5`): quantities and hours are stored that way.
pub fn thousandths(locale: Locale, units: i64) -> String {
    let mut d = Decimal::from(units);
    d.multiply_pow10(-3);
    d.trim_end();
    formatters(locale).decimal.format(&d).to_string()
}

/// An amount of money given in minor units of `currency` (an ISO 4217
/// code) with `minor_digits` fraction digits: `$1,234.50`, `1 234,50 €`.
/// An unknown currency code shows the amount and the code.
pub fn money(locale: Locale, minor: i64, currency: &str, minor_digits: u8) -> String {
    let mut amount = Decimal::from(minor);
    amount.multiply_pow10(-i16::from(minor_digits));
    let formatter = currency_type(currency).and_then(|code| {
        CurrencyFormatter::try_new_symbol((&icu_locale(locale)).into(), code, Default::default()).ok()
    });
    match formatter {
        Some(f) => {
            let text = f.format_fixed_decimal(&amount).to_string();
            // A negative amount: ICU4X formats the magnitude with the sign
            // pattern when it knows one; make sure a sign is shown.
            if minor < 0 && !text.contains('-') && !text.contains('\u{2212}') && !text.contains('(') {
                format!("-{text}")
            } else {
                text
            }
        }
        None => {
            amount.pad_end(-i16::from(minor_digits));
            format!("{} {currency}", formatters(locale).decimal.format(&amount))
        }
    }
}

fn currency_type(code: &str) -> Option<CurrencyType> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let value = Value::try_from_str(&code.to_ascii_lowercase()).ok()?;
    CurrencyType::try_from(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil;

    /// Spaces as ICU4X writes them (narrow no-break and no-break) made
    /// plain, so the expectations stay readable.
    fn plain(s: String) -> String {
        s.replace(['\u{202f}', '\u{a0}'], " ")
    }

    #[test]
    fn dates_follow_the_language() {
        let d = civil::date(2026, 11, 29);
        assert_eq!(date(Locale::En, d), "Nov 29, 2026");
        assert_eq!(date(Locale::Fr, d), "29 nov. 2026");
        assert_eq!(date(Locale::De, d), "29.11.2026");
        assert_eq!(date(Locale::Es, d), "29 nov 2026");
        assert_eq!(year_month(Locale::En, 2026, 11), "Nov 2026");
        assert_eq!(year_month(Locale::Fr, 2026, 11), "nov. 2026");
        assert_eq!(month_name(Locale::En, 11), "Nov");
        assert_eq!(month_name(Locale::De, 3), "Mär");
        let at = civil::date(2026, 11, 29).at(15, 5, 0, 0);
        assert_eq!(plain(date_time(Locale::En, at)), "Nov 29, 2026, 3:05 PM");
        assert_eq!(plain(date_time(Locale::Fr, at)), "29 nov. 2026, 15:05");
    }

    #[test]
    fn numbers_and_money_follow_the_language() {
        assert_eq!(integer(Locale::En, 1_234_567), "1,234,567");
        assert_eq!(plain(integer(Locale::Fr, 1_234_567)), "1 234 567");
        assert_eq!(integer(Locale::De, 1_234_567), "1.234.567");
        assert_eq!(thousandths(Locale::En, 1_500), "1.5");
        assert_eq!(thousandths(Locale::De, 2_250), "2,25");
        assert_eq!(money(Locale::En, 123_450, "USD", 2), "$1,234.50");
        assert_eq!(plain(money(Locale::Fr, 123_450, "EUR", 2)), "1 234,50 €");
        assert_eq!(plain(money(Locale::De, 123_450, "EUR", 2)), "1.234,50 €");
        assert_eq!(money(Locale::En, 5_000, "JPY", 0), "¥5,000");
        assert!(money(Locale::En, -2_500, "USD", 2).contains('-'));
        assert_eq!(money(Locale::En, 100, "X1Z", 2), "1.00 X1Z");
    }
}
