//! Files attached to tickets, comments, projects and tasks.
//!
//! - [`store`]: where the bytes live (a directory, or an S3-compatible
//!   bucket for several nodes), through the `object_store` crate; objects
//!   are named by Porta (`tenants/<tenant>/documents/<id>`), never by the
//!   uploaded path;
//! - [`upload`]: what is accepted (size, count, the content type judged
//!   from the bytes against the configured allow-list) and the display
//!   name made safe;
//! - [`download`]: the response that serves a file (always as an
//!   attachment, with its stored type and `nosniff`);
//! - [`documents`]: storing files as documents of what they belong to, and
//!   serving a document row.

pub mod documents;
pub mod download;
pub mod store;
pub mod upload;

pub use store::AttachmentStore;
pub use upload::{Upload, UploadError};
