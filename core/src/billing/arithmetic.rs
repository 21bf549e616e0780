//! Invoice arithmetic, exact in integers: a line's total is quantity
//! (thousandths) × unit price (minor units), rounded half away from zero;
//! tax is computed per rate on the sum of the lines at that rate; the
//! total is Σ lines + Σ tax − credits. Every step is checked: an invoice
//! whose figures do not fit is refused, never wrapped.

use std::fmt;

use crate::money::{format_scaled, parse_scaled, AmountError};

/// A quantity in thousandths (`1.5` hours is 1500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(pub i64);

impl Quantity {
    pub const SCALE: i64 = 1000;
    pub const DECIMALS: u32 = 3;

    pub fn whole(n: i64) -> Quantity {
        Quantity(n * Self::SCALE)
    }

    /// What staff typed (`2`, `1.5`, `0.125`); zero and negative refused.
    pub fn parse_positive(raw: &str) -> Result<Quantity, AmountError> {
        let value = parse_scaled(raw, Self::DECIMALS)?;
        if value <= 0 {
            return Err(AmountError::Negative);
        }
        Ok(Quantity(value))
    }

    /// Zero allowed (a month without usage).
    pub fn parse_non_negative(raw: &str) -> Result<Quantity, AmountError> {
        let value = parse_scaled(raw, Self::DECIMALS)?;
        if value < 0 {
            return Err(AmountError::Negative);
        }
        Ok(Quantity(value))
    }
}

/// `1.5`, `2`.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(self.0, Self::DECIMALS))
    }
}

/// A tax rate in basis points (20% is 2000), 0 to 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TaxRate(pub i32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxRateError {
    #[error("a tax rate is a percentage from 0 to 100 with at most two decimals, like 20 or 8.25")]
    Bad,
}

impl TaxRate {
    pub const MAX: i32 = 10_000;

    pub fn new(basis_points: i32) -> Option<TaxRate> {
        (0..=Self::MAX)
            .contains(&basis_points)
            .then_some(TaxRate(basis_points))
    }

    /// A percentage as typed (`20`, `8.25`, empty for none).
    pub fn parse_percent(raw: &str) -> Result<TaxRate, TaxRateError> {
        if raw.trim().is_empty() {
            return Ok(TaxRate(0));
        }
        let bp = parse_scaled(raw.trim_end_matches('%'), 2).map_err(|_| TaxRateError::Bad)?;
        i32::try_from(bp)
            .ok()
            .and_then(TaxRate::new)
            .ok_or(TaxRateError::Bad)
    }

    /// The tax on `base` minor units, rounded half away from zero.
    pub fn tax_on(self, base: i64) -> Option<i64> {
        round_div(i128::from(base) * i128::from(self.0), 10_000)
    }
}

/// `20%`, `8.25%`.
impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", format_scaled(i64::from(self.0), 2))
    }
}

/// `n / d` rounded half away from zero, if it fits an `i64`.
fn round_div(n: i128, d: i128) -> Option<i64> {
    let half = d / 2;
    let q = if n >= 0 { (n + half) / d } else { (n - half) / d };
    i64::try_from(q).ok()
}

/// A line's total in minor units: quantity × unit price, rounded half
/// away from zero to the minor unit.
pub fn line_total(quantity: Quantity, unit_price_minor: i64) -> Option<i64> {
    round_div(
        i128::from(quantity.0) * i128::from(unit_price_minor),
        i128::from(Quantity::SCALE),
    )
}

/// The lines at one tax rate and their tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxShare {
    pub rate: TaxRate,
    pub base_minor: i64,
    pub tax_minor: i64,
}

/// An invoice's figures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    /// Σ line totals.
    pub subtotal_minor: i64,
    /// Per rate, lowest rate first (rates with no lines are absent).
    pub taxes: Vec<TaxShare>,
    pub tax_minor: i64,
    /// Σ credits applied.
    pub credit_minor: i64,
    /// subtotal + tax − credits.
    pub total_minor: i64,
}

impl Totals {
    /// The figures of lines `(line total, rate)` and credits, or `None`
    /// when they do not fit an `i64`.
    pub fn of(lines: &[(i64, TaxRate)], credits: &[i64]) -> Option<Totals> {
        let mut rates: Vec<TaxRate> = lines.iter().map(|(_, r)| *r).collect();
        rates.sort();
        rates.dedup();
        let mut taxes = Vec::with_capacity(rates.len());
        for rate in rates {
            let base = lines
                .iter()
                .filter(|(_, r)| *r == rate)
                .try_fold(0i64, |acc, (t, _)| acc.checked_add(*t))?;
            taxes.push(TaxShare {
                rate,
                base_minor: base,
                tax_minor: rate.tax_on(base)?,
            });
        }
        let subtotal_minor = lines.iter().try_fold(0i64, |acc, (t, _)| acc.checked_add(*t))?;
        let tax_minor = taxes
            .iter()
            .try_fold(0i64, |acc, t| acc.checked_add(t.tax_minor))?;
        let credit_minor = credits.iter().try_fold(0i64, |acc, c| acc.checked_add(*c))?;
        let total_minor = subtotal_minor.checked_add(tax_minor)?.checked_sub(credit_minor)?;
        Some(Totals {
            subtotal_minor,
            taxes,
            tax_minor,
            credit_minor,
            total_minor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_half_away_from_zero() {
        // 1.5 × 33.33 = 49.995 → 50.00
        assert_eq!(line_total(Quantity(1500), 3333), Some(5000));
        assert_eq!(line_total(Quantity(1500), -3333), Some(-5000));
        assert_eq!(line_total(Quantity(1000), 12_345), Some(12_345));
        assert_eq!(line_total(Quantity(1), 1), Some(0));
        assert_eq!(line_total(Quantity(i64::MAX), i64::MAX), None);
    }

    #[test]
    fn tax_is_per_rate() {
        let twenty = TaxRate(2000);
        let none = TaxRate(0);
        let t = Totals::of(&[(10_005, twenty), (10_005, twenty), (5_000, none)], &[1_000]).unwrap();
        assert_eq!(t.subtotal_minor, 25_010);
        // 20% of 200.10 = 40.02, once for the rate (not 2 × 20.01 rounded).
        assert_eq!(
            t.taxes,
            vec![
                TaxShare {
                    rate: none,
                    base_minor: 5_000,
                    tax_minor: 0
                },
                TaxShare {
                    rate: twenty,
                    base_minor: 20_010,
                    tax_minor: 4_002
                },
            ]
        );
        assert_eq!(t.total_minor, 25_010 + 4_002 - 1_000);
    }

    #[test]
    fn rates_parse_as_percentages() {
        assert_eq!(TaxRate::parse_percent("20"), Ok(TaxRate(2000)));
        assert_eq!(TaxRate::parse_percent("8.25%"), Ok(TaxRate(825)));
        assert_eq!(TaxRate::parse_percent(""), Ok(TaxRate(0)));
        assert_eq!(TaxRate(825).to_string(), "8.25%");
        assert_eq!(TaxRate(2000).to_string(), "20%");
        for bad in ["101", "-1", "8.255", "twenty"] {
            assert!(TaxRate::parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(Quantity::parse_positive("1.5").unwrap(), Quantity(1500));
        assert!(Quantity::parse_positive("0").is_err());
        assert_eq!(Quantity(1500).to_string(), "1.5");
    }
}
