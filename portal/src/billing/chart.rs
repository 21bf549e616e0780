//! A contract line's usage over twelve months as an SVG bar chart, drawn
//! on the server with plotters' SVG backend. The SVG carries only numbers
//! and month names (no stored text), its labels are SVG text left to the
//! browser's fonts, so nothing needs a font on the server.

use plotters::prelude::*;
use porta_core::billing::{Month, Quantity};
use porta_core::branding::Colour;

const WIDTH: u32 = 560;
const HEIGHT: u32 = 240;

#[derive(Debug, thiserror::Error)]
#[error("the usage chart could not be drawn: {0}")]
pub struct ChartError(String);

/// The months and their figures, oldest first.
pub fn usage_svg(
    months: &[(Month, Quantity)],
    colour: Option<Colour>,
    locale: porta_core::locale::Locale,
) -> Result<String, ChartError> {
    let err = |e: &dyn std::fmt::Display| ChartError(e.to_string());
    let [r, g, b] = colour.map_or([0x24, 0x56, 0xd6], Colour::rgb);
    let bar = RGBColor(r, g, b);
    // Thousandths on the axis; a little headroom above the highest bar.
    let highest = months.iter().map(|(_, q)| q.0).max().unwrap_or(0);
    let top = (highest + highest / 10).max(Quantity::SCALE);
    let count = months.len() as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d((0..count - 1).into_segmented(), 0i64..top)
            .map_err(|e| err(&e))?;
        let x_label = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => months
                .get(*i as usize)
                .map(|(m, _)| crate::i18n::format::month_name(locale, m.number()))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let y_label = |v: &i64| Quantity(*v).to_string();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(RGBColor(0xe3, 0xe7, 0xed))
            .light_line_style(TRANSPARENT)
            .axis_style(RGBColor(0x8a, 0x93, 0xa0))
            .x_labels(months.len())
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(("sans-serif", 13).into_font().color(&RGBColor(0x3b, 0x44, 0x52)))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(bar.filled())
                    .margin(6)
                    .data(months.iter().enumerate().map(|(i, (_, q))| (i as i32, q.0))),
            )
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_an_svg_of_bars_and_month_names() {
        let start: Month = "2026-01".parse().unwrap();
        let months: Vec<(Month, Quantity)> = start
            .plus(11)
            .unwrap()
            .last_twelve()
            .into_iter()
            .enumerate()
            .map(|(i, m)| (m, Quantity(1000 * i as i64 + 500)))
            .collect();
        let svg = usage_svg(&months, None, porta_core::locale::Locale::En).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("Jan") && svg.contains("Dec"));
        // Twelve bars in the brand colour.
        assert_eq!(svg.matches("fill=\"#2456D6\"").count(), 12, "{svg}");
        assert!(!svg.contains("style="), "no inline styles (the CSP forbids them)");
        assert!(!svg.contains("<script"));
    }
}
