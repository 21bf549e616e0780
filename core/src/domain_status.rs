//! The lifecycle of a custom domain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `pending_dns` (waiting for the CNAME) -> `pending_certificate` (ACME
/// order under way) -> `active`; `failed` with a reason and a retry time;
/// `disabled` by staff or an operator. Stored as those exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    PendingDns,
    PendingCertificate,
    Active,
    Failed,
    Disabled,
}

impl DomainStatus {
    pub const ALL: [DomainStatus; 5] = [
        DomainStatus::PendingDns,
        DomainStatus::PendingCertificate,
        DomainStatus::Active,
        DomainStatus::Failed,
        DomainStatus::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::PendingDns => "pending_dns",
            DomainStatus::PendingCertificate => "pending_certificate",
            DomainStatus::Active => "active",
            DomainStatus::Failed => "failed",
            DomainStatus::Disabled => "disabled",
        }
    }
}

impl fmt::Display for DomainStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown domain status")]
pub struct InvalidDomainStatus;

impl FromStr for DomainStatus {
    type Err = InvalidDomainStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DomainStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(InvalidDomainStatus)
    }
}
