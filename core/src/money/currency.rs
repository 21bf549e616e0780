//! ISO 4217 currency codes and how many minor-unit digits each has.

use std::fmt;
use std::str::FromStr;

/// Three upper-case letters, like `USD` or `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a currency is an ISO 4217 code of three letters, like USD or EUR")]
pub struct InvalidCurrency;

/// Codes with no minor unit (ISO 4217 exponent 0).
const NO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
    "XOF", "XPF",
];
/// Codes with three decimals.
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII letters")
    }

    /// Digits after the decimal point (2 for most currencies).
    pub fn exponent(&self) -> u32 {
        let code = self.code();
        if NO_DECIMALS.contains(&code) {
            0
        } else if THREE_DECIMALS.contains(&code) {
            3
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;

    /// `usd` is read as `USD`; anything but three ASCII letters is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bytes = s.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(InvalidCurrency);
        }
        Ok(Currency([
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_know_their_decimals() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert_eq!(Currency::USD.exponent(), 2);
        assert_eq!("JPY".parse::<Currency>().unwrap().exponent(), 0);
        assert_eq!("BHD".parse::<Currency>().unwrap().exponent(), 3);
        for bad in ["", "US", "USDX", "U$D", "12A", "ÜSD"] {
            assert_eq!(bad.parse::<Currency>(), Err(InvalidCurrency), "{bad}");
        }
    }
}
