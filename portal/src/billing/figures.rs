//! An invoice's figures: for a finalized invoice the totals frozen when it
//! was finalized (the tax per rate recomputed from its immutable lines,
//! checked against them); for a draft the running totals of its lines.

use porta_core::billing::{TaxRate, Totals};
use porta_core::db::billing::invoices::{self, Credit, Invoice, Line};
use porta_core::money::Money;

use crate::error::AppError;

/// Tax on the lines at one rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    pub rate: TaxRate,
    pub base: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub subtotal: Money,
    pub taxes: Vec<TaxLine>,
    pub tax: Money,
    pub credits: Money,
    pub total: Money,
    pub paid: Money,
    pub due: Money,
}

impl Figures {
    pub fn of(invoice: &Invoice, lines: &[Line], credits: &[Credit]) -> Result<Figures, AppError> {
        let computed: Totals =
            invoices::totals(lines, credits).ok_or(AppError::bug("invoice figures overflow"))?;
        let money = |minor| invoice.money(minor);
        let frozen = match (
            invoice.subtotal_minor,
            invoice.tax_minor,
            invoice.credit_minor,
            invoice.total_minor,
        ) {
            (Some(subtotal), Some(tax), Some(credit), Some(total)) if !invoice.is_draft() => {
                if computed.tax_minor != tax || computed.total_minor != total {
                    tracing::error!(invoice = %invoice.id, "frozen totals differ from the lines");
                }
                Some((subtotal, tax, credit, total))
            }
            _ => None,
        };
        let (subtotal, tax, credit, total) = frozen.unwrap_or((
            computed.subtotal_minor,
            computed.tax_minor,
            computed.credit_minor,
            computed.total_minor,
        ));
        Ok(Figures {
            subtotal: money(subtotal),
            taxes: computed
                .taxes
                .iter()
                .filter(|t| t.rate.0 > 0)
                .map(|t| TaxLine {
                    rate: t.rate,
                    base: money(t.base_minor),
                    tax: money(t.tax_minor),
                })
                .collect(),
            tax: money(tax),
            credits: money(credit),
            total: money(total),
            paid: invoice.paid(),
            due: if invoice.is_draft() {
                money(total)
            } else {
                invoice.due()
            },
        })
    }

    /// Credits as the negative amount they take off.
    pub fn credits_off(&self) -> Money {
        Money::new(-self.credits.minor, self.credits.currency)
    }
}
