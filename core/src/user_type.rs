//! The two kinds of user.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `internal`: MSP staff. `client`: a user of one of the tenant's client
/// companies. Stored and serialised as those exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Internal,
    Client,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Internal => "internal",
            UserType::Client => "client",
        }
    }
}

impl fmt::Display for UserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("user type must be `internal` or `client`")]
pub struct InvalidUserType;

impl FromStr for UserType {
    type Err = InvalidUserType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "internal" => Ok(UserType::Internal),
            "client" => Ok(UserType::Client),
            _ => Err(InvalidUserType),
        }
    }
}
