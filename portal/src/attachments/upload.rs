//! What an upload may be, judged from its bytes: size, count, and a
//! content type on the configured allow-list. The name a browser sends is
//! kept only for display, made safe first.

use axum::extract::Multipart;
use bytes::{Bytes, BytesMut};
use porta_core::config::AttachmentsConfig;
use sha2::{Digest, Sha256};

/// The form field that carries files.
pub const FILE_FIELD: &str = "attachments";
/// The longest text field of a multipart form.
const MAX_TEXT_FIELD: usize = 64 * 1024;
/// The longest display name kept.
const MAX_NAME_CHARS: usize = 200;

/// A file that passed every check.
#[derive(Debug, Clone)]
pub struct Upload {
    /// For display and `Content-Disposition` only.
    pub file_name: String,
    pub content_type: String,
    pub bytes: Bytes,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("{name} is larger than the limit of {limit}.")]
    TooLarge { name: String, limit: String },
    #[error("At most {0} files can be attached at once.")]
    TooMany(u32),
    #[error("{name} is a kind of file that cannot be attached ({detected}).")]
    TypeNotAllowed { name: String, detected: String },
    #[error("{0} is empty.")]
    Empty(String),
    #[error("The form could not be read.")]
    Malformed,
    #[error("A form field is too long.")]
    FieldTooLong,
}

/// `12.5 MB`-style sizes for messages.
pub use porta_core::db::documents::size_label as human_size;

/// Characters that reorder or hide text (bidirectional overrides and
/// isolates, zero-width marks): a name like `invoice\u{202E}fdp.exe` must
/// not display as something it is not.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The uploaded name made safe to show and to put in a header: only its
/// last path component, without control or deceptive characters or
/// characters file systems reserve, without leading dots, at most 200
/// characters (keeping the extension), never empty.
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_deceptive(*c))
        .map(|c| if "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let name = if trimmed.is_empty() { "file" } else { trimmed };
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_owned();
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.chars().count() <= 10 => (stem, Some(ext)),
        _ => (name, None),
    };
    let keep = MAX_NAME_CHARS - extension.map_or(0, |e| e.chars().count() + 1);
    let stem: String = stem.chars().take(keep).collect();
    match extension {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

/// The content type of `bytes`, from their own signature; text that is
/// valid UTF-8 is `text/plain` (or `text/csv` by its extension).
pub fn detect_type(bytes: &[u8], file_name: &str) -> String {
    if let Some(kind) = infer::get(bytes) {
        return kind.mime_type().to_owned();
    }
    if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        if file_name.to_ascii_lowercase().ends_with(".csv") {
            return "text/csv".to_owned();
        }
        return "text/plain".to_owned();
    }
    "application/octet-stream".to_owned()
}

/// Checks one file against the configuration.
pub fn accept(config: &AttachmentsConfig, raw_name: &str, bytes: Bytes) -> Result<Upload, UploadError> {
    let file_name = safe_file_name(raw_name);
    if bytes.is_empty() {
        return Err(UploadError::Empty(file_name));
    }
    if bytes.len() as u64 > config.max_file_bytes {
        return Err(UploadError::TooLarge {
            name: file_name,
            limit: human_size(config.max_file_bytes),
        });
    }
    let content_type = detect_type(&bytes, &file_name);
    if !config.allowed_types.contains(&content_type) {
        return Err(UploadError::TypeNotAllowed {
            name: file_name,
            detected: content_type,
        });
    }
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Upload {
        file_name,
        content_type,
        bytes,
        sha256,
    })
}

/// A multipart form: its text fields (in order), its checked files, and
/// why any other file was refused (the form is still read to its end, so
/// a refused file does not lose what was typed).
#[derive(Debug, Default)]
pub struct ParsedForm {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
    pub refused: Vec<UploadError>,
}

impl ParsedForm {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first refusal, if a file was refused.
    pub fn refusal(&self) -> Option<&UploadError> {
        self.refused.first()
    }
}

/// Reads a multipart form, enforcing the limits while reading (a file over
/// the limit is refused before it is all in memory). Empty file inputs
/// (nothing chosen) are skipped.
pub async fn read_form(
    mut multipart: Multipart,
    config: &AttachmentsConfig,
) -> Result<ParsedForm, UploadError> {
    let mut form = ParsedForm::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| UploadError::Malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        match (name.as_str(), file_name) {
            (FILE_FIELD, Some(raw_name)) => {
                let mut bytes = BytesMut::new();
                let mut too_large = false;
                while let Some(chunk) = field.chunk().await.map_err(|_| UploadError::Malformed)? {
                    // Past the limit the rest of the file is read and
                    // dropped (the request's own limit bounds it), so the
                    // fields after it are still read and shown again.
                    if too_large || (bytes.len() + chunk.len()) as u64 > config.max_file_bytes {
                        too_large = true;
                        bytes = BytesMut::new();
                        continue;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if too_large {
                    form.refused.push(UploadError::TooLarge {
                        name: safe_file_name(&raw_name),
                        limit: human_size(config.max_file_bytes),
                    });
                    continue;
                }
                if bytes.is_empty() && raw_name.is_empty() {
                    continue;
                }
                if form.files.len() as u32 >= config.max_files {
                    form.refused.push(UploadError::TooMany(config.max_files));
                    continue;
                }
                match accept(config, &raw_name, bytes.freeze()) {
                    Ok(file) => form.files.push(file),
                    Err(e) => form.refused.push(e),
                }
            }
            _ => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|_| UploadError::Malformed)? {
                    if text.len() + chunk.len() > MAX_TEXT_FIELD {
                        return Err(UploadError::FieldTooLong);
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text).map_err(|_| UploadError::Malformed)?;
                form.fields.push((name, text));
            }
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AttachmentsConfig {
        AttachmentsConfig {
            store: porta_core::config::AttachmentStore::Local("/tmp/x".into()),
            max_file_bytes: 1024,
            max_files: 2,
            allowed_types: vec!["image/png".into(), "text/plain".into(), "application/pdf".into()],
        }
    }

    #[test]
    fn hostile_names_are_made_safe() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(safe_file_name("a\u{0}b.txt"), "ab.txt");
        assert_eq!(safe_file_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_file_name("..."), "file");
        assert_eq!(safe_file_name(""), "file");
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name("what?<x>.txt"), "what__x_.txt");
        let long = format!("{}.pdf", "é".repeat(300));
        let safe = safe_file_name(&long);
        assert_eq!(safe.chars().count(), 200);
        assert!(safe.ends_with(".pdf"));
    }

    #[test]
    fn types_come_from_the_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(detect_type(png, "photo.txt"), "image/png");
        assert_eq!(detect_type(b"%PDF-1.7\n", "x"), "application/pdf");
        assert_eq!(detect_type(b"hello", "notes.txt"), "text/plain");
        assert_eq!(detect_type(b"a,b\n1,2", "data.CSV"), "text/csv");
        assert_eq!(
            detect_type(b"\0\x01\x02garbage", "x.bin"),
            "application/octet-stream"
        );
        // An executable named like a picture is still an executable.
        assert_eq!(
            detect_type(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff", "cat.png"),
            "application/vnd.microsoft.portable-executable"
        );
    }

    #[test]
    fn limits_and_the_allow_list_are_enforced() {
        let c = config();
        assert!(accept(&c, "notes.txt", Bytes::from_static(b"hello")).is_ok());
        assert_eq!(
            accept(&c, "big.txt", Bytes::from(vec![b'a'; 1025])).unwrap_err(),
            UploadError::TooLarge {
                name: "big.txt".into(),
                limit: "1.0 KB".into()
            }
        );
        assert!(matches!(
            accept(&c, "x.zip", Bytes::from_static(b"PK\x03\x04\x14\0\0\0")).unwrap_err(),
            UploadError::TypeNotAllowed { .. }
        ));
        assert_eq!(
            accept(&c, "e.txt", Bytes::new()).unwrap_err(),
            UploadError::Empty("e.txt".into())
        );
        let ok = accept(&c, "../up/notes.txt", Bytes::from_static(b"hi")).unwrap();
        assert_eq!(ok.file_name, "notes.txt");
        assert_eq!(
            ok.sha256,
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
        );
    }
}
