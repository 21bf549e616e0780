//! The bytes of documents, in a directory or an S3-compatible bucket.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use porta_core::config::{AttachmentStore as StoreConfig, AttachmentsConfig};
use porta_core::ids::{DocumentId, TenantId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot prepare the attachment directory {0}: {1}")]
    Directory(String, std::io::Error),
    #[error("attachment store: {0}")]
    Store(#[from] object_store::Error),
}

/// Where documents are kept.
#[derive(Clone)]
pub struct AttachmentStore {
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for AttachmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AttachmentStore({})", self.inner)
    }
}

impl AttachmentStore {
    /// Opens the store of the configuration (creating the local directory,
    /// readable by this user only).
    pub fn open(config: &AttachmentsConfig) -> Result<AttachmentStore, StoreError> {
        let inner: Arc<dyn ObjectStore> = match &config.store {
            StoreConfig::Local(dir) => {
                porta_core::private_file::create_private_dir(dir)
                    .map_err(|e| StoreError::Directory(dir.display().to_string(), e))?;
                Arc::new(LocalFileSystem::new_with_prefix(dir)?)
            }
            StoreConfig::S3(s3) => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret.expose());
                }
                Arc::new(builder.build()?)
            }
        };
        Ok(AttachmentStore { inner })
    }

    /// The object name of a document.
    pub fn key(tenant: TenantId, document: DocumentId) -> String {
        format!("tenants/{tenant}/documents/{document}")
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.inner.put(&Path::from(key), PutPayload::from(bytes)).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        Ok(self.inner.get(&Path::from(key)).await?.bytes().await?)
    }

    /// Removes an object (after a failed upload); a missing one is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
