//! Amounts as people write them and as pages show them, converted exactly:
//! `"1234.50"` in a two-decimal currency is 123450 minor units.

/// Why a typed amount was refused; the message says how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("enter an amount, like 1234.50")]
    Empty,
    #[error("write the amount with digits and a dot for decimals, without thousands separators or currency signs, like 1234.50")]
    NotANumber,
    #[error("at most {0} digits after the decimal point")]
    TooManyDecimals(u32),
    #[error("a negative amount is not allowed here")]
    Negative,
    #[error("that amount is too large")]
    TooLarge,
}

/// `raw` as an integer scaled by 10^`decimals`: `parse_scaled("1.5", 3)`
/// is 1500. A leading `-` is kept (callers refuse it where it makes no
/// sense); thousands separators, exponents and signs other than `-` are
/// refused rather than guessed at.
pub fn parse_scaled(raw: &str, decimals: u32) -> Result<i64, AmountError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(AmountError::Empty);
    }
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole)
        || !fraction.is_none_or(all_digits)
        || (whole.is_empty() && fraction.is_none_or(str::is_empty))
        || fraction == Some("")
    {
        return Err(AmountError::NotANumber);
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > decimals as usize {
        return Err(AmountError::TooManyDecimals(decimals));
    }
    let scale = 10i64.checked_pow(decimals).ok_or(AmountError::TooLarge)?;
    let whole: i64 = if whole.is_empty() {
        0
    } else if whole.len() > 18 {
        return Err(AmountError::TooLarge);
    } else {
        whole.parse().map_err(|_| AmountError::TooLarge)?
    };
    let padded = format!("{fraction:0<width$}", width = decimals as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| AmountError::NotANumber)?
    };
    let value = whole
        .checked_mul(scale)
        .and_then(|v| v.checked_add(fraction))
        .ok_or(AmountError::TooLarge)?;
    Ok(if negative { -value } else { value })
}

/// An amount typed by staff in a currency with `exponent` decimals, as
/// minor units. Negative amounts are refused unless `allow_negative`.
pub fn parse_amount(raw: &str, exponent: u32, allow_negative: bool) -> Result<i64, AmountError> {
    let value = parse_scaled(raw, exponent)?;
    if value < 0 && !allow_negative {
        return Err(AmountError::Negative);
    }
    Ok(value)
}

/// Minor units as the amount people read: `123450` with 2 decimals is
/// `1,234.50`; the sign comes first (`-12.00`).
pub fn format_minor(minor: i64, exponent: u32) -> String {
    let negative = minor < 0;
    let magnitude = minor.unsigned_abs();
    let scale = 10u64.pow(exponent);
    let whole = (magnitude / scale).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    if exponent == 0 {
        format!("{sign}{grouped}")
    } else {
        let fraction = magnitude % scale;
        format!("{sign}{grouped}.{fraction:0width$}", width = exponent as usize)
    }
}

/// A scaled integer as the shortest decimal (`1500` with 3 decimals is
/// `1.5`; `2000` is `2`): for quantities and hours in form fields.
pub fn format_scaled(value: i64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let magnitude = value.unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    let fraction = magnitude % scale;
    if fraction == 0 {
        return format!("{sign}{}", magnitude / scale);
    }
    let digits = format!("{fraction:0width$}", width = decimals as usize);
    format!("{sign}{}.{}", magnitude / scale, digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_amounts_become_minor_units() {
        assert_eq!(parse_amount("1234.50", 2, false), Ok(123_450));
        assert_eq!(parse_amount("1234.5", 2, false), Ok(123_450));
        assert_eq!(parse_amount(" 1234 ", 2, false), Ok(123_400));
        assert_eq!(parse_amount("0.05", 2, false), Ok(5));
        assert_eq!(parse_amount(".5", 2, false), Ok(50));
        assert_eq!(parse_amount("1200", 0, false), Ok(1200));
        assert_eq!(parse_amount("1.234", 3, false), Ok(1234));
        assert_eq!(parse_amount("-20.00", 2, true), Ok(-2000));
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert_eq!(parse_amount("", 2, false), Err(AmountError::Empty));
        for bad in [
            "1,234.50", "12,5", "$12", "1e3", "12.", "abc", "1 234", "+5", "--1", ".", "-",
        ] {
            assert_eq!(parse_amount(bad, 2, true), Err(AmountError::NotANumber), "{bad}");
        }
        assert_eq!(
            parse_amount("1.234", 2, false),
            Err(AmountError::TooManyDecimals(2))
        );
        assert_eq!(
            parse_amount("1.5", 0, false),
            Err(AmountError::TooManyDecimals(0))
        );
        assert_eq!(parse_amount("-1", 2, false), Err(AmountError::Negative));
        assert_eq!(
            parse_amount("99999999999999999999", 2, false),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            parse_amount("92233720368547758.08", 2, false),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            AmountError::NotANumber.to_string(),
            "write the amount with digits and a dot for decimals, without thousands separators or currency signs, like 1234.50"
        );
    }

    #[test]
    fn minor_units_print_grouped() {
        assert_eq!(format_minor(123_450, 2), "1,234.50");
        assert_eq!(format_minor(0, 2), "0.00");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(100_000_000, 2), "1,000,000.00");
        assert_eq!(format_minor(999, 0), "999");
        assert_eq!(format_minor(i64::MIN, 2), "-92,233,720,368,547,758.08");
        assert_eq!(format_scaled(1500, 3), "1.5");
        assert_eq!(format_scaled(2000, 3), "2");
        assert_eq!(format_scaled(1234, 3), "1.234");
        assert_eq!(format_scaled(-250, 2), "-2.5");
    }
}
