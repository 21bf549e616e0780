//! ACME accounts, one per CA directory, shared by every node. The
//! credentials (the account key among them) are stored sealed: this module
//! only moves the ciphertext and its nonce, the caller seals and opens them.

use sqlx::FromRow;

use super::{Db, DbError};
use crate::clock::UnixMillis;
use crate::on_pool;

/// The stored account of one directory: its sealed credentials.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct SealedAccount {
    /// The account's URL at the CA.
    pub id: String,
    pub credentials_encrypted: Vec<u8>,
    pub credentials_nonce: Vec<u8>,
}

impl std::fmt::Debug for SealedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedAccount")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What storing a new account records.
#[derive(Clone)]
pub struct NewAcmeAccount<'a> {
    pub id: &'a str,
    pub directory_url: &'a str,
    pub contact: Option<&'a str>,
    pub credentials_encrypted: &'a [u8],
    pub credentials_nonce: &'a [u8],
}

/// The account stored for `directory_url`, if any.
pub async fn find(db: &Db, directory_url: &str) -> Result<Option<SealedAccount>, DbError> {
    let sql =
        "SELECT id, credentials_encrypted, credentials_nonce FROM acme_accounts WHERE directory_url = $1";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(directory_url)
        .fetch_optional(pool)
        .await)?)
}

/// Stores `new` unless an account for its directory exists already.
/// Returns whether it was stored: of two nodes racing, exactly one is.
pub async fn insert_if_absent(db: &Db, new: &NewAcmeAccount<'_>, now: UnixMillis) -> Result<bool, DbError> {
    let sql = "INSERT INTO acme_accounts (id, directory_url, contact, credentials_encrypted, credentials_nonce, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (directory_url) DO NOTHING";
    let inserted = on_pool!(db, |pool| sqlx::query(sql)
        .bind(new.id)
        .bind(new.directory_url)
        .bind(new.contact)
        .bind(new.credentials_encrypted)
        .bind(new.credentials_nonce)
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(inserted == 1)
}

/// Forgets the account of `directory_url` (the CA no longer knows it).
/// Returns whether there was one.
pub async fn remove(db: &Db, directory_url: &str) -> Result<bool, DbError> {
    let sql = "DELETE FROM acme_accounts WHERE directory_url = $1";
    let deleted = on_pool!(db, |pool| sqlx::query(sql)
        .bind(directory_url)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(deleted > 0)
}
