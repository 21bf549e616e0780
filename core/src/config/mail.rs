//! `[mail]`: how Porta sends mail (password resets, invitations,
//! notifications): an SMTP server, or, without one, `.eml` files in a
//! directory (development: `porta up` says where to read them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::raw::Field;
use super::ConfigIssue;
use crate::email::EmailAddress;
use crate::secret::Secret;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawMail {
    pub smtp_host: Field<String>,
    pub smtp_port: Field<u16>,
    pub tls: Field<String>,
    pub username: Field<String>,
    pub password: Field<Secret>,
    pub from: Field<String>,
    pub dev_dir: Field<String>,
    pub poll_interval_seconds: Field<u32>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on this machine or a test server only).
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, Secret)>,
}

/// Where mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Smtp(SmtpConfig),
    /// One `.eml` file per message in this directory.
    Directory(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// The sender: `Display Name <address>` or an address.
    pub from: String,
    /// How often the sender looks for due mail.
    pub poll_interval: Duration,
}

/// The address in `Name <address>` or `address`.
fn address_of(from: &str) -> Option<EmailAddress> {
    let inner = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close && close == from.len() - 1 => &from[open + 1..close],
        (None, None) => from,
        _ => return None,
    };
    EmailAddress::parse(inner).ok()
}

pub(super) fn validate(raw: RawMail, data_dir: &Path, issues: &mut Vec<ConfigIssue>) -> MailConfig {
    let text = |field: Field<String>, key: &str, issues: &mut Vec<ConfigIssue>| {
        field
            .take(key, issues)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let host = text(raw.smtp_host, "mail.smtp_host", issues);
    let port = raw.smtp_port.take("mail.smtp_port", issues);
    let tls = text(raw.tls, "mail.tls", issues);
    let username = text(raw.username, "mail.username", issues);
    let password = raw
        .password
        .take("mail.password", issues)
        .filter(|p| !p.expose().is_empty());
    let from = text(raw.from, "mail.from", issues)
        .unwrap_or_else(|| "Porta <portal@localhost.localdomain>".to_owned());
    let dev_dir = text(raw.dev_dir, "mail.dev_dir", issues);
    let interval = raw
        .poll_interval_seconds
        .take("mail.poll_interval_seconds", issues);
    let mut push = |key: &str, message: String| {
        issues.push(ConfigIssue {
            key: key.to_owned(),
            message,
        })
    };
    let tls = match tls.as_deref() {
        None | Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(other) => {
            push(
                "mail.tls",
                format!("must be \"none\", \"starttls\" or \"tls\" (found {other:?})"),
            );
            SmtpTls::StartTls
        }
    };
    if address_of(&from).is_none() {
        push("mail.from", "must be an address or `Name <address>`".to_owned());
    }
    let credentials = match (username, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => {
            push(
                "mail.username",
                "give both mail.username and mail.password, or neither".to_owned(),
            );
            None
        }
    };
    let transport = match host {
        Some(host) => MailTransport::Smtp(SmtpConfig {
            host,
            port: port.unwrap_or(match tls {
                SmtpTls::Tls => 465,
                SmtpTls::StartTls => 587,
                SmtpTls::None => 25,
            }),
            tls,
            credentials,
        }),
        None => MailTransport::Directory(
            dev_dir
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("mail")),
        ),
    };
    let poll = match interval {
        None => 5,
        Some(n) if (1..=300).contains(&n) => n,
        Some(n) => {
            push(
                "mail.poll_interval_seconds",
                format!("must be between 1 and 300 (found {n})"),
            );
            5
        }
    };
    MailConfig {
        transport,
        from,
        poll_interval: Duration::from_secs(u64::from(poll)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_are_addresses() {
        assert!(address_of("Acme IT <help@acme-it.example>").is_some());
        assert!(address_of("help@acme-it.example").is_some());
        for bad in [
            "",
            "Acme IT",
            "Acme <help>",
            "x <a@b.example",
            "<a@b.example> trailing",
        ] {
            assert!(address_of(bad).is_none(), "{bad}");
        }
    }
}
