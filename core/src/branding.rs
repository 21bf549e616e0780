//! A tenant's branding: colours that must stay readable, short texts, and
//! which images it has. Colours are `#rrggbb` only ([`Colour`]), checked
//! for contrast with WCAG 2.x's formula: the primary colour carries white
//! or dark button text, the secondary colour is used for links on white.

use std::fmt;
use std::str::FromStr;

/// `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColourError {
    #[error("a colour is written #rrggbb, like #2456d6")]
    Format,
    /// The contrast reached, in tenths.
    #[error("text with {0} would be hard to read (contrast {tenths}:1, at least 4.5:1 is needed)", tenths = format_tenths(*.1))]
    Unreadable(Colour, u32),
}

fn format_tenths(t: u32) -> String {
    format!("{}.{}", t / 10, t % 10)
}

fn tenths(ratio: f64) -> u32 {
    (ratio * 10.0).floor() as u32
}

impl Colour {
    pub const WHITE: Colour = Colour([255, 255, 255]);
    pub const INK: Colour = Colour([0x1d, 0x24, 0x30]);

    /// The red, green and blue bytes (for drawing, e.g. invoice PDFs).
    pub fn rgb(self) -> [u8; 3] {
        self.0
    }

    /// WCAG relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// The WCAG contrast ratio of two colours (1 to 21).
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// The text colour for a surface of this colour: white or ink, the one
    /// with more contrast.
    pub fn text_on(self) -> Colour {
        if self.contrast(Colour::WHITE) >= self.contrast(Colour::INK) {
            Colour::WHITE
        } else {
            Colour::INK
        }
    }

    /// A button colour: its best text colour must reach 4.5:1.
    pub fn check_surface(self) -> Result<Colour, ColourError> {
        let ratio = self.contrast(self.text_on());
        if ratio >= 4.5 {
            Ok(self)
        } else {
            Err(ColourError::Unreadable(self, tenths(ratio)))
        }
    }

    /// A link colour on white: 4.5:1 against white.
    pub fn check_on_white(self) -> Result<Colour, ColourError> {
        let ratio = self.contrast(Colour::WHITE);
        if ratio >= 4.5 {
            Ok(self)
        } else {
            Err(ColourError::Unreadable(self, tenths(ratio)))
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl FromStr for Colour {
    type Err = ColourError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let hex = s.strip_prefix('#').ok_or(ColourError::Format)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ColourError::Format);
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| ColourError::Format);
        Ok(Colour([byte(0)?, byte(2)?, byte(4)?]))
    }
}

/// Which image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrandImage {
    LogoLight,
    LogoDark,
    Favicon,
}

impl BrandImage {
    pub const ALL: [BrandImage; 3] = [BrandImage::LogoLight, BrandImage::LogoDark, BrandImage::Favicon];

    pub fn as_str(self) -> &'static str {
        match self {
            BrandImage::LogoLight => "logo-light",
            BrandImage::LogoDark => "logo-dark",
            BrandImage::Favicon => "favicon",
        }
    }

    /// The largest file accepted.
    pub fn max_bytes(self) -> usize {
        match self {
            BrandImage::Favicon => 64 * 1024,
            _ => 512 * 1024,
        }
    }

    /// Raster types only: SVG can carry script, so it is refused.
    pub fn allowed_types(self) -> &'static [&'static str] {
        match self {
            BrandImage::Favicon => &["image/png", "image/x-icon", "image/vnd.microsoft.icon"],
            _ => &["image/png", "image/jpeg", "image/webp"],
        }
    }
}

impl FromStr for BrandImage {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|i| i.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_print() {
        let c: Colour = "#2456D6".parse().unwrap();
        assert_eq!(c.to_string(), "#2456d6");
        for bad in ["", "2456d6", "#fff", "#12345g", "#1234567", "red", "#123456; }"] {
            assert_eq!(bad.parse::<Colour>(), Err(ColourError::Format), "{bad}");
        }
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((Colour::WHITE.contrast("#000000".parse().unwrap()) - 21.0).abs() < 0.01);
        // #767676 on white is the classic 4.54:1.
        let grey: Colour = "#767676".parse().unwrap();
        assert!((grey.contrast(Colour::WHITE) - 4.54).abs() < 0.01);
        assert!(grey.check_on_white().is_ok());
        assert!("#777777".parse::<Colour>().unwrap().check_on_white().is_err());
        // Yellow takes dark text and passes as a surface; mid-grey does not.
        let yellow: Colour = "#ffd400".parse().unwrap();
        assert_eq!(yellow.text_on(), Colour::INK);
        assert!(yellow.check_surface().is_ok());
        assert!("#808080".parse::<Colour>().unwrap().check_surface().is_err());
        assert_eq!("#2456d6".parse::<Colour>().unwrap().text_on(), Colour::WHITE);
    }
}
