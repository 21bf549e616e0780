//! Money in integer minor units (cents, pence, yen) with its currency.
//! There is no floating point anywhere in money: amounts are `i64` minor
//! units, arithmetic is checked, and what staff type is parsed digit by
//! digit ([`parse_amount`]).

mod amount;
mod currency;

pub use amount::{format_minor, format_scaled, parse_amount, parse_scaled, AmountError};
pub use currency::{Currency, InvalidCurrency};

use std::fmt;

/// An amount in a currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The amount without the currency code (`1,234.50`).
    pub fn amount(&self) -> String {
        format_minor(self.minor, self.currency.exponent())
    }
}

/// `USD 1,234.50`, `-USD 12.00`, `JPY 1,200`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format_minor(self.minor, self.currency.exponent());
        match digits.strip_prefix('-') {
            Some(positive) => write!(f, "-{} {positive}", self.currency),
            None => write!(f, "{} {digits}", self.currency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_prints_with_its_code() {
        let usd: Currency = "USD".parse().unwrap();
        assert_eq!(Money::new(123_450, usd).to_string(), "USD 1,234.50");
        assert_eq!(Money::new(-1_200, usd).to_string(), "-USD 12.00");
        assert_eq!(Money::new(5, usd).to_string(), "USD 0.05");
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(Money::new(1_200, jpy).to_string(), "JPY 1,200");
        let kwd: Currency = "KWD".parse().unwrap();
        assert_eq!(Money::new(1_234_567, kwd).to_string(), "KWD 1,234.567");
    }
}
