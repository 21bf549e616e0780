//! Reading the staff billing forms: amounts in the invoice's currency,
//! quantities, tax rates, dates and hours, each refused with a message
//! that says how to write it.

use porta_core::billing::{CalendarDate, Month, Quantity, TaxRate};
use porta_core::money::{parse_amount, parse_scaled, Currency};

/// A url-encoded form as name/value pairs.
pub type Fields = Vec<(String, String)>;

pub fn text<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

pub fn ticked(form: &Fields, name: &str) -> bool {
    form.iter().any(|(k, _)| k == name)
}

/// An amount in `currency` as minor units.
pub fn amount(
    form: &Fields,
    name: &str,
    label: &str,
    currency: Currency,
    negative: bool,
) -> Result<i64, String> {
    parse_amount(text(form, name), currency.exponent(), negative).map_err(|e| format!("{label}: {e}."))
}

pub fn quantity(form: &Fields, name: &str, label: &str, zero: bool) -> Result<Quantity, String> {
    let raw = text(form, name);
    let parsed = if zero {
        Quantity::parse_non_negative(raw)
    } else {
        Quantity::parse_positive(raw)
    };
    parsed.map_err(|e| match e {
        porta_core::money::AmountError::Negative if !zero => {
            format!("{label}: a number above zero, like 1 or 2.5.")
        }
        porta_core::money::AmountError::TooManyDecimals(_) => {
            format!("{label}: at most three digits after the decimal point.")
        }
        _ => format!("{label}: a number like 1 or 2.5."),
    })
}

pub fn tax_rate(form: &Fields, name: &str) -> Result<TaxRate, String> {
    TaxRate::parse_percent(text(form, name)).map_err(|e| format!("Tax: {e}."))
}

pub fn date(form: &Fields, name: &str, label: &str) -> Result<Option<CalendarDate>, String> {
    match text(form, name) {
        "" => Ok(None),
        raw => raw.parse().map(Some).map_err(|e| format!("{label}: {e}.")),
    }
}

pub fn required_date(form: &Fields, name: &str, label: &str) -> Result<CalendarDate, String> {
    date(form, name, label)?.ok_or_else(|| format!("{label}: a date like 2026-12-31."))
}

pub fn month(form: &Fields, name: &str) -> Result<Month, String> {
    text(form, name).parse().map_err(|e| format!("Month: {e}."))
}

/// Hours (`1.5`, `12`) as minutes, above zero.
pub fn hours(form: &Fields, name: &str, label: &str) -> Result<i64, String> {
    let hundredths =
        parse_scaled(text(form, name), 2).map_err(|_| format!("{label}: a number of hours like 1.5."))?;
    if hundredths <= 0 || hundredths > 100_000_000 {
        return Err(format!("{label}: a number of hours above zero, like 1.5."));
    }
    Ok(hundredths * 60 / 100)
}

pub fn days(form: &Fields, name: &str) -> Result<i32, String> {
    match text(form, name) {
        "" => Ok(30),
        raw => raw
            .parse::<i32>()
            .ok()
            .filter(|d| (0..=365).contains(d))
            .ok_or_else(|| "Payment terms: a number of days from 0 to 365.".to_owned()),
    }
}
