//! `[attachments]`: where uploaded files are kept and what is accepted.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::raw::Field;
use super::ConfigIssue;
use crate::secret::Secret;

/// The content types accepted when the configuration names none: common
/// documents and images. Detected from the file's bytes, never from what
/// the browser claims.
pub const DEFAULT_ALLOWED_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawAttachments {
    pub store: Field<String>,
    pub local_dir: Field<String>,
    pub s3_bucket: Field<String>,
    pub s3_region: Field<String>,
    pub s3_endpoint: Field<String>,
    pub s3_access_key_id: Field<String>,
    pub s3_secret_access_key: Field<Secret>,
    pub max_file_bytes: Field<u64>,
    pub max_files: Field<u32>,
    pub allowed_types: Field<Vec<String>>,
}

/// Where the files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentStore {
    /// A directory of this machine (one node, or a shared file system).
    Local(PathBuf),
    /// An S3-compatible bucket (several nodes).
    S3(S3Store),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Store {
    pub bucket: String,
    pub region: String,
    /// Another S3-compatible service (MinIO, Ceph, R2...); `None` for AWS.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentsConfig {
    pub store: AttachmentStore,
    /// The largest file accepted.
    pub max_file_bytes: u64,
    /// The most files one upload (a ticket or a comment) may carry.
    pub max_files: u32,
    /// MIME types accepted (lower case).
    pub allowed_types: Vec<String>,
}

impl AttachmentsConfig {
    /// The most a request carrying files may be (files plus form fields).
    pub fn max_request_bytes(&self) -> usize {
        let files = self.max_file_bytes.saturating_mul(u64::from(self.max_files));
        usize::try_from(files.saturating_add(256 * 1024)).unwrap_or(usize::MAX)
    }
}

fn is_mime(text: &str) -> bool {
    let Some((kind, sub)) = text.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    token(kind) && token(sub)
}

pub(super) fn validate(
    raw: RawAttachments,
    data_dir: &Path,
    issues: &mut Vec<ConfigIssue>,
) -> AttachmentsConfig {
    let text = |field: Field<String>, key: &str, issues: &mut Vec<ConfigIssue>| {
        field
            .take(key, issues)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let mut own = Vec::new();
    let store_kind = text(raw.store, "attachments.store", &mut own);
    let local_dir = text(raw.local_dir, "attachments.local_dir", &mut own);
    let bucket = text(raw.s3_bucket, "attachments.s3_bucket", &mut own);
    let region = text(raw.s3_region, "attachments.s3_region", &mut own);
    let endpoint = text(raw.s3_endpoint, "attachments.s3_endpoint", &mut own);
    let key_id = text(raw.s3_access_key_id, "attachments.s3_access_key_id", &mut own);
    let secret = raw
        .s3_secret_access_key
        .take("attachments.s3_secret_access_key", &mut own)
        .filter(|s| !s.expose().trim().is_empty());
    let max_file_bytes = raw.max_file_bytes.take("attachments.max_file_bytes", &mut own);
    let max_files = raw.max_files.take("attachments.max_files", &mut own);
    let allowed = raw.allowed_types.take("attachments.allowed_types", &mut own);
    issues.append(&mut own);
    let mut push = |key: &str, message: String| {
        issues.push(ConfigIssue {
            key: key.to_owned(),
            message,
        })
    };

    let store = match store_kind.as_deref() {
        None | Some("local") => AttachmentStore::Local(
            local_dir
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("attachments")),
        ),
        Some("s3") => {
            if bucket.is_none() {
                push("attachments.s3_bucket", "needed with store = \"s3\"".to_owned());
            }
            if let Some(e) = &endpoint {
                if !(e.starts_with("https://") || e.starts_with("http://")) || url::Url::parse(e).is_err() {
                    push("attachments.s3_endpoint", "must be an http(s):// URL".to_owned());
                }
            }
            if key_id.is_some() != secret.is_some() {
                push(
                    "attachments.s3_access_key_id",
                    "give both s3_access_key_id and s3_secret_access_key, or neither (environment credentials)"
                        .to_owned(),
                );
            }
            AttachmentStore::S3(S3Store {
                bucket: bucket.unwrap_or_default(),
                region: region.unwrap_or_else(|| "us-east-1".to_owned()),
                endpoint,
                access_key_id: key_id,
                secret_access_key: secret,
            })
        }
        Some(other) => {
            push(
                "attachments.store",
                format!("must be \"local\" or \"s3\" (found {other:?})"),
            );
            AttachmentStore::Local(data_dir.join("attachments"))
        }
    };
    let max_file_bytes = match max_file_bytes {
        None => 10 * 1024 * 1024,
        Some(n) if (1024..=100 * 1024 * 1024).contains(&n) => n,
        Some(n) => {
            push(
                "attachments.max_file_bytes",
                format!("must be between 1024 and 104857600 (found {n})"),
            );
            10 * 1024 * 1024
        }
    };
    let max_files = match max_files {
        None => 5,
        Some(n) if (1..=20).contains(&n) => n,
        Some(n) => {
            push(
                "attachments.max_files",
                format!("must be between 1 and 20 (found {n})"),
            );
            5
        }
    };
    let allowed_types = match allowed {
        None => DEFAULT_ALLOWED_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        Some(list) => {
            let mut types = Vec::new();
            for t in list {
                let t = t.trim().to_ascii_lowercase();
                if is_mime(&t) {
                    types.push(t);
                } else {
                    push(
                        "attachments.allowed_types",
                        format!("{t:?} is not a MIME type such as image/png"),
                    );
                }
            }
            types
        }
    };
    AttachmentsConfig {
        store,
        max_file_bytes,
        max_files,
        allowed_types,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_checked() {
        assert!(is_mime("image/png"));
        assert!(is_mime(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        ));
        for bad in ["", "image", "image/", "/png", "image/png; x=1", "ima ge/png"] {
            assert!(!is_mime(bad), "{bad}");
        }
    }
}
