//! `[accounts]`: password strength, and how long mailed links and the
//! second sign-in step live.

use std::time::Duration;

use serde::Deserialize;

use super::raw::Field;
use super::ConfigIssue;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawAccounts {
    pub min_password_score: Field<u8>,
    pub reset_link_minutes: Field<u32>,
    pub invitation_hours: Field<u32>,
    pub second_step_minutes: Field<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
    /// The strength estimator's score (0-4) a new password must reach.
    pub min_password_score: u8,
    /// How long a password reset link works.
    pub reset_link: Duration,
    /// How long an invitation's setup link works.
    pub invitation: Duration,
    /// How long the second sign-in step (a 2FA code) may wait after the password.
    pub second_step: Duration,
}

fn ranged(
    value: Option<u32>,
    key: &str,
    default: u32,
    (low, high): (u32, u32),
    issues: &mut Vec<ConfigIssue>,
) -> u32 {
    match value {
        None => default,
        Some(v) if (low..=high).contains(&v) => v,
        Some(v) => {
            issues.push(ConfigIssue {
                key: key.to_owned(),
                message: format!("must be between {low} and {high} (found {v})"),
            });
            default
        }
    }
}

pub(super) fn validate(raw: RawAccounts, issues: &mut Vec<ConfigIssue>) -> AccountsConfig {
    let score = raw.min_password_score.take("accounts.min_password_score", issues);
    let reset = raw.reset_link_minutes.take("accounts.reset_link_minutes", issues);
    let invitation = raw.invitation_hours.take("accounts.invitation_hours", issues);
    let second = raw
        .second_step_minutes
        .take("accounts.second_step_minutes", issues);
    let score = ranged(
        score.map(u32::from),
        "accounts.min_password_score",
        3,
        (0, 4),
        issues,
    );
    AccountsConfig {
        min_password_score: u8::try_from(score).unwrap_or(3),
        reset_link: Duration::from_secs(
            u64::from(ranged(
                reset,
                "accounts.reset_link_minutes",
                60,
                (5, 1440),
                issues,
            )) * 60,
        ),
        invitation: Duration::from_secs(
            u64::from(ranged(
                invitation,
                "accounts.invitation_hours",
                72,
                (1, 720),
                issues,
            )) * 3600,
        ),
        second_step: Duration::from_secs(
            u64::from(ranged(second, "accounts.second_step_minutes", 5, (1, 30), issues)) * 60,
        ),
    }
}
