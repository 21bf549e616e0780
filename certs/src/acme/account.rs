//! The ACME account of one directory, shared by every node: loaded from
//! `acme_accounts` (its credentials JSON, account key included, sealed with
//! the [`MasterKey`] and bound to the directory URL), or created at the CA
//! once and stored. When two nodes create it at the same time, the first
//! insert wins and both use that account.

use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};
use porta_core::clock::UnixMillis;
use porta_core::db::acme_accounts::{self, NewAcmeAccount};
use porta_core::db::{Db, DbError};

use super::error::{classify, AcmeError};
use super::http;
use super::AcmeSettings;
use crate::master_key::MasterKey;

/// The account for `settings.directory_url`: the stored one, else a new
/// one created at the CA (with the contact and EAB of `settings`) and
/// stored.
pub(crate) async fn load_or_create(
    db: &Db,
    master: &MasterKey,
    settings: &AcmeSettings,
) -> Result<Account, AcmeError> {
    let url = &settings.directory_url;
    if let Some(credentials) = load_credentials(db, master, url).await? {
        let account = builder(settings)?
            .from_credentials(credentials)
            .await
            .map_err(classify)?;
        tracing::debug!(account = %account.id(), "ACME account loaded");
        return Ok(account);
    }

    let contacts: Vec<String> = settings.contact.iter().map(|c| contact_uri(c)).collect();
    let contact_refs: Vec<&str> = contacts.iter().map(String::as_str).collect();
    let eab = settings
        .eab
        .as_ref()
        .map(|(kid, key)| {
            decode_eab_key(key.expose()).map(|bytes| ExternalAccountKey::new(kid.clone(), &bytes))
        })
        .transpose()?;
    let (account, credentials) = builder(settings)?
        .create(
            &NewAccount {
                contact: &contact_refs,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            url.clone(),
            eab.as_ref(),
        )
        .await
        .map_err(classify)?;

    let json = serde_json::to_vec(&credentials)
        .map_err(|e| AcmeError::Credentials(format!("cannot serialize the new account: {e}")))?;
    let sealed = master.seal(&json, url.as_bytes());
    drop(json);
    let new = NewAcmeAccount {
        id: account.id(),
        directory_url: url,
        contact: contacts.first().map(String::as_str),
        credentials_encrypted: &sealed.ciphertext,
        credentials_nonce: &sealed.nonce,
    };
    if acme_accounts::insert_if_absent(db, &new, UnixMillis::now()).await? {
        tracing::info!(account = %account.id(), "ACME account created");
        return Ok(account);
    }

    // Another node stored an account for this directory first: use that
    // one, so every node shares one account (ours stays unused).
    let credentials = load_credentials(db, master, url)
        .await?
        .ok_or(AcmeError::Db(DbError::NotFound("ACME account")))?;
    let winner = builder(settings)?
        .from_credentials(credentials)
        .await
        .map_err(classify)?;
    tracing::info!(account = %winner.id(), unused = %account.id(), "another node created the ACME account first; using it");
    Ok(winner)
}

/// Forgets the stored account of `directory_url`, so that the next
/// connect creates a new one (the CA no longer knows it).
pub(crate) async fn forget(db: &Db, directory_url: &str) -> Result<bool, DbError> {
    acme_accounts::remove(db, directory_url).await
}

async fn load_credentials(
    db: &Db,
    master: &MasterKey,
    url: &str,
) -> Result<Option<AccountCredentials>, AcmeError> {
    let Some(row) = acme_accounts::find(db, url).await? else {
        return Ok(None);
    };
    let json = master
        .open(&row.credentials_encrypted, &row.credentials_nonce, url.as_bytes())
        .map_err(|_| {
            AcmeError::Credentials(format!(
                "the account for {url} cannot be decrypted with this master key"
            ))
        })?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| AcmeError::Credentials(format!("the stored account for {url} is not readable: {e}")))
}

fn builder(settings: &AcmeSettings) -> Result<instant_acme::AccountBuilder, AcmeError> {
    let client = http::client(settings.root_ca_pem.as_deref()).map_err(AcmeError::Config)?;
    Ok(Account::builder_with_http(client))
}

/// `mailto:` + an e-mail address; a URI is kept as it is.
fn contact_uri(contact: &str) -> String {
    let contact = contact.trim();
    if contact.contains(':') {
        contact.to_owned()
    } else {
        format!("mailto:{contact}")
    }
}

/// The EAB HMAC key: base64url, padded or not, or standard base64.
fn decode_eab_key(key: &str) -> Result<Vec<u8>, AcmeError> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let trimmed = key.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(key.trim()))
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| AcmeError::Config("the EAB HMAC key is not base64url".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_become_mailto_uris() {
        assert_eq!(contact_uri("ops@example.com"), "mailto:ops@example.com");
        assert_eq!(contact_uri("mailto:ops@example.com"), "mailto:ops@example.com");
    }

    #[test]
    fn decodes_eab_keys() {
        assert_eq!(decode_eab_key("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_eab_key("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_eab_key("_-8").unwrap(), vec![0xff, 0xef]);
        assert!(matches!(decode_eab_key("!!"), Err(AcmeError::Config(_))));
        assert!(matches!(decode_eab_key(""), Err(AcmeError::Config(_))));
    }
}
