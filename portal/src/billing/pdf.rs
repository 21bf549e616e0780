//! The invoice PDF, drawn with krilla in the tenant's branding (its name,
//! primary colour and raster logo) and fonts shipped in the repository
//! (DejaVu Sans, `portal/assets/fonts`), so it renders the same on a
//! machine without any system font. Text is real text: `pdftotext` reads
//! back the number, the lines and the figures.

use crate::i18n::{format, Arg, Texts};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use porta_core::branding::Colour;
use porta_core::db::billing::invoices::{Credit, Invoice, Line};
use porta_core::money::Money;

use super::figures::Figures;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Porta's blue, when the tenant set no primary colour.
const DEFAULT_PRIMARY: [u8; 3] = [0x24, 0x56, 0xd6];

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 42.0;
const BOTTOM: f32 = PAGE_H - 60.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font could not be read")]
    Font,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// A raster logo (PNG, JPEG or WebP) as stored.
pub struct Logo<'a> {
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// What the PDF shows.
pub struct InvoicePdf<'a> {
    pub brand_name: &'a str,
    pub primary: Option<Colour>,
    pub logo: Option<Logo<'a>>,
    pub support_email: &'a str,
    pub support_phone: &'a str,
    pub invoice: &'a Invoice,
    pub status_label: &'a str,
    pub lines: &'a [Line],
    pub credits: &'a [Credit],
    pub figures: &'a Figures,
    /// The reader's language: the labels, dates and amounts.
    pub texts: Texts,
}

/// Text measurement from the same font file the PDF embeds.
struct Fonts {
    regular: Font,
    bold: Font,
    regular_face: ttf_parser::Face<'static>,
    bold_face: ttf_parser::Face<'static>,
}

impl Fonts {
    fn load() -> Result<Fonts, PdfError> {
        Ok(Fonts {
            regular: Font::new(REGULAR.into(), 0).ok_or(PdfError::Font)?,
            bold: Font::new(BOLD.into(), 0).ok_or(PdfError::Font)?,
            regular_face: ttf_parser::Face::parse(REGULAR, 0).map_err(|_| PdfError::Font)?,
            bold_face: ttf_parser::Face::parse(BOLD, 0).map_err(|_| PdfError::Font)?,
        })
    }

    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold { &self.bold_face } else { &self.regular_face };
        let units: u32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0, u32::from)
            })
            .sum();
        units as f32 * size / f32::from(face.units_per_em())
    }
}

fn fill(rgb_bytes: [u8; 3]) -> Fill {
    Fill {
        paint: rgb::Color::new(rgb_bytes[0], rgb_bytes[1], rgb_bytes[2]).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

const INK: [u8; 3] = [0x1d, 0x24, 0x30];
const MUTED: [u8; 3] = [0x5b, 0x64, 0x72];
const RULE: [u8; 3] = [0xd5, 0xda, 0xe1];

/// What is drawn, laid out first and drawn page by page after.
enum Op {
    Text {
        x: f32,
        y: f32,
        text: String,
        size: f32,
        bold: bool,
        colour: [u8; 3],
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: [u8; 3],
    },
    Logo {
        x: f32,
        y: f32,
        size: Size,
    },
}

/// The pages laid out so far, and where the next line goes.
struct Pen<'a> {
    fonts: &'a Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pen<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN + 10.0;
    }

    fn text(&mut self, x: f32, y: f32, text: &str, size: f32, bold: bool, colour: [u8; 3]) {
        if text.is_empty() {
            return;
        }
        self.ops().push(Op::Text {
            x,
            y,
            text: text.to_owned(),
            size,
            bold,
            colour,
        });
    }

    /// Text whose right edge is at `right`.
    fn text_right(&mut self, right: f32, y: f32, text: &str, size: f32, bold: bool, colour: [u8; 3]) {
        let w = self.fonts.width(text, size, bold);
        self.text(right - w, y, text, size, bold, colour);
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: [u8; 3]) {
        self.ops().push(Op::Rect { x, y, w, h, colour });
    }

    fn rule(&mut self, y: f32) {
        self.rect(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.7, RULE);
    }
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, ops: Vec<Op>, logo: &Option<Image>) {
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                text,
                size,
                bold,
                colour,
            } => {
                surface.set_fill(Some(fill(colour)));
                let font = if bold {
                    fonts.bold.clone()
                } else {
                    fonts.regular.clone()
                };
                surface.draw_text(
                    Point::from_xy(x, y),
                    font,
                    size,
                    &text,
                    false,
                    TextDirection::Auto,
                );
            }
            Op::Rect { x, y, w, h, colour } => {
                let Some(rect) = Rect::from_xywh(x, y, w, h) else {
                    continue;
                };
                let mut pb = PathBuilder::new();
                pb.push_rect(rect);
                if let Some(path) = pb.finish() {
                    surface.set_fill(Some(fill(colour)));
                    surface.draw_path(&path);
                }
            }
            Op::Logo { x, y, size } => {
                if let Some(image) = logo {
                    surface.push_transform(&Transform::from_translate(x, y));
                    surface.draw_image(image.clone(), size);
                    surface.pop();
                }
            }
        }
    }
}

/// Splits `text` into lines at most `width` wide (words longer than a line
/// are cut).
fn wrap(fonts: &Fonts, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if fonts.width(&candidate, size, false) <= width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if fonts.width(&piece, size, false) > width {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        current = piece;
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

// Table columns: description, service period, quantity, unit price, tax,
// amount (the last four right-aligned at these edges).
const COL_DESC: f32 = MARGIN;
const DESC_W: f32 = 190.0;
const COL_PERIOD: f32 = 236.0;
const COL_QTY: f32 = 372.0;
const COL_PRICE: f32 = 448.0;
const COL_TAX: f32 = 488.0;
const COL_AMOUNT: f32 = PAGE_W - MARGIN;

fn table_header(pen: &mut Pen<'_>, t: Texts) {
    let y = pen.y;
    for (x, right, label) in [
        (COL_DESC, false, "pdf-description"),
        (COL_PERIOD, false, "pdf-service-period"),
        (COL_QTY, true, "pdf-quantity"),
        (COL_PRICE, true, "pdf-unit-price"),
        (COL_TAX, true, "pdf-tax"),
        (COL_AMOUNT, true, "pdf-amount"),
    ] {
        let label = t.plain(label);
        if right {
            pen.text_right(x, y, &label, 8.5, true, MUTED);
        } else {
            pen.text(x, y, &label, 8.5, true, MUTED);
        }
    }
    pen.rule(y + 5.0);
    pen.y = y + 18.0;
}

pub fn render(doc: &InvoicePdf<'_>) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::load()?;
    let mut document = Document::new();
    let invoice = doc.invoice;
    let t = doc.texts;
    let money = |m: Money| {
        format::money(
            t.locale(),
            m.minor,
            m.currency.code(),
            u8::try_from(m.currency.exponent()).unwrap_or(2),
        )
    };
    let day = |d: &dyn std::fmt::Display| {
        let iso = d.to_string();
        iso.parse::<jiff::civil::Date>()
            .map_or(iso, |d| format::date(t.locale(), d))
    };
    let kind = t.plain(if invoice.is_credit_note {
        "pdf-credit-note"
    } else {
        "pdf-invoice"
    });
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{kind} {} from {}", invoice.label(), doc.brand_name))
            .creator("Porta".to_owned()),
    );
    let primary = doc.primary.map_or(DEFAULT_PRIMARY, Colour::rgb);
    let on_primary = doc.primary.map_or([255, 255, 255], |c| c.text_on().rgb());
    let mut pen = Pen {
        fonts: &fonts,
        pages: vec![Vec::new()],
        y: 0.0,
    };

    // The band: the tenant's colour, name and logo.
    pen.rect(0.0, 0.0, PAGE_W, 86.0, primary);
    let logo = doc.logo.as_ref().and_then(|l| {
        let data: krilla::Data = l.bytes.to_vec().into();
        match l.content_type {
            "image/png" => Image::from_png(data, true).ok(),
            "image/jpeg" => Image::from_jpeg(data, true).ok(),
            "image/webp" => Image::from_webp(data, true).ok(),
            _ => None,
        }
    });
    let mut name_x = MARGIN;
    if let Some(image) = &logo {
        let (w, h) = image.size();
        if w > 0 && h > 0 {
            let width = (w as f32 * 50.0 / h as f32).min(160.0);
            let height = width * h as f32 / w as f32;
            if let Some(size) = Size::from_wh(width, height) {
                pen.ops().push(Op::Logo {
                    x: MARGIN,
                    y: 43.0 - height / 2.0,
                    size,
                });
                name_x = MARGIN + width + 14.0;
            }
        }
    }
    pen.text(name_x, 50.0, doc.brand_name, 20.0, true, on_primary);

    // Title and facts.
    pen.text(MARGIN, 128.0, &kind, 22.0, true, INK);
    pen.text_right(COL_AMOUNT, 128.0, &invoice.label(), 16.0, true, INK);
    let mut facts: Vec<(&str, String)> = vec![
        ("pdf-number", invoice.label()),
        ("pdf-bill-to", invoice.client_name.clone()),
    ];
    if let Some(d) = invoice.issue_date {
        facts.push(("pdf-issue-date", day(&d)));
    }
    if let Some(d) = invoice.due_date.filter(|_| !invoice.is_credit_note) {
        facts.push(("pdf-due-date", day(&d)));
    }
    facts.push(("pdf-status", doc.status_label.to_owned()));
    facts.push(("pdf-currency", invoice.currency.to_string()));
    let mut y = 158.0;
    for (label, value) in &facts {
        pen.text(MARGIN, y, &t.plain(label), 9.5, false, MUTED);
        pen.text(MARGIN + 80.0, y, value, 9.5, false, INK);
        y += 15.0;
    }
    pen.y = y + 16.0;
    table_header(&mut pen, doc.texts);

    // Lines, onto further pages when needed.
    for line in doc.lines {
        let desc = wrap(&fonts, &line.description, 9.5, DESC_W);
        let height = 13.0 * desc.len() as f32 + 6.0;
        if pen.y + height > BOTTOM {
            pen.new_page();
            table_header(&mut pen, doc.texts);
        }
        let y = pen.y;
        for (i, text) in desc.iter().enumerate() {
            pen.text(COL_DESC, y + 13.0 * i as f32, text, 9.5, false, INK);
        }
        pen.text(COL_PERIOD, y, &line.service_period(), 8.0, false, MUTED);
        pen.text_right(COL_QTY, y, &line.quantity().to_string(), 9.5, false, INK);
        let price = money(invoice.money(line.unit_price_minor));
        pen.text_right(COL_PRICE, y, &price, 9.5, false, INK);
        pen.text_right(COL_TAX, y, &line.tax_rate().to_string(), 9.5, false, INK);
        let amount = money(invoice.money(line.line_total_minor));
        pen.text_right(COL_AMOUNT, y, &amount, 9.5, false, INK);
        pen.y = y + height;
    }
    let y = pen.y - 8.0;
    pen.rule(y);
    pen.y += 8.0;

    // Totals, right-aligned.
    let f = doc.figures;
    let mut rows: Vec<(String, String, bool)> = vec![(t.plain("pdf-subtotal"), money(f.subtotal), false)];
    for tax in &f.taxes {
        let label = t.plain_with(
            "pdf-tax-on",
            &[("rate", Arg::of(tax.rate)), ("base", Arg::of(money(tax.base)))],
        );
        rows.push((label, money(tax.tax), false));
    }
    for c in doc.credits {
        let label: String = t
            .plain_with("pdf-credit", &[("description", Arg::of(&c.description))])
            .chars()
            .take(70)
            .collect();
        rows.push((label, money(invoice.money(-c.amount_minor)), false));
    }
    rows.push((t.plain("pdf-total"), money(f.total), true));
    if !invoice.is_credit_note {
        rows.push((t.plain("pdf-amount-paid"), money(f.paid), false));
        rows.push((t.plain("pdf-amount-due"), money(f.due), true));
    }
    if pen.y + 18.0 * rows.len() as f32 + 40.0 > BOTTOM {
        pen.new_page();
    }
    for (label, value, bold) in &rows {
        let y = pen.y;
        let colour = if *bold { INK } else { MUTED };
        pen.text_right(COL_PRICE + 10.0, y, label, 10.0, *bold, colour);
        pen.text_right(COL_AMOUNT, y, value, 10.0, *bold, INK);
        pen.y += 18.0;
    }
    if !invoice.memo.is_empty() {
        pen.y += 14.0;
        for text in wrap(&fonts, &invoice.memo, 9.0, PAGE_W - 2.0 * MARGIN)
            .into_iter()
            .take(12)
        {
            let y = pen.y;
            pen.text(MARGIN, y, &text, 9.0, false, MUTED);
            pen.y += 12.0;
        }
    }

    // Footer on every page: who to ask, and the page number.
    let contact: Vec<&str> = [doc.support_email, doc.support_phone]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let count = pen.pages.len();
    for index in 0..count {
        let mut footer = Vec::new();
        let mut page_pen = Pen {
            fonts: &fonts,
            pages: vec![Vec::new()],
            y: 0.0,
        };
        if !contact.is_empty() {
            let text = t.plain_with(
                if invoice.is_credit_note {
                    "pdf-questions-credit-note"
                } else {
                    "pdf-questions-invoice"
                },
                &[("contact", Arg::of(contact.join(" · ")))],
            );
            page_pen.text(MARGIN, PAGE_H - 32.0, &text, 8.5, false, MUTED);
        }
        if count > 1 {
            let text = t.plain_with(
                "pdf-page",
                &[("page", Arg::of(index + 1)), ("pages", Arg::of(count))],
            );
            page_pen.text_right(COL_AMOUNT, PAGE_H - 32.0, &text, 8.5, false, MUTED);
        }
        footer.append(&mut page_pen.pages[0]);
        pen.pages[index].append(&mut footer);
    }

    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid size");
    for ops in std::mem::take(&mut pen.pages) {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        draw(&mut surface, &fonts, ops, &logo);
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}
