//! Usage per contract line over the last twelve months: the chart and the
//! same figures as a table (client and staff pages show both).

use porta_core::billing::{CalendarDate, Month, Quantity};
use porta_core::branding::Colour;
use porta_core::db::billing::contracts::{self, ContractLine, Usage};
use porta_core::db::billing::Scope;
use porta_core::db::Db;

use crate::billing::chart;
use crate::error::AppError;

/// One contract line's usage.
pub struct UsageView {
    pub line: ContractLine,
    pub months: Vec<(Month, Quantity)>,
    /// The chart, an SVG made here from numbers and month names only.
    pub svg: String,
}

impl UsageView {
    pub fn total(&self) -> Quantity {
        Quantity(self.months.iter().map(|(_, q)| q.0).sum())
    }

    pub fn unit_label(&self) -> &str {
        if self.line.unit.is_empty() {
            "units"
        } else {
            &self.line.unit
        }
    }
}

/// The twelve months up to this one.
pub fn twelve_months() -> Vec<Month> {
    CalendarDate::today().month().last_twelve()
}

/// The usage of each line that has any in the last twelve months.
pub async fn build(
    db: &Db,
    scope: Scope,
    lines: &[ContractLine],
    colour: Option<Colour>,
    locale: porta_core::locale::Locale,
) -> Result<Vec<UsageView>, AppError> {
    let months = twelve_months();
    let (Some(from), Some(to)) = (months.first().copied(), months.last().copied()) else {
        return Ok(Vec::new());
    };
    let records: Vec<Usage> = contracts::usage(db, scope, from, to).await?;
    let mut views = Vec::new();
    for line in lines {
        let mine: Vec<&Usage> = records.iter().filter(|u| u.contract_line_id == line.id).collect();
        if mine.is_empty() {
            continue;
        }
        let figures: Vec<(Month, Quantity)> = months
            .iter()
            .map(|m| {
                let q = mine
                    .iter()
                    .find(|u| u.month == *m)
                    .map_or(Quantity(0), |u| u.quantity());
                (*m, q)
            })
            .collect();
        let svg = chart::usage_svg(&figures, colour, locale).map_err(AppError::internal)?;
        views.push(UsageView {
            line: line.clone(),
            months: figures,
            svg,
        });
    }
    Ok(views)
}
